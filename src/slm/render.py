"""Terminal rendering of results (Rich). Part of the CLI edge."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from rich.table import Table
from rich.text import Text

from slm.domain.durations import format_duration
from slm.domain.model import RollingWindow, group_text
from slm.domain.results import ObjectiveResult
from slm.services.views import iso


def _pct(x: float | None, digits: int = 3) -> str:
    return "-" if x is None else f"{x * 100:.{digits}f}%"


def _burn(x: float | None) -> str:
    return "-" if x is None else f"{x:.2f}"


def _window(r: ObjectiveResult) -> str:
    w = r.window
    if isinstance(w, RollingWindow):
        return f"{format_duration(w.duration)} rolling"
    return f"{w.count} {w.unit} ({w.time_zone})"


def _budget(r: ObjectiveResult) -> Text:
    ratio = r.error_budget.remaining_ratio
    if ratio is None:
        return Text("-")
    style = "green" if ratio > 0.5 else "yellow" if ratio > 0 else "red bold"
    return Text(f"{ratio * 100:.1f}%", style=style)


def _alerts(r: ObjectiveResult) -> Text:
    firing = [a for a in r.alerts if a.firing]
    if not firing:
        if r.status == "no_data" or not all(a.decided for a in r.alerts):
            return Text("no data", style="dim")  # never "ok" without data
        return Text("ok", style="green")
    names = sorted({f"{a.severity}" for a in firing})
    style = "red bold" if "page" in names else "yellow"
    return Text(",".join(names), style=style)


def status_table(results: Sequence[ObjectiveResult], at: datetime) -> Table:
    table = Table(title=f"SLO status at {iso(at)}", title_justify="left")
    # Key columns wrap on a narrow terminal rather than being cut short (no ellipsis).
    table.add_column("Service", overflow="fold")
    table.add_column("SLO", overflow="fold")
    table.add_column("Objective", overflow="fold")
    table.add_column("Target", justify="right")
    table.add_column("Window")
    table.add_column("SLI", justify="right")
    table.add_column("Budget left", justify="right")
    table.add_column("Burn 1h", justify="right")
    table.add_column("Burn 6h", justify="right")
    table.add_column("Alerts")
    table.add_column("Coverage", justify="right")
    notes: list[str] = []
    for r in results:
        sli = Text(_pct(r.sli)) if r.status == "ok" else Text("no data", style="dim")
        for note in r.notes:
            notes.append(f"{r.slo} / {r.objective}{group_text(r.group)}: {note}")
            sli.append(" *", style="yellow")
        table.add_row(
            r.service,
            r.slo,
            r.objective + (f" {group_text(r.group)}" if r.group else ""),
            _pct(r.target, 2),
            _window(r),
            sli,
            _budget(r),
            _burn(r.burn_rates.get("1h")),
            _burn(r.burn_rates.get("6h")),
            _alerts(r),
            f"{r.coverage.ratio * 100:.1f}%",
        )
    if notes:
        table.caption = "\n".join(f"* {n}" for n in notes)
        table.caption_justify = "left"
    return table


def count_text(x: float) -> str:
    """An event count as people write it: whole numbers in full (``5518660``, never
    ``5.51866e+06``), fractions (rates times steps) with up to six decimals."""
    if x != x or x in (float("inf"), float("-inf")):
        return str(x)
    if float(x).is_integer():
        return str(int(x))
    return f"{x:.6f}".rstrip("0").rstrip(".")
