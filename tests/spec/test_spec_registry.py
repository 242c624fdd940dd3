"""New slm/v1 kinds plug into the registry; the loader needs no change."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import pytest
from pydantic import BaseModel

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


def test_every_builtin_kind_resolves_its_model_and_mapper() -> None:
    """Lazily named kinds (``"module:attribute"``) must point at a model and a mapper, and
    their kind names must match the constants of their modules."""
    from slm.spec import components, escalation, incident_rules, probe

    entries = {e.key: e for e in builtin_entries()}
    for entry in entries.values():
        assert issubclass(entry.model, BaseModel), entry.key
        assert callable(entry.mapper), entry.key
    for kind in (
        probe.KIND,
        components.KIND,
        incident_rules.KIND,
        escalation.CHANNEL_KIND,
        escalation.POLICY_KIND,
    ):
        assert ("slm/v1", kind) in entries


def test_a_workspace_of_slos_does_not_import_the_agreement_models(tmp_path: Path) -> None:
    import subprocess
    import sys

    f = tmp_path / "slo.yaml"
    f.write_text(
        "apiVersion: openslo/v1\nkind: Service\nmetadata: {name: web}\nspec: {}\n",
        encoding="utf-8",
    )
    code = (
        "import sys; from slm.spec.loader import load_workspace; "
        f"load_workspace([{str(f)!r}]); "
        "print(sorted(m for m in ('slm.spec.agreements', 'slm.spec.escalation', "
        "'slm.spec.probe') if m in sys.modules))"
    )
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert run.stdout.strip() == "[]"
