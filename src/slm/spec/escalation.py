"""The ``slm/v1`` kinds ``NotificationChannel`` and ``EscalationPolicy`` and their mappers.

```yaml
apiVersion: slm/v1
kind: NotificationChannel
metadata: {name: ops-webhook}
spec:
  webhook:
    url: https://hooks.example.com/slm
    secretEnv: SLM_OPS_WEBHOOK_SECRET     # HMAC-SHA256 key, read when sending
  retry: {maxAttempts: 8, initialBackoff: 30s, maxBackoff: 1h}
---
apiVersion: slm/v1
kind: EscalationPolicy
metadata: {name: checkout}
spec:
  selector: {services: [checkout]}
  recipients:
    team: {channel: team-slack}
    oncall: {channel: ops-webhook}
    stakeholders: {channel: mail, to: [cto@example.com]}
  levels:
    - when: {budgetConsumed: 50}
      notify: [team]
    - when: {alert: {severity: page, resolved: true}}
      notify: [team, oncall]
      template: internal-update
    - when: {budgetConsumed: 100}
      notify: [stakeholders]
      template: {file: templates/stakeholders.j2}
```

Secrets are never written in a spec: a channel names the environment variables that hold
them. Templates are compiled and trial-rendered here, so ``slm validate`` reports a
template error with its file and line. See docs/notifications.md.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, Field, field_validator, model_validator

from slm.domain.durations import parse_duration
from slm.domain.escalation import (
    AlertTrigger,
    BudgetTrigger,
    EscalationLevel,
    EscalationPolicy,
    Recipient,
    RetryPolicy,
    TriggerKind,
)
from slm.notify.channels import Channel, EmailChannel, SlackChannel, WebhookChannel
from slm.notify.rendering import (
    PREDEFINED,
    MessageTemplate,
    TemplateCompileError,
    TemplateIssue,
    compile_parts,
    compile_source,
    predefined,
)
from slm.spec.common import Duration, Name, SpecModel, StrMap
from slm.spec.context import MapContext, origin_of
from slm.spec.problems import SpecObject
from slm.spec.slm_v1 import API_VERSION, Envelope
from slm.spec.yamlio import FieldPath

CHANNEL_KIND = "NotificationChannel"
POLICY_KIND = "EscalationPolicy"
CHANNEL_ROLE = f"{API_VERSION}/{CHANNEL_KIND}"
CHANNEL_KEY = (API_VERSION, CHANNEL_KIND)
POLICY_KEY = (API_VERSION, POLICY_KIND)

_ENV = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_EMAIL = re.compile(r"^[^@\s<>]+@[^@\s<>]+$")
_GROUP = r"^[a-z0-9]([-a-z0-9_]*[a-z0-9])?$"


def _env_name(value: str) -> str:
    if not _ENV.match(value):
        raise ValueError(f"{value!r} is not an environment variable name (e.g. SLM_HOOK_SECRET)")
    return value


def _email(value: str) -> str:
    if not _EMAIL.match(value):
        raise ValueError(f"{value!r} is not an email address")
    return value


def _listify(value: Any) -> Any:
    return [value] if isinstance(value, str) else value


EnvName = Annotated[str, Field(min_length=1)]
Email = Annotated[str, Field(min_length=3)]


def _no_inline(data: Any, keys: Mapping[str, str]) -> Any:
    """Refuse a secret written inline, naming the field that takes its variable instead."""
    if isinstance(data, dict):
        for key, env_field in keys.items():
            if key in data:
                raise ValueError(
                    f"{key!r} would put a secret in the spec: store it in an environment "
                    f"variable and name the variable in {env_field!r}"
                )
    return data


class RetrySpec(SpecModel):
    max_attempts: int = Field(default=8, ge=1, le=100)
    initial_backoff: Duration = "30s"
    max_backoff: Duration = "1h"


class WebhookSpec(SpecModel):
    url: str = Field(min_length=1)
    secret_env: EnvName | None = None
    headers: StrMap = Field(default_factory=dict)
    timeout: Duration = "10s"

    @model_validator(mode="before")
    @classmethod
    def _secrets(cls, data: Any) -> Any:
        return _no_inline(data, {"secret": "secretEnv"})

    @field_validator("url")
    @classmethod
    def _http(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError(f"{value!r} is not an http:// or https:// URL")
        return value

    @field_validator("secret_env")
    @classmethod
    def _env(cls, value: str | None) -> str | None:
        return None if value is None else _env_name(value)


class SlackSpec(SpecModel):
    url_env: EnvName
    timeout: Duration = "10s"

    @model_validator(mode="before")
    @classmethod
    def _secrets(cls, data: Any) -> Any:
        return _no_inline(data, {"url": "urlEnv"})

    @field_validator("url_env")
    @classmethod
    def _env(cls, value: str) -> str:
        return _env_name(value)


class EmailSpec(SpecModel):
    host: str = Field(min_length=1)
    port: int = Field(default=587, ge=1, le=65535)
    security: Literal["starttls", "ssl", "none"] = "starttls"
    sender: Email = Field(alias="from")
    username_env: EnvName | None = None
    password_env: EnvName | None = None
    timeout: Duration = "10s"

    @model_validator(mode="before")
    @classmethod
    def _secrets(cls, data: Any) -> Any:
        return _no_inline(data, {"password": "passwordEnv", "username": "usernameEnv"})

    @field_validator("sender")
    @classmethod
    def _address(cls, value: str) -> str:
        return _email(value)

    @field_validator("username_env", "password_env")
    @classmethod
    def _env(cls, value: str | None) -> str | None:
        return None if value is None else _env_name(value)


class NotificationChannelSpec(SpecModel):
    description: str | None = None
    webhook: WebhookSpec | None = None
    slack: SlackSpec | None = None
    email: EmailSpec | None = None
    retry: RetrySpec = Field(default_factory=RetrySpec)


class NotificationChannelModel(Envelope):
    kind: Literal["NotificationChannel"]
    spec: NotificationChannelSpec


class AlertWhenSpec(SpecModel):
    severity: Annotated[list[str], BeforeValidator(_listify)] = Field(min_length=1)
    resolved: bool = False


def _alert_shorthand(value: Any) -> Any:
    """``alert: page`` / ``alert: [page, ticket]`` mean ``alert: {severity: ...}``."""
    return {"severity": value} if isinstance(value, str | list) else value


class WhenSpec(SpecModel):
    budget_consumed: float | None = Field(default=None, gt=0, le=1000)
    alert: Annotated[AlertWhenSpec | None, BeforeValidator(_alert_shorthand)] = None


class TemplateSpec(SpecModel):
    name: str | None = None
    file: str | None = Field(default=None, min_length=1)
    subject: str | None = None
    body: str | None = None


def _template_shorthand(value: Any) -> Any:
    return {"name": value} if isinstance(value, str) else value


class RecipientSpec(SpecModel):
    channel: Name
    to: Annotated[list[Email], BeforeValidator(_listify)] = Field(default_factory=list)

    @field_validator("to")
    @classmethod
    def _addresses(cls, value: list[str]) -> list[str]:
        return [_email(v) for v in value]


class LevelSpec(SpecModel):
    name: Name | None = None
    when: WhenSpec
    notify: Annotated[list[str], BeforeValidator(_listify)] = Field(min_length=1)
    template: Annotated[TemplateSpec, BeforeValidator(_template_shorthand)] = Field(
        default_factory=lambda: TemplateSpec(name="internal-update")
    )


class PolicySelectorSpec(SpecModel):
    services: list[Name] = Field(default_factory=list)
    slos: list[str] = Field(default_factory=list)


class EscalationPolicySpec(SpecModel):
    description: str | None = None
    selector: PolicySelectorSpec = Field(default_factory=PolicySelectorSpec)
    recipients: dict[Annotated[str, Field(pattern=_GROUP)], RecipientSpec] = Field(min_length=1)
    levels: list[LevelSpec] = Field(min_length=1)
    rearm_ratio: float = Field(default=0.9, gt=0, le=1)


class EscalationPolicyModel(Envelope):
    kind: Literal["EscalationPolicy"]
    spec: EscalationPolicySpec


@dataclass(frozen=True)
class PolicyDefinition:
    """A loaded policy: the domain policy plus the compiled template of each level."""

    policy: EscalationPolicy
    templates: Mapping[int, MessageTemplate]

    @property
    def name(self) -> str:
        return self.policy.name


# --- NotificationChannel -----------------------------------------------------------------


def _seconds(text: str) -> float:
    return parse_duration(text).total_seconds()


def map_channel(obj: SpecObject, m: NotificationChannelModel, ctx: MapContext) -> list[Any]:
    s = m.spec
    given = [k for k in ("webhook", "slack", "email") if getattr(s, k) is not None]
    if len(given) != 1:
        msg = (
            "set one of webhook, slack, email"
            if not given
            else f"set only one of webhook, slack, email (found {', '.join(given)})"
        )
        ctx.problems.at(obj, ("spec",), msg)
        return []
    initial, maximum = parse_duration(s.retry.initial_backoff), parse_duration(s.retry.max_backoff)
    if maximum < initial:
        ctx.problems.at(obj, ("spec", "retry", "maxBackoff"), "must not be below initialBackoff")
        return []
    retry = RetryPolicy(
        max_attempts=s.retry.max_attempts, initial_backoff=initial, max_backoff=maximum
    )
    name = m.metadata.name
    channel: Channel
    if s.webhook is not None:
        w = s.webhook
        channel = WebhookChannel(
            name, w.url, w.secret_env, dict(w.headers), _seconds(w.timeout), retry
        )
    elif s.slack is not None:
        channel = SlackChannel(name, s.slack.url_env, _seconds(s.slack.timeout), retry)
    else:
        e = s.email
        assert e is not None
        channel = EmailChannel(
            name,
            host=e.host,
            sender=e.sender,
            port=e.port,
            security=e.security,
            username_env=e.username_env,
            password_env=e.password_env,
            timeout=_seconds(e.timeout),
            retry=retry,
        )
        if (e.username_env is None) != (e.password_env is None):
            ctx.problems.at(
                obj, ("spec", "email"), "set both usernameEnv and passwordEnv, or neither"
            )
            return []
    return [channel]


# --- EscalationPolicy --------------------------------------------------------------------


def _channel_type(ctx: MapContext, name: str) -> str | None:
    owner = ctx.owner(CHANNEL_ROLE, name)
    spec = owner.data.get("spec") if owner is not None else None
    if not isinstance(spec, dict):
        return None
    return next((k for k in ("webhook", "slack", "email") if k in spec), None)


def map_policy(obj: SpecObject, m: EscalationPolicyModel, ctx: MapContext) -> list[Any]:
    s = m.spec
    before = len(ctx.problems.items)
    recipients = _recipients(obj, s, ctx)
    _check_selector(obj, s.selector, ctx)
    levels: list[EscalationLevel] = []
    templates: dict[int, MessageTemplate] = {}
    names: dict[str, int] = {}
    for i, lv in enumerate(s.levels):
        number = i + 1
        base: FieldPath = ("spec", "levels", i)
        name = lv.name or f"level-{number}"
        if name in names:
            ctx.problems.at(
                obj, (*base, "name"), f"duplicate level name {name!r} (level {names[name]})"
            )
        names.setdefault(name, number)
        trigger = _trigger(obj, lv.when, base, ctx)
        chosen = []
        for j, group in enumerate(lv.notify):
            if group not in recipients:
                known = ", ".join(sorted(recipients)) or "none"
                ctx.problems.at(
                    obj,
                    (*base, "notify", j),
                    f"unknown recipient group {group!r} (spec.recipients has: {known})",
                )
            else:
                chosen.append(recipients[group])
        kind: TriggerKind | None = None
        if trigger is not None:
            kind = "budget" if trigger[0] is not None else "alert"
        template = _template(obj, lv.template, (*base, "template"), ctx, kind)
        if trigger is None or template is None or len(chosen) != len(lv.notify):
            continue
        budget, alert = trigger
        levels.append(
            EscalationLevel(number, name, tuple(chosen), template.name, budget=budget, alert=alert)
        )
        templates[number] = template
    if len(ctx.problems.items) > before:
        return []
    policy = EscalationPolicy(
        name=m.metadata.name,
        levels=tuple(levels),
        services=tuple(s.selector.services),
        slos=tuple(s.selector.slos),
        rearm_ratio=s.rearm_ratio,
        description=s.description or "",
        origin=origin_of(obj, m.api_version, m.kind),
    )
    return [PolicyDefinition(policy, templates)]


def _recipients(obj: SpecObject, s: EscalationPolicySpec, ctx: MapContext) -> dict[str, Recipient]:
    out: dict[str, Recipient] = {}
    for group, r in s.recipients.items():
        field: FieldPath = ("spec", "recipients", group)
        if not ctx.is_declared(CHANNEL_ROLE, r.channel):
            ctx.problems.at(obj, (*field, "channel"), f"unknown NotificationChannel {r.channel!r}")
            continue
        kind = _channel_type(ctx, r.channel)
        if kind == "email" and not r.to:
            ctx.problems.at(
                obj, (*field, "to"), f"channel {r.channel!r} sends email: list the addresses in to"
            )
            continue
        if kind in ("webhook", "slack") and r.to:
            ctx.problems.at(
                obj,
                (*field, "to"),
                f"channel {r.channel!r} is a {kind}: its URL is the address, remove to",
            )
            continue
        out[group] = Recipient(group, r.channel, tuple(r.to))
    return out


def _check_selector(obj: SpecObject, sel: PolicySelectorSpec, ctx: MapContext) -> None:
    if ctx.declared.get("service"):
        for i, name in enumerate(sel.services):
            ctx.check_ref(obj, ("spec", "selector", "services", i), "service", name)
    if ctx.declared.get("slo"):
        for i, name in enumerate(sel.slos):
            ctx.check_ref(obj, ("spec", "selector", "slos", i), "slo", name)


def _trigger(
    obj: SpecObject, when: WhenSpec, base: FieldPath, ctx: MapContext
) -> tuple[BudgetTrigger | None, AlertTrigger | None] | None:
    if (when.budget_consumed is None) == (when.alert is None):
        ctx.problems.at(
            obj, (*base, "when"), "set exactly one of budgetConsumed (a percent) and alert"
        )
        return None
    if when.budget_consumed is not None:
        return BudgetTrigger(when.budget_consumed), None
    assert when.alert is not None
    return None, AlertTrigger(tuple(when.alert.severity), when.alert.resolved)


def _template(
    obj: SpecObject,
    t: TemplateSpec,
    field: FieldPath,
    ctx: MapContext,
    trigger: TriggerKind | None,
) -> MessageTemplate | None:
    forms = [
        label
        for label, present in (
            ("name", t.name is not None),
            ("file", t.file is not None),
            ("subject/body", t.subject is not None or t.body is not None),
        )
        if present
    ]
    if len(forms) != 1:
        ctx.problems.at(
            obj, field, "give one of name (a predefined template), file, or subject and body"
        )
        return None
    try:
        if t.name is not None:
            if t.name not in PREDEFINED:
                ctx.problems.at(
                    obj,
                    (*field, "name"),
                    f"unknown template {t.name!r} (predefined: {', '.join(PREDEFINED)}; "
                    "or use file, or subject and body)",
                )
                return None
            return predefined(t.name)
        if t.file is not None:
            return _file_template(obj, t.file, field, ctx, trigger)
        if t.subject is None or t.body is None:
            missing = "subject" if t.subject is None else "body"
            ctx.problems.at(obj, (*field, missing), "required field missing")
            return None
        label = f"{obj.path}#{obj.name}.{'.'.join(map(str, field))}"
        return compile_parts(
            f"{obj.name}/{field[2] if len(field) > 2 else 0}",
            t.subject,
            t.body,
            (f"{label}.subject", f"{label}.body"),
            trigger,
        )
    except TemplateCompileError as e:
        for issue in e.issues:
            _report(obj, t, field, issue, ctx)
        return None


def _file_template(
    obj: SpecObject, file: str, field: FieldPath, ctx: MapContext, trigger: TriggerKind | None
) -> MessageTemplate | None:
    path = Path(file) if Path(file).is_absolute() else Path(obj.path).parent / file
    try:
        source = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        reason = e.strerror if isinstance(e, OSError) and e.strerror else str(e)
        ctx.problems.at(obj, (*field, "file"), f"cannot read template {str(path)!r}: {reason}")
        return None
    return compile_source(path.stem, source, str(path), trigger)


def _report(
    obj: SpecObject, t: TemplateSpec, field: FieldPath, issue: TemplateIssue, ctx: MapContext
) -> None:
    from slm.domain.errors import Problem
    from slm.spec.problems import format_field

    if t.file is not None:
        ctx.problems.add(
            Problem(
                issue.filename,
                issue.line,
                obj.kind_label,
                obj.name,
                format_field((*field, "file")),
                issue.message,
            )
        )
        return
    sub = (*field, issue.part) if issue.part else field
    start = _content_line(obj, sub)
    line = start + issue.line - 1 if start is not None and issue.line is not None else start
    ctx.problems.add(
        Problem(obj.path, line, obj.kind_label, obj.name, format_field(sub), issue.message)
    )


def _content_line(obj: SpecObject, field: FieldPath) -> int | None:
    """The line where a scalar's text starts: the key's line, or the next one for a block
    scalar (``|`` or ``>``)."""
    line = obj.line_of(field)
    if line is None:
        return None
    lines = obj.doc.text.splitlines()
    idx = line - obj.doc.start_line
    if 0 <= idx < len(lines) and ":" in lines[idx]:
        after = lines[idx].split(":", 1)[1].strip()
        if after.startswith(("|", ">")):
            return line + 1
    return line
