"""Pyrra's ``pyrra.dev/v1alpha1`` ``ServiceLevelObjective`` (the Kubernetes resource, also
read from plain files by Pyrra's ``filesystem`` mode).

Fields as in Pyrra's Go types (``kubernetes/api/v1alpha1``): ``target`` is a percentage
written as a string (``"99.5"``), ``window`` a Prometheus duration (``2w``), and exactly
one indicator: ``ratio`` (errors / total counters), ``latency`` (histogram success bucket /
total count), ``latencyNative`` (native histograms) or ``bool_gauge`` (a 0/1 gauge); each
may list ``grouping`` labels (one objective per label value).
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator, model_validator

from slm.spec.common import Duration, SpecModel, StrMap

API_VERSION = "pyrra.dev/v1alpha1"
KIND = "ServiceLevelObjective"


class Metadata(SpecModel):
    name: str
    namespace: str | None = None
    labels: StrMap = Field(default_factory=dict)
    annotations: StrMap = Field(default_factory=dict)


class Query(SpecModel):
    metric: str = Field(min_length=1)


Grouping = list[str]


class Ratio(SpecModel):
    errors: Query
    total: Query
    grouping: Grouping = Field(default_factory=list)


class Latency(SpecModel):
    success: Query
    total: Query
    grouping: Grouping = Field(default_factory=list)


class LatencyNative(SpecModel):
    total: Query
    latency: str
    grouping: Grouping = Field(default_factory=list)


class BoolGauge(SpecModel):
    metric: str = Field(min_length=1)
    grouping: Grouping = Field(default_factory=list)


class Indicator(SpecModel):
    ratio: Ratio | None = None
    latency: Latency | None = None
    latency_native: LatencyNative | None = None
    bool_gauge: BoolGauge | None = Field(default=None, alias="bool_gauge")

    @model_validator(mode="after")
    def _exactly_one(self) -> Indicator:
        given = (self.ratio, self.latency, self.latency_native, self.bool_gauge)
        if sum(x is not None for x in given) != 1:
            raise ValueError("exactly one of ratio, latency, latencyNative or bool_gauge")
        return self


class Severities(SpecModel):
    absent: str | None = None
    fast_burn: str | None = None
    medium_burn: str | None = None
    slow_burn: str | None = None
    long_term_burn: str | None = None


class Alerting(SpecModel):
    disabled: bool | None = None
    burnrates: bool | None = None
    absent: bool | None = None
    name: str | None = None
    absent_name: str | None = None
    severities: Severities | None = None


class RuleOutput(SpecModel):
    short_rules_labels: StrMap = Field(default_factory=dict)
    long_rules_labels: StrMap = Field(default_factory=dict)
    enable_description_as_label: bool = False


class Spec(SpecModel):
    description: str | None = None
    target: str
    window: Duration
    indicator: Indicator
    alerting: Alerting = Field(default_factory=Alerting)
    partial_response_strategy: Literal["abort", "warn", ""] | None = Field(
        default=None, alias="partial_response_strategy"
    )
    performance_over_accuracy: bool = False
    rule_output: RuleOutput | None = None

    @field_validator("target", mode="before")
    @classmethod
    def _number_as_text(cls, value: object) -> object:
        return (
            str(value) if isinstance(value, int | float) and not isinstance(value, bool) else value
        )

    @field_validator("target")
    @classmethod
    def _percent(cls, value: str) -> str:
        try:
            pct = float(value)
        except ValueError:
            raise ValueError(f"{value!r} is not a number (a percentage, e.g. '99.5')") from None
        if not 0 < pct < 100:
            raise ValueError("must be a percentage between 0 and 100 (exclusive), e.g. '99.5'")
        return value


class ServiceLevelObjective(SpecModel):
    api_version: Literal["pyrra.dev/v1alpha1"]
    kind: Literal["ServiceLevelObjective"]
    metadata: Metadata
    spec: Spec
    status: dict[str, object] | None = None
