"""docs/cli.md's command reference is generated from the command line: it may not drift."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_cli_reference_matches_the_command_line() -> None:
    r = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "gen_cli_docs.py"), "--check"],
        capture_output=True,
        text=True,
        env={**os.environ, "COLUMNS": "37"},  # the terminal must not matter
        timeout=120,
    )
    assert r.returncode == 0, r.stderr


def test_cli_reference_lists_every_command() -> None:
    import typer

    from slm.cli import app

    text = (ROOT / "docs" / "cli.md").read_text(encoding="utf-8")
    root = typer.main.get_command(app)

    def leaves(cmd: object, prefix: str) -> list[str]:
        subs = getattr(cmd, "commands", None)
        if subs is None:
            return [prefix]
        return [n for name, sub in subs.items() for n in leaves(sub, f"{prefix} {name}")]

    names = leaves(root, "slm")
    assert len(names) > 30
    for name in names:
        assert f"`{name}`" in text, name
