"""Message templates: sandboxed Jinja, strict about undefined names, checked when loaded.

A message template has a ``subject`` and a ``body``. It comes in three forms:

- predefined: ``internal-update`` and ``customer-update`` (``slm/notify/templates/*.j2``);
- a ``.j2`` file with ``{% block subject %}`` and ``{% block body %}``;
- inline ``subject`` and ``body`` strings in the policy.

``compile_*`` parses the sources in an ``ImmutableSandboxedEnvironment`` with
``StrictUndefined`` (a template cannot reach Python internals, change its arguments, or
print an empty string for a misspelt name) and then ``check``s the template: names that
the message context does not define, and a trial render with a sample budget firing and a
sample alert firing. Every problem carries the line in the template source, so ``slm
validate`` reports it as ``file:line`` instead of the dispatcher failing when the page is
due.
"""

from __future__ import annotations

import traceback
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from importlib import resources
from typing import Any

from jinja2 import StrictUndefined, Template, TemplateSyntaxError, meta, nodes
from jinja2.sandbox import ImmutableSandboxedEnvironment

from slm.domain.durations import format_duration
from slm.domain.escalation import AlertFacts, EscalationLevel, Firing, Recipient, TriggerKind
from slm.domain.model import BudgetingMethod, CalendarWindow, RollingWindow, Window
from slm.domain.results import Coverage, ErrorBudget, ObjectiveResult

PREDEFINED = ("internal-update", "customer-update")

# Every top-level name a template may use (see docs/notifications.md).
CONTEXT_NAMES = frozenset(
    {"policy", "level", "trigger", "slo", "service", "sli", "budget", "alert", "at", "test"}
)


def _percent(value: float | None, digits: int = 1) -> str:
    if value is None:
        return "n/a"
    return f"{value * 100:.{digits}f}%"


def _utc(value: datetime | None) -> str:
    if value is None:
        return "n/a"
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def _environment() -> ImmutableSandboxedEnvironment:
    env = ImmutableSandboxedEnvironment(
        undefined=StrictUndefined,
        autoescape=False,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=False,
    )
    env.filters["percent"] = _percent
    env.filters["utc"] = _utc
    return env


ENV = _environment()


@dataclass(frozen=True)
class TemplateIssue:
    """A problem in one template source; ``line`` is 1-based in that source."""

    filename: str
    line: int | None
    message: str
    part: str = ""


class TemplateCompileError(Exception):
    def __init__(self, issues: list[TemplateIssue]):
        super().__init__("; ".join(i.message for i in issues))
        self.issues = issues


@dataclass(frozen=True)
class _Part:
    """One renderable piece: a whole template, or one block of it."""

    template: Template
    filename: str
    source: str
    block: str | None = None

    def render(self, context: Mapping[str, Any]) -> str:
        if self.block is None:
            return self.template.render(dict(context))
        render_block = self.template.blocks[self.block]
        try:
            return "".join(render_block(self.template.new_context(dict(context))))
        except Exception:
            # as Template.render does: re-raise with the template's lines in the traceback
            self.template.environment.handle_exception(self.source)


@dataclass(frozen=True)
class MessageTemplate:
    name: str
    subject: _Part
    body: _Part

    def render(self, context: Mapping[str, Any]) -> tuple[str, str]:
        """(subject on one line, body) for ``context`` (see ``message_context``)."""
        subject = " ".join(self.subject.render(context).split())
        body = self.body.render(context).strip() + "\n"
        return subject, body


# --- compiling -------------------------------------------------------------------------


def _compile(source: str, filename: str, part: str) -> Template:
    try:
        code = ENV.compile(source, name=filename, filename=filename)
    except TemplateSyntaxError as e:
        raise TemplateCompileError(
            [TemplateIssue(filename, e.lineno, f"template syntax error: {e.message}", part)]
        ) from None
    return ENV.template_class.from_code(ENV, code, ENV.make_globals(None))


def compile_parts(
    name: str,
    subject: str,
    body: str,
    filenames: tuple[str, str],
    trigger: TriggerKind | None = None,
) -> MessageTemplate:
    """An inline template; raises ``TemplateCompileError`` with every issue found.

    ``trigger`` limits the trial render to the firings the template will see (a template
    of an alert level may use ``alert.severity`` unconditionally)."""
    issues: list[TemplateIssue] = []
    parts: list[_Part] = []
    for label, source, filename in (
        ("subject", subject, filenames[0]),
        ("body", body, filenames[1]),
    ):
        try:
            parts.append(_Part(_compile(source, filename, label), filename, source))
        except TemplateCompileError as e:
            issues += e.issues
    if issues:
        raise TemplateCompileError(issues)
    return _checked(MessageTemplate(name, parts[0], parts[1]), trigger)


