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


def test_sighup_with_an_alias_bomb_or_a_huge_interval_keeps_serving(
    tmp_path: Path, serve: type[ServerProcess]
) -> None:
    """Issue 11: an alias bomb froze the server on reload; an evaluation interval of
    999999999999d passed the reload check and crashed it. Both are refused, located."""
    ws = store_workspace(tmp_path)
    server = serve([ws], tmp_path, "--at", AT, "--no-probes").start()
    assert server.proc is not None
    lines = ["apiVersion: openslo/v1", "l0: &l0 [lol, lol, lol, lol, lol, lol, lol, lol]"]
    lines += [f"l{i}: &l{i} [" + ", ".join([f"*l{i - 1}"] * 10) + "]" for i in range(1, 9)]
    (ws / "bomb.yaml").write_text("\n".join(lines) + "\n")
    server.proc.send_signal(signal.SIGHUP)
    server.wait_for("/healthz", lambda _: "bomb.yaml:7:" in server.output(), timeout=30)
    assert "more than 200,000 nodes in one file once aliases are expanded" in server.output()
    assert names(server) == ["api-availability"]

    (ws / "bomb.yaml").unlink()
    slo_only = STORE_SLO.split("---\n", 1)[1]
    huge = slo_only.format(name="api-search", interval="999999999999d", series="api_search")
    (ws / "api-search.yaml").write_text(huge)
    server.proc.send_signal(signal.SIGHUP)
    server.wait_for("/healthz", lambda _: "999999999999d" in server.output(), timeout=30)
    assert "is longer than the maximum of 100 years" in server.output()
    assert names(server) == ["api-availability"] and server.proc.poll() is None
    assert "slm serve: reloading (SIGHUP)" not in server.output()
    assert server.stop() == 0
