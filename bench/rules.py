"""Benchmark: rule-group evaluation time of cheap long windows vs exact windows.

Run: ``.venv/bin/python bench/rules.py [--slos 100] [--days 3] [--instances 2]
[--seconds 120]``

One real Prometheus (the Debian package's binary, on a free loopback port, with a temp
data directory) loads the rules ``slm rules generate`` writes for N Sloth SLOs (events
SLIs over ``http_requests_total``, codes 200 and 500 on ``--instances`` instances per
SLO, SRE Workbook 30d windows) in the exact form (``--optimize none``: every window a
rate over the raw counters) and in the cheap form (``--cheap-long-windows``: the 1h, 1d,
3d and 30d ratios averaged from the 5m recording), swapped with reloads: a warm-up phase
(exact, not counted: it pays for the page cache and the first compactions), exact,
cheap, exact again (to show the noise). History: ``--days`` of raw counters scraped every
30s and of the 5m recording the cheap form reads (one sample a minute), backfilled with
``promtool tsdb create-blocks-from openmetrics`` (one input file per 2h block), so both
forms read full windows up to 3d; the 30d window reads the days that exist, in both.

Figures, cheap / exact: the sum over all rule groups of each group's ``evaluationTime``
from ``/api/v1/rules`` (median over the evaluations seen in ``--seconds``, the first one
dropped; groups run every 20s, spread over the interval), the same for the SLI recording
groups alone, and the Prometheus process's CPU time per evaluation cycle (/proc).
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

import httpx

from slm.rules.pipeline import RulesRequest, build_rules

SCRAPE = 30  # seconds between raw counter samples
EVAL = 20  # seconds between rule evaluations (groups are spread over it)
STEP = 60  # seconds between samples of the backfilled 5m recording


def spec(n: int) -> str:
    lines = ['version: "prometheus/v1"', "service: bench", "slos:"]
    w = "{{.window}}"
    for i in range(n):
        sel = f'slo="s{i:03d}"'
        lines += [
            f"  - name: s{i:03d}",
            "    objective: 99.9",
            "    sli:",
            "      events:",
            f'        error_query: sum(rate(http_requests_total{{{sel},code="500"}}[{w}]))',
            f"        total_query: sum(rate(http_requests_total{{{sel}}}[{w}]))",
            "    alerting:",
            f"      name: BenchS{i:03d}",
        ]
    return "\n".join(lines) + "\n"


BLOCK = 7200  # promtool writes 2h blocks and reads its whole input once per block


def history(directory: Path, n: int, days: int, instances: int, end: int) -> list[Path]:
    """OpenMetrics files, one per 2h block: ``days`` of raw counters every ``SCRAPE``
    seconds (per SLO: ``instances`` x codes 200 and 500) and of the 5m recording."""
    start = end - days * 86400
    files = []
    for lo in range(start // BLOCK * BLOCK, end + 1, BLOCK):
        span = range(max(lo, start), min(lo + BLOCK, end + 1))
        raw_ts = [t for t in span if t % SCRAPE == 0]
        ts = [t for t in span if t % STEP == 0]
        path = directory / f"history-{lo}.om"
        with path.open("w", encoding="utf-8") as f:
            f.write("# TYPE http_requests counter\n")
            for i in range(n):
                for inst in range(instances):
                    for code, per_s in (("200", 10 - i / 100), ("500", (1 + i % 7) / 100)):
                        labels = f'code="{code}",instance="i{inst}",slo="s{i:03d}"'
                        f.writelines(
                            f"http_requests_total{{{labels}}} {round((t - start) * per_s)} {t}\n"
                            for t in raw_ts
                        )
            f.write("# TYPE slo:sli_error:ratio_rate5m gauge\n")
            for i in range(n):
                ratio = (1 + i % 7) / (1000 - i + 1 + i % 7)
                labels = (
                    f'sloth_id="bench-s{i:03d}",sloth_service="bench",'
                    f'sloth_slo="s{i:03d}",sloth_window="5m"'
                )
                f.writelines(f"slo:sli_error:ratio_rate5m{{{labels}}} {ratio} {t}\n" for t in ts)
            f.write("# EOF\n")
        files.append(path)
    return files


def backfill(files: list[Path], data: Path) -> None:
    """``promtool tsdb create-blocks-from openmetrics`` on each file, two at a time."""
    pending = list(files)
    running: list[subprocess.Popen[bytes]] = []
    while pending or running:
        while pending and len(running) < 2:
            f = pending.pop()
            cmd = ["promtool", "tsdb", "create-blocks-from", "openmetrics", "-q", str(f), str(data)]
            running.append(subprocess.Popen(cmd))
        proc = running.pop(0)
        if proc.wait() != 0:
            raise SystemExit(f"promtool failed on {proc.args}")


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process, from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def rule_groups(client: httpx.Client) -> list[dict[str, object]]:
    r = client.get("/api/v1/rules", params={"type": "record"})
    r.raise_for_status()
    groups = r.json()["data"]["groups"]
    r = client.get("/api/v1/rules", params={"type": "alert"})
    r.raise_for_status()
    return [*groups, *r.json()["data"]["groups"]]


def measure(client: httpx.Client, seconds: float, marker: str) -> tuple[float, float]:
    """Median evaluationTime per group, summed: (all groups, SLI recording groups)."""
    seen: dict[str, dict[str, float]] = defaultdict(dict)
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        for g in rule_groups(client):
            name = str(g["name"])
            if name.startswith("sloth-slo-sli-") and marker not in str(g["rules"]):
                continue  # still the previous rule file
            last = str(g["lastEvaluation"])
            if not last.startswith("0001"):
                seen[name][last] = float(g["evaluationTime"])  # type: ignore[arg-type]
        time.sleep(1)
    medians = {}
    for name, evals in seen.items():
        times = [t for _, t in sorted(evals.items())][2:]
        if not times:
            raise SystemExit(f"group {name} was not evaluated often enough; raise --seconds")
        medians[name] = statistics.median(times)
    sli = sum(t for n, t in medians.items() if n.startswith("sloth-slo-sli-"))
    return sum(medians.values()), sli


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--slos", type=int, default=100)
    ap.add_argument("--days", type=int, default=3)
    ap.add_argument("--instances", type=int, default=2, help="raw series per code per SLO")
    ap.add_argument("--seconds", type=float, default=120)
    args = ap.parse_args()
    for tool in ("prometheus", "promtool"):
        if shutil.which(tool) is None:
            raise SystemExit(f"{tool} not found: install the Debian 'prometheus' package")

    with tempfile.TemporaryDirectory(prefix="slm-bench-rules-") as tmp_s:
        tmp = Path(tmp_s)
        (tmp / "slos.yaml").write_text(spec(args.slos), encoding="utf-8")
        exact = build_rules(RulesRequest([tmp / "slos.yaml"], optimize="none")).text
        cheap = build_rules(RulesRequest([tmp / "slos.yaml"], optimize="long")).text
        rules = tmp / "rules.yaml"
        rules.write_text(exact, encoding="utf-8")

        t0 = time.monotonic()
        end = int(time.time()) // STEP * STEP
        data = tmp / "data"
        backfill(history(tmp, args.slos, args.days, args.instances, end), data)
        secs = args.days * 86400
        samples = args.slos * (2 * args.instances * (secs // SCRAPE + 1) + secs // STEP + 1)
        print(f"backfilled {samples:,} samples in {time.monotonic() - t0:.0f}s", flush=True)

        port = free_port()
        (tmp / "prometheus.yml").write_text(
            f"global:\n  evaluation_interval: {EVAL}s\nrule_files:\n  - {rules}\n",
            encoding="utf-8",
        )
        log = (tmp / "prometheus.log").open("w")
        proc = subprocess.Popen(
            ["prometheus", f"--config.file={tmp / 'prometheus.yml'}",
             f"--storage.tsdb.path={data}", "--storage.tsdb.retention.time=100y",
             f"--web.listen-address=127.0.0.1:{port}", "--web.enable-lifecycle"],
            stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip
        try:
            with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30) as client:
                for _ in range(120):
                    try:
                        if client.get("/-/ready").status_code == 200:
                            break
                    except httpx.TransportError:
                        pass
                    time.sleep(0.5)
                else:
                    raise SystemExit(f"prometheus did not start: {tmp / 'prometheus.log'}")
                results = {}
                for label, text, marker in (
                    ("warm-up", exact, "}[1h]))"),
                    ("exact", exact, "}[1h]))"),
                    ("cheap", cheap, "sum_over_time(slo:sli_error:ratio_rate5m"),
                    ("exact again", exact, "}[1h]))"),
                ):
                    rules.write_text(text, encoding="utf-8")
                    client.post("/-/reload").raise_for_status()
                    cpu0, t1 = cpu_seconds(proc.pid), time.monotonic()
                    total, sli = measure(client, args.seconds, marker)
                    cycles = (time.monotonic() - t1) / EVAL
                    cpu = (cpu_seconds(proc.pid) - cpu0) / cycles
                    results[label] = (total, sli, cpu)
                    print(f"{label:12s} all groups {total * 1000:8.1f} ms   "
                          f"SLI recording groups {sli * 1000:8.1f} ms   "
                          f"CPU per evaluation cycle {cpu * 1000:8.1f} ms", flush=True)  # fmt: skip
        finally:
            proc.terminate()
            proc.wait(timeout=30)
            log.close()
    (et, es, ec), (ct, cs, cc) = results["exact"], results["cheap"]
    et2, es2, ec2 = results["exact again"]
    print(
        f"\n{args.slos} SLOs, {args.days}d of history (raw counters every {SCRAPE}s, "
        f"{args.instances} instances), evaluation every {EVAL}s:\n"
        f"  cheap / exact, evaluationTime, all rule groups:      {ct / et:.3f}"
        f" (exact again / exact: {et2 / et:.3f})\n"
        f"  cheap / exact, evaluationTime, SLI recording groups: {cs / es:.3f}"
        f" (exact again / exact: {es2 / es:.3f})\n"
        f"  cheap / exact, Prometheus CPU per evaluation cycle:  {cc / ec:.3f}"
        f" (exact again / exact: {ec2 / ec:.3f})"
    )


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    sys.exit(main())
