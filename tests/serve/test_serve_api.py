"""``slm serve`` on the example workspace: status JSON, provenance, /metrics, shutdown."""

from __future__ import annotations

import signal
import subprocess
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families
from serve_helpers import AT, EXAMPLES, SLM, ServerProcess, copy_examples, problem

from slm.services.evaluate import evaluate_workspace
from slm.services.views import result_view
from slm.sources.factory import SourceFactory
from slm.spec.loader import load_workspace
from slm.store.db import open_store
from slm.store.history import HistoryRepository


@pytest.fixture(scope="module")
def examples(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return copy_examples(tmp_path_factory.mktemp("examples"))


@pytest.fixture(scope="module")
def server(examples: Path) -> Iterator[ServerProcess]:
    s = ServerProcess([examples], examples.parent, "--at", AT, "--no-probes").start()
    s.wait_for("/api/v1/slos", lambda b: all(x["state"] == "ok" for x in b["items"]))
    yield s
    s.kill()


@pytest.fixture(scope="module")
def expected(examples: Path) -> dict[tuple[str, str], dict[str, Any]]:
    """The same workspace evaluated in-process at the same instant."""
    ws = load_workspace([examples])
    at = datetime.fromisoformat(AT.replace("Z", "+00:00"))
    report = evaluate_workspace(ws, at, SourceFactory())
    assert not report.failures
    return {(r.slo, r.objective): result_view(r) for r in report.results}


def test_healthz_reports_the_running_loop(server: ServerProcess) -> None:
    body = server.get("/healthz").json()
    assert (body["schema"], body["status"]) == ("slm.health/v1", "ok")
    assert body["slos"] == 4
    assert body["stale"] == 0
    # the evaluation loop and the notification dispatcher (probes are off for this server)
    assert body["tasks"] == {"EvaluationLoop.run": "running", "_Alerting.dispatch": "running"}


def test_slo_list_summarises_every_slo(
    server: ServerProcess, expected: dict[tuple[str, str], dict[str, Any]]
) -> None:
    body = server.get("/api/v1/slos").json()
    assert (body["schema"], body["at"]) == ("slm.slos/v1", AT)
    names = sorted(s["name"] for s in body["items"])
    assert names == sorted({slo for slo, _ in expected})
    for slo in body["items"]:
        assert slo["stale"] is False and slo["error"] is None
        assert slo["evaluated_at"] == AT
        for o in slo["objectives"]:
            want = expected[(slo["name"], o["objective"])]
            assert o["sli"] == want["sli"]
            assert o["error_budget_remaining_ratio"] == want["error_budget"]["remaining_ratio"]


def test_status_holds_the_same_numbers_as_slm_evaluate(
    server: ServerProcess, expected: dict[tuple[str, str], dict[str, Any]]
) -> None:
    for slo in sorted({slo for slo, _ in expected}):
        body = server.get(f"/api/v1/slos/{slo}/status").json()
        assert body["schema"] == "slm.slo-status/v1"
        assert body["stale"] is False
        assert body["last_success"] is not None
        for result in body["results"]:
            result.pop("provenance")
            assert result == expected[(slo, result["objective"])]


def test_status_carries_provenance_of_each_query(server: ServerProcess) -> None:
    body = server.get("/api/v1/slos/payments-availability/status").json()
    prov = body["results"][0]["provenance"]
    assert prov["method"] == "Occurrences"
    assert prov["coverage"]["ratio"] == body["results"][0]["coverage"]["ratio"]
    queries = {q["role"]: q for q in prov["queries"]}
    assert set(queries) == {"bad", "total"}
    assert queries["bad"]["datasource"] == "shop-metrics"
    assert queries["bad"]["type"] == "File"
    assert queries["bad"]["query"] == {"series": "payments_requests_failed"}
    assert queries["total"]["coverage"]["present_buckets"] > 0
    assert body["data_quality"]["future_buckets"] == 0
    assert body["data_quality"]["skewed"] is False


def test_unknown_slo_is_a_404_naming_the_known_ones(server: ServerProcess) -> None:
    got = problem(server.get("/api/v1/slos/nope/status"), 404)
    assert got["type"] == "tag:slm.dev,2026:problem:not-found"
    assert "no SLO named 'nope'" in got["detail"] and "checkout-availability" in got["detail"]


def test_metrics_parse_and_agree_with_the_status_json(server: ServerProcess) -> None:
    text = server.get("/metrics").text
    families = {f.name: f for f in text_string_to_metric_families(text)}
    sli = {
        (s.labels["slo"], s.labels["objective"]): s.value
        for s in families["slm_slo_sli_ratio"].samples
    }
    for slo in server.get("/api/v1/slos").json()["items"]:
        for o in slo["objectives"]:
            assert sli[(slo["name"], o["objective"])] == pytest.approx(o["sli"], rel=1e-12)
    stale = {s.labels["slo"]: s.value for s in families["slm_slo_stale"].samples}
    assert set(stale.values()) == {0.0} and len(stale) == 4
    windows = {
        s.labels["window"]
        for s in families["slm_slo_burn_rate"].samples
        if s.labels["slo"] == "checkout-availability"
    }
    assert {"5m", "1h", "6h", "30d"} <= windows
    firing = families["slm_slo_alert_firing"].samples
    assert {s.labels["severity"] for s in firing} == {"page", "ticket"}
    for name in (
        "slm_slo_objective_ratio",
        "slm_slo_error_budget_remaining_ratio",
        "slm_slo_data_coverage_ratio",
        "slm_slo_staleness_seconds",
        "slm_slo_evaluations",
        "slm_push_batches",
    ):
        assert families[name].samples, name


def test_every_evaluation_is_stored_with_provenance(server: ServerProcess, examples: Path) -> None:
    store = open_store(None, examples.parent)
    try:
        with store.transaction() as repos:
            rows = HistoryRepository(repos.connection).rows("checkout-latency")
    finally:
        store.close()
    assert rows
    assert all(r.provenance is not None for r in rows)
    first = rows[0].provenance
    assert first is not None
    assert first["queries"][0]["query"] == {"series": "checkout_latency_p99_ms"}
    assert first["queries"][0]["type"] == "File"


def test_sigterm_stops_gracefully(examples: Path, tmp_path: Path) -> None:
    server = ServerProcess([examples], tmp_path, "--at", AT, "--no-probes").start()
    server.wait_for("/api/v1/slos", lambda b: all(x["state"] == "ok" for x in b["items"]))
    assert server.stop(signal.SIGTERM) == 0
    log = server.output()
    assert "evaluation loop stopped" in log
    assert "slm serve: stopped (SIGTERM)" in log
    assert "Traceback" not in log


@pytest.mark.parametrize(
    ("annotation", "message"),
    [
        pytest.param("soon", "invalid duration 'soon'", id="not-a-duration"),
        pytest.param("500ms", "shorter than the minimum of 1s", id="too-short"),
    ],
)
def test_a_bad_interval_annotation_is_refused_with_file_and_line(
    tmp_path: Path, annotation: str, message: str
) -> None:
    from serve_helpers import store_workspace

    ws = store_workspace(tmp_path, interval=annotation)
    r = subprocess.run(
        [str(SLM), "serve", str(ws), "--port", "1"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert r.returncode == 1
    assert "api-availability.yaml:" in r.stderr
    assert "metadata.annotations.slm.dev/evaluation-interval" in r.stderr
    assert message in r.stderr
    assert "Traceback" not in r.stderr


def test_a_taken_port_is_a_clear_error(tmp_path: Path) -> None:
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        r = subprocess.run(
            [str(SLM), "serve", str(EXAMPLES), "--port", str(port), "--workspace", str(tmp_path)],
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert r.returncode == 1
    assert f"cannot listen on 127.0.0.1:{port}" in r.stderr
    assert "Traceback" not in r.stderr
    assert not (tmp_path / ".slm").exists()  # nothing started
