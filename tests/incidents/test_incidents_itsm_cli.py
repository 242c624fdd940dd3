"""ITSM shapes (errors name the item index and field), the policy kind, and the CLI."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from slm.cli import main
from slm.domain.errors import DataError, SpecError
from slm.services import itsm
from slm.spec.loader import load_workspace

Run = Callable[..., tuple[int, str, str]]

JIRA = {
    "issues": [
        {
            "key": "OPS-7",
            "fields": {
                "summary": "payments 502",
                "priority": {"name": "Highest"},
                "status": {"name": "Done"},
                "created": "2026-11-01T10:00:00.000+0000",
                "resolutiondate": "2026-11-01T11:15:00.000+0100",
                "issuetype": {"name": "Incident"},
                "components": [{"name": "payments"}],
            },
        }
    ]
}


def test_jira_issue_is_read_with_offsets() -> None:
    (i,) = itsm.parse(JIRA, "jira")
    assert (i.id, i.priority, i.status, i.service) == ("OPS-7", "P1", "resolved", "payments")
    assert (i.resolved_at - i.opened_at).total_seconds() == 15 * 60  # type: ignore[operator]


@pytest.mark.parametrize(
    ("fmt", "doc", "message"),
    [
        ("servicenow", {"records": []}, r'result: expected an object \{"result"'),
        ("servicenow", {"result": [1]}, r"result\[0\]: expected an object"),
        (
            "servicenow",
            {
                "result": [
                    {
                        "number": "INC1",
                        "short_description": "x",
                        "priority": "1",
                        "state": "2",
                        "opened_at": "yesterday",
                        "cmdb_ci": "a",
                    }
                ]
            },
            r"result\[0\]\.opened_at: 'yesterday' is not a date-time",
        ),
        (
            "servicenow",
            {
                "result": [
                    {
                        "number": "INC1",
                        "short_description": "x",
                        "priority": "1",
                        "state": "5",
                        "opened_at": "2026-11-01 10:00:00",
                        "cmdb_ci": "a",
                    }
                ]
            },
            r"result\[0\]\.state: '5' is not an incident state",
        ),
        (
            "jira",
            {"issues": [{"key": "A-1", "fields": {}}]},
            r"issues\[0\]\.fields\.summary: missing",
        ),
        (
            "jira",
            {"issues": [JIRA["issues"][0], {**JIRA["issues"][0]}]},
            r"issues\[1\]: duplicate record 'OPS-7'",
        ),
        (
            "jira",
            {
                "issues": [
                    {
                        "key": "A-1",
                        "fields": {
                            **JIRA["issues"][0]["fields"],  # type: ignore[dict-item]
                            "priority": {"name": "Urgent!"},
                        },
                    }
                ]
            },
            r"issues\[0\]\.fields\.priority\.name: 'Urgent!' is not a known Jira priority",
        ),
    ],
)
def test_malformed_input_names_item_and_field(fmt: str, doc: object, message: str) -> None:
    with pytest.raises(DataError, match=message):
        itsm.parse(doc, fmt)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        (
            "  rules: [{priority: P9}]\n",
            "p.yaml:5: IncidentPriorityPolicy/p: spec.rules[0].priority",
        ),
        (
            "  rules: [{priority: P1}]\n  majorEvent: {raiseTo: P2, othersAtMost: P1}\n",
            "spec.majorEvent.othersAtMost: P1 is above raiseTo P2",
        ),
    ],
)
def test_bad_priority_policy_is_a_spec_error(tmp_path: Path, spec: str, expected: str) -> None:
    f = tmp_path / "p.yaml"
    f.write_text(
        "apiVersion: slm/v1\nkind: IncidentPriorityPolicy\nmetadata: {name: p}\nspec:\n" + spec
    )
    with pytest.raises(SpecError) as e:
        load_workspace([f])
    assert expected in str(e.value)


@pytest.fixture
def slm(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> Run:
    def run(*args: str, cwd: Path) -> tuple[int, str, str]:
        monkeypatch.chdir(cwd)
        monkeypatch.setattr(sys, "argv", ["slm", *args])
        monkeypatch.setenv("COLUMNS", "200")
        try:
            main()
            code = 0
        except SystemExit as e:
            code = e.code if isinstance(e.code, int) else int(e.code is not None)
        captured = capsys.readouterr()
        return code, captured.out, captured.err

    return run


def test_cli_lifecycle_and_errors(tmp_path: Path, slm: Run) -> None:
    db = ["--db", f"sqlite:///{tmp_path / 'slm.db'}"]
    code, _, err = slm("db", "upgrade", *db, cwd=tmp_path)
    assert code == 0, err
    code, out, err = slm(
        "incident",
        "open",
        "--title",
        "down",
        "--service",
        "checkout",
        "--priority",
        "P2",
        "--at",
        "2026-11-01T10:00:00Z",
        *db,
        cwd=tmp_path,
    )
    assert code == 0 and out.startswith("INC-000001 P2"), err
    assert (
        slm(
            "incident",
            "impact",
            "INC-000001",
            "--service",
            "checkout",
            "--start",
            "2026-11-01T10:00:00Z",
            "--end",
            "2026-11-01T10:30:00Z",
            *db,
            cwd=tmp_path,
        )[0]
        == 0
    )
    assert (
        slm(
            "incident",
            "rca",
            "INC-000001",
            "--category",
            "flood",
            "--attribution",
            "force-majeure",
            *db,
            cwd=tmp_path,
        )[0]
        == 0
    )
    code, out, _ = slm("incident", "signoff", "INC-000001", "--by", "alice", *db, cwd=tmp_path)
    assert code == 0 and "proposed exclusion #1" in out
    code, out, err = slm(
        "incident",
        "rca",
        "INC-000001",
        "--category",
        "x",
        "--attribution",
        "provider",
        *db,
        cwd=tmp_path,
    )
    assert code == 1 and "signed off by alice" in err and "Traceback" not in err
    code, _, err = slm(
        "incident",
        "rca",
        "INC-000001",
        "--category",
        "x",
        "--attribution",
        "aliens",
        *db,
        cwd=tmp_path,
    )
    assert code == 1 and "attribution 'aliens'" in err
    assert slm("incident", "approve-exclusion", "1", "--by", "bob", *db, cwd=tmp_path)[0] == 0
    code, out, _ = slm("incident", "show", "INC-000001", "--json", *db, cwd=tmp_path)
    view = json.loads(out)
    assert view["exclusions"][0]["state"] == "approved"
    assert view["root_cause"]["signed_off_by"] == "alice"
    code, out, _ = slm("incident", "export", "--format", "servicenow", *db, cwd=tmp_path)
    exported = json.loads(out)
    assert exported["result"][0]["number"] == "INC-000001"
    (tmp_path / "bad.json").write_text('{"result": [{"number": "INC9"}]}')
    code, _, err = slm(
        "incident", "import", "bad.json", "--format", "servicenow", *db, cwd=tmp_path
    )
    assert code == 1 and "result[0].short_description: missing" in err
    code, _, err = slm("incident", "show", "INC-404", *db, cwd=tmp_path)
    assert code == 4 and "no incident" in err
    code, out, _ = slm("incident", "major-event", "on", "--by", "ceo", *db, cwd=tmp_path)
    assert code == 0 and "major-event mode on" in out
