"""Helpers and fixtures of the Prometheus tests: a real Prometheus (the Debian package's
binary on a free loopback port) loaded with known data, and misbehaving HTTP servers.

``history`` (one per test worker) writes known counters and a gauge as OpenMetrics, turns
them into TSDB blocks with ``promtool tsdb create-blocks-from openmetrics`` and starts
``prometheus`` on that data directory (retention 100y, so the past blocks stay). The same
samples are also turned into per-minute counts by an independent reference (the rule of
exposition files: a sample's increase over the previous sample belongs to the minute that
contains the sample; a drop is a restart from 0; the minute of a counter's first sample is
its baseline) and written as a CSV file, so tests can compare ``type: Prometheus`` with
``type: File`` on identical data.

When ``prometheus``/``promtool`` are missing the tests skip, or fail under ``CI=true``
(``scripts/ensure-prometheus.sh`` installs them; ``make test`` runs it).
"""

from __future__ import annotations

import contextlib
import ctypes
import itertools
import os
import shutil
import signal
import socket
import subprocess
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import numpy as np
import pytest

END = datetime(2026, 11, 1, tzinfo=UTC)
START = END - timedelta(days=3, hours=1)
SCRAPE = 15  # seconds between samples, on minute boundaries (0, 15, 30, 45)
GOOD = 'http_requests_total{code="200"}'
TOTAL = "http_requests_total"


def _unavailable(message: str) -> None:
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"{message} (CI=true: the Prometheus tests must run)", pytrace=False)
    pytest.skip(message)


def binaries() -> tuple[str, str]:
    prometheus, promtool = shutil.which("prometheus"), shutil.which("promtool")
    if prometheus is None or promtool is None:
        _unavailable(
            "prometheus/promtool not found: install the Debian package "
            "(scripts/ensure-prometheus.sh, or apt-get install prometheus)"
        )
    assert prometheus is not None and promtool is not None
    return prometheus, promtool


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def create_blocks(openmetrics: str, data_dir: Path) -> None:
    """``promtool tsdb create-blocks-from openmetrics`` into ``data_dir``."""
    _, promtool = binaries()
    data_dir.mkdir(parents=True, exist_ok=True)
    source = data_dir.parent / f"{data_dir.name}.om"
    source.write_text(openmetrics, encoding="utf-8")
    run = subprocess.run(
        [promtool, "tsdb", "create-blocks-from", "openmetrics", str(source), str(data_dir)],
        capture_output=True,
        text=True,
        check=False,
    )
    if run.returncode != 0:
        raise RuntimeError(f"promtool failed: {run.stderr or run.stdout}")
    source.unlink()