def compile_source(
    name: str, source: str, filename: str, trigger: TriggerKind | None = None
) -> MessageTemplate:
    """A template with ``subject`` and ``body`` blocks (the ``.j2`` file form)."""
    template = _compile(source, filename, "")
    missing = [b for b in ("subject", "body") if b not in template.blocks]
    if missing:
        raise TemplateCompileError(
            [
                TemplateIssue(
                    filename,
                    None,
                    f"template has no {' and no '.join(missing)} block "
                    "(write {% block subject %}...{% endblock %} and "
                    "{% block body %}...{% endblock %})",
                )
            ]
        )
    return _checked(
        MessageTemplate(
            name,
            _Part(template, filename, source, "subject"),
            _Part(template, filename, source, "body"),
        ),
        trigger,
    )


def predefined(name: str) -> MessageTemplate:
    """A shipped template by name (``internal-update``, ``customer-update``)."""
    if name not in PREDEFINED:
        raise KeyError(name)
    source = predefined_source(name)
    return compile_source(name, source, f"<predefined {name}>")


def predefined_source(name: str) -> str:
    return resources.files("slm.notify").joinpath("templates", f"{name}.j2").read_text("utf-8")


# --- checking --------------------------------------------------------------------------


def _checked(t: MessageTemplate, trigger: TriggerKind | None) -> MessageTemplate:
    issues = check(t, trigger)
    if issues:
        raise TemplateCompileError(issues)
    return t


def check(t: MessageTemplate, trigger: TriggerKind | None = None) -> list[TemplateIssue]:
    """Unknown names, and errors of a trial render with every sample context (of
    ``trigger`` firings only, when given)."""
    issues: list[TemplateIssue] = []
    seen_sources: set[str] = set()
    for label, part in (("subject", t.subject), ("body", t.body)):
        if part.filename in seen_sources:
            continue
        seen_sources.add(part.filename)
        issues += _unknown_names(part, label if part.block is None else "")
    if issues:
        return issues
    for sample in sample_firings():
        if trigger is not None and sample.trigger != trigger:
            continue
        context = message_context(sample)
        for label, part in (("subject", t.subject), ("body", t.body)):
            try:
                text = part.render(context)
            except Exception as e:  # a template can raise anything; report it, do not crash
                issue = TemplateIssue(
                    part.filename, _runtime_line(e, part), f"template error: {_reason(e)}", label
                )
                if issue not in issues:
                    issues.append(issue)
                continue
            if label == "subject" and not text.strip():
                issue = TemplateIssue(
                    part.filename,
                    None,
                    f"the subject renders empty for a {sample.trigger} notification",
                    label,
                )
                if issue not in issues:
                    issues.append(issue)
    return issues


def _unknown_names(part: _Part, label: str) -> list[TemplateIssue]:
    ast = ENV.parse(part.source)
    unknown = meta.find_undeclared_variables(ast) - CONTEXT_NAMES - set(ENV.globals)
    issues = []
    known = ", ".join(sorted(CONTEXT_NAMES))
    for name in sorted(unknown):
        line = next(
            (n.lineno for n in ast.find_all(nodes.Name) if n.name == name and n.ctx == "load"),
            None,
        )
        issues.append(
            TemplateIssue(part.filename, line, f"unknown variable {name!r} (known: {known})", label)
        )
    return issues


def _runtime_line(error: BaseException, part: _Part) -> int | None:
    """The template line of the innermost frame in ``part`` (Jinja rewrote the traceback)."""
    line = None
    for frame, lineno in traceback.walk_tb(error.__traceback__):
        if frame.f_code.co_filename == part.filename:
            line = lineno
    return line


def _reason(error: BaseException) -> str:
    text = str(error) or type(error).__name__
    return (
        text if type(error).__module__.startswith("jinja2") else f"{type(error).__name__}: {text}"
    )


# --- the message context ---------------------------------------------------------------


def window_text(window: Window) -> str:
    if isinstance(window, RollingWindow):
        return f"rolling {format_duration(window.duration)}"
    assert isinstance(window, CalendarWindow)
    unit = window.unit if window.count == 1 else f"{window.count} {window.unit}s"
    return f"calendar {unit}"


