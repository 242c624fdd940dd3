"""Google's slo-generator v2 specs: the ``sre.google.com/v2`` ``ServiceLevelObjective``
and the shared configuration file (``config.yaml``: ``backends``, ``exporters``,
``error_budget_policies``), which has no ``apiVersion`` and is recognised by those keys.

An SLO names a ``backend`` (``prometheus``, ``cloud_monitoring``, ``datadog`` ...), a
``method`` (``good_bad_ratio``, ``query_sli``, ``distribution_cut`` ...), the backend's
``service_level_indicator`` fields, a ``goal`` (a ratio) and an ``error_budget_policy``
of the config (default ``default``), whose steps give the windows and alerts.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from slm.domain.durations import MAX_DURATION
from slm.spec.common import SnakeModel, StrMap
from slm.spec.registry import SLO_GENERATOR_API, SLO_GENERATOR_CONFIG

API_VERSION = SLO_GENERATOR_API
KIND = "ServiceLevelObjective"
CONFIG_KIND = SLO_GENERATOR_CONFIG  # the shared config file: no apiVersion, no kind
DEFAULT_POLICY = "default"


class Metadata(SnakeModel):
    name: str = Field(min_length=1)
    labels: StrMap = Field(default_factory=dict)
    annotations: StrMap = Field(default_factory=dict)


class Spec(SnakeModel):
    description: str | None = None
    backend: str = Field(min_length=1)
    method: str = Field(min_length=1)
    exporters: list[str] = Field(default_factory=list)
    service_level_indicator: dict[str, Any] = Field(default_factory=dict)
    goal: float = Field(gt=0, lt=1)
    error_budget_policy: str = DEFAULT_POLICY


class ServiceLevelObjective(SnakeModel):
    api_version: Literal["sre.google.com/v2"] = Field(alias="apiVersion")
    kind: Literal["ServiceLevelObjective"]
    metadata: Metadata
    spec: Spec


class Step(SnakeModel):
    name: str = Field(min_length=1)
    burn_rate_threshold: float = Field(ge=0)
    alert: bool = False
    message_alert: str | None = None
    message_ok: str | None = None
    window: int = Field(gt=0, le=int(MAX_DURATION.total_seconds()))  # seconds


class Policy(SnakeModel):
    steps: list[Step] = Field(min_length=1)


class Config(SnakeModel):
    """The shared config; ``backends`` and ``exporters`` are kept as written."""

    default_exporters: list[str] = Field(default_factory=list)
    backends: dict[str, Any] = Field(default_factory=dict)
    exporters: dict[str, Any] = Field(default_factory=dict)
    error_budget_policies: dict[str, Policy] = Field(default_factory=dict)
