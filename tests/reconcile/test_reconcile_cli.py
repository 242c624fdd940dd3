"""``slm reconcile``: a vendor's reported availability against our own probe, per local day.

The two sources agree minute for minute except on 3 October (Berlin), when the vendor's
data hides a two-hour outage our probe saw, and on 5 October, when the vendor sent nothing.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from slm.cli import main
from slm.domain.errors import NotFoundError, SlmError
from slm.services.reconcile import reconcile, report_view
from slm.services.retention import apply_retention
from slm.sources.factory import SourceFactory
from slm.spec.loader import load_workspace
from slm.store.db import Store

START = datetime(2026, 9, 30, tzinfo=UTC)
END = datetime(2026, 10, 7, tzinfo=UTC)
OUTAGE = datetime(2026, 10, 3, 9, tzinfo=UTC)  # 11:00 in Berlin
VENDOR_SILENT = datetime(2026, 10, 4, 22, tzinfo=UTC)  # 5 October, 00:00 in Berlin
Run = Callable[..., tuple[int, str, str]]

SPECS = """\
apiVersion: openslo/v1
kind: Service
metadata: {name: payments}
spec: {}
---
apiVersion: openslo/v1
kind: DataSource
metadata: {name: minutes}
spec: {type: File, connectionDetails: {path: minutes.csv}}
---
apiVersion: openslo/v1
kind: SLI
metadata: {name: vendor-availability}
spec:
  ratioMetric:
    counter: false
    good: {metricSource: {metricSourceRef: minutes, spec: {series: vendor_good}}}
    total: {metricSource: {metricSourceRef: minutes, spec: {series: vendor_total}}}
---
apiVersion: openslo/v1
kind: SLO
metadata: {name: probe-availability}
spec:
  service: payments
  indicator:
    metadata: {name: probe-success}
    spec:
      ratioMetric:
        counter: false
        good: {metricSource: {metricSourceRef: minutes, spec: {series: probe_good}}}
        total: {metricSource: {metricSourceRef: minutes, spec: {series: probe_total}}}
  timeWindow: [{duration: 1d, isRolling: true}]
  budgetingMethod: Occurrences
  objectives: [{target: 0.999}]
