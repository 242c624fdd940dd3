"""Faults: a source that is down, malformed, slow or ahead of the clock affects only its SLOs."""

from __future__ import annotations

import signal
import socket
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from prometheus_client.parser import text_string_to_metric_families
from serve_helpers import AT, FILE_SLO, SERVICE, ServerProcess

T0 = datetime.fromisoformat(AT.replace("Z", "+00:00"))
FAST = ("--source-timeout", "1s", "--retry-base", "200ms", "--retry-max", "1s")


def csv_rows(start: timedelta, end: timedelta, series: str, value: float, tz: str = "Z") -> str:
    """Rows every minute in ``[T0 + start, T0 + end)``, written in the offset ``tz``."""
    out, t = [], T0 + start
    offset = timedelta() if tz == "Z" else timedelta(hours=int(tz[:3]))
    while t < T0 + end:
        local = (t + offset).replace(tzinfo=None).isoformat()
        out.append(f"{local}{tz},{series},{value}\n")
        t += timedelta(minutes=1)
    return "".join(out)


def good_data(path: Path, tz: str = "Z") -> None:
    path.write_text(
        "timestamp,series,value\n"
        + csv_rows(-timedelta(hours=1), timedelta(), "total", 10, tz)
        + csv_rows(-timedelta(hours=1), timedelta(), "good", 10, tz)
    )


def workspace(root: Path, **files: str) -> Path:
    ws = root / "ws"
    ws.mkdir()
    (ws / "service.yaml").write_text(SERVICE.format(service="api"))
    for name, path in files.items():
        (ws / f"{name}.yaml").write_text(FILE_SLO.format(name=name, path=path, interval="1s"))
    return ws


def status(server: ServerProcess, name: str) -> dict[str, Any]:
    body: dict[str, Any] = server.get(f"/api/v1/slos/{name}/status").json()
    return body


def metric(server: ServerProcess, family: str) -> dict[str, float]:
    text = server.get("/metrics").text
    for f in text_string_to_metric_families(text):
        if f.name == family:
            return {s.labels["slo"]: s.value for s in f.samples}
    return {}


def test_a_file_that_disappears_or_is_corrupted_makes_only_its_slo_stale(
    tmp_path: Path, serve: type[ServerProcess]
) -> None:
    data = tmp_path / "data"
    data.mkdir()
    good_data(data / "a.csv")
    good_data(data / "b.csv", tz="+02:00")  # other zone: same UTC buckets
    ws = workspace(tmp_path, alpha="../data/a.csv", beta="../data/b.csv")
    server = serve([ws], tmp_path, "--at", AT, *FAST).start()
    server.wait_for("/api/v1/slos", lambda b: all(s["state"] == "ok" for s in b["items"]))
    assert status(server, "beta")["results"][0]["total"] == 600  # 60 minutes x 10
    assert status(server, "alpha")["results"][0]["total"] == 600

    (data / "a.csv").unlink()
    down = server.wait_for("/api/v1/slos/alpha/status", lambda b: b["stale"])
    assert "a.csv" in down["error"] and "cannot read" in down["error"]
    assert down["last_success"] is not None
    assert down["results"][0]["total"] == 600  # the last good numbers, flagged stale
    beta_before = status(server, "beta")["successes"]
    server.wait_for("/api/v1/slos/beta/status", lambda b: b["successes"] >= beta_before + 2)
    assert status(server, "beta")["stale"] is False

    assert "alpha" not in metric(server, "slm_slo_sli_ratio")
    assert metric(server, "slm_slo_sli_ratio")["beta"] == 1.0
    assert metric(server, "slm_slo_stale") == {"alpha": 1.0, "beta": 0.0}

    (data / "a.csv").write_text("timestamp,series,value\nnoon,good,1\n")
    bad = server.wait_for("/api/v1/slos/alpha/status", lambda b: "noon" in (b["error"] or ""))
    assert bad["stale"] is True and "a.csv:2: column 'timestamp'" in bad["error"]

    good_data(data / "a.csv")
    fresh = server.wait_for("/api/v1/slos/alpha/status", lambda b: not b["stale"])
    assert fresh["error"] is None and fresh["failures"] >= 2
    assert fresh["consecutive_failures"] == 0
    log = server.output()
    assert "SLO alpha: evaluation failed" in log and "SLO alpha: fresh again" in log
    assert "SLO beta: evaluation failed" not in log
    assert "Traceback" not in log


