"""The spec corpus: every good file loads; every bad file gives exactly its expected lines."""

from __future__ import annotations

from pathlib import Path

import pytest

from slm.domain.errors import SpecError, sort_problems
from slm.spec.loader import load_workspace

CORPUS = Path(__file__).parent / "corpus"
GOOD = sorted((CORPUS / "good").glob("*.yaml"))
BAD = sorted((CORPUS / "bad").glob("*.yaml"))


@pytest.mark.parametrize("path", GOOD, ids=[p.stem for p in GOOD])
def test_good_file_loads(path: Path) -> None:
    ws = load_workspace([path])
    assert ws.documents, "every good file has documents"


def test_good_directory_loads_as_one_workspace() -> None:
    ws = load_workspace([CORPUS / "good"])
    assert len(ws.slos) == 12
    assert {"foo", "search", "my-app", "web", "k8s-apiserver", "home-wifi"} == set(ws.services)


@pytest.mark.parametrize("path", BAD, ids=[p.stem for p in BAD])
def test_bad_file_reports_expected_problems(path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(path.parent)
    expected = path.with_suffix(".expected").read_text(encoding="utf-8").splitlines()
    with pytest.raises(SpecError) as info:
        load_workspace([path.name])
    found = sort_problems([*info.value.problems, *info.value.warnings])
    assert [str(p) for p in found] == expected


def test_every_bad_file_has_expectations() -> None:
    assert all(p.with_suffix(".expected").exists() for p in BAD)


def test_problems_from_several_files_are_all_reported() -> None:
    with pytest.raises(SpecError) as info:
        load_workspace(
            [CORPUS / "bad" / "unknown-kind.yaml", CORPUS / "bad" / "rolling-month.yaml"]
        )
    assert {Path(p.path).name for p in info.value.problems} == {
        "unknown-kind.yaml",
        "rolling-month.yaml",
    }


def test_missing_path_is_a_problem(tmp_path: Path) -> None:
    with pytest.raises(SpecError) as info:
        load_workspace([tmp_path / "nope.yaml"])
    assert info.value.problems[0].message == "no such file or directory"


WARN = sorted((CORPUS / "warn").glob("*.yaml"))


@pytest.mark.parametrize("path", WARN, ids=[p.stem for p in WARN])
def test_warn_file_loads_with_expected_warnings(
    path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Valid OpenSLO that slm accepts with warnings (an undefined Service or DataSource, a
    field it ignores); ``strict`` refuses it with the same lines as errors."""
    monkeypatch.chdir(path.parent)
    expected = path.with_suffix(".expected").read_text(encoding="utf-8").splitlines()
    assert expected and all(": warning: " in line for line in expected)
    ws = load_workspace([path.name])
    assert ws.slos
    assert [str(w) for w in ws.warnings] == expected
    with pytest.raises(SpecError) as info:
        load_workspace([path.name], strict=True)
    assert [str(p) for p in info.value.problems] == [
        line.replace(": warning: ", ": ", 1) for line in expected
    ]


def test_unknown_service_is_added_by_name(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(CORPUS / "warn")
    ws = load_workspace(["service-unknown.yaml"])
    assert ws.slos["checkout-slo"].service == "checkout"
    assert ws.services["checkout"].description == ""


def test_op_and_value_on_a_ratio_objective_are_dropped(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(CORPUS / "warn")
    objective = load_workspace(["op-on-ratio.yaml"]).slos["checkout-slo"].objectives[0]
    assert (objective.op, objective.value, objective.target) == (None, None, 0.999)


def test_undefined_datasource_is_named_when_read(monkeypatch: pytest.MonkeyPatch) -> None:
    from slm.domain.errors import SourceError
    from slm.sources.factory import SourceFactory

    monkeypatch.chdir(CORPUS / "warn")
    ws = load_workspace(["metric-source-ref-unknown.yaml"])
    ratio = ws.slos["checkout-slo"].indicator.ratio
    assert ratio is not None and ratio.good is not None
    assert (ratio.good.source, ratio.good.source_type) == ("prometheus-prod", "Prometheus")
    with pytest.raises(SourceError, match="DataSource 'prometheus-prod' is not defined"):
        SourceFactory().for_query(ratio.good, ws.datasources.get("prometheus-prod"))