"""


def _minutes() -> dict[str, tuple[np.ndarray[Any, Any], np.ndarray[Any, Any]]]:
    rng = np.random.default_rng(3)
    n = int((END - START) / timedelta(minutes=1))
    ts = int(START.timestamp()) + 60 * np.arange(n, dtype=np.int64)
    total = np.full(n, 60.0)
    bad = rng.binomial(60, 0.0005, n).astype(float)
    o = int((OUTAGE - START) / timedelta(minutes=1))
    probe_bad = bad.copy()
    probe_bad[o : o + 120] = 30
    vendor = ts < int(VENDOR_SILENT.timestamp())
    return {
        "probe_good": (ts, total - probe_bad),
        "probe_total": (ts, total),
        "vendor_good": (ts[vendor], (total - bad)[vendor]),
        "vendor_total": (ts[vendor], total[vendor]),
    }


@pytest.fixture
def specs(tmp_path: Path) -> Path:
    lines = ["timestamp,series,value"]
    for name, (ts, values) in _minutes().items():
        lines += [f"{t},{name},{v:g}" for t, v in zip(ts.tolist(), values.tolist(), strict=True)]
    (tmp_path / "minutes.csv").write_text("\n".join(lines) + "\n")
    (tmp_path / "specs.yaml").write_text(SPECS)
    return tmp_path


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


def test_differences_beyond_the_tolerance_exit_6(specs: Path, slm: Run) -> None:
    code, stdout, stderr = slm(
        "reconcile", str(specs), "--sli", "vendor-availability", "--against",
        "probe-availability", "--from", "2026-10-01", "--to", "2026-10-05",
        "--time-zone", "Europe/Berlin", "--format", "json", cwd=specs,
    )  # fmt: skip
    assert code == 6, stderr
    view = json.loads(stdout)
    assert view["schema"] == "slm.reconcile/v1"
    assert view["tolerance"] == 0.001  # 0.1 percentage points, as a ratio
    assert (view["a"], view["b"]) == ("sli/vendor-availability", "slo/probe-availability")
    assert [(d["day"], d["status"]) for d in view["days"]] == [
        ("2026-10-01", "ok"),
        ("2026-10-02", "ok"),
        ("2026-10-03", "differs"),
        ("2026-10-04", "ok"),
        ("2026-10-05", "missing"),
    ]
    oct3 = view["days"][2]
    assert (oct3["start"], oct3["end"]) == ("2026-10-02T22:00:00Z", "2026-10-03T22:00:00Z")
    # 120 minutes x 30 failed of 1440 x 60 requests: 4.1667 pp more than the vendor says.
    probe_bad = 120 * 30
    assert oct3["b"]["total"] - oct3["b"]["good"] >= probe_bad
    expected = oct3["a"]["sli"] - oct3["b"]["sli"]
    assert oct3["difference"] == pytest.approx(expected)
    assert 0.041 < oct3["difference"] < 0.043
    assert view["days"][0]["difference"] == 0.0
    assert view["summary"] == {"ok": 3, "differs": 1, "missing": 1, "no_data": 0}


def test_agreeing_days_exit_0_and_missing_days_exit_7(specs: Path, slm: Run) -> None:
    common = ["reconcile", str(specs), "--sli", "vendor-availability", "--against",
              "slo/probe-availability", "--time-zone", "Europe/Berlin"]  # fmt: skip
    code, stdout, stderr = slm(*common, "--from", "2026-10-01", "--to", "2026-10-02", cwd=specs)
    assert code == 0, stderr
    assert "2 day(s): 2 within 0.1 pp, 0 differ" in stdout
    code, stdout, stderr = slm(*common, "--from", "2026-10-03", "--to", "2026-10-05",
                               "--tolerance", "5pp", cwd=specs)  # fmt: skip
    assert code == 7, stderr
    assert "missing" in stdout


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        pytest.param(["--sli", "nope"], 4, "error: no SLI or SLO named 'nope'", id="unknown"),
        pytest.param(["--sli", "slo/vendor-availability"], 4, "no SLO named", id="wrong-kind"),
        pytest.param(["--tolerance", "lots"], 2, "invalid tolerance 'lots'", id="tolerance"),
        pytest.param(["--time-zone", "Mars/Base"], 2, "unknown IANA time zone", id="zone"),
        pytest.param(["--from", "1 Oct"], 2, "'1 Oct' is not a date", id="date"),
    ],
)
def test_bad_input_is_a_message_not_a_traceback(
    specs: Path, slm: Run, args: list[str], code: int, message: str
) -> None:
    base = {"--sli": "vendor-availability", "--against": "probe-availability",
            "--from": "2026-10-01", "--to": "2026-10-02"}  # fmt: skip
    base.update(dict(zip(args[::2], args[1::2], strict=True)))
    flat = [x for kv in base.items() for x in kv]
    got, _, stderr = slm("reconcile", str(specs), *flat, cwd=specs)
    assert got == code
    assert message in " ".join(stderr.split()), stderr
    assert "Traceback" not in stderr


def test_a_name_that_is_both_sli_and_slo_must_be_prefixed(specs: Path) -> None:
    text = (
        (specs / "specs.yaml")
        .read_text()
        .replace("metadata: {name: probe-availability}", "metadata: {name: vendor-availability}")
    )
    (specs / "specs.yaml").write_text(text)
    ws = load_workspace([specs])
    with pytest.raises(SlmError, match="both an SLI and an SLO: write sli/vendor-"):
        reconcile(ws, SourceFactory(), "vendor-availability", "sli/vendor-availability",
                  date(2026, 10, 1), date(2026, 10, 1))  # fmt: skip
    with pytest.raises(NotFoundError):
        reconcile(ws, SourceFactory(), "svc/x", "sli/vendor-availability",
                  date(2026, 10, 1), date(2026, 10, 1))  # fmt: skip


STORE_SPECS = """\
---
apiVersion: openslo/v1
kind: DataSource
metadata: {name: store}
spec: {type: Store, connectionDetails: {}}
---
apiVersion: openslo/v1
kind: SLI
metadata: {name: archived-probe}
spec:
  ratioMetric:
    counter: false
    good: {metricSource: {metricSourceRef: store, spec: {series: probe_good}}}
    total: {metricSource: {metricSourceRef: store, spec: {series: probe_total}}}
---
apiVersion: slm/v1
kind: RetentionPolicy
metadata: {name: short}
spec:
  tiers: [{resolution: 1m, keep: 1d}, {resolution: 1h, keep: 400d}]
"""


@pytest.mark.parametrize(
    ("zone", "exact"),
    [pytest.param("Europe/Berlin", True, id="whole-hour-offset"),
     pytest.param("Asia/Kolkata", False, id="half-hour-offset")],
)  # fmt: skip
def test_days_read_from_roll_ups_say_so(specs: Path, store: Store, zone: str, exact: bool) -> None:
    rows = [
        (name, t, v)
        for name, (ts, values) in _minutes().items()
        for t, v in zip(ts.tolist(), values.tolist(), strict=True)
        if name.startswith("probe")
    ]
    with store.transaction() as repos:
        repos.measurements.upsert(rows)
    (specs / "store.yaml").write_text(STORE_SPECS)
    ws = load_workspace([specs])
    apply_retention(store, ws, END)
    report = reconcile(ws, SourceFactory(store=store), "archived-probe", "probe-availability",
                       date(2026, 10, 2), date(2026, 10, 3), time_zone=zone)  # fmt: skip
    view = report_view(report)
    assert [d["a"]["rollup_resolution"] for d in view["days"]] == ["1h", "1h"]
    assert [d["a"]["exact"] for d in view["days"]] == [exact, exact]
    assert [d["b"]["rollup_resolution"] for d in view["days"]] == [None, None]
    if exact:  # hourly roll-ups of whole local days are the fine data's sums
        assert [d["status"] for d in view["days"]] == ["ok", "ok"]
        assert all(d["difference"] == 0 for d in view["days"])
