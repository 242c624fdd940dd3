"""``slm retention apply`` end to end on a SQLite store: dry run, apply, apply again."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from slm.cli import main

Run = Callable[..., tuple[int, str, str]]

SPECS = """\
apiVersion: slm/v1
kind: RetentionPolicy
metadata: {name: minutes-then-hours}
spec:
  selector: {series: ["http_*"]}
  tiers: [{resolution: 1m, keep: 1d}, {resolution: 1h, keep: 30d}]
---
apiVersion: slm/v1
kind: LegalHold
metadata: {name: nothing-here}
spec:
  selector: {series: ["dns_*"]}
  period: {from: 2026-10-01, to: 2026-10-02}
  reason: Example
  setBy: ops
"""


@pytest.fixture
def slm(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> Run:
    """Run the ``slm`` command line in-process: (exit code, stdout, stderr)."""

    def run(*args: str, cwd: Path) -> tuple[int, str, str]:
        monkeypatch.chdir(cwd)
        monkeypatch.setattr(sys, "argv", ["slm", *args])
        monkeypatch.setenv("COLUMNS", "200")
        try:
            main()
            code = 0
        except SystemExit as e:
            code = e.code if isinstance(e.code, int) else int(e.code is not None)
        captured = capsys.readouterr()
        return code, captured.out, captured.err

    return run


def test_dry_run_then_apply_then_apply_again(tmp_path: Path, slm: Run) -> None:
    lines = ["timestamp,series,value"]
    lines += [f"{1790812800 + 60 * i},http_requests_total,{i % 50}" for i in range(3 * 1440)]
    lines += [f"{1790812800 + 60 * i},other,1" for i in range(10)]
    (tmp_path / "m.csv").write_text("\n".join(lines) + "\n")
    (tmp_path / "r.yaml").write_text(SPECS)
    db = f"sqlite:///{tmp_path / 'slm.db'}"
    assert slm("db", "upgrade", "--db", db, cwd=tmp_path)[0] == 0
    assert slm("ingest", str(tmp_path / "m.csv"), "--db", db, cwd=tmp_path)[0] == 0
    apply = ["retention", "apply", str(tmp_path / "r.yaml"), "--db", db,
             "--at", "2026-10-04T00:00:00Z", "--format", "json"]  # fmt: skip

    code, stdout, stderr = slm(*apply, "--dry-run", cwd=tmp_path)
    assert code == 0, stderr
    dry_view = json.loads(stdout)
    assert dry_view["dry_run"] is True and dry_view["run_id"] is None
    assert dry_view["rows_deleted"] == 2 * 1440  # minutes of 1-2 October
    assert dry_view["rollup_rows_written"] == 48
    assert dry_view["series_without_policy"] == ["other"]
    assert dry_view["holds_selecting_nothing"] == ["nothing-here"]
    assert "LegalHold nothing-here selects no stored series" in stderr

    real = json.loads(slm(*apply, cwd=tmp_path)[1])
    assert real["rows_deleted"] == dry_view["rows_deleted"]
    assert real["bytes_freed_estimate"] == dry_view["bytes_freed_estimate"] > 0
    assert real["run_id"] == 1

    code, stdout, _ = slm(*apply[:-2], cwd=tmp_path)
    assert code == 0
    assert "deleted 0 rows, wrote 0 roll-up rows" in stdout


def test_bad_specs_and_missing_policies_are_messages(tmp_path: Path, slm: Run) -> None:
    (tmp_path / "bad.yaml").write_text(SPECS.replace("keep: 30d", "keep: 30x"))
    code, _, bad = slm("retention", "apply", str(tmp_path / "bad.yaml"), cwd=tmp_path)
    assert code == 1
    assert "spec.tiers[1].keep: invalid retention length '30x'" in bad
    (tmp_path / "hold.yaml").write_text(SPECS.split("---\n")[1])
    code, _, none = slm("retention", "apply", str(tmp_path / "hold.yaml"), cwd=tmp_path)
    assert code == 4
    assert "no RetentionPolicy in the given specs" in none
    assert "Traceback" not in bad + none
