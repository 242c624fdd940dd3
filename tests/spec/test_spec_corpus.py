"""The spec corpus: every good file loads; every bad file gives exactly its expected lines."""

from __future__ import annotations

from pathlib import Path

import pytest

from slm.domain.errors import SpecError
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
    assert [str(p) for p in info.value.problems] == expected


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
