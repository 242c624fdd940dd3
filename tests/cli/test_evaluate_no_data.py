"""`slm evaluate`'s table never says "ok" for an objective whose alerts could not be decided
for lack of data: the Alerts column says "no data" (issue 9: no data is never shown as ok)."""

from __future__ import annotations

import json
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


def test_json_alerts_say_whether_data_decided_them(examples_dir: Path) -> None:
    def alerts(at: str) -> list[list[tuple[str, bool, bool]]]:
        r = subprocess.run(
            [sys.executable, "-m", "slm", "evaluate", "examples", "--at", at, "--format", "json"],
            capture_output=True,
            text=True,
            cwd=ROOT,
            timeout=120,
        )
        assert r.returncode == 0, r.stderr
        body = json.loads(r.stdout)
        assert body["schema"] == "slm.evaluate/v1"
        results = body["items"]
        return [
            [(a["long_window"], a["firing"], a["decided"]) for a in res["alerts"]]
            for res in results
        ]

    # 2 h after the data end: the 1h/5m page row has no data; the 6h/30m row's 6h burn rate
    # is known and under its factor, which decides it
    after = alerts("2026-11-01T02:00:00Z")[0]
    assert after[0] == ("1h", False, False)
    assert after[1] == ("6h", False, True)
    # with data every row is decided, firing or not
    during = alerts("2026-10-14T14:00:00Z")
    assert all(decided for rows in during for _, _, decided in rows)
    assert any(firing for rows in during for _, firing, _ in rows)
