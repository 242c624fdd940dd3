"""Multi-window, multi-burn-rate alerts (SRE Workbook)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from slm.domain.alerting import alert_states, alert_windows, exhaustion_window
from slm.domain.evaluation import evaluate_objective
from slm.domain.model import AlertCatalogue, AlertWindow, CalendarWindow, RollingWindow
from slm.spec.catalogues import default_catalogue

from .helpers import MIN, T0, make_slo, series

H = timedelta(hours=1)
D = timedelta(days=1)
# The shipped SRE Workbook catalogues (YAML, slm/spec/catalogues/).
WORKBOOK_30D = default_catalogue(30 * D)
WORKBOOK_28D = default_catalogue(28 * D)


@pytest.mark.parametrize(
    ("catalogue", "factors"),
    [
        pytest.param(WORKBOOK_30D, [14.4, 6, 3, 1], id="workbook-30d"),
        pytest.param(WORKBOOK_28D, [13.44, 5.6, 2.8, 28 / 30], id="workbook-28d"),
    ],
)
def test_sre_workbook_factors_are_derived(catalogue: AlertCatalogue, factors: list[float]) -> None:
    derived = [w.factor(catalogue.period) for w in catalogue.windows]
    assert derived == pytest.approx(factors)


def test_the_workbook_windows() -> None:
    labels = [(w.severity, w.long, w.short) for w in WORKBOOK_30D.windows]
    assert labels == [
        ("page", H, 5 * MIN),
        ("page", 6 * H, 30 * MIN),
        ("ticket", D, 2 * H),
        ("ticket", 3 * D, 6 * H),
    ]
    assert alert_windows(WORKBOOK_30D) == (
        5 * MIN,
        30 * MIN,
        H,
        2 * H,
        6 * H,
        D,
        3 * D,
    )
    assert exhaustion_window(WORKBOOK_30D) == H


ROW = AlertCatalogue("one", 30 * D, (AlertWindow("page", H, 5 * MIN, 2),))


@pytest.mark.parametrize(
    ("long_rate", "short_rate", "firing"),
    [
        pytest.param(15.0, 20.0, True, id="both-above-fires"),
        pytest.param(15.0, 10.0, False, id="short-below-has-recovered"),
        pytest.param(10.0, 20.0, False, id="long-below-is-a-blip"),
        pytest.param(14.4, 14.4, False, id="equal-is-not-above"),
        pytest.param(None, 20.0, False, id="no-data-long"),
        pytest.param(20.0, None, False, id="no-data-short"),
    ],
)
def test_a_row_fires_when_long_and_short_exceed_the_factor(
    long_rate: float | None, short_rate: float | None, firing: bool
) -> None:
    (state,) = alert_states(ROW, {H: long_rate, 5 * MIN: short_rate}, 30 * D)
    assert state.factor == pytest.approx(14.4)
    assert state.firing is firing
    assert (state.long_burn_rate, state.short_burn_rate) == (long_rate, short_rate)
    assert (state.long_window, state.short_window, state.severity) == (H, 5 * MIN, "page")


def test_factor_uses_the_slo_period_not_the_catalogue_period() -> None:
    (state,) = alert_states(ROW, {H: 1.0, 5 * MIN: 1.0}, 28 * D)
    assert state.factor == pytest.approx(0.02 * 28 * 24)


def test_calendar_factor_uses_the_full_current_period() -> None:
    slo = make_slo(CalendarWindow("month", 1, T0, "UTC"), target=0.999)
    events = series([1000] * 120, [1000] * 120)
    r = evaluate_objective(slo, slo.objectives[0], events, T0 + 120 * MIN, WORKBOOK_30D)
    assert [a.factor for a in r.alerts] == pytest.approx(
        [w.factor(31 * D) for w in WORKBOOK_30D.windows]
    )
    assert r.alerts[0].factor == pytest.approx(14.88)


def test_a_fast_burn_pages() -> None:
    slo = make_slo(RollingWindow(30 * D), target=0.999)
    n = 3 * 24 * 60
    good = [1000.0] * (n - 60) + [980.0] * 60  # 2% errors for the last hour: burn 20
    events = series(good, [1000.0] * n)
    r = evaluate_objective(slo, slo.objectives[0], events, T0 + n * MIN, WORKBOOK_30D)
    fired = [(a.severity, a.long_window) for a in r.alerts if a.firing]
    assert fired == [("page", H)]
    assert r.burn_rates["1h"] == pytest.approx(20.0)
    assert r.burn_rates["5m"] == pytest.approx(20.0)
    assert r.burn_rates["6h"] == pytest.approx(20.0 / 6)
