"""Sloth specs: the ``version: prometheus/v1`` file, the Kubernetes
``sloth.slok.dev/v1`` ``PrometheusServiceLevel`` resource (camelCase keys) and Sloth's
``sloth.slok.dev/v1`` ``AlertWindows`` (alert windows for one SLO period)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AfterValidator, Field, model_validator

from slm.spec.common import Duration, SnakeModel, SpecModel, StrMap

VERSION = "prometheus/v1"
K8S_API_VERSION = "sloth.slok.dev/v1"
K8S_KIND = "PrometheusServiceLevel"


def _objective_range(value: float) -> float:
    if not 0 < value < 100:
        raise ValueError("must be a percentage between 0 and 100 (exclusive), e.g. 99.9")
    return value


Objective = Annotated[float, AfterValidator(_objective_range)]


# --- prometheus/v1 (snake_case) -------------------------------------------------------


class Alert(SnakeModel):
    disable: bool = False
    labels: StrMap = Field(default_factory=dict)
    annotations: StrMap = Field(default_factory=dict)


class Alerting(SnakeModel):
    name: str | None = None
    labels: StrMap = Field(default_factory=dict)
    annotations: StrMap = Field(default_factory=dict)
    page_alert: Alert = Field(default_factory=Alert)
    ticket_alert: Alert = Field(default_factory=Alert)


class SLIEvents(SnakeModel):
    error_query: str
    total_query: str


class SLIRaw(SnakeModel):
    error_ratio_query: str


class SLIPlugin(SnakeModel):
    id: str
    options: StrMap = Field(default_factory=dict)


class SLI(SnakeModel):
    events: SLIEvents | None = None
    raw: SLIRaw | None = None
    plugin: SLIPlugin | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> SLI:
        if sum(x is not None for x in (self.events, self.raw, self.plugin)) != 1:
            raise ValueError("exactly one of events, raw or plugin is required")
        return self


class SLO(SnakeModel):
    name: str = Field(min_length=1, max_length=128)
    description: str | None = None
    objective: Objective
    labels: StrMap = Field(default_factory=dict)
    sli: SLI
    alerting: Alerting = Field(default_factory=Alerting)


class Spec(SnakeModel):
    """A whole Sloth ``prometheus/v1`` file."""

    version: Literal["prometheus/v1"]
    service: str = Field(min_length=1)
    labels: StrMap = Field(default_factory=dict)
    slos: list[SLO] = Field(min_length=1)


# --- sloth.slok.dev/v1 PrometheusServiceLevel (camelCase) -----------------------------


class K8sAlert(SpecModel):
    disable: bool = False
    labels: StrMap = Field(default_factory=dict)
    annotations: StrMap = Field(default_factory=dict)


class K8sAlerting(SpecModel):
    name: str | None = None
    labels: StrMap = Field(default_factory=dict)
    annotations: StrMap = Field(default_factory=dict)
    page_alert: K8sAlert = Field(default_factory=K8sAlert)
    ticket_alert: K8sAlert = Field(default_factory=K8sAlert)


class K8sSLIEvents(SpecModel):
    error_query: str
    total_query: str


class K8sSLIRaw(SpecModel):
    error_ratio_query: str


class K8sSLIPlugin(SpecModel):
    id: str
    options: StrMap = Field(default_factory=dict)


class K8sSLI(SpecModel):
    events: K8sSLIEvents | None = None
    raw: K8sSLIRaw | None = None
    plugin: K8sSLIPlugin | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> K8sSLI:
        if sum(x is not None for x in (self.events, self.raw, self.plugin)) != 1:
            raise ValueError("exactly one of events, raw or plugin is required")
        return self


class K8sSLO(SpecModel):
    name: str = Field(min_length=1, max_length=128)
    description: str | None = None
    objective: Objective
    labels: StrMap = Field(default_factory=dict)
    sli: K8sSLI
    alerting: K8sAlerting = Field(default_factory=K8sAlerting)


class K8sSpec(SpecModel):
    service: str = Field(min_length=1)
    labels: StrMap = Field(default_factory=dict)
    slos: list[K8sSLO] = Field(min_length=1)


class K8sMetadata(SpecModel):
    """The parts of Kubernetes ObjectMeta a manifest in a repository carries."""

    name: str
    namespace: str | None = None
    labels: StrMap = Field(default_factory=dict)
    annotations: StrMap = Field(default_factory=dict)


class PrometheusServiceLevel(SpecModel):
    api_version: Literal["sloth.slok.dev/v1"]
    kind: Literal["PrometheusServiceLevel"]
    metadata: K8sMetadata
    spec: K8sSpec


# --- sloth.slok.dev/v1 AlertWindows (Sloth's --slo-period-windows-path files) ----------

WINDOWS_KIND = "AlertWindows"


class WindowsWindow(SpecModel):
    """One quick or slow pair: alert when ``errorBudgetPercent`` of the period's budget is
    spent within ``longWindow`` (``shortWindow`` confirms it is still burning)."""

    error_budget_percent: float = Field(gt=0, le=100)
    short_window: Duration
    long_window: Duration


class QuickSlow(SpecModel):
    quick: WindowsWindow
    slow: WindowsWindow


class AlertWindowsSpec(SpecModel):
    slo_period: Duration
    page: QuickSlow
    ticket: QuickSlow


class AlertWindows(SpecModel):
    """Sloth's alert windows for one SLO period (no ``metadata``: the file names it)."""

    api_version: Literal["sloth.slok.dev/v1"]
    kind: Literal["AlertWindows"]
    metadata: K8sMetadata | None = None
    spec: AlertWindowsSpec
