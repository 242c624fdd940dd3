"""Rendering statements (from their JSON form), costs and simulations: Rich tables and HTML.

HTML goes through Jinja2 with autoescape on, so names and reasons from specs and incident
files cannot inject markup. Part of the CLI edge.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from jinja2 import Environment, select_autoescape
from rich.console import Group
from rich.table import Table
from rich.text import Text

from slm.services.sla import ClauseSimulation, Costs


def _pct(x: Any) -> str:
    """A ratio (0..1, as in the JSON) as a percent with 4 decimals."""
    return "-" if x is None else f"{float(x) * 100:.4f}%"


def _percent(x: Any) -> str:
    """A ratio from a spec (``0.999`` or ``"0.999"``) as the percent written there (``99.9``)."""
    return str(float(Decimal(str(x)) * 100))


def _below(x: Any) -> str:
    """A credit tier's bound (a ratio string) as the percent it means, exactly."""
    return format((Decimal(str(x)) * 100).normalize(), "f")


def _yes(x: bool | None, yes: str = "yes", no: str = "no") -> Text:
    if x is None:
        return Text("-")
    return Text(yes, style="red bold") if x else Text(no, style="green")


def _breached(c: dict[str, Any]) -> Text:
    if c.get("status") == "unknown":
        return Text("unknown", style="yellow bold")
    return _yes(c["breached"])


def _credit(c: dict[str, Any]) -> str:
    if c["credit_amount"] is None:
        return "undetermined"
    return f"{c['credit_amount']}" + (" (capped)" if c["cap_applied"] else "")


def _downtime(c: dict[str, Any]) -> str:
    """Down minutes; ``-`` when nothing was measured (0 would read as no downtime)."""
    if c["downtime_minutes"] is None or c["attainment"] is None:
        return "-"
    return str(c["downtime_minutes"])


def _total(st: dict[str, Any]) -> str:
    if st["total_credit"] is None:
        return (
            f"total credit: undetermined (attainment unknown for "
            f"{', '.join(c['clause'] for c in st['clauses'] if c.get('status') == 'unknown')}); "
            f"determined clauses: {st['currency']} {st['determined_credit']}"
        )
    return f"total credit: {st['currency']} {st['total_credit']}"


def statement_table(st: dict[str, Any]) -> Group:
    ag, period = st["agreement"], st["period"]
    title = (
        f"{ag['type']} {ag['name']} ({ag['provider']} -> {ag['customer']}), "
        f"period {period['label']}: {period['start']} .. {period['end']}"
    )
    t = Table(title=title, title_justify="left")
    for col in (
        "clause",
        "target",
        "attainment",
        "adjusted",
        "downtime min",
        "excluded min",
        "breached",
        "floor met",
        "tier",
        "credit",
        "exit count",
    ):
        if col == "clause":  # a key column: wraps rather than being cut short
            t.add_column(col, overflow="fold")
        else:
            t.add_column(col, justify="right")
    for c in st["clauses"]:
        tier = c["credit_tier"]
        exit_ = c["exit"]
        t.add_row(
            c["clause"],
            f"{_percent(c['target'])}%",
            _pct(c["attainment"]),
            _pct(c["adjusted_attainment"]),
            _downtime(c),
            str(c["excluded_minutes"]),
            _breached(c),
            _yes(
                None if c["regulatory_floor_met"] is None else not c["regulatory_floor_met"],
                "no",
                "yes",
            ),
            "-" if tier is None else f"<{_below(tier['below'])}%: {tier['credit_percent']}%",
            _credit(c),
            "-"
            if exit_ is None
            else f"{exit_['consecutive_breaches']} / {exit_['breaches_in_window']}",
        )
    lines: list[Any] = [t]
    lines.append(Text(_total(st), style="bold"))
    if st["cap"] is not None:
        lines.append(Text(f"cap: {st['currency']} {st['cap']} per period"))
    if st["claim_deadline"]:
        lines.append(Text(f"claim by: {st['claim_deadline']}"))
    if st["exit_triggered"]:
        lines.append(Text("exit clause: the customer may terminate", style="red bold"))
    for note in st.get("notes") or ():
        lines.append(Text(f"note: {note}", style="yellow"))
    lines.append(Text(f"rounding: {st['rounding']}", style="dim"))
    lines.append(Text(f"inputs: sha256 {st['inputs']['sha256']}", style="dim"))
    for c in st["clauses"]:
        lines.append(Text(f"\n{c['clause']}:", style="bold"))
        if c.get("status_reason"):
            lines.append(Text(f"  {c['status_reason']}", style="yellow"))
        for e in c["explanation"]:
            span = f"{e['start']} .. {e['end'] or ''} " if e["start"] else ""
            mins = f"[{e['minutes']} min] " if e["minutes"] else ""
            src = f"  <{e['source']}>" if e["source"] else ""
            lines.append(Text(f"  {e['type']}: {span}{mins}{e['reason']}{src}"))
        for s in c.get("breach_attribution") or ():
            mins = "" if s["minutes"] is None else f"{s['minutes']} min, "
            who = ", ".join(x for x in (s["tier"], s["party"], s["provider"], s["hosting"]) if x)
            lines.append(
                Text(
                    f"  breach: {s['component'] or '-'} ({who or '-'}): "
                    f"{mins}share {_share(s['share'])} [{s['basis']}]"
                )
            )
    return Group(*lines)


