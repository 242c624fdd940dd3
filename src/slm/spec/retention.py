"""The ``slm/v1`` kinds ``RetentionPolicy`` and ``LegalHold`` and their mappers.

```yaml
apiVersion: slm/v1
kind: RetentionPolicy
metadata: {name: standard}
spec:
  selector: {services: [checkout], series: ["checkout_*"]}   # optional: every series
  tiers:
    - {resolution: 1m, keep: 35d}
    - {resolution: 1h, keep: 400d}
    - {resolution: 1d, keep: 7y}
---
apiVersion: slm/v1
kind: LegalHold
metadata: {name: dispute-2026-114}
spec:
  selector: {services: [payments]}
  period: {from: 2026-03-01T00:00:00Z, to: 2026-04-01T00:00:00Z}
  reason: Credit dispute with ACME, March 2026
  setBy: jane.doe@example.com
```

``keep`` is a number and a unit: ``m``, ``h``, ``d``, ``w`` (fixed lengths), ``M``
(calendar months) or ``y``/``Y`` (calendar years). See docs/retention.md.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BeforeValidator, Field, model_validator

from slm.domain.durations import parse_duration, parse_span
from slm.domain.retention import Keep, LegalHold, RetentionPolicy, Selector, Tier, tier_problems
from slm.spec.common import Duration, Name, SpecModel
from slm.spec.context import MapContext, origin_of
from slm.spec.problems import SpecObject
from slm.spec.slm_v1 import Envelope

_MONTHS = {"M": 1, "y": 12, "Y": 12}


def parse_keep(text: str) -> Keep:
    try:
        n, unit = parse_span(text, "mhdwMyY")
    except ValueError as e:
        if str(e).startswith("duration "):  # zero, or longer than 100 years
            raise ValueError(f"retention length {str(e).removeprefix('duration ')}") from None
        raise ValueError(
            f"invalid retention length {text!r} (expected a number and m, h, d, w, M or y, "
            "e.g. 35d, 13M, 7y)"
        ) from None
    if unit in _MONTHS:
        return Keep(months=n * _MONTHS[unit])
    return Keep(duration=parse_duration(f"{n}{unit}"))


def _check_keep(value: str) -> str:
    parse_keep(value)
    return value


def _instant(value: Any) -> Any:
    """A date means 00:00 UTC of that day; strings are RFC 3339."""
    if isinstance(value, datetime):
        return value
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day, tzinfo=UTC)
    if isinstance(value, str):
        text = value.strip()
        text = text[:-1] + "+00:00" if text.endswith(("Z", "z")) else text
        try:
            return _instant(datetime.fromisoformat(text))
        except ValueError:
            raise ValueError(
                f"{value!r} is not a date or an RFC 3339 instant (e.g. 2026-03-01T00:00:00Z)"
            ) from None
    return value


def _aware(value: datetime) -> datetime:
    if value.tzinfo is None:
        raise ValueError("needs a UTC offset (e.g. 2026-03-01T00:00:00Z) or a plain date")
    return value.astimezone(UTC)


KeepText = Annotated[str, AfterValidator(_check_keep)]
Instant = Annotated[datetime, BeforeValidator(_instant), AfterValidator(_aware)]
Pattern = Annotated[str, Field(min_length=1)]


class SelectorSpec(SpecModel):
    services: list[Name] = Field(default_factory=list)
    series: list[Pattern] = Field(default_factory=list)


class TierSpec(SpecModel):
    resolution: Duration
    keep: KeepText


class RetentionPolicySpec(SpecModel):
    description: str | None = None
    selector: SelectorSpec | None = None
    tiers: list[TierSpec] = Field(min_length=1)


class RetentionPolicyModel(Envelope):
    kind: Literal["RetentionPolicy"]
    spec: RetentionPolicySpec


class PeriodSpec(SpecModel):
    start: Instant = Field(alias="from")
    end: Instant = Field(alias="to")

    @model_validator(mode="after")
    def _ordered(self) -> PeriodSpec:
        if self.end <= self.start:
            raise ValueError("period.to must be after period.from")
        return self


class LegalHoldSpec(SpecModel):
    description: str | None = None
    selector: SelectorSpec
    period: PeriodSpec
    reason: str = Field(min_length=1)
    set_by: str = Field(min_length=1)
    set_at: Instant | None = None


class LegalHoldModel(Envelope):
    kind: Literal["LegalHold"]
    spec: LegalHoldSpec


def _selector(s: SelectorSpec | None) -> Selector:
    return Selector() if s is None else Selector(tuple(s.services), tuple(s.series))


def map_policy(obj: SpecObject, m: RetentionPolicyModel, ctx: MapContext) -> list[Any]:
    tiers = tuple(Tier(parse_duration(t.resolution), parse_keep(t.keep)) for t in m.spec.tiers)
    problems = tier_problems(tiers)
    for i, field, message in problems:
        ctx.problems.at(obj, ("spec", "tiers", i, field), message)
    _check_services(obj, m.spec.selector, ctx)
    if problems:
        return []
    return [
        RetentionPolicy(
            name=m.metadata.name,
            tiers=tiers,
            selector=_selector(m.spec.selector),
            description=m.spec.description or "",
            origin=origin_of(obj, m.api_version, m.kind),
        )
    ]


def map_hold(obj: SpecObject, m: LegalHoldModel, ctx: MapContext) -> list[Any]:
    selector = _selector(m.spec.selector)
    if selector.everything:
        ctx.problems.at(
            obj,
            ("spec", "selector"),
            "a legal hold must name services or series patterns (use series: ['*'] for all)",
        )
        return []
    _check_services(obj, m.spec.selector, ctx)
    return [
        LegalHold(
            name=m.metadata.name,
            selector=selector,
            start=m.spec.period.start,
            end=m.spec.period.end,
            reason=m.spec.reason,
            set_by=m.spec.set_by,
            set_at=m.spec.set_at,
            origin=origin_of(obj, m.api_version, m.kind),
        )
    ]


def _check_services(obj: SpecObject, s: SelectorSpec | None, ctx: MapContext) -> None:
    """Services must be declared when the workspace declares any (a typo holds nothing)."""
    if s is None or not ctx.declared.get("service"):
        return
    for i, name in enumerate(s.services):
        ctx.check_ref(obj, ("spec", "selector", "services", i), "service", name)
