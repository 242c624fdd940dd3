"""Benchmark of the error-budget engine: N SLOs x 30 days of one-minute buckets.

Run: ``.venv/bin/python bench/engine.py [--slos N] [--days D] [--mix]``

Every SLO gets a full evaluation through the public ``evaluate_objective`` (SLI, budget,
burn rates over the seven SRE Workbook alert windows and the SLO window, alert states,
time to exhaustion, coverage). The arrays are generated once (deterministic seed) in place,
row chunk by row chunk, so generation adds no large temporaries.

Figures:
- time: engine wall time / floor, where the floor is one numpy reduction (``.sum()``) over
  the same ``good`` and ``total`` arrays, measured in the same run. After one untimed
  warm-up pass, ``--rounds`` rounds each time the floor (best of 3) and then the engine
  (one pass over every SLO), so both see the same load; printed are the median of the
  rounds' ratios (the figure the target applies to), their spread, and the ratio of the
  best engine time to the best floor.
- memory: peak resident set (``ru_maxrss``) / input bytes, and the engine's own peak
  allocation (tracemalloc, in a separate pass) / input bytes.
Targets: time <= 3x the floor, memory <= 1.5x the input.
"""

from __future__ import annotations

import argparse
import gc
import resource
import statistics
import sys
import time
import tracemalloc
from collections import Counter
from datetime import UTC, datetime, timedelta

import numpy as np

from slm.domain.evaluation import evaluate_objective
from slm.domain.model import (
    SLO,
    BudgetingMethod,
    CalendarWindow,
    Indicator,
    Objective,
    RatioMetric,
    RollingWindow,
)
from slm.domain.results import ObjectiveResult
from slm.domain.series import EventSeries
from slm.spec.catalogues import default_catalogue

STEP = timedelta(minutes=1)
START = datetime(2026, 3, 1, tzinfo=UTC)
TARGETS = (0.99, 0.995, 0.999, 0.9995)
CHUNK = 128
CATALOGUE = default_catalogue(timedelta(days=30))  # loaded once, outside the timing


