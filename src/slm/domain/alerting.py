"""Multi-window, multi-burn-rate alerts (SRE Workbook, chapter 5).

A catalogue row fires when the burn rate over its long window *and* over its short window
both exceed its factor ``budget_percent/100 x period / long``. ``period`` is the SLO's
period length (the rolling duration, or the full length of the current calendar period),
so factors are derived, never hard-coded: 14.4, 6, 3 and 1 for the 30d defaults.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from functools import lru_cache

from slm.domain.model import AlertCatalogue, AlertWindow
from slm.domain.results import AlertState

SRE_WORKBOOK_WINDOWS: tuple[AlertWindow, ...] = (
    AlertWindow("page", long=timedelta(hours=1), short=timedelta(minutes=5), budget_percent=2),
    AlertWindow("page", long=timedelta(hours=6), short=timedelta(minutes=30), budget_percent=5),
    AlertWindow("ticket", long=timedelta(days=1), short=timedelta(hours=2), budget_percent=10),
    AlertWindow("ticket", long=timedelta(days=3), short=timedelta(hours=6), budget_percent=10),
)


def sre_workbook_catalogue(period: timedelta = timedelta(days=30)) -> AlertCatalogue:
    """The Workbook's page/ticket pairs (2% in 1h, 5% in 6h, 10% in 1d, 10% in 3d)."""
    return AlertCatalogue(f"sre-workbook-{period.days}d", period, SRE_WORKBOOK_WINDOWS)


DEFAULT_CATALOGUE_30D = sre_workbook_catalogue(timedelta(days=30))
DEFAULT_CATALOGUE_28D = sre_workbook_catalogue(timedelta(days=28))


@lru_cache(maxsize=64)
def alert_windows(catalogue: AlertCatalogue) -> tuple[timedelta, ...]:
    """Every distinct long and short window of the catalogue, shortest first."""
    return tuple(sorted({d for w in catalogue.windows for d in (w.long, w.short)}))


def exhaustion_window(catalogue: AlertCatalogue) -> timedelta:
    """Window whose burn rate is "the current rate": the shortest long window (1h)."""
    longs = [w.long for w in catalogue.windows]
    return min(longs) if longs else timedelta(hours=1)


def alert_states(
    catalogue: AlertCatalogue,
    burn_rates: Mapping[timedelta, float | None],
    period: timedelta,
) -> tuple[AlertState, ...]:
    """One ``AlertState`` per catalogue row; a ``None`` burn rate never fires."""
    states = []
    for row in catalogue.windows:
        factor = row.factor(period)
        long_rate = burn_rates[row.long]
        short_rate = burn_rates[row.short]
        firing = (
            long_rate is not None
            and short_rate is not None
            and long_rate > factor
            and short_rate > factor
        )
        states.append(
            AlertState(row.severity, row.long, row.short, factor, long_rate, short_rate, firing)
        )
    return tuple(states)
