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


def test_an_openslo_v1_workspace_imports_no_other_formats_models(tmp_path: Path) -> None:
    """Kinds are imported on first use: reading OpenSLO v1 files builds no Sloth, Pyrra,
    slo-generator, OpenSLO v1alpha or v2alpha model (building pydantic models is most of
    what importing a spec module costs)."""
    import subprocess
    import sys

    f = tmp_path / "slo.yaml"
    f.write_text(
        "apiVersion: openslo/v1\nkind: Service\nmetadata: {name: web}\nspec: {}\n",
        encoding="utf-8",
    )
    others = (
        "slm.spec.sloth",
        "slm.spec.pyrra",
        "slm.spec.slo_generator",
        "slm.spec.openslo_v1alpha",
        "slm.spec.openslo_v2alpha",
    )
    code = (
        "import sys; from slm.spec.loader import load_workspace; "
        f"load_workspace([{str(f)!r}]); "
        f"print(sorted(m for m in {others!r} if m in sys.modules))"
    )
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert run.stdout.strip() == "[]"


def test_the_kinds_names_are_their_modules_constants() -> None:
    from slm.spec import kinds, openslo_v1, openslo_v1alpha, openslo_v2alpha, pyrra, sloth

    assert kinds.V1 == openslo_v1.API_VERSION
    assert kinds.V1ALPHA == openslo_v1alpha.API_VERSION
    assert kinds.V2_VERSIONS == openslo_v2alpha.API_VERSIONS
    assert (kinds.SLOTH_VERSION, kinds.SLOTH_K8S) == (sloth.VERSION, sloth.K8S_API_VERSION)
    assert kinds.PYRRA == pyrra.API_VERSION
    entries = {e.key for e in kinds.builtin_entries()}
    assert (sloth.K8S_API_VERSION, sloth.K8S_KIND) in entries
    assert (sloth.K8S_API_VERSION, sloth.WINDOWS_KIND) in entries
    assert (pyrra.API_VERSION, pyrra.KIND) in entries
