"""What the specs map to: targets, windows, time zones, methods, sources, extras."""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from slm.domain.model import (
    BudgetingMethod,
    CalendarWindow,
    MissingData,
    RollingWindow,
)
from slm.spec.loader import load_workspace
from slm.spec.workspace import Workspace

GOOD = Path(__file__).parent / "corpus" / "good"


@pytest.fixture(scope="module")
def ws() -> Workspace:
    return load_workspace([GOOD])


def _slo_field(ws: Workspace, slo: str, what: str) -> Any:
    s = ws.slos[slo]
    return {
        "targets": [o.target for o in s.objectives],
        "method": s.budgeting_method,
        "window": s.window,
        "missing": s.indicator.missing_data,
        "service": s.service,
    }[what]


NY = ZoneInfo("America/New_York")
CASES = [
    ("v1 target and targetPercent", "foo-slo", "targets", [0.98, 0.9999]),
    ("v1 rolling 28d", "foo-slo", "window", RollingWindow(timedelta(days=28))),
    (
        "v1 calendar month in New York",
        "search-availability-monthly",
        "window",
        CalendarWindow("month", 1, datetime(2024, 1, 1, tzinfo=NY), "America/New_York"),
    ),
    (
        "v1 calendar quarter, isRolling omitted",
        "search-ratio-slices",
        "window",
        CalendarWindow(
            "quarter", 1, datetime(2024, 1, 1, tzinfo=ZoneInfo("Asia/Tokyo")), "Asia/Tokyo"
        ),
    ),
    ("v1 rolling 2w", "search-latency", "window", RollingWindow(timedelta(weeks=2))),
    ("v1 Timeslices", "search-availability-monthly", "method", BudgetingMethod.TIMESLICES),
    ("v1 RatioTimeslices", "search-ratio-slices", "method", BudgetingMethod.RATIO_TIMESLICES),
    (
        "missing data from the SLI annotation",
        "search-availability-monthly",
        "missing",
        MissingData.BAD,
    ),
    ("missing data from the SLO annotation", "search-ratio-slices", "missing", MissingData.GOOD),
    ("missing data defaults to ignore", "foo-slo", "missing", MissingData.IGNORE),
    ("v1alpha rolling Week", "my-app-latency", "window", RollingWindow(timedelta(days=7))),
    (
        "v1alpha calendar Month in Warsaw",
        "my-app-availability",
        "window",
        CalendarWindow(
            "month", 1, datetime(2022, 1, 1, tzinfo=ZoneInfo("Europe/Warsaw")), "Europe/Warsaw"
        ),
    ),
    (
        "v2alpha calendar week",
        "web-availability",
        "window",
        CalendarWindow("week", 1, datetime(2022, 1, 1, 12, tzinfo=NY), "America/New_York"),
    ),
    ("Sloth percent objective", "k8s-apiserver-requests-availability", "targets", [0.999]),
    (
        "Sloth default 30d window",
        "k8s-apiserver-requests-latency",
        "window",
        RollingWindow(timedelta(days=30)),
    ),
    ("Sloth CRD objective", "home-wifi-risk-of-throttling", "targets", [0.995]),
    ("Sloth service", "home-wifi-good-wifi-client-satisfaction", "service", "home-wifi"),
]


