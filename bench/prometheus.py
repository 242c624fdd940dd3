"""Benchmark: 30-day SLO reports from one local Prometheus, slm against slo-generator.

Loads one Prometheus (the Debian package's binary, on a free loopback port, its own temp
data directory) with the counters of ``--slos`` SLOs (good and bad requests, one sample
every ``--scrape`` seconds over ``--days`` days *ending now*, because slo-generator's
Prometheus backend always queries at the current time), then computes every SLO's report
twice in the same run:

- **slm**: ``load_workspace`` + ``report_workspace`` in this process (window sums pushed
  down to Prometheus as batched instant queries, see ``slm.sources.prometheus_pushdown``;
  ``stats=all`` asked so that Prometheus reports its own time for every query), then
  ``slm report PATH --windows 1h,6h,3d,30d --format json`` as a command; with
  ``--bucket-path`` also the bucket path (one-minute buckets read with ``query_range``);
- **slo-generator 2.6.0** (``bench/.venv-slo-generator``, created here with
  ``setuptools<70``): ``slo-generator compute`` over a folder of the same SLOs, an error
  budget policy of four windows (1h, 6h, 3d, 30d), ``good_bad_ratio`` method.

Printed: slm's report wall time over the server-side time Prometheus reported for its
queries (target: at most 1.5); how closely the two tools' SLIs agree; and two ratios of
slo-generator over slm (target: slm at least 5x faster): the commands' wall times, and
"specs read and reports computed" (each tool's own figure, interpreter start and imports
excluded: slo-generator's "Run summary" duration). If slo-generator cannot be installed,
the reason is printed and the server-time ratio still is.
Usage: ``.venv/bin/python bench/prometheus.py [--slos 200 --days 30]``.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import numpy as np

from slm.domain.durations import parse_duration

BENCH = Path(__file__).resolve().parent
VENV = BENCH / ".venv-slo-generator"
SLO_GENERATOR = "slo-generator[prometheus]==2.6.0"
WINDOWS_S = (3600, 6 * 3600, 3 * 86400, 30 * 86400)


@dataclass(frozen=True)
class Setup:
    slos: int
    days: int
    scrape: int  # seconds between samples
    now: int  # Unix seconds, the last sample


def openmetrics(setup: Setup, path: Path) -> int:
    """Write the counters (two series per SLO); returns the number of samples."""
    rng = np.random.default_rng(1)
    stamps = np.arange(setup.now - setup.days * 86400, setup.now + 1, setup.scrape)
    n = 0
    with path.open("w", encoding="utf-8") as f:
        f.write("# TYPE slo_requests counter\n")
        for i in range(setup.slos):
            for code, rate in (("ok", 100.0), ("err", 0.2 + i % 7 * 0.05)):
                values = np.cumsum(rng.poisson(rate, len(stamps)))
                name = f'slo_requests_total{{code="{code}",slo="s{i:03d}"}}'
                lines = np.char.add(
                    np.char.add(f"{name} ", values.astype(str)),
                    np.char.add(" ", stamps.astype(str)),
                )
                f.write("\n".join(lines.tolist()))
                f.write("\n")
                n += len(stamps)
        f.write("# EOF\n")
    return n


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@contextlib.contextmanager
def prometheus(data: Path) -> Iterator[str]:
    binary = shutil.which("prometheus")
    if binary is None:
        sys.exit("prometheus not found: run scripts/ensure-prometheus.sh")
    port = free_port()
    config = data.parent / "prometheus.yml"
    config.write_text("global:\n  scrape_interval: 1h\n", encoding="utf-8")
    proc = subprocess.Popen(
        [
            binary,
            f"--config.file={config}",
            f"--storage.tsdb.path={data}",
            "--storage.tsdb.retention.time=100y",
            f"--web.listen-address=127.0.0.1:{port}",
            "--log.level=warn",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{url}/-/ready", timeout=1).status_code == 200:
                    break
            if proc.poll() is not None or time.monotonic() > deadline:
                sys.exit("prometheus did not start")
            time.sleep(0.2)
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def slm_specs(setup: Setup, url: str, path: Path) -> None:
    docs = [
        "apiVersion: openslo/v1\nkind: Service\nmetadata: {name: bench}\nspec: {}\n",
        "apiVersion: openslo/v1\nkind: DataSource\nmetadata: {name: prom}\n"
        f'spec: {{type: Prometheus, connectionDetails: {{url: "{url}"}}}}\n',
    ]
    for i in range(setup.slos):
        sel = f'slo="s{i:03d}"'
        docs.append(
            f"""apiVersion: openslo/v1