_HTML = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<title>{{ ag.type }} {{ ag.name }} statement {{ period.label }}</title>
<style>
body{font-family:system-ui,sans-serif;margin:2rem;color:#222}
table{border-collapse:collapse;margin:1rem 0}
th,td{border:1px solid #ccc;padding:.3rem .6rem;text-align:right}
th:first-child,td:first-child{text-align:left}
.breached{color:#b00;font-weight:bold}.ok{color:#070}.unknown{color:#a60;font-weight:bold}
.small{color:#666;font-size:.85rem}
</style></head><body>
<h1>{{ ag.type }} {{ ag.name }}: statement for {{ period.label }}</h1>
<p>{{ ag.provider }} &rarr; {{ ag.customer }}; services: {{ ag.services|join(", ") }};
period {{ period.start }} to {{ period.end }} ({{ ag.time_zone }});
fee {{ ag.fee.currency }} {{ ag.fee.amount }}; governing law {{ ag.governing_law or "-" }},
jurisdiction {{ ag.jurisdiction or "-" }}.</p>
<table>
<tr><th>Clause</th><th>Target</th><th>Attainment</th><th>Adjusted</th><th>Downtime min</th>
<th>Excluded min</th><th>Breached</th><th>Floor met</th><th>Credit %</th><th>Credit</th></tr>
{% for c in st.clauses %}
<tr><td>{{ c.clause }}</td><td>{{ percent(c.target) }}%</td><td>{{ pct(c.attainment) }}</td>
<td>{{ pct(c.adjusted_attainment) }}</td>
<td>{{ "-" if c.downtime_minutes is none else c.downtime_minutes }}</td>
<td>{{ c.excluded_minutes }}</td>
{% if c.status == "unknown" %}<td class="unknown">unknown</td>
{% else %}<td class="{{ 'breached' if c.breached else 'ok' }}">
{{- "yes" if c.breached else "no" }}</td>
{% endif %}
<td>{{ "-" if c.regulatory_floor_met is none
      else ("yes" if c.regulatory_floor_met else "no") }}</td>
<td>{{ "-" if c.credit_percent is none else c.credit_percent }}</td>
<td>{{ credit(c) }}</td></tr>
{% endfor %}
</table>
<p><strong>{{ total(st)[0]|upper }}{{ total(st)[1:] }}</strong>
{% if st.cap is not none %}(cap {{ st.currency }} {{ st.cap }}){% endif %}
{% if st.claim_deadline %}; claim by {{ st.claim_deadline }}{% endif %}</p>
{% if st.exit_triggered %}<p class="breached">Exit clause triggered.</p>{% endif %}
{% for note in st.notes or () %}<p class="note">Note: {{ note }}</p>{% endfor %}
<p class="small">Rounding: {{ st.rounding }}. Inputs: sha256 {{ st.inputs.sha256 }}.</p>
{% for c in st.clauses %}
<h2>{{ c.clause }}</h2>
{% if c.description %}<p>{{ c.description }}</p>{% endif %}
{% if c.status_reason %}<p class="unknown">{{ c.status_reason }}</p>{% endif %}
{% if c.breach_attribution %}
<h3>Breach attribution</h3>
<table class="attribution"><tr><th>Component</th><th>Tier</th><th>Party</th>
<th>Provider</th><th>Hosting</th><th>Responsibility</th><th>Minutes</th><th>Share</th>
<th>Basis</th></tr>
{% for s in c.breach_attribution %}
<tr><td>{{ s.component or "-" }}</td><td>{{ s.tier or "-" }}</td><td>{{ s.party or "-" }}</td>
<td>{{ s.provider or "-" }}</td><td>{{ s.hosting or "-" }}</td>
<td>{{ s.responsibility or "-" }}</td>
<td>{{ "-" if s.minutes is none else s.minutes }}</td><td>{{ share(s.share) }}</td>
<td>{{ s.basis }}</td></tr>
{% endfor %}
</table>
{% endif %}
<table><tr><th>Type</th><th>Start</th><th>End</th><th>Minutes</th><th>Reason</th>
<th>Source</th></tr>
{% for e in c.explanation %}
<tr><td>{{ e.type }}</td><td>{{ e.start or "" }}</td><td>{{ e.end or "" }}</td>
<td>{{ "" if e.minutes is none else e.minutes }}</td><td>{{ e.reason }}</td>
<td>{{ e.source }}</td></tr>
{% endfor %}
</table>
{% endfor %}
</body></html>
"""

_env = Environment(autoescape=select_autoescape(default=True, default_for_string=True))


def _share(x: float) -> str:
    return f"{x * 100:.2f}%"


def statement_html(st: dict[str, Any]) -> str:
    template = _env.from_string(_HTML)
    page = template.render(
        st=st,
        ag=st["agreement"],
        period=st["period"],
        pct=_pct,
        percent=_percent,
        share=_share,
        credit=_credit,
        total=_total,
    )
    return page + "\n"


def costs_table(c: Costs) -> Group:
    parts: list[Any] = []
    for key, title in (("cost_centre", "cost centre"), ("team", "owning team")):
        t = Table(title=f"Credits for {c.period} by {title}", title_justify="left")
        t.add_column(title, overflow="fold")
        t.add_column("currency")
        t.add_column("credits", justify="right")
        for name, currency, total in c.by(key):
            t.add_row(name, currency, "undetermined" if total is None else str(total))
        parts.append(t)
    detail = Table(title="Clauses with a credit (or an undetermined one)", title_justify="left")
    for col in ("agreement", "type", "clause", "cost centre", "team", "amount"):
        if col == "amount":
            detail.add_column(col, justify="right")
        else:
            detail.add_column(col, overflow="fold")
    for line in c.lines:
        detail.add_row(
            line.agreement,
            line.agreement_type,
            line.clause,
            line.cost_centre,
            line.team,
            "undetermined" if line.amount is None else f"{line.currency} {line.amount}",
        )
    parts.append(detail)
    parts.append(Text("UC credits are owed to us by the vendor and count negative.", style="dim"))
    for s in c.skipped:
        parts.append(Text(f"skipped: {s}", style="dim"))
    return Group(*parts)


def simulation_table(sims: Sequence[ClauseSimulation]) -> Group:
    parts: list[Any] = []
    for s in sims:
        t = Table(
            title=f"{s.agreement} / {s.clause} (current target {s.current_target}%)",
            title_justify="left",
        )
        t.add_column("target", justify="right")
        periods = [p.period for p in s.candidates[0].periods] if s.candidates else []
        for p in periods:
            t.add_column(p, justify="right")
        for col in ("breached", "credits", "budget min/period"):
            t.add_column(col, justify="right")
        for cand in s.candidates:
            cells = [
                (
                    "unknown"
                    if p.breached is None
                    else _pct(p.attainment) + (" x" if p.breached else "")
                )
                for p in cand.periods
            ]
            budgets = [p.budget_minutes for p in cand.periods if p.budget_minutes is not None]
            t.add_row(
                f"{cand.target}%",
                *cells,
                f"{cand.breached_periods}/{len(cand.periods)}"
                + (f" ({cand.unknown_periods} unknown)" if cand.unknown_periods else ""),
                f"{s.currency} {cand.total_credit}",
                "-" if not budgets else f"{sum(budgets) / len(budgets):.1f}",
            )
        parts.append(t)
    return Group(*parts)