def _die_with_parent() -> None:
    """Linux: the server gets SIGTERM if the test process dies without tearing down."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


class PrometheusServer:
    """``prometheus`` on a free loopback port with its own data directory."""

    def __init__(self, data_dir: Path):
        self.data_dir = data_dir
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        prometheus, _ = binaries()
        config = self.data_dir.parent / f"{self.data_dir.name}.yml"
        config.write_text("global:\n  scrape_interval: 1h\n", encoding="utf-8")
        log = (self.data_dir.parent / f"{self.data_dir.name}.log").open("wb")
        self.process = subprocess.Popen(
            [
                prometheus,
                f"--config.file={config}",
                f"--storage.tsdb.path={self.data_dir}",
                "--storage.tsdb.retention.time=100y",
                f"--web.listen-address=127.0.0.1:{self.port}",
                "--log.level=warn",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            preexec_fn=_die_with_parent,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                text = Path(log.name).read_text(errors="replace")[-2000:]
                raise RuntimeError(f"prometheus exited with {self.process.returncode}: {text}")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{self.url}/-/ready", timeout=1).status_code == 200:
                    return
            time.sleep(0.1)
        self.stop()
        raise RuntimeError("prometheus did not become ready within 60 s")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


@dataclass
class History:
    """What the test Prometheus holds, and the reference counts of the same samples."""

    url: str
    server: PrometheusServer
    csv: Path  # timestamp,series,value per minute: good, total, gauge_last, gauge_max
    counts: dict[str, dict[int, float]] = field(default_factory=dict)  # series -> minute -> n


def _samples(seed: int = 7) -> dict[str, list[tuple[int, float]]]:
    """Counters of two instances (one restarts, one misses scrapes) and a gauge."""
    rng = np.random.default_rng(seed)
    t0, t1 = int(START.timestamp()), int(END.timestamp())
    stamps = np.arange(t0, t1 + 1, SCRAPE)
    out: dict[str, list[tuple[int, float]]] = {}
    restarts = {t0 + 3600 * h + 37 * 60 + 30 for h in (5, 29, 50)}  # mid-minute restarts
    missed = {t0 + 7200 + 15 * k for k in range(1, 9)}  # a 2-minute scrape gap (< 5m)
    for instance in ("a", "b"):
        for code, rate in (("200", 40.0), ("500", 0.3)):
            name = f'http_requests_total{{code="{code}",instance="{instance}"}}'
            events = rng.poisson(rate, len(stamps)).astype(np.float64)
            outage = (stamps > t0 + 86_400) & (stamps < t0 + 86_400 + 1800)
            if code == "500":
                events[outage] += rng.poisson(8.0, int(outage.sum()))
            value, points = 0.0, []
            for t, n in zip(stamps.tolist(), events.tolist(), strict=True):
                value = n if instance == "b" and t in restarts else value + n
                if instance == "b" and t in missed:
                    continue
                points.append((t, value))
            out[name] = points
    depth = rng.integers(0, 100, len(stamps)).astype(np.float64)
    out['queue_depth{instance="a"}'] = list(zip(stamps.tolist(), depth.tolist(), strict=True))
    return out


def openmetrics(samples: dict[str, list[tuple[int, float]]]) -> str:
    lines = ["# TYPE http_requests counter", "# TYPE queue_depth gauge"]
    by_family: dict[str, list[tuple[int, str, float]]] = defaultdict(list)
    for name, points in samples.items():
        family = "http_requests" if name.startswith("http_requests") else "queue_depth"
        by_family[family].extend((t, name, v) for t, v in points)
    out = [lines[0]]
    out += [f"{n} {v:g} {t}" for t, n, v in sorted(by_family["http_requests"])]
    out.append(lines[1])
    out += [f"{n} {v:g} {t}" for t, n, v in sorted(by_family["queue_depth"])]
    return "\n".join([*out, "# EOF", ""])


def reference_counts(samples: dict[str, list[tuple[int, float]]]) -> dict[str, dict[int, float]]:
    """Per-minute counts by the exposition rule (independent of the Prometheus source)."""
    good: dict[int, float] = defaultdict(float)
    total: dict[int, float] = defaultdict(float)
    last: dict[int, float] = {}
    peak: dict[int, float] = defaultdict(lambda: -1.0)
    for name, points in samples.items():
        if name.startswith("queue_depth"):
            for t, v in points:
                last[t - t % 60] = v  # points are in time order: the minute's last sample
                peak[t - t % 60] = max(peak[t - t % 60], v)
            continue
        baseline = points[0][0] - points[0][0] % 60  # the minute of the first sample
        for (_, before), (t, after) in itertools.pairwise(points):
            inc = after if after < before else after - before
            minute = t - t % 60
            if minute == baseline:  # Prometheus has no value before it: a gap there
                continue
            total[minute] += inc
            if 'code="200"' in name:
                good[minute] += inc
    return {"good": dict(good), "total": dict(total), "last": last, "max": dict(peak)}


def write_csv(path: Path, counts: dict[str, dict[int, float]]) -> None:
    rows = ["timestamp,series,value"]
    for series, by_minute in counts.items():
        rows += [f"{t},{series},{v:g}" for t, v in sorted(by_minute.items())]
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")


@pytest.fixture(scope="session")
def history(tmp_path_factory: pytest.TempPathFactory) -> Iterator[History]:
    binaries()
    root = tmp_path_factory.mktemp("prometheus")
    samples = _samples()
    create_blocks(openmetrics(samples), root / "data")
    server = PrometheusServer(root / "data")
    server.start()
    counts = reference_counts(samples)
    csv = root / "reference.csv"
    write_csv(csv, counts)
    try:
        yield History(server.url, server, csv, counts)
    finally:
        server.stop()


# --- a tiny loopback HTTP server that misbehaves on purpose ----------------------------

Handler = Callable[[BaseHTTPRequestHandler, int], None]
"""Answers one request; the int counts the requests so far (from 1)."""


@dataclass
class FakeServer:
    url: str
    calls: list[str] = field(default_factory=list)
    release: threading.Event = field(default_factory=threading.Event)


@pytest.fixture
def http_server() -> Iterator[Callable[[Handler], FakeServer]]:
    """Start loopback HTTP servers whose every answer comes from a handler function."""
    servers: list[tuple[ThreadingHTTPServer, FakeServer]] = []

    def start(handle: Handler) -> FakeServer:
        state = FakeServer(url="")

        class _H(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                state.calls.append(self.rfile.read(length).decode())
                handle(self, len(state.calls))

            do_GET = do_POST

            def log_message(self, *args: object) -> None:
                pass

        server = ThreadingHTTPServer(("127.0.0.1", 0), _H)
        server.daemon_threads = True
        state.url = f"http://127.0.0.1:{server.server_address[1]}"
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append((server, state))
        return state

    yield start
    for server, state in servers:
        state.release.set()
        server.shutdown()
        server.server_close()


def reply(
    h: BaseHTTPRequestHandler, status: int, body: bytes, ctype: str = "application/json"
) -> None:
    h.send_response(status)
    h.send_header("Content-Type", ctype)
    h.send_header("Content-Length", str(len(body)))
    h.end_headers()
    h.wfile.write(body)
