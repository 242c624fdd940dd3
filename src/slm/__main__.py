"""``python -m slm`` runs the command line."""

from slm.cli import main

main()
