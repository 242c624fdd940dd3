"""Multi-window, multi-burn-rate alerts (SRE Workbook, chapter 5).

A catalogue row fires when the burn rate over its long window *and* over its short window
both exceed its factor ``budget_percent/100 x period / long``. ``period`` is the SLO's
period length (the rolling duration, or the full length of the current calendar period),
so factors are derived, never hard-coded: 14.4, 6, 3 and 1 for the 30d defaults.

Catalogues are data: the SRE Workbook's page/ticket pairs ship as YAML
(``slm.spec.catalogues.default_catalogue``); the domain never picks one, callers pass it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import timedelta
from functools import lru_cache

from slm.domain.model import AlertCatalogue
from slm.domain.results import AlertState

NO_ALERTS = AlertCatalogue("none", timedelta(0), ())
"""The catalogue without rows: evaluating with it reports no alert states."""


@lru_cache(maxsize=64)
def alert_windows(catalogue: AlertCatalogue) -> tuple[timedelta, ...]:
    """Every distinct long and short window of the catalogue, shortest first."""
    return tuple(sorted({d for w in catalogue.windows for d in (w.long, w.short)}))


@lru_cache(maxsize=64)
def exhaustion_window(catalogue: AlertCatalogue) -> timedelta:
    """Window whose burn rate is "the current rate": the shortest long window (1h)."""
    longs = [w.long for w in catalogue.windows]
    return min(longs) if longs else timedelta(hours=1)


def alert_states(
    catalogue: AlertCatalogue,
    burn_rates: Mapping[timedelta, float | None],
    period: timedelta,
    factors: Sequence[float] | None = None,
) -> tuple[AlertState, ...]:
    """One ``AlertState`` per catalogue row; a ``None`` burn rate never fires.

    ``factors``: each row's ``factor(period)`` when the caller has them already."""
    if factors is None:
        factors = [row.factor(period) for row in catalogue.windows]
    states = []
    for row, factor in zip(catalogue.windows, factors, strict=True):
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