def generate(slos: int, buckets: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """good/total events per minute: 50-100 requests, a per-SLO error rate, some gaps and
    a few incidents in the last hours (so that alerts fire)."""
    rng = np.random.default_rng(seed)
    good = np.empty((slos, buckets))
    total = np.empty((slos, buckets))
    present = np.ones((slos, buckets), dtype=np.bool_)
    budget = 1.0 - np.resize(np.array(TARGETS), slos)  # the target of SLO i (see make_slos)
    error_rate = budget * rng.uniform(0.0, 0.9, size=slos)
    for a in range(0, slos, CHUNK):
        b = min(a + CHUNK, slos)
        t, g = total[a:b], good[a:b]
        rng.random(out=t)
        t *= 50.0
        t += 50.0
        np.floor(t, out=t)
        rng.random(out=g)  # bad = floor(u + total * rate): stochastic rounding
        g += t * error_rate[a:b, None]
        np.floor(g, out=g)
        np.subtract(t, g, out=g)
    for i in np.flatnonzero(rng.random(slos) < 0.1):  # 10%: a data gap of up to 2h
        s = int(rng.integers(0, buckets - 120))
        e = s + int(rng.integers(1, 120))
        present[i, s:e] = False
        good[i, s:e] = 0.0
        total[i, s:e] = 0.0
    for i in np.flatnonzero(rng.random(slos) < 0.02):  # 2%: an incident in the last hours
        length = int(rng.integers(10, 360))
        good[i, -length:] = np.floor(total[i, -length:] * rng.uniform(0.5, 0.99))
    return good, total, present


def make_slos(slos: int, mix: bool) -> list[SLO]:
    indicator = Indicator("requests", ratio=RatioMetric(total=None))
    out = []
    for i in range(slos):
        target = TARGETS[i % len(TARGETS)]
        window: RollingWindow | CalendarWindow = RollingWindow(timedelta(days=30))
        method = BudgetingMethod.OCCURRENCES
        objective = Objective("availability", target)
        if mix and i % 10 == 7:
            window = CalendarWindow("month", 1, datetime(2026, 1, 1), "Europe/Berlin")
        if mix and i % 10 == 9:
            method = BudgetingMethod.TIMESLICES
            objective = Objective(
                "availability",
                target,
                time_slice_target=0.99,
                time_slice_window=timedelta(minutes=5),
            )
        out.append(SLO(f"slo-{i}", f"svc-{i % 97}", indicator, window, method, (objective,)))
    return out


def floor_seconds(good: np.ndarray, total: np.ndarray) -> float:
    best = float("inf")
    for _ in range(3):
        t0 = time.perf_counter()
        good.sum()
        total.sum()
        best = min(best, time.perf_counter() - t0)
    return best


def run(slos: list[SLO], series: list[EventSeries], at: datetime) -> list[ObjectiveResult]:
    return [
        evaluate_objective(slo, slo.objectives[0], events, at, CATALOGUE)
        for slo, events in zip(slos, series, strict=True)
    ]


def maxrss_bytes() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # KiB on Linux


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--slos", type=int, default=10_000)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--seed", type=int, default=20260301)
    parser.add_argument("--rounds", type=int, default=5, help="timed rounds (median taken)")
    parser.add_argument("--mix", action="store_true", help="10%% calendar, 10%% Timeslices")
    args = parser.parse_args(argv)

    buckets = args.days * 24 * 60
    rss0 = maxrss_bytes()
    t0 = time.perf_counter()
    good, total, present = generate(args.slos, buckets, args.seed)
    input_bytes = good.nbytes + total.nbytes + present.nbytes
    print(f"slos={args.slos} buckets/slo={buckets} step=1m mix={args.mix}")
    print(
        f"input arrays: {input_bytes / 2**30:.2f} GiB "
        f"(good+total {(good.nbytes + total.nbytes) / 2**30:.2f} GiB), "
        f"generated in {time.perf_counter() - t0:.1f} s"
    )
    slos = make_slos(args.slos, args.mix)
    series = [EventSeries(START, STEP, good[i], total[i], present[i]) for i in range(args.slos)]
    at = START + buckets * STEP + timedelta(seconds=30)

    run(slos, series, at)  # warm-up: first-touch costs and memo caches out of the timing
    ratios, floors, engines = [], [], []
    for _ in range(args.rounds):
        floor = floor_seconds(good, total)
        gc.collect()
        gc.disable()
        t0 = time.perf_counter()
        results = run(slos, series, at)
        engine = time.perf_counter() - t0
        gc.enable()
        del results
        floors.append(floor)
        engines.append(engine)
        ratios.append(engine / floor)
    rss_peak = maxrss_bytes()

    gc.collect()
    tracemalloc.start()
    results = run(slos, series, at)
    _, traced_peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()

    statuses = Counter(r.status for r in results)
    firing = Counter(a.severity for r in results for a in r.alerts if a.firing)
    ratio = statistics.median(ratios)
    engine = statistics.median(engines)
    print(
        f"floor (good.sum() + total.sum(), best of 3 per round): "
        f"median {statistics.median(floors):.3f} s, best {min(floors):.3f} s"
    )
    print(
        f"engine (evaluate_objective x {args.slos}): median {engine:.3f} s, "
        f"best {min(engines):.3f} s ({engine / args.slos * 1e6:.0f} us/SLO)"
    )
    print(
        f"ratio engine / floor over {args.rounds} rounds: median {ratio:.2f}x "
        f"(rounds {min(ratios):.2f}x..{max(ratios):.2f}x; best/best "
        f"{min(engines) / min(floors):.2f}x)  target <= 3x"
    )
    print(
        f"peak RSS: {rss_peak / 2**30:.2f} GiB = {rss_peak / input_bytes:.2f}x input "
        f"(RSS before generation {rss0 / 2**20:.0f} MiB)  target <= 1.5x"
    )
    print(
        f"engine peak allocation (tracemalloc, results kept): {traced_peak / 2**20:.1f} MiB "
        f"= {traced_peak / input_bytes:.4f}x input"
    )
    print(f"statuses: {dict(statuses)}  firing alert rows: {dict(firing)}")
    ok = ratio <= 3 and rss_peak / input_bytes <= 1.5
    print("targets met" if ok else "TARGETS NOT MET")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