def message_context(firing: Firing, *, test: bool = False) -> dict[str, Any]:
    """The variables a template sees for ``firing`` (documented in docs/notifications.md)."""
    r = firing.result
    budget = r.error_budget if r is not None else None
    consumed = firing.budget_consumed
    remaining = (
        budget.remaining_ratio
        if budget is not None and r is not None and r.status != "no_data"
        else None
    )
    alert = firing.alert
    return {
        "policy": firing.policy,
        "level": {
            "number": firing.level.number,
            "name": firing.level.name,
            "recipients": [x.name for x in firing.level.recipients],
        },
        "trigger": firing.trigger,
        "service": firing.service,
        "slo": {
            "name": firing.slo,
            "service": firing.service,
            "objective": firing.objective,
            "target": r.target if r is not None else None,
            "window": window_text(r.window) if r is not None else None,
        },
        "sli": r.sli if r is not None else None,
        "budget": {
            "consumed": consumed,
            "remaining": remaining,
            "threshold": firing.budget_threshold,
        },
        "alert": None
        if alert is None
        else {
            "key": alert.key,
            "severity": alert.severity,
            "status": alert.status,
            "episode": alert.episode,
            "burn_rates": dict(alert.burn_rates),
        },
        "at": firing.at,
        "test": test,
    }


_SAMPLE_AT = datetime(2026, 11, 3, 14, 5, tzinfo=UTC)


def sample_result(
    slo: str = "checkout-availability",
    service: str = "checkout",
    objective: str = "default",
    target: float = 0.999,
    window: Window | None = None,
    consumed: float = 0.76,
    at: datetime = _SAMPLE_AT,
) -> ObjectiveResult:
    """A plausible result (for the trial render and ``slm notify test``)."""
    w = window or RollingWindow(timedelta(days=30))
    total = 1_000_000.0
    allowed = total * (1 - target)
    bad = allowed * consumed
    return ObjectiveResult(
        slo=slo,
        service=service,
        objective=objective,
        target=target,
        window=w,
        window_start=at - timedelta(days=30),
        at=at,
        budgeting_method=BudgetingMethod.OCCURRENCES,
        good=total - bad,
        total=total,
        sli=(total - bad) / total,
        error_budget=ErrorBudget(allowed, bad, allowed - bad, 1 - consumed, "events"),
        burn_rates={"1h": 14.9, "5m": 15.2},
        alerts=(),
        coverage=Coverage(43_200, 43_200),
        time_to_exhaustion=timedelta(days=2),
        status="ok",
    )


def sample_firing(
    level: EscalationLevel,
    policy: str = "sample",
    result: ObjectiveResult | None = None,
    *,
    alert_status: str = "firing",
) -> Firing:
    """What ``level`` would send for ``result`` (a sample when ``None``)."""
    r = result or sample_result()
    if level.budget is not None:
        return Firing(
            policy,
            level,
            f"test/{policy}/L{level.number}",
            r.at,
            r.slo,
            r.service,
            r.objective,
            "budget",
            r,
            level.budget.ratio,
        )
    severity = level.alert.severities[0] if level.alert and level.alert.severities else "page"
    facts = AlertFacts(
        f"{r.slo}/{r.objective}/{severity}-1h-5m", severity, alert_status, 1, dict(r.burn_rates)
    )
    return Firing(
        policy,
        level,
        f"test/{policy}/L{level.number}",
        r.at,
        r.slo,
        r.service,
        r.objective,
        "alert",
        r,
        None,
        facts,
    )


def sample_firings() -> list[Firing]:
    """A budget firing, a firing alert and a resolved alert, all with data; and an alert
    with no evaluation result (``slo.target``, ``sli`` and ``budget.*`` are ``None``)."""
    from slm.domain.escalation import AlertTrigger, BudgetTrigger

    team = (Recipient("team", "team-chat"),)
    budget = EscalationLevel(1, "budget-75", team, "sample", budget=BudgetTrigger(75))
    page = EscalationLevel(2, "page", team, "sample", alert=AlertTrigger(("page",), True))
    alert = sample_firing(page)
    bare = Firing(
        alert.policy,
        page,
        alert.dedup_key,
        alert.at,
        alert.slo,
        alert.service,
        alert.objective,
        "alert",
        None,
        None,
        alert.alert,
    )
    return [
        sample_firing(budget),
        alert,
        sample_firing(page, alert_status="resolved"),
        bare,
        sample_firing(budget, result=_calendar_result()),
    ]


def _calendar_result() -> ObjectiveResult:
    w = CalendarWindow("month", 1, datetime(2026, 11, 1, tzinfo=UTC), "UTC")
    return sample_result(window=w, consumed=1.2)
