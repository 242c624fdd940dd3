"""Converting Sloth and OpenSLO v1alpha to OpenSLO v1: golden files, and the output loads."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from slm.spec.convert import to_openslo_v1
from slm.spec.loader import load_workspace

GOLDEN = Path(__file__).parent / "golden"
INPUTS = sorted(GOLDEN.glob("*.input.yaml"))


def _expected(path: Path) -> Path:
    return path.with_name(path.name.replace(".input.yaml", ".expected.yaml"))


@pytest.mark.parametrize("path", INPUTS, ids=[p.name.split(".")[0] for p in INPUTS])
def test_convert_matches_golden(path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(GOLDEN)
    out = to_openslo_v1([path.name])
    if os.environ.get("SLM_UPDATE_GOLDEN"):
        _expected(path).write_text(out, encoding="utf-8")
    assert out == _expected(path).read_text(encoding="utf-8")


@pytest.mark.parametrize("path", INPUTS, ids=[p.name.split(".")[0] for p in INPUTS])
def test_converted_output_loads_to_the_same_slos(path: Path, tmp_path: Path) -> None:
    source = tmp_path / "in.yaml"  # same directory, so relative base dirs compare equal
    source.write_text(path.read_text(encoding="utf-8"), encoding="utf-8")
    original = load_workspace([source])
    converted = tmp_path / "out.yaml"
    converted.write_text(to_openslo_v1([source]), encoding="utf-8")
    again = load_workspace([converted])
    assert set(again.slos) >= set(original.slos)
    for name, slo in original.slos.items():
        other = again.slos[name]
        assert (other.window, other.budgeting_method, other.service) == (
            slo.window,
            slo.budgeting_method,
            slo.service,
        )
        assert [o.target for o in other.objectives] == [o.target for o in slo.objectives]
        assert other.indicator.ratio == slo.indicator.ratio
        assert other.indicator.threshold == slo.indicator.threshold


def test_convert_accepts_a_workspace() -> None:
    ws = load_workspace([GOLDEN / "sloth-k8s.input.yaml"])
    assert to_openslo_v1(ws).startswith("apiVersion: openslo/v1\nkind: Service\n")
