"""Spec documents are versioned by text; evaluations are kept and the latest found."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from slm.store.db import Store
from slm.store.evaluations import EvaluationRecord
from slm.store.specs import SpecDocument

AT = datetime(2026, 11, 1, tzinfo=UTC)


def _doc(text: str, name: str = "checkout", kind: str = "SLO") -> SpecDocument:
    return SpecDocument("openslo/v1", kind, name, "slos/checkout.yaml", text)


# successive saves of documents -> (name, version, changed) of the last save
VERSIONING = [
    pytest.param([["a"]], [("checkout", 1, True)], id="first-save-is-version-1"),
    pytest.param([["a"], ["a"]], [("checkout", 1, False)], id="same-text-no-new-version"),
    pytest.param([["a"], ["b"]], [("checkout", 2, True)], id="changed-text-new-version"),
    pytest.param([["a"], ["b"], ["a"]], [("checkout", 3, True)], id="reverting-is-a-change"),
]


@pytest.mark.parametrize(("saves", "expected"), VERSIONING)
def test_spec_versions_follow_text_changes(
    store: Store, saves: list[list[str]], expected: list[tuple[str, int, bool]]
) -> None:
    result = []
    for texts in saves:
        with store.transaction() as repos:
            result = repos.specs.save([_doc(t) for t in texts], at=AT)
    assert [(s.name, s.version, s.changed) for s in result] == expected


def test_versions_are_per_kind_and_name(store: Store) -> None:
    with store.transaction() as repos:
        saved = repos.specs.save(
            [_doc("a"), _doc("a", kind="SLI"), _doc("a", name="payments"), _doc("b")]
        )
        assert [(s.kind, s.name, s.version) for s in saved] == [
            ("SLO", "checkout", 1),
            ("SLI", "checkout", 1),
            ("SLO", "payments", 1),
            ("SLO", "checkout", 2),
        ]
        history = repos.specs.history("SLO", "checkout")
        latest = repos.specs.latest("SLO", "checkout")
    assert [h.text for h in history] == ["a", "b"]
    assert latest is not None and latest.version == 2 and latest.created_at.tzinfo == UTC


def _evaluation(at: datetime, sli: float | None, status: str = "ok") -> EvaluationRecord:
    result = {"sli": sli, "window": {"duration": 2592000.0}}
    return EvaluationRecord("checkout", "availability", at, status, sli, result, at)


def test_latest_evaluation_by_instant(store: Store) -> None:
    plus2 = timezone(timedelta(hours=2))
    with store.transaction() as repos:
        repos.evaluations.add(_evaluation(AT, 0.999))
        repos.evaluations.add(_evaluation(AT - timedelta(hours=1), 0.5))
        repos.evaluations.add(_evaluation((AT + timedelta(minutes=1)).astimezone(plus2), None))
        latest = repos.evaluations.latest("checkout", "availability")
        history = repos.evaluations.history("checkout", "availability")
        assert repos.evaluations.latest("nope") is None
    assert latest is not None
    assert latest.at == AT + timedelta(minutes=1) and latest.at.tzinfo == UTC
    assert latest.sli is None and latest.result["window"] == {"duration": 2592000.0}
    assert [h.sli for h in history] == [0.5, 0.999, None]
