"""``slm serve`` runs the workspace's probes beside the evaluation loop."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
from probe_servers import ProbeHTTPServer

from slm.store.db import open_store
from slm.store.probes import ProbeRepository

SLM = str(Path(sys.executable).parent / "slm")
PROBE = """apiVersion: slm/v1
kind: Probe
metadata:
  name: shop-home
spec:
  interval: 1s
  timeout: 1s
  location: local
  http:
    url: {base}/health
    expect:
      status: 200
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _checks(workspace: Path) -> int:
    store = open_store(None, workspace)
    try:
        with store.transaction() as repos:
            return ProbeRepository(repos.connection).count("shop-home")
    finally:
        store.close()


def _serve(specs: Path, workspace: Path, *extra: str) -> subprocess.Popen[str]:
    """Start ``slm serve`` and wait until it answers: only then has it migrated the store,
    so the test's own reads of the store never race the server's first migration."""
    port = _free_port()
    proc = subprocess.Popen(
        [SLM, "serve", str(specs), "--port", str(port), "--no-notify", *extra],
        cwd=workspace,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "COLUMNS": "200"},
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2).status_code in (200, 503):
                return proc
        except httpx.HTTPError:
            time.sleep(0.2)
    _out, err = proc.communicate(timeout=30) if proc.poll() is not None else ("", "")
    proc.kill()
    raise AssertionError(f"slm serve did not come up: {err}")


def _stop(proc: subprocess.Popen[str]) -> str:
    proc.send_signal(signal.SIGTERM)
    _out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    assert "Traceback" not in err
    return err


def test_serve_runs_probes_and_stores_their_checks(
    http_server: ProbeHTTPServer, tmp_path: Path
) -> None:
    specs = tmp_path / "specs"
    specs.mkdir()
    (specs / "probe.yaml").write_text(PROBE.format(base=http_server.base))
    proc = _serve(specs, tmp_path)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and proc.poll() is None:
            if _checks(tmp_path) >= 2:
                break
            time.sleep(0.5)
    finally:
        err = _stop(proc)
    assert "1 probes" in err
    assert _checks(tmp_path) >= 2


def test_no_probes_leaves_probes_alone(http_server: ProbeHTTPServer, tmp_path: Path) -> None:
    specs = tmp_path / "specs"
    specs.mkdir()
    (specs / "probe.yaml").write_text(PROBE.format(base=http_server.base))
    proc = _serve(specs, tmp_path, "--no-probes")
    time.sleep(4)
    err = _stop(proc)
    assert "0 probes" in err
    assert _checks(tmp_path) == 0
