"""New slm/v1 kinds plug into the registry; the loader needs no change."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import pytest

from slm.domain.errors import SpecError
from slm.spec.common import SpecModel
from slm.spec.context import MapContext
from slm.spec.kinds import builtin_entries
from slm.spec.loader import load_workspace
from slm.spec.problems import SpecObject
from slm.spec.registry import KindEntry, Registry
from slm.spec.slm_v1 import Envelope


class HolidaySpec(SpecModel):
    time_zone: str
    dates: list[str]


class HolidayList(Envelope):
    kind: Literal["HolidayList"]
    spec: HolidaySpec


@dataclass(frozen=True)
class DomainCalendar:
    name: str
    time_zone: str
    dates: tuple[str, ...]


def map_calendar(obj: SpecObject, m: HolidayList, ctx: MapContext) -> list[Any]:
    return [DomainCalendar(m.metadata.name, m.spec.time_zone, tuple(m.spec.dates))]


@pytest.fixture
def registry() -> Registry:
    reg = Registry(builtin_entries())
    reg.register(KindEntry("slm/v1", "HolidayList", HolidayList, map_calendar))
    return reg


def test_registered_kind_loads(tmp_path: Path, registry: Registry) -> None:
    f = tmp_path / "cal.yaml"
    f.write_text(
        "apiVersion: slm/v1\nkind: HolidayList\nmetadata:\n  name: de-holidays\n"
        "spec:\n  timeZone: Europe/Berlin\n  dates: ['2026-12-25']\n"
    )
    ws = load_workspace([f], registry)
    assert ws.objects[("slm/v1", "HolidayList")]["de-holidays"] == DomainCalendar(
        "de-holidays", "Europe/Berlin", ("2026-12-25",)
    )
    assert ws.documents[0].kind == "HolidayList"


def test_registered_kind_is_validated(tmp_path: Path, registry: Registry) -> None:
    f = tmp_path / "cal.yaml"
    f.write_text("apiVersion: slm/v1\nkind: HolidayList\nmetadata:\n  name: de\nspec:\n  zone: x\n")
    with pytest.raises(SpecError) as info:
        load_workspace([f], registry)
    assert [str(p) for p in info.value.problems] == [
        f"{f}:5: HolidayList/de: spec.dates: required field missing",
        f"{f}:5: HolidayList/de: spec.timeZone: required field missing",
        f"{f}:6: HolidayList/de: spec.zone: unknown field 'zone'",
    ]


def test_unregistered_kind_is_unknown(tmp_path: Path) -> None:
    f = tmp_path / "cal.yaml"
    f.write_text("apiVersion: slm/v1\nkind: HolidayList\nmetadata:\n  name: de\nspec: {}\n")
    with pytest.raises(SpecError, match="unknown kind 'HolidayList' for slm/v1"):
        load_workspace([f])