@pytest.mark.parametrize(
    ("slo", "what", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_slo_mapping(ws: Workspace, slo: str, what: str, expected: Any) -> None:
    assert _slo_field(ws, slo, what) == expected


def test_calendar_start_is_local_midnight(ws: Workspace) -> None:
    w = ws.slos["search-availability-monthly"].window
    assert isinstance(w, CalendarWindow)
    assert w.start.utcoffset() == timedelta(hours=-5)


def test_timeslice_fields(ws: Workspace) -> None:
    (o,) = ws.slos["search-availability-monthly"].objectives
    assert (o.time_slice_target, o.time_slice_window) == (0.95, timedelta(minutes=1))
    (o,) = ws.slos["search-ratio-slices"].objectives
    assert o.time_slice_window == timedelta(minutes=5)  # a bare number means minutes


def test_threshold_objective(ws: Workspace) -> None:
    slo = ws.slos["search-latency"]
    (o,) = slo.objectives
    assert slo.indicator.threshold is not None
    assert (o.op, o.value, o.target, o.name) == ("lt", 250, 0.9, "p95 under 250 ms")


def test_file_source_keeps_the_datasource_directory(ws: Workspace) -> None:
    ind = ws.slis["search-errors"]
    assert ind.ratio is not None and ind.ratio.bad is not None
    q = ind.ratio.bad
    assert (q.source, q.source_type, dict(q.spec)) == (
        "search-export",
        "File",
        {"series": "search_errors"},
    )
    assert q.base_dir == str(GOOD) == ws.datasources["search-export"].base_dir


def test_inline_source_has_no_name(ws: Workspace) -> None:
    ratio = ws.slos["search-ratio-slices"].indicator.ratio
    assert ratio is not None and ratio.raw is not None
    assert (ratio.raw.source, ratio.raw.source_type, ratio.raw_type) == (None, "File", "success")


def test_sloth_maps_to_bad_over_total(ws: Workspace) -> None:
    slo = ws.slos["k8s-apiserver-requests-availability"]
    ratio = slo.indicator.ratio
    assert ratio is not None and ratio.bad is not None and ratio.total is not None
    assert ratio.bad.source_type == "Prometheus"
    assert 'code=~"(5..|429)"' in ratio.bad.spec["query"]
    assert slo.labels == {"cluster": "valhalla", "component": "kubernetes"}
    sloth = slo.extras["sloth"]
    assert sloth["alerting"]["name"] == "K8sApiserverAvailabilityAlert"
    assert sloth["alerting"]["page_alert"]["labels"] == {"severity": "critical"}
    assert (
        ws.slos["k8s-apiserver-requests-latency"].extras["sloth"]["alerting"]["ticket_alert"][
            "disable"
        ]
        is True
    )


def test_sloth_raw_is_a_failure_ratio(ws: Workspace) -> None:
    ratio = ws.slos["home-wifi-good-wifi-client-satisfaction"].indicator.ratio
    assert ratio is not None and ratio.raw is not None
    assert (ratio.raw_type, ratio.total) == ("failure", None)


def test_v1alpha_ratio_metrics_per_objective(ws: Workspace) -> None:
    slo = ws.slos["my-app-availability"]
    ratio = slo.indicator.ratio
    assert ratio is not None and ratio.good is not None
    assert (ratio.good.source_type, ratio.counter) == ("Datadog", True)
    assert ws.slos["my-app-latency"].indicator.threshold is not None


def test_v2alpha_composite_objectives(ws: Workspace) -> None:
    slo = ws.slos["web-composite"]
    weights = [o.composite_weight for o in slo.objectives]
    assert weights == [2, 1]
    assert slo.indicator_for(slo.objectives[1]).name == "web-p99"
    assert slo.indicator_for(slo.objectives[0]).name == "web-successful-requests-ratio"


def test_alerting_objects(ws: Workspace) -> None:
    assert ws.slos["foo-slo"].alert_policies == ("cpu-usage-policy",)
    policy = ws.alert_policies["cpu-usage-policy"]
    assert (policy.conditions, policy.notification_targets) == (
        ("cpu-usage-breach",),
        ("on-call-devops-mail",),
    )
    cond = ws.alert_conditions["cpu-usage-breach"]
    assert (cond.lookback_window, cond.alert_after, cond.threshold) == (
        timedelta(hours=1),
        timedelta(minutes=5),
        2,
    )
    assert "cpu-usage-breach-inline" in ws.alert_conditions


def test_raw_documents_keep_text_hash_and_line(ws: Workspace) -> None:
    docs = [d for d in ws.documents if d.kind == "SLO" and d.name == "foo-slo"]
    (doc,) = docs
    assert doc.api_version == "openslo/v1"
    assert doc.text.startswith("apiVersion: openslo/v1\nkind: SLO\n")
    assert doc.sha256 == hashlib.sha256(doc.text.encode()).hexdigest()
    lines = (GOOD / "openslo-v1-readme.yaml").read_text().splitlines()
    assert lines[doc.line - 1] == "apiVersion: openslo/v1"
    assert lines[doc.line] == "kind: SLO"


def test_origin_points_at_the_object(ws: Workspace) -> None:
    origin = ws.slos["k8s-apiserver-requests-latency"].origin
    assert origin is not None and origin.api_version == "prometheus/v1"
    lines = (GOOD / "sloth-prometheus-v1.yaml").read_text().splitlines()
    assert "requests-latency" in lines[(origin.line or 0) - 1]
