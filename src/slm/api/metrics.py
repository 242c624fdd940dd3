"""``/metrics``: a prometheus-client collector over the latest status (no global gauges).

Naming: every series starts with ``slm_``; SLO series carry ``slo`` and ``service``
labels, objective series also ``objective`` (and, for a grouped SLO, the group's own labels,
one series per group); ratios end in ``_ratio``, durations in
``_seconds``, instants in ``_timestamp_seconds``, counters in ``_total``. The numbers of a
*stale* SLO (see ``slm.services.status``) are not exported, so nothing old is presented as
current; ``slm_slo_stale`` and ``slm_slo_last_success_timestamp_seconds`` say why. The
full list is in docs/metrics.md.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from datetime import datetime

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from slm.domain.durations import format_duration
from slm.domain.model import Group
from slm.services.ports import Clock
from slm.services.status import SloState, StatusBoard

SLO_LABELS = ["slo", "service"]
OBJ_LABELS = ["slo", "service", "objective"]


class StatusCollector(Collector):
    """Builds every ``slm_*`` family from one board snapshot per scrape."""

    def __init__(self, board: StatusBoard, wall: Clock, clock: Clock):
        self.board, self.wall, self.clock = board, wall, clock

    def describe(self) -> Iterable[Metric]:
        return []

    def collect(self) -> Iterator[Metric]:
        now = self.wall.now()
        states = self.board.snapshot()
        yield from _slo_families(states, now)
        yield from _objective_families([s for s in states if not s.is_stale(now)])
        yield from self._server_families()

    def _server_families(self) -> Iterator[Metric]:
        clock = GaugeMetricFamily(
            "slm_evaluation_clock_timestamp_seconds",
            "The instant the server evaluates at (differs from the wall clock in replay)",
        )
        clock.add_metric([], self.clock.now().timestamp())
        yield clock
        stats = self.board.push_stats()
        batches = CounterMetricFamily(
            "slm_push_batches", "Push batches received, by outcome", labels=["outcome"]
        )
        for outcome in ("accepted", "duplicate", "conflict", "rejected"):
            batches.add_metric([outcome], stats.batches.get(outcome, 0))
        yield batches
        items = CounterMetricFamily("slm_push_items", "Items of accepted push batches")
        items.add_metric([], stats.items)
        yield items


def _slo_families(states: list[SloState], now: datetime) -> Iterator[Metric]:
    def gauge(name: str, doc: str) -> GaugeMetricFamily:
        return GaugeMetricFamily(name, doc, labels=SLO_LABELS)

    stale = gauge("slm_slo_stale", "1 when the SLO's numbers are not current (see error)")
    up = gauge("slm_slo_last_evaluation_success", "1 when the last evaluation attempt worked")
    last = gauge("slm_slo_last_success_timestamp_seconds", "Wall time of the last success")
    age = gauge("slm_slo_staleness_seconds", "Seconds since the last successful evaluation")
    evaluated = gauge(
        "slm_slo_evaluated_at_timestamp_seconds", "The instant the current numbers are for"
    )
    interval = gauge("slm_slo_evaluation_interval_seconds", "How often the SLO is evaluated")
    future = gauge(
        "slm_slo_future_buckets", "Buckets with data beyond now + tolerance (clock ahead)"
    )
    skew = gauge("slm_slo_source_skew_seconds", "Spread of the newest buckets of its series")
    lag = gauge("slm_slo_data_lag_seconds", "Evaluation instant minus the newest bucket")
    attempts = CounterMetricFamily(
        "slm_slo_evaluations", "Evaluation attempts by outcome", labels=[*SLO_LABELS, "outcome"]
    )
    late = CounterMetricFamily(
        "slm_slo_late_items", "Pushed items that landed before their series' newest bucket",
        labels=SLO_LABELS,
    )  # fmt: skip
    disorder = CounterMetricFamily(
        "slm_slo_out_of_order_items", "Pushed items out of order within their batch",
        labels=SLO_LABELS,
    )  # fmt: skip
    superseded = CounterMetricFamily(
        "slm_slo_superseded_evaluations", "Stored evaluations superseded by late data",
        labels=SLO_LABELS,
    )  # fmt: skip
    hooks = CounterMetricFamily(
        "slm_slo_hook_failures", "Post-evaluation hook (or pipeline step) failures",
        labels=[*SLO_LABELS, "hook"],
    )  # fmt: skip
    for s in states:
        labels = [s.name, s.service]
        stale.add_metric(labels, 1.0 if s.is_stale(now) else 0.0)
        up.add_metric(labels, 0.0 if s.error is not None or s.last_success is None else 1.0)
        interval.add_metric(labels, s.interval.total_seconds())
        if s.last_success is not None:
            last.add_metric(labels, s.last_success.timestamp())
            age.add_metric(labels, (now - s.last_success).total_seconds())
        if s.evaluated_at is not None:
            evaluated.add_metric(labels, s.evaluated_at.timestamp())
        q = s.quality
        future.add_metric(labels, q.future_buckets)
        if q.skew_seconds is not None:
            skew.add_metric(labels, q.skew_seconds)
        if q.newest_bucket is not None and s.evaluated_at is not None:
            lag.add_metric(labels, (s.evaluated_at - q.newest_bucket).total_seconds())
        attempts.add_metric([*labels, "success"], s.successes)
        attempts.add_metric([*labels, "failure"], s.failures)
        late.add_metric(labels, q.late_items)
        disorder.add_metric(labels, q.out_of_order_items)
        superseded.add_metric(labels, q.superseded)
        for hook, count in sorted(s.hook_failures.items()):
            hooks.add_metric([*labels, hook], count)
    yield from (stale, up, last, age, evaluated, interval, future, skew, lag)
    yield from (attempts, late, disorder, superseded, hooks)


def _adder(group: Group) -> Callable[[GaugeMetricFamily, list[str], float], None]:
    """``family.add_metric``, plus the group's own labels on the sample for a result of
    a grouped SLO (``group_<name>`` where a label name is already one of slm's)."""

    def add(family: GaugeMetricFamily, values: list[str], value: float) -> None:
        family.add_metric(values, value)
        if group:
            sample = family.samples[-1]
            extra = {(f"group_{k}" if k in sample.labels else k): v for k, v in group}
            family.samples[-1] = sample._replace(labels={**sample.labels, **extra})

    return add


def _objective_families(states: list[SloState]) -> Iterator[Metric]:
    def gauge(name: str, doc: str, extra: tuple[str, ...] = ()) -> GaugeMetricFamily:
        return GaugeMetricFamily(name, doc, labels=[*OBJ_LABELS, *extra])

    sli = gauge("slm_slo_sli_ratio", "SLI over the SLO window (good / total)")
    objective = gauge("slm_slo_objective_ratio", "The objective's target")
    budget = gauge("slm_slo_error_budget_remaining_ratio", "Error budget left (1 = untouched)")
    budget_min = gauge(
        "slm_slo_error_budget_remaining_minutes", "Error budget left in minutes of time"
    )
    burn = gauge("slm_slo_burn_rate", "Burn rate over a window (1 = on budget)", ("window",))
    firing = gauge(
        "slm_slo_alert_firing",
        "1 while a multi-window burn-rate alert fires",
        ("severity", "long_window", "short_window"),
    )
    coverage = gauge("slm_slo_data_coverage_ratio", "Share of the window's buckets with data")
    good = gauge("slm_slo_window_good", "Good events (or slices) in the SLO window")
    total = gauge("slm_slo_window_total", "Events (or slices) in the SLO window")
    for s in states:
        for r in s.results:
            labels = [s.name, s.service, r.objective]
            add = _adder(r.group)
            add(objective, labels, r.target)
            add(coverage, labels, r.coverage.ratio)
            add(good, labels, r.good)
            add(total, labels, r.total)
            if r.sli is not None:
                add(sli, labels, r.sli)
            eb = r.error_budget
            if eb.remaining_ratio is not None:
                add(budget, labels, eb.remaining_ratio)
            if eb.remaining_minutes is not None:
                add(budget_min, labels, eb.remaining_minutes)
            for window, rate in sorted(r.burn_rates.items()):
                if rate is not None:
                    add(burn, [*labels, window], rate)
            for a in r.alerts:
                add(
                    firing,
                    [
                        *labels,
                        a.severity,
                        format_duration(a.long_window),
                        format_duration(a.short_window),
                    ],
                    1.0 if a.firing else 0.0,
                )
    yield from (sli, objective, budget, budget_min, burn, firing, coverage, good, total)
