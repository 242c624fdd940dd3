"""The same counts through ``type: File`` and ``type: Prometheus`` give identical results."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import pytest
from prom_helpers import END, History
from typer.testing import CliRunner

from slm.cli import app

SPEC = """\
apiVersion: openslo/v1
kind: Service
metadata: {{name: web}}
spec: {{description: web}}
---
apiVersion: openslo/v1
kind: DataSource
metadata: {{name: metrics}}
spec:
  type: {type}
  connectionDetails:
{details}
---
apiVersion: openslo/v1
kind: SLO
metadata: {{name: web-availability}}
spec:
  service: web
  indicator:
    metadata: {{name: web-requests}}
    spec:
      ratioMetric:
        counter: {counter}
        good:
          metricSource:
            metricSourceRef: metrics
            spec: {good}
        total:
          metricSource:
            metricSourceRef: metrics
            spec: {total}
  timeWindow:
    - duration: {window}
      isRolling: true
  budgetingMethod: {method}
  objectives:
    - displayName: ok
      target: 0.99
{slice}
"""


def write(tmp_path: Path, name: str, **fields: str) -> Path:
    d = tmp_path / name
    d.mkdir()
    (d / "slo.yaml").write_text(SPEC.format(**fields), encoding="utf-8")
    return d


def evaluate(path: Path, at: str) -> list[dict[str, object]]:
    result = CliRunner().invoke(app, ["evaluate", str(path), "--at", at, "--format", "json"])
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert doc["schema"] == "slm.evaluate/v1"
    out: list[dict[str, object]] = doc["items"]
    return out


@pytest.mark.parametrize(
    ("window", "method", "at"),
    [
        pytest.param("1d", "Occurrences", END.isoformat(), id="occurrences-1d-at-end"),
        pytest.param("2d", "Occurrences", "2026-10-31T13:17:00Z", id="occurrences-2d-mid"),
        pytest.param("1d", "Timeslices", "2026-10-31T06:00:00Z", id="timeslices-5m"),
    ],
)
def test_file_and_prometheus_give_identical_results(
    history: History, tmp_path: Path, window: str, method: str, at: str
) -> None:
    slice_ = (
        "      timeSliceTarget: 0.95\n      timeSliceWindow: 5m" if method == "Timeslices" else ""
    )
    common = {"window": window, "method": method, "slice": slice_}
    prom = write(
        tmp_path,
        "prom",
        type="Prometheus",
        details=f"    - url: {history.url}\n    - timeout: 10s",  # the list-of-maps form
        counter="true",
        good="{query: 'http_requests_total{code=\"200\"}'}",
        total="{query: http_requests_total}",
        **common,
    )
    files = write(
        tmp_path,
        "file",
        type="File",
        details=f"    path: {history.csv}",
        counter="false",
        good="{series: good}",
        total="{series: total}",
        **common,
    )
    from_prometheus, from_files = evaluate(prom, at), evaluate(files, at)
    assert from_prometheus == from_files
    assert from_prometheus and all(r["total"] for r in from_prometheus)  # type: ignore[index]


SLOTH = """\
version: "prometheus/v1"
service: "web"
slos:
  - name: "requests-availability"
    objective: 99
    sli:
      events:
        error_query: sum(rate(http_requests_total{code="500"}[{{.window}}]))
        total_query: sum(rate(http_requests_total[{{.window}}]))
    alerting:
      page_alert: {disable: true}
      ticket_alert: {disable: true}
"""


def test_sloth_rates_become_events_per_bucket(
    history: History, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "sloth.yaml").write_text(SLOTH, encoding="utf-8")
    at = "2026-10-31T12:00:00Z"
    missing = CliRunner().invoke(app, ["evaluate", str(tmp_path), "--at", at])
    assert missing.exit_code == 3 and "SLM_PROMETHEUS_URL" in missing.output
    monkeypatch.setenv("SLM_PROMETHEUS_URL", history.url)
    [result] = evaluate(tmp_path, at)
    # rate() extrapolates, so the events are close to, not equal to, the counted ones
    end = int(datetime.fromisoformat(at).timestamp())
    counted = sum(v for t, v in history.counts["total"].items() if end - 30 * 86400 <= t < end)
    assert result["total"] == pytest.approx(counted, rel=0.01)


def test_serve_with_its_bucket_cache_reports_what_evaluate_computes(
    history: History, tmp_path: Path
) -> None:
    """``slm serve`` on the real Prometheus, the clock frozen at ``AT`` and the SLO evaluated
    every second: later evaluations read only the recent tail and splice it onto the kept
    buckets; every one reports exactly what ``slm evaluate`` computes from a fresh read."""
    import os
    import socket
    import subprocess
    import sys
    import time

    import httpx

    at = "2026-10-31T20:00:00Z"
    prom = write(
        tmp_path,
        "prom",
        type="Prometheus",
        details=f"    url: {history.url}",
        counter="true",
        good="{query: 'http_requests_total{code=\"200\"}'}",
        total="{query: http_requests_total}",
        window="1d",
        method="Occurrences",
        slice="",
    )
    text = (
        (prom / "slo.yaml")
        .read_text()
        .replace(
            "metadata: {name: web-availability}",
            "metadata:\n  name: web-availability\n  annotations: {slm.dev/evaluation-interval: 1s}",
        )
    )
    (prom / "slo.yaml").write_text(text)
    [expected] = evaluate(prom, at)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen(
        [sys.executable, "-m", "slm", "serve", str(prom), "--at", at, "--port", str(port),
         "--workspace", str(tmp_path), "--no-probes", "--no-notify"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}/api/v1/slos/web-availability/status"
    seen: list[dict[str, object]] = []
    try:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline and len(seen) < 3:
            try:
                body = httpx.get(url, timeout=5).json()
            except httpx.HTTPError:
                time.sleep(0.2)
                continue
            results = body.get("results") or []
            stamp = body.get("last_success")
            if results and stamp and all(stamp != s["last_success"] for s in seen):
                seen.append({"last_success": stamp, **results[0]})
            time.sleep(0.3)
    finally:
        proc.terminate()
        output = proc.communicate(timeout=30)[0]
    assert len(seen) == 3, output[-2000:]
    for got in seen:
        for field in ("good", "total", "sli", "coverage"):
            assert got[field] == expected[field], (field, got, expected)
