"""Fixtures of the Prometheus tests (a real Prometheus, misbehaving HTTP servers).

They live in ``prom_helpers.py`` with the data they load, so that test modules can import
the helpers by a name no other conftest shares.
"""

from prom_helpers import history, http_server  # noqa: F401  (fixtures)
