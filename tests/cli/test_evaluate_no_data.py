"""`slm evaluate`'s table never says "ok" for an objective whose alerts could not be decided
for lack of data: the Alerts column says "no data" (issue 9: no data is never shown as ok)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _alerts_column(at: str) -> list[str]:
    r = subprocess.run(
        [sys.executable, "-m", "slm", "evaluate", "examples", "--at", at],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**os.environ, "COLUMNS": "250"},
        timeout=120,
    )
    assert r.returncode == 0, r.stderr
    rows = [line.split("│") for line in r.stdout.splitlines() if line.startswith("│")]
    header = next(line.split("┃") for line in r.stdout.splitlines() if "Alerts" in line)
    col = [h.strip() for h in header].index("Alerts")
    return [row[col].strip() for row in rows]


@pytest.mark.parametrize(
    "at",
    [
        "2025-01-01T00:00:00Z",  # before the data: nothing at all
        "2026-11-01T02:00:00Z",  # 2 h after the data end: the SLI is known, the 1h/5m page
        # windows are empty, so the page alert cannot be decided
    ],
)
def test_alerts_without_data_are_not_ok(examples_dir: Path, at: str) -> None:
    cells = _alerts_column(at)
    assert len(cells) == 5
    assert cells == ["no data"] * 5


def test_alerts_with_data_are_ok_or_firing(examples_dir: Path) -> None:
    cells = _alerts_column("2026-10-14T14:00:00Z")
    assert cells == ["page,ticket", "ok", "page,ticket", "ok", "ok"]