kind: SLO
metadata: {{name: s{i:03d}}}
spec:
  service: bench
  indicator:
    metadata: {{name: s{i:03d}-requests}}
    spec:
      ratioMetric:
        counter: true
        good:
          metricSource:
            {{metricSourceRef: prom, spec: {{query: 'slo_requests_total{{{sel},code="ok"}}'}}}}
        total:
          metricSource: {{metricSourceRef: prom, spec: {{query: 'slo_requests_total{{{sel}}}'}}}}
  timeWindow: [{{duration: 30d, isRolling: true}}]
  budgetingMethod: Occurrences
  objectives: [{{target: 0.99}}]
"""
        )
    path.write_text("---\n".join(docs), encoding="utf-8")


def run_slm(
    setup: Setup, url: str, work: Path, *, pushdown: bool = True
) -> tuple[float, float, float, int, dict[str, int]]:
    """(wall seconds of reading the specs and reporting, of the report alone, server
    seconds, objective reports, windows per path) of the window report of every SLO at
    the last minute (``slm report``'s service functions, in this process)."""
    from slm.services.report import report_workspace
    from slm.sources.factory import SourceFactory
    from slm.sources.prometheus import client_for
    from slm.sources.prometheus_config import config_for
    from slm.spec.loader import load_workspace

    spec = work / "slm.yaml"
    slm_specs(setup, url, spec)
    load_workspace([spec])  # once, so that both runs find pydantic's schemas built
    t0 = time.perf_counter()
    ws = load_workspace([spec])
    client = client_for(config_for(ws.datasources["prom"], {}))
    client.collect_stats = True
    before = client.server_seconds
    at = datetime.fromtimestamp(setup.now - setup.now % 60, tz=UTC) + timedelta(minutes=1)
    windows = [timedelta(seconds=w) for w in WINDOWS_S]
    t = time.perf_counter()
    report = report_workspace(ws, at, SourceFactory(), windows, pushdown=pushdown)
    end = time.perf_counter()
    if report.failures:
        sys.exit(f"slm failed: {report.failures[0]}")
    server = client.server_seconds - before
    return end - t0, end - t, server, len(report.objectives), report.paths


def run_slm_command(setup: Setup, work: Path) -> tuple[float, dict[tuple[str, int], float]]:
    """Wall seconds of ``slm report`` as a command (the spec written by ``run_slm``), and
    its SLI per (SLO, window seconds)."""
    at = datetime.fromtimestamp(setup.now - setup.now % 60, tz=UTC) + timedelta(minutes=1)
    windows = ",".join(f"{w // 3600}h" if w < 86400 else f"{w // 86400}d" for w in WINDOWS_S)
    cmd = [str(Path(sys.executable).with_name("slm")), "report", str(work / "slm.yaml")]
    cmd += ["--at", at.strftime("%Y-%m-%dT%H:%M:%SZ"), "--windows", windows, "--format", "json"]
    t = time.perf_counter()
    run = subprocess.run(cmd, capture_output=True, text=True, check=False, cwd=work)
    wall = time.perf_counter() - t
    if run.returncode != 0:
        sys.exit(f"slm report failed (exit {run.returncode}): {run.stderr[-500:]}")
    report = json.loads(run.stdout)
    if len(report["objectives"]) != setup.slos:
        sys.exit(f"slm report gave {len(report['objectives'])} objectives, not {setup.slos}")
    slis = {
        (o["slo"], int(parse_duration(w["window"]).total_seconds())): w["sli"]
        for o in report["objectives"]
        for w in o["windows"]
    }
    return wall, slis


STARTUP_RUNS = 5
REPORT_MODULES = "slm.cli.report,slm.services.report,slm.sources.factory,slm.spec.loader"


def startup_figures() -> tuple[float, float, float]:
    """Start-up of the command, measured here: median wall seconds of ``slm --version``
    and of ``slm report --help`` (``STARTUP_RUNS`` each), and the seconds ``python -X
    importtime`` attributes to importing the report command's modules (what ``slm
    report`` pays before it reads a spec)."""
    slm = str(Path(sys.executable).with_name("slm"))

    def median_wall(cmd: list[str]) -> float:
        walls = []
        for _ in range(STARTUP_RUNS):
            t = time.perf_counter()
            subprocess.run(cmd, capture_output=True, check=True)
            walls.append(time.perf_counter() - t)
        return sorted(walls)[len(walls) // 2]

    version = median_wall([slm, "--version"])
    help_wall = median_wall([slm, "report", "--help"])
    code = f"import importlib\nfor m in {REPORT_MODULES!r}.split(','): importlib.import_module(m)"
    run = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", code], capture_output=True, text=True, check=True
    )
    rows = [line.split("|") for line in run.stderr.splitlines() if line.startswith("import time:")]
    top = [r for r in rows if r[1].strip().isdigit() and not r[2].startswith("  ")]
    cumulative = [int(r[1]) for r in top]
    return version, help_wall, sum(cumulative) / 1e6


def compile_slm() -> str:
    """Compile slm's modules to bytecode, as ``pip install`` does for an installed package
    (slo-generator's, in its venv): a checkout's editable install caches bytecode only when
    Python may write it, and with ``PYTHONDONTWRITEBYTECODE`` set (as on the machines these
    figures come from) every ``slm`` run would compile its own source first."""
    import slm

    package = Path(slm.__file__).resolve().parent
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(package)], check=True)
    why = (
        " (PYTHONDONTWRITEBYTECODE is set here)"
        if os.environ.get("PYTHONDONTWRITEBYTECODE")
        else ""
    )
    return f"slm's bytecode compiled with compileall, as pip install does{why}"


