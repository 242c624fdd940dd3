"""OpenSLO ``openslo/v1alpha``: SLO and Service (the original, pre-v1 format).

SLOs carry ``timeWindows`` as unit/count, a ``thresholdMetric`` on the indicator and
``ratioMetrics`` on each objective; metrics are ``source``/``queryType``/``query``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import Field, PositiveInt

from slm.spec.common import (
    BudgetingMethodName,
    Free,
    Name,
    Operator,
    Ratio,
    SliceTarget,
    SliceWindow,
    SpecModel,
    V1LabelValue,
)

API_VERSION = "openslo/v1alpha"

Unit = Literal["Second", "Minute", "Hour", "Day", "Week", "Month", "Quarter", "Year"]


class Metadata(SpecModel):
    name: Name
    display_name: str | None = None
    labels: dict[str, V1LabelValue] = Field(default_factory=dict)
    annotations: dict[str, str] = Field(default_factory=dict)


class Metric(SpecModel):
    source: str
    query_type: str
    query: str
    metadata: Free = Field(default_factory=dict)


class Indicator(SpecModel):
    threshold_metric: Metric


class RatioMetrics(SpecModel):
    incremental: bool | None = None
    counter: bool | None = None
    good: Metric
    total: Metric


class Calendar(SpecModel):
    start_time: str | datetime
    time_zone: str


class TimeWindow(SpecModel):
    unit: Unit
    count: PositiveInt
    is_rolling: bool | None = None
    calendar: Calendar | None = None


class Objective(SpecModel):
    display_name: str | None = None
    op: Operator | None = None
    value: float | None = None
    target: Ratio
    time_slice_target: SliceTarget | None = None
    time_slice_window: SliceWindow | None = None
    ratio_metrics: RatioMetrics | None = None


class SLOSpec(SpecModel):
    description: str | None = Field(default=None, max_length=1050)
    service: str
    indicator: Indicator | None = None
    time_windows: list[TimeWindow]
    budgeting_method: BudgetingMethodName
    objectives: list[Objective] = Field(min_length=1)


class ServiceSpec(SpecModel):
    description: str | None = Field(default=None, max_length=1050)


class SLO(SpecModel):
    api_version: Literal["openslo/v1alpha"]
    kind: Literal["SLO"]
    metadata: Metadata
    spec: SLOSpec


class Service(SpecModel):
    api_version: Literal["openslo/v1alpha"]
    kind: Literal["Service"]
    metadata: Metadata
    spec: ServiceSpec = Field(default_factory=ServiceSpec)
