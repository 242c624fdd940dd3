"""OpenSLO's own examples (go-sdk v1/v1alpha/v2alpha, the OpenSLO repository's examples/)
load with no errors; every warning is listed here, and ``strict`` makes them errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from slm.domain.errors import SpecError
from slm.domain.model import CalendarWindow
from slm.spec.loader import load_workspace

UPSTREAM = Path(__file__).parent / "upstream"

_SERVICE = "warning: unknown Service"
_DS = "warning: unknown DataSource"
_TARGET = "warning: unknown AlertNotificationTarget"
_DUP = "warning: duplicate Service name 'example-service'"
_OP = "warning: ignored: op and value only apply to a thresholdMetric"

# folder -> (summary, [(file:line, field, message start)])
EXPECTED: dict[str, tuple[str, list[tuple[str, str, str]]]] = {
    "go-sdk/v1": (
        "2 services, 4 SLIs, 1 SLOs, 2 data sources, 3 alert policies, 3 alert conditions, "
        "3 notification targets",
        [
            ("alert_policies.yaml:18", "spec.notificationTargets[0].targetRef", _TARGET),
            ("alert_policies.yaml:50", "spec.notificationTargets[0].targetRef", _TARGET),
            ("services.yaml:24", "metadata.name", _DUP),
            ("slis.yaml:18", "spec.ratioMetric.good.metricSource.metricSourceRef", _DS),
            ("slis.yaml:24", "spec.ratioMetric.total.metricSource.metricSourceRef", _DS),
            ("slis.yaml:44", "spec.ratioMetric.bad.metricSource.metricSourceRef", _DS),
            ("slis.yaml:51", "spec.ratioMetric.total.metricSource.metricSourceRef", _DS),
            ("slis.yaml:99", "spec.thresholdMetric.metricSource.metricSourceRef", _DS),
            ("slos.yaml:14", "spec.service", _SERVICE),
            ("slos.yaml:40", "spec.objectives[0].op", _OP),
        ],
    ),
    "go-sdk/v1alpha": (
        "2 services, 2 SLOs",
        [
            ("slos.yaml:8", "spec.service", _SERVICE),
            ("slos.yaml:34", "spec.service", _SERVICE),
            (
                "slos.yaml:44",
                "spec.objectives[0].timeSliceWindow",
                "warning: not given: slm uses 1m",
            ),
            ("slos.yaml:47", "spec.objectives[0].value", _OP),
        ],
    ),
    "go-sdk/v2alpha": (
        "2 services, 5 SLIs, 1 SLOs, 2 data sources, 3 alert policies, 3 alert conditions, "
        "3 notification targets",
        [
            ("alert_policies.yaml:14", "spec.notificationTargets[0].targetRef", _TARGET),
            ("alert_policies.yaml:41", "spec.notificationTargets[0].targetRef", _TARGET),
            ("services.yaml:18", "metadata.name", _DUP),
            ("slis.yaml:13", "spec.ratioMetric.good.dataSourceRef", _DS),
            ("slis.yaml:17", "spec.ratioMetric.total.dataSourceRef", _DS),
            ("slis.yaml:31", "spec.ratioMetric.bad.dataSourceRef", _DS),
            ("slis.yaml:36", "spec.ratioMetric.total.dataSourceRef", _DS),
            ("slis.yaml:72", "spec.thresholdMetric.dataSourceRef", _DS),
            ("slos.yaml:10", "spec.serviceRef", _SERVICE),
            ("slos.yaml:18", "spec.sli.spec.ratioMetric.good.dataSourceRef", _DS),
            ("slos.yaml:22", "spec.sli.spec.ratioMetric.total.dataSourceRef", _DS),
            ("slos.yaml:34", "spec.objectives[0].op", _OP),
        ],
    ),
    "openslo/budgeting-method": (
        "2 services, 3 SLOs",
        [
            ("occurences-slo.yaml:9", "spec.service", _SERVICE),
            ("ratio-timeslices.yaml:9", "spec.service", _SERVICE),
            ("ratio-timeslices.yaml:32", "spec.objectives[0].op", _OP),
            ("timeslices-slo.yaml:9", "spec.service", _SERVICE),
            ("timeslices-slo.yaml:35", "spec.objectives[0].op", _OP),
        ],
    ),
    "openslo/treat-low-traffic-as-equally-important": (
        "1 services, 1 SLOs",
        [
            ("timeslices-slo.yaml:7", "spec.service", _SERVICE),
            ("timeslices-slo.yaml:33", "spec.objectives[0].op", _OP),
        ],
    ),
}


def test_every_upstream_folder_is_listed() -> None:
    folders = {str(p.parent.relative_to(UPSTREAM)) for p in UPSTREAM.rglob("*.yaml")}
    assert folders == set(EXPECTED)


@pytest.mark.parametrize("folder", sorted(EXPECTED))
def test_upstream_examples_load_with_only_the_expected_warnings(folder: str) -> None:
    summary, expected = EXPECTED[folder]
    ws = load_workspace([UPSTREAM / folder])
    assert ws.summary() == summary
    found = [
        (f"{Path(w.path).name}:{w.line}", w.field, str(w).split(f": {w.field}: ", 1)[1])
        for w in ws.warnings
    ]
    assert len(found) == len(expected)
    for (where, field, text), (e_where, e_field, e_start) in zip(found, expected, strict=True):
        assert (where, field) == (e_where, e_field)
        assert text.startswith(e_start), text
    assert all(w.is_warning for w in ws.warnings)


@pytest.mark.parametrize("folder", sorted(EXPECTED))
def test_strict_turns_the_warnings_into_errors(folder: str) -> None:
    with pytest.raises(SpecError) as info:
        load_workspace([UPSTREAM / folder], strict=True)
    assert len(info.value.problems) == len(EXPECTED[folder][1])
    assert not any(p.is_warning for p in info.value.problems)


def test_v2alpha_slo_reads_service_ref_inline_targets_and_policies() -> None:
    ws = load_workspace([UPSTREAM / "go-sdk/v2alpha"])
    slo = ws.slos["web-availability"]
    assert slo.service == "web"
    assert "web" in ws.services  # known by name only
    assert slo.indicator.ratio is not None and slo.indicator.ratio.good is not None
    assert slo.indicator.ratio.good.source == "my-prometheus"
    assert slo.objectives[0].op is None  # ignored on a ratio SLI
    medium = ws.alert_policies["medium-priority"]
    assert medium.notification_targets == ("on-call-slack-notification",)
    assert ws.notification_targets["on-call-slack-notification"].target == "slack"
    low = ws.alert_policies["low-priority"]
    assert low.notification_targets == ("on-call-mail-notification",)
    assert low.conditions == ("cpu-usage-breach",)
    inline = ws.slis["annotator-throughput-with-data-source-spec"]
    assert inline.threshold is not None
    assert inline.threshold.metric.source_type == "Prometheus"


def test_duplicate_service_keeps_the_first_definition() -> None:
    ws = load_workspace([UPSTREAM / "go-sdk/v1"])
    assert ws.services["example-service"].labels == {"env": "prod", "team": "team-a,team-b"}


def test_calendar_window_in_minutes_is_read_as_written() -> None:
    """OpenSLO's own example writes ``duration: 1m`` (a minute: ``M`` is the month) for a
    calendar window; it is read as written, not guessed to be a month."""
    ws = load_workspace([UPSTREAM / "openslo/budgeting-method"])
    window = ws.slos["service-availability"].window
    assert isinstance(window, CalendarWindow)
    assert (window.unit, window.count) == ("minute", 1)