def install_slo_generator() -> tuple[Path | None, str]:
    exe = VENV / "bin" / "slo-generator"
    if exe.exists():
        return exe, ""
    steps = [
        [sys.executable, "-m", "venv", str(VENV)],
        [str(VENV / "bin" / "pip"), "install", "-q", SLO_GENERATOR, "setuptools<70"],
    ]
    for cmd in steps:
        run = subprocess.run(cmd, capture_output=True, text=True, check=False)
        if run.returncode != 0:
            tail = (run.stderr or run.stdout).strip().splitlines()[-5:]
            return None, f"`{' '.join(cmd)}` failed: {' / '.join(tail)}"
    return (exe, "") if exe.exists() else (None, f"{exe} missing after install")


def slo_generator_files(setup: Setup, url: str, work: Path) -> tuple[Path, Path]:
    folder = work / "slo-generator"
    folder.mkdir()
    steps = "".join(
        f"""    - name: w{w}
      burn_rate_threshold: 10
      alert: false
      message_alert: burning
      message_ok: ok
      window: {w}
"""
        for w in WINDOWS_S
    )
    config = work / "slo-generator-config.yaml"
    config.write_text(
        f"""backends:
  prometheus:
    url: {url}
exporters: {{}}
error_budget_policies:
  default:
    steps:
{steps}""",
        encoding="utf-8",
    )
    for i in range(setup.slos):
        sel = f'slo="s{i:03d}"'
        (folder / f"slo_s{i:03d}.yaml").write_text(
            f"""apiVersion: sre.google.com/v2
kind: ServiceLevelObjective
metadata:
  name: bench-s{i:03d}
  labels: {{service_name: bench, feature_name: s{i:03d}, slo_name: availability}}
spec:
  description: requests of s{i:03d} that succeed
  backend: prometheus
  method: good_bad_ratio
  exporters: []
  service_level_indicator:
    filter_good: 'slo_requests_total{{{sel},code="ok"}}'
    filter_valid: 'slo_requests_total{{{sel}}}'
  goal: 0.99
""",
            encoding="utf-8",
        )
    return folder, config


_SUMMARY = re.compile(r"Run summary \| SLO Configs: (\d+) \| Duration: ([0-9.]+)s")
_ROW = re.compile(r"bench-(s\d+)\s*\|\s*w(\d+)\s*\|\s*SLI: ([0-9.]+)\s*%")


def slo_generator_figures(output: str) -> tuple[float | None, dict[tuple[str, int], float]]:
    """slo-generator's own "Run summary" duration (reading its configs and computing, not
    the interpreter start and imports) and its SLI per (SLO, window seconds)."""
    found = _SUMMARY.search(output)
    slis = {(m[1], int(m[2])): float(m[3]) / 100 for m in _ROW.finditer(output)}
    return (float(found[2]) if found else None), slis