HUNG_SLO = """\
apiVersion: openslo/v1
kind: DataSource
metadata:
  name: silent
spec:
  type: Prometheus
  connectionDetails:
    url: {url}
    timeout: 1h
---
apiVersion: openslo/v1
kind: SLO
metadata:
  name: slow
  annotations:
    slm.dev/evaluation-interval: 1s
spec:
  service: api
  indicator:
    metadata:
      name: slow-success
    spec:
      ratioMetric:
        counter: true
        good:
          metricSource:
            metricSourceRef: silent
            type: Prometheus
            spec:
              query: good_total
        total:
          metricSource:
            metricSourceRef: silent
            type: Prometheus
            spec:
              query: requests_total
  timeWindow:
    - duration: 1d
      isRolling: true
  budgetingMethod: Occurrences
  objectives:
    - displayName: Requests succeed
      target: 0.99
"""


def test_a_hung_source_times_out_without_holding_up_the_rest(
    tmp_path: Path, serve: type[ServerProcess]
) -> None:
    data = tmp_path / "data"
    data.mkdir()
    good_data(data / "b.csv")
    ws = workspace(tmp_path, beta="../data/b.csv")
    # a Prometheus that takes the connection and never answers: a hung source (a FIFO
    # used to play this part; File sources now refuse anything but regular files)
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(16)
    port = silent.getsockname()[1]
    (ws / "slow.yaml").write_text(HUNG_SLO.format(url=f"http://127.0.0.1:{port}"))
    server = serve([ws], tmp_path, "--at", AT, *FAST).start()
    hung = server.wait_for("/api/v1/slos/slow/status", lambda b: b["error"] is not None)
    assert hung["stale"] is True and "timed out after 1s" in hung["error"]
    assert hung["results"] == []
    before = status(server, "beta")["successes"]
    server.wait_for("/api/v1/slos/beta/status", lambda b: b["successes"] >= before + 3)
    assert server.get("/healthz").status_code == 200

    started = time.monotonic()
    assert server.stop(signal.SIGTERM) == 0  # the hung thread does not block shutdown
    assert time.monotonic() - started < 10
    silent.close()


def test_future_buckets_and_skew_between_series_are_reported(
    tmp_path: Path, serve: type[ServerProcess]
) -> None:
    data = tmp_path / "data"
    data.mkdir()
    (data / "f.csv").write_text(
        "timestamp,series,value\n"
        + csv_rows(-timedelta(hours=1), timedelta(hours=1), "total", 10)  # runs 1h ahead
        + csv_rows(-timedelta(hours=1), -timedelta(minutes=30), "good", 10)  # lags 30m
    )
    ws = workspace(tmp_path, ahead="../data/f.csv")
    server = serve([ws], tmp_path, "--at", AT).start()
    body = server.wait_for("/api/v1/slos/ahead/status", lambda b: b["state"] == "ok")
    quality = body["data_quality"]
    assert quality["future_buckets"] == 60 - 6  # beyond now + 5m tolerance
    assert quality["skewed"] is True
    assert quality["skew_seconds"] == (timedelta(minutes=59) + timedelta(minutes=31)).seconds
    assert quality["newest_bucket"] == "2026-11-01T00:59:00Z"
    # only the past counts: the future buckets are not in the evaluated window
    assert body["results"][0]["total"] == 30 * 10
    assert metric(server, "slm_slo_future_buckets") == {"ahead": 54.0}
    assert metric(server, "slm_slo_source_skew_seconds") == {"ahead": 5400.0}
    log = server.output()
    assert "SLO ahead: 54 bucket(s) more than 5m in the future" in log
    assert "clock skew" in log
    assert datetime.fromisoformat(quality["newest_bucket"].replace("Z", "+00:00")) > T0
    assert T0.tzinfo is UTC


def test_adapters_load_before_the_first_evaluation(tmp_path: Path) -> None:
    """The one-time import of a source's adapter (pyarrow for File sources takes most of a
    second) happens when slm serve starts, not inside the first read and its timeout."""
    import subprocess
    import sys

    data = tmp_path / "data"
    data.mkdir()
    good_data(data / "a.csv")
    ws = workspace(tmp_path, alpha="../data/a.csv")
    code = (
        "import sys\n"
        "from slm.spec.loader import load_workspace\n"
        "from slm.sources.factory import load_adapters\n"
        f"ws = load_workspace([{str(ws)!r}])\n"
        "assert ws.source_types() == {'File'}, ws.source_types()\n"
        "assert 'pyarrow' not in sys.modules\n"
        "load_adapters(ws.source_types())\n"
        "assert 'pyarrow.csv' in sys.modules and 'slm.sources.tabular' in sys.modules\n"
        "load_adapters(['NoSuchType'])\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
