"""The SLI error-ratio expression of an SLO over one window, as PromQL.

Sloth specs keep Sloth's own shapes (``events`` and ``raw``); OpenSLO ratio
metrics are built from their good/bad/total (or raw) queries. Each query is turned into a
windowed PromQL expression:

* a query containing Sloth's ``{{.window}}`` placeholder is used as written, with the
  window substituted (this is how a query takes full control);
* ``counter: true`` and a plain series selector ``m{...}`` -> ``sum(rate(m{...}[W]))``;
* no counter and a plain selector -> ``sum(sum_over_time(m{...}[W]))``; any other
  expression -> the same over a subquery, ``sum(sum_over_time((q)[W:]))``;
* a raw ratio query -> ``avg_over_time(m{...}[W])`` (or over ``(q)[W:]``).

Then ``bad/total`` gives ``(BAD) / ((TOTAL) > 0)``, ``good/total`` gives
``1 - ((GOOD) / ((TOTAL) > 0))`` and a success raw ratio gives ``1 - (RAW)``. The
``> 0`` guard makes a window without traffic produce no sample instead of NaN or +Inf,
which would otherwise poison every long-window average. Sloth's released versions have
no guard: ``guard=False`` (``--compat sloth``) leaves it out, and writes a good/total
ratio in Sloth's raw form (``sloth-openslo``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Literal

from slm.rules.conventions import has_window_placeholder, prom_duration, render_window
from slm.sources import promql

SLIShape = Literal[
    "sloth-events", "sloth-raw", "sloth-openslo", "bad", "good", "raw-failure", "raw-success"
]


def is_selector(query: str) -> bool:
    """True for a plain instant-vector selector such as ``http_requests_total{code="500"}``
    (as the PromQL parser reads it: no function, operator, ``offset`` or ``@``)."""
    return promql.is_selector(query)


@dataclass(frozen=True)
class Query:
    """One PromQL query of an SLI and how to put it over a window."""

    text: str
    counter: bool = False
    raw_ratio: bool = False
    verbatim: bool = False  # Sloth: the query is a template, used exactly as written
    by: tuple[str, ...] = ()  # grouping labels: ``sum by (...)`` keeps one series per group

    def problem(self) -> str | None:
        """Why this query cannot be windowed, or ``None``."""
        if self.verbatim or has_window_placeholder(self.text) or is_selector(self.text):
            return None
        if self.counter:
            return (
                "a counter query must be a plain series selector (e.g. "
                'http_requests_total{code=~"5.."}) or use the {{.window}} placeholder '
                '(e.g. sum(rate(http_requests_total{code=~"5.."}[{{.window}}])))'
            )
        return None

    def over(self, window: timedelta) -> str:
        if self.verbatim:
            return render_window(self.text, window)
        q = self.text.strip()
        if has_window_placeholder(q):
            return render_window(q, window)
        w = prom_duration(window)
        fn = "avg_over_time" if self.raw_ratio else "sum_over_time"
        sel = promql.selector(q)
        q = sel.text if sel is not None else promql.enclosable(q)
        agg = f"sum by ({', '.join(self.by)}) " if self.by else "sum"
        if self.counter and not self.raw_ratio:
            return f"{agg}(rate({q}[{w}]))"
        inner = f"{fn}({q}[{w}])" if sel is not None else f"{fn}(({q})[{w}:])"
        if self.raw_ratio:
            return f"avg by ({', '.join(self.by)}) ({inner})" if self.by else inner
        return f"{agg}({inner})"


@dataclass(frozen=True)
class SLIExpression:
    """The error ratio of one SLI: a shape and its queries."""

    shape: SLIShape
    main: Query  # bad, good, raw or Sloth's error query
    total: Query | None = None
    guard: bool = True  # ``(TOTAL) > 0``; off in ``--compat sloth`` (Sloth's released form)

    def at(self, window: timedelta) -> str:
        m = self.main.over(window)
        t = self.total.over(window) if self.total is not None else ""
        den = f"(({t}) > 0)" if self.guard else f"({t})"
        if self.shape == "sloth-events":
            return f"({m})\n/\n{den}\n"
        if self.shape == "sloth-raw":
            return f"({m})"
        if self.shape == "sloth-openslo":  # Sloth's raw form of an OpenSLO good/total ratio
            g, t = (f"\n      {x}\n    " for x in (m, t))
            return f"(\n  1 - (\n    ({g})\n    /\n    ({t})\n  )\n)"
        if self.shape == "bad":
            return f"({m})\n/\n{den}\n"
        if self.shape == "good":
            return f"1 - (\n  ({m})\n  /\n  {den}\n)\n"
        if self.shape == "raw-success":
            return f"1 - (\n  {m}\n)\n"
        return f"({m})\n"

    def problems(self) -> list[str]:
        qs = [self.main] if self.total is None else [self.main, self.total]
        return [p for p in (q.problem() for q in qs) if p]