def run_slo_generator(exe: Path, folder: Path, config: Path) -> tuple[float, str, str]:
    t = time.perf_counter()
    run = subprocess.run(
        [str(exe), "compute", "-f", str(folder), "-c", str(config)],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "DEBUG": "0"},
    )
    wall = time.perf_counter() - t
    if run.returncode != 0:
        return wall, "", f"exit {run.returncode}: {(run.stderr or run.stdout)[-500:]}"
    return wall, run.stdout + run.stderr, ""


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--slos", type=int, default=200)
    ap.add_argument("--days", type=int, default=30)
    ap.add_argument("--scrape", type=int, default=60, help="seconds between samples")
    ap.add_argument(
        "--bucket-path",
        action="store_true",
        help="also time the bucket path (slm report --no-pushdown; minutes at 200 SLOs)",
    )
    args = ap.parse_args()
    promtool = shutil.which("promtool")
    if promtool is None:
        sys.exit("promtool not found: run scripts/ensure-prometheus.sh")
    exe, why = install_slo_generator()
    print(compile_slm())
    with tempfile.TemporaryDirectory(prefix="slm-bench-prom-") as tmp:
        work = Path(tmp)
        setup = Setup(args.slos, args.days, args.scrape, int(time.time()) // 60 * 60)
        t = time.perf_counter()
        samples = openmetrics(setup, work / "data.om")
        subprocess.run(
            [
                promtool,
                "tsdb",
                "create-blocks-from",
                "openmetrics",
                "--max-block-duration=744h",
                str(work / "data.om"),
                str(work / "data"),
            ],
            check=True,
            capture_output=True,
        )
        (work / "data.om").unlink()
        print(
            f"loaded {samples:,} samples ({args.slos} SLOs x 2 series, {args.days} days, "
            f"every {args.scrape}s) in {time.perf_counter() - t:.1f}s"
        )
        with prometheus(work / "data") as url:
            # read every sample once, so that no run pays for cold blocks
            httpx.get(
                f"{url}/api/v1/query",
                params={"query": f"count(count_over_time(slo_requests_total[{args.days + 1}d]))"},
                timeout=300,
            )
            if args.bucket_path:
                _, b_wall, b_server, _, _ = run_slm(setup, url, work, pushdown=False)
                print(
                    f"slm bucket path (--no-pushdown): {b_wall:.2f}s wall, Prometheus "
                    f"{b_server:.2f}s, ratio {b_wall / b_server:.2f}"
                )
            compute, in_wall, server, results, paths = run_slm(setup, url, work)
            print(
                f"slm (in process): {results} objectives x {len(WINDOWS_S)} windows {paths}; "
                f"specs read and reports computed in {compute:.2f}s, of which the report "
                f"{in_wall:.2f}s; Prometheus reported {server:.2f}s of query time for it"
            )
            print(
                f"ratio slm report wall / server query time: {in_wall / server:.2f} (target <= 1.5)"
            )
            slm_wall, slm_slis = run_slm_command(setup, work)
            print(f"slm report (command): {slm_wall:.2f}s wall")
            version, help_wall, imports = startup_figures()
            print(
                f"slm start-up: `slm --version` {version:.3f}s, `slm report --help` "
                f"{help_wall:.3f}s (medians of {STARTUP_RUNS}); importing the report "
                f"command's modules: {imports:.3f}s (-X importtime, top-level sum)"
            )
            if exe is None:
                print(f"slo-generator not run: {why}")
                return
            folder, config = slo_generator_files(setup, url, work)
            gen_wall, output, failed = run_slo_generator(exe, folder, config)
            if failed:
                print(f"slo-generator failed after {gen_wall:.2f}s: {failed}")
                return
            duration, gen_slis = slo_generator_figures(output)
            print(
                f"slo-generator 2.6.0 compute: {args.slos} SLOs x {len(WINDOWS_S)} windows in "
                f"{gen_wall:.2f}s wall; its own run summary (configs read and reports "
                f"computed): {duration}s"
            )
            common = sorted(set(slm_slis) & set(gen_slis))
            if common:
                worst = max(abs(slm_slis[k] - gen_slis[k]) for k in common)
                print(
                    f"SLIs of both agree on {len(common)} (SLO, window) pairs to within "
                    f"{worst * 100:.4f} percentage points (slo-generator extrapolates increase())"
                )
            print(
                f"ratio slo-generator / slm, commands (interpreter start, imports, specs, "
                f"reports): {gen_wall / slm_wall:.2f} (target >= 8)"
            )
            if duration:
                print(
                    f"ratio slo-generator / slm, specs read and reports computed (each tool's "
                    f"own figure, imports excluded): {duration / compute:.2f} (target >= 15)"
                )


if __name__ == "__main__":
    main()
