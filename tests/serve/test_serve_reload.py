"""SIGHUP: ``slm serve`` reloads its specs by restarting itself on the same listening
socket; specs that do not load leave it serving the old ones."""

from __future__ import annotations

import signal
from pathlib import Path

from serve_helpers import AT, SERVICE, STORE_SLO, ServerProcess, store_workspace


def names(server: ServerProcess) -> list[str]:
    return sorted(s["name"] for s in server.get("/api/v1/slos").json()["items"])


def test_sighup_reloads_good_specs_and_keeps_serving_on_bad_ones(
    tmp_path: Path, serve: type[ServerProcess]
) -> None:
    ws = store_workspace(tmp_path)
    server = serve([ws], tmp_path, "--at", AT, "--no-probes").start()
    assert names(server) == ["api-availability"]
    pid = server.proc.pid if server.proc else None

    slo_only = STORE_SLO.split("---\n", 1)[1]  # the DataSource is there already
    (ws / "api-search.yaml").write_text(
        slo_only.format(name="api-search", interval="1s", series="api_search")
    )
    assert server.proc is not None
    server.proc.send_signal(signal.SIGHUP)
    server.wait_for(
        "/api/v1/slos",
        lambda b: sorted(s["name"] for s in b["items"]) == ["api-availability", "api-search"],
    )
    assert server.proc.pid == pid and server.proc.poll() is None  # the same process, re-run
    assert "slm serve: reloading (SIGHUP)" in server.output()

    (ws / "broken.yaml").write_text(SERVICE.format(service="Not A Name"))
    server.proc.send_signal(signal.SIGHUP)
    refused = "the specs were not reloaded"
    server.wait_for("/healthz", lambda _: refused in server.output(), timeout=30)
    assert names(server) == ["api-availability", "api-search"]
    assert "broken.yaml:" in server.output()
    assert server.output().count("slm serve: reloading (SIGHUP)") == 1
    assert server.stop() == 0
