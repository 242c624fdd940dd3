"""slm's own ``slm/v1`` kinds: the common envelope and ``AlertWindowCatalogue``."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from slm.spec.common import Duration, Name, SpecModel, StrMap

API_VERSION = "slm/v1"


class Metadata(SpecModel):
    name: Name
    display_name: str | None = None
    labels: StrMap = Field(default_factory=dict)
    annotations: StrMap = Field(default_factory=dict)


class Envelope(SpecModel):
    """Every slm/v1 object: later kinds subclass this and narrow ``kind`` and ``spec``."""

    api_version: Literal["slm/v1"]
    kind: str
    metadata: Metadata


class AlertWindowRow(SpecModel):
    severity: str = Field(min_length=1)
    long_window: Duration
    short_window: Duration
    budget_percent: float = Field(gt=0, le=100)


class AlertWindowCatalogueSpec(SpecModel):
    description: str | None = None
    period: Duration
    windows: list[AlertWindowRow] = Field(min_length=1)


class AlertWindowCatalogue(Envelope):
    kind: Literal["AlertWindowCatalogue"]
    spec: AlertWindowCatalogueSpec
