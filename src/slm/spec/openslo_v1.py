"""OpenSLO ``openslo/v1``: Service, SLI, SLO, DataSource, AlertPolicy, AlertCondition,
AlertNotificationTarget (https://github.com/OpenSLO/OpenSLO#specification)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, Field, model_validator

from slm.spec.common import (
    BudgetingMethodName,
    ConnectionDetails,
    Duration,
    DurationOrZero,
    Free,
    Name,
    Operator,
    Percent,
    Positive,
    Ratio,
    RawType,
    Shorthand,
    SliceTarget,
    SliceWindow,
    SpecModel,
    V1LabelValue,
    none_as_empty_list,
)

API_VERSION = "openslo/v1"


class Metadata(SpecModel):
    name: Name
    display_name: str | None = None
    labels: dict[str, V1LabelValue] = Field(default_factory=dict)
    annotations: dict[str, str] = Field(default_factory=dict)


class InlineMetadata(SpecModel):
    """Metadata of an inlined object (indicator, condition): same rules."""

    name: Name
    display_name: str | None = None
    labels: dict[str, V1LabelValue] = Field(default_factory=dict)
    annotations: dict[str, str] = Field(default_factory=dict)


class MetricSource(SpecModel):
    metric_source_ref: str | None = None
    type: str | None = None
    spec: Free = Field(default_factory=dict)


class MetricSpec(SpecModel):
    metric_source: MetricSource


class RatioMetric(SpecModel):
    counter: bool = False
    good: MetricSpec | None = None
    bad: MetricSpec | None = None
    total: MetricSpec | None = None
    raw_type: RawType | None = None
    raw: MetricSpec | None = None


class SLISpec(SpecModel):
    description: str | None = Field(default=None, max_length=1050)
    threshold_metric: MetricSpec | None = None
    ratio_metric: RatioMetric | None = None


class Calendar(SpecModel):
    start_time: str | datetime
    time_zone: str


class TimeWindow(SpecModel):
    duration: Shorthand
    is_rolling: bool | None = None
    calendar: Calendar | None = None


class InlineIndicator(SpecModel):
    metadata: InlineMetadata
    spec: SLISpec


class Objective(SpecModel):
    display_name: str | None = None
    op: Operator | None = None
    value: float | None = None
    target: Ratio | None = None
    target_percent: Percent | None = None
    time_slice_target: SliceTarget | None = None
    time_slice_window: SliceWindow | None = None
    # composite SLOs: each objective has its own indicator
    indicator: InlineIndicator | None = None
    indicator_ref: str | None = None
    composite_weight: Positive | None = None


class AlertPolicyItem(SpecModel):
    """An SLO's alert policy: a name, ``{alertPolicyRef: name}`` or an inline policy."""

    alert_policy_ref: str | None = None
    kind: Literal["AlertPolicy"] | None = None
    metadata: InlineMetadata | None = None
    spec: AlertPolicySpec | None = None

    @model_validator(mode="before")
    @classmethod
    def _bare_name(cls, data: Any) -> Any:
        return {"alertPolicyRef": data} if isinstance(data, str) else data


class SLOSpec(SpecModel):
    description: str | None = Field(default=None, max_length=1050)
    service: str
    indicator: InlineIndicator | None = None
    indicator_ref: str | None = None
    time_window: list[TimeWindow] | None = None
    budgeting_method: BudgetingMethodName
    objectives: list[Objective] = Field(min_length=1)
    alert_policies: Annotated[list[AlertPolicyItem], BeforeValidator(none_as_empty_list)] = Field(
        default_factory=list
    )


class ServiceSpec(SpecModel):
    description: str | None = Field(default=None, max_length=1050)


class DataSourceSpec(SpecModel):
    description: str | None = Field(default=None, max_length=1050)
    type: str
    connection_details: ConnectionDetails = Field(default_factory=dict)


class ConditionBody(SpecModel):
    kind: Literal["burnrate"] = "burnrate"
    op: Operator
    threshold: float
    lookback_window: Duration
    alert_after: DurationOrZero = "0m"


class AlertConditionSpec(SpecModel):
    description: str | None = Field(default=None, max_length=1050)
    severity: str
    condition: ConditionBody


class ConditionItem(SpecModel):
    """``{conditionRef: name}`` or an inline AlertCondition."""

    condition_ref: str | None = None
    kind: Literal["AlertCondition"] | None = None
    metadata: InlineMetadata | None = None
    spec: AlertConditionSpec | None = None


class TargetItem(SpecModel):
    """``{targetRef: name}`` or an inline AlertNotificationTarget."""

    target_ref: str | None = None
    kind: Literal["AlertNotificationTarget"] | None = None
    metadata: InlineMetadata | None = None
    spec: NotificationTargetSpec | None = None


class AlertPolicySpec(SpecModel):
    description: str | None = Field(default=None, max_length=1050)
    alert_when_no_data: bool = False
    alert_when_resolved: bool = False
    alert_when_breaching: bool = False
    conditions: list[ConditionItem] = Field(min_length=1, max_length=1)
    notification_targets: Annotated[list[TargetItem], BeforeValidator(none_as_empty_list)] = Field(
        default_factory=list
    )


class NotificationTargetSpec(SpecModel):
    description: str | None = Field(default=None, max_length=1050)
    target: str


class _Object(SpecModel):
    api_version: Literal["openslo/v1"]
    metadata: Metadata


class Service(_Object):
    kind: Literal["Service"]
    spec: ServiceSpec = Field(default_factory=ServiceSpec)


class SLI(_Object):
    kind: Literal["SLI"]
    spec: SLISpec


class SLO(_Object):
    kind: Literal["SLO"]
    spec: SLOSpec


class DataSource(_Object):
    kind: Literal["DataSource"]
    spec: DataSourceSpec


class AlertPolicy(_Object):
    kind: Literal["AlertPolicy"]
    spec: AlertPolicySpec


class AlertCondition(_Object):
    kind: Literal["AlertCondition"]
    spec: AlertConditionSpec


class AlertNotificationTarget(_Object):
    kind: Literal["AlertNotificationTarget"]
    spec: NotificationTargetSpec


AlertPolicyItem.model_rebuild()
TargetItem.model_rebuild()
