"""Helpers of the ``slm serve`` tests: a real server process on a free loopback port.

(Imported by name, ``from serve_helpers import ...``: a module named ``conftest`` would
clash with the other test folders' conftest modules.) ``ServerProcess`` starts ``slm
serve`` (the installed console script) in a subprocess with its own temporary store,
waits for ``/healthz`` and stops it with SIGTERM (or SIGKILL).
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"
SLM = Path(sys.executable).parent / "slm"
AT = "2026-11-01T00:00:00Z"

SERVICE = """\
apiVersion: openslo/v1
kind: Service
metadata:
  name: {service}
spec:
  description: test service
"""

STORE_SLO = """\
apiVersion: openslo/v1
kind: DataSource
metadata:
  name: pushed
spec:
  type: Store
  connectionDetails: {{}}
---
apiVersion: openslo/v1
kind: SLO
metadata:
  name: {name}
  annotations:
    slm.dev/evaluation-interval: {interval}
spec:
  service: api
  indicator:
    metadata:
      name: {name}-success
    spec:
      ratioMetric:
        counter: false
        good:
          metricSource:
            metricSourceRef: pushed
            type: Store
            spec:
              series: {series}_good
        total:
          metricSource:
            metricSourceRef: pushed
            type: Store
            spec:
              series: {series}_total
  timeWindow:
    - duration: 1d
      isRolling: true
  budgetingMethod: Occurrences
  objectives:
    - displayName: Requests succeed
      target: 0.99
"""

FILE_SLO = """\
apiVersion: openslo/v1
kind: DataSource
metadata:
  name: {name}-file
spec:
  type: File
  connectionDetails:
    path: {path}
---
apiVersion: openslo/v1
kind: SLO
metadata:
  name: {name}
  annotations:
    slm.dev/evaluation-interval: {interval}
spec:
  service: api
  indicator:
    metadata:
      name: {name}-success
    spec:
      ratioMetric:
        counter: false
        good:
          metricSource:
            metricSourceRef: {name}-file
            type: File
            spec:
              series: good
        total:
          metricSource:
            metricSourceRef: {name}-file
            type: File
            spec:
              series: total
  timeWindow:
    - duration: 1d
      isRolling: true
  budgetingMethod: Occurrences
  objectives:
    - displayName: Requests succeed
      target: 0.99
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


class ServerProcess:
    """``slm serve`` in a subprocess; ``url`` is its base URL."""

    def __init__(self, paths: list[Path], workdir: Path, *args: str):
        self.paths, self.workdir, self.args = paths, workdir, list(args)
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = workdir / f"serve-{self.port}.log"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 90.0) -> ServerProcess:
        cmd = [str(SLM), "serve", *map(str, self.paths), "--port", str(self.port), *self.args]
        env = {**os.environ, "SLM_WORKSPACE": str(self.workdir)}
        env.pop("SLM_DB_URL", None)
        with self.log.open("ab") as log:
            self.proc = subprocess.Popen(
                cmd, cwd=self.workdir, stdout=log, stderr=subprocess.STDOUT, env=env
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"slm serve exited {self.proc.returncode}:\n{self.output()}")
            try:
                if httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        self.kill()
        raise AssertionError(f"slm serve did not become ready:\n{self.output()}")

    def output(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def get(self, path: str) -> httpx.Response:
        return httpx.get(f"{self.url}{path}", timeout=30)

    def post(self, path: str, **kwargs: Any) -> httpx.Response:
        return httpx.post(f"{self.url}{path}", timeout=30, **kwargs)

    def wait_for(
        self, path: str, predicate: Callable[[dict[str, Any]], bool], timeout: float = 60.0
    ) -> dict[str, Any]:
        """Poll a JSON endpoint until ``predicate(body)`` is true; the last body."""
        deadline = time.monotonic() + timeout
        body: dict[str, Any] = {}
        while time.monotonic() < deadline:
            body = self.get(path).json()
            if predicate(body):
                return body
            time.sleep(0.1)
        raise AssertionError(f"timed out waiting on {path}; last body: {body}\n{self.output()}")

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 15.0) -> int:
        assert self.proc is not None
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return self.proc.returncode

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


def store_workspace(root: Path, name: str = "api-availability", interval: str = "1s") -> Path:
    ws = root / "ws"
    ws.mkdir(exist_ok=True)
    (ws / "service.yaml").write_text(SERVICE.format(service="api"))
    (ws / f"{name}.yaml").write_text(
        STORE_SLO.format(name=name, interval=interval, series=name.replace("-", "_"))
    )
    return ws


def copy_examples(root: Path) -> Path:
    """The example workspace (specs and data) copied under ``root``."""
    shutil.copytree(EXAMPLES / "shop", root / "examples" / "shop")
    shutil.copytree(EXAMPLES / "data", root / "examples" / "data")
    return root / "examples"


def problem(response: httpx.Response, status: int) -> dict[str, Any]:
    """The RFC 9457 problem of an error answer, checked against its schema and status."""
    from slm.api.problems import MEDIA_TYPE, Problem

    assert response.status_code == status, response.text
    assert response.headers["content-type"] == MEDIA_TYPE, response.headers
    body: dict[str, Any] = response.json()
    Problem.model_validate(body)
    assert body["status"] == status
    assert body["instance"] == response.request.url.path
    return body
