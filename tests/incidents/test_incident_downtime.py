"""`slm incident downtime --service S --period P`: the union of the impact intervals of the
stored incidents on a service, overlaps counted once, clipped to the period; table, JSON
and -o; on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from slm.cli import app
from slm.domain.incident import downtime_by_service
from slm.services.errors import PeriodTextError
from slm.services.incidents import IncidentService
from slm.services.outages import parse_window, service_downtime
from slm.services.ports import FixedClock
from slm.store.db import Store


def t(day: int, hour: int, minute: int = 0, second: int = 0, month: int = 10) -> datetime:
    return datetime(2026, month, day, hour, minute, second, tzinfo=UTC)


def _record(store: Store) -> dict[str, str]:
    svc = IncidentService(store, clock=FixedClock(t(5, 0, month=11)))

    def incident(service: str, priority: str, impacts: list[Any], kind: str = "incident") -> str:
        inc = svc.open("outage", service, priority=priority, at=impacts[0][1], kind=kind)
        for on, start, end in impacts:
            svc.set_impact(inc.id, on, start, end)
        return inc.id

    return {
        "a": incident("checkout", "P1", [("checkout", t(14, 10), t(14, 11))]),
        # overlaps a by 30 minutes, and ends 30 s past a whole minute
        "b": incident("checkout", "P2", [("checkout", t(14, 10, 30), t(14, 12, 0, 30))]),
        # from September into October: 30 minutes count
        "c": incident("checkout", "P1", [("checkout", t(30, 23, 30, month=9), t(1, 0, 30))]),
        # another service only
        "d": incident("payments", "P1", [("payments", t(15, 8), t(15, 9))]),
        # a problem record is not an outage
        "e": incident("checkout", "P1", [("checkout", t(20, 8), t(20, 9))], kind="problem"),
        # still open
        "f": incident("checkout", "P2", [("checkout", t(31, 23), None)]),
    }


def run(*args: str) -> Any:
    return CliRunner().invoke(app, list(args), env={"COLUMNS": "200"})


def slm(*args: str) -> subprocess.CompletedProcess[str]:
    """A real process: exit codes and messages as a user sees them."""
    return subprocess.run(
        [sys.executable, "-m", "slm", *args],
        capture_output=True,
        text=True,
        env={**os.environ, "COLUMNS": "200"},
        timeout=120,
    )


def test_downtime_is_the_union_of_impacts(store: Store, store_url: str) -> None:
    ids = _record(store)
    r = run("incident", "downtime", "--service", "checkout", "--period", "2026-10",
            "--at", "2026-11-05T00:00:00Z", "--format", "json", "--db", store_url)  # fmt: skip
    assert r.exit_code == 0, r.output
    body = json.loads(r.stdout)
    # 10:00-12:00:30 (a and b: 2h0m30s, not 2h30m30s) + 30 min (c) + 1 h (f, open to the end)
    expected = timedelta(hours=2, seconds=30) + timedelta(minutes=30) + timedelta(hours=1)
    assert body["downtime_seconds"] == expected.total_seconds() == 12630
    assert body["measured_seconds"] == 31 * 86400
    assert body["availability"] == round(1 - 12630 / (31 * 86400), 9)
    assert body["intervals"] == [
        {"start": "2026-10-01T00:00:00Z", "end": "2026-10-01T00:30:00Z"},
        {"start": "2026-10-14T10:00:00Z", "end": "2026-10-14T12:00:30Z"},
        {"start": "2026-10-31T23:00:00Z", "end": "2026-11-01T00:00:00Z"},
    ]
    assert [i["id"] for i in body["incidents"]] == [ids["c"], ids["a"], ids["b"], ids["f"]]
    assert [i["open_impact"] for i in body["incidents"]] == [False, False, False, True]
    # the same figure as the domain's downtime_by_service over the incidents
    incidents = [i for i in IncidentService(store).find() if i.kind == "incident"]
    whole = downtime_by_service(incidents, (t(1, 0), t(1, 0, month=11)))
    assert whole["checkout"].total_seconds() == body["downtime_seconds"]


def test_open_impacts_count_until_at(store: Store, store_url: str) -> None:
    _record(store)
    r = run("incident", "downtime", "--service", "checkout", "--period", "2026-10",
            "--at", "2026-10-31T23:30:00Z", "--format", "json", "--db", store_url)  # fmt: skip
    assert r.exit_code == 0, r.output
    body = json.loads(r.stdout)
    assert body["until"] == "2026-10-31T23:30:00Z"
    assert body["downtime_seconds"] == 12630 - 1800
    assert body["measured_seconds"] == 31 * 86400 - 1800


def test_priority_filter_and_table(store: Store, store_url: str) -> None:
    ids = _record(store)
    r = run("incident", "downtime", "--service", "checkout", "--period", "2026-10",
            "--priority", "P1", "--at", "2026-11-05T00:00:00Z", "--db", store_url)  # fmt: skip
    assert r.exit_code == 0, r.output
    assert r.stdout.startswith("checkout: 1h30m down in 2026-10 ")
    assert ids["a"] in r.stdout and ids["c"] in r.stdout
    assert ids["b"] not in r.stdout and ids["e"] not in r.stdout
    assert "overlapping impacts are counted once" in r.stdout


def test_output_file_and_bad_values(store: Store, store_url: str, tmp_path: Path) -> None:
    _record(store)
    target = tmp_path / "downtime.json"
    base = ("incident", "downtime", "--service", "payments", "--db", store_url,
            "--at", "2026-11-05T00:00:00Z")  # fmt: skip
    r = run(*base, "--period", "2026-10-15", "--format", "json", "-o", str(target))
    assert r.exit_code == 0, r.output
    assert r.stdout == ""
    assert json.loads(target.read_text(encoding="utf-8"))["downtime_seconds"] == 3600
    for bad, message in (
        (("--period", "2026-13"), "give a month (2026-10)"),
        (("--period", "2026-10", "--time-zone", "Mars/Olympus"), "not an IANA time zone"),
        (("--period", "2026-10", "--priority", "P9"), "'P9' is not P1..P4"),
        (("--period", "2026-10", "-o", str(tmp_path / "missing" / "x.json")), "does not exist"),
        (("--period", "2026-10", "-o", str(tmp_path)), "is a directory"),
    ):
        p = slm(*base, *bad)
        assert p.returncode == 2, (bad, p.stderr)
        assert message in p.stderr
        assert "Traceback" not in p.stderr and p.stdout == ""


@pytest.mark.parametrize(
    ("text", "zone", "start", "end"),
    [
        ("2026-10", "Europe/London", datetime(2026, 9, 30, 23), datetime(2026, 11, 1, 0)),
        ("2026-Q4", "UTC", datetime(2026, 10, 1), datetime(2027, 1, 1)),
        ("2026-10-25", "Europe/London", datetime(2026, 10, 24, 23), datetime(2026, 10, 26, 0)),
        (
            "2026-10-01T00:00:00Z/2026-10-08T12:00:00+02:00",
            "UTC",
            datetime(2026, 10, 1),
            datetime(2026, 10, 8, 10),
        ),
    ],
)
def test_periods(text: str, zone: str, start: datetime, end: datetime) -> None:
    w = parse_window(text, zone)
    assert (w.start, w.end) == (start.replace(tzinfo=UTC), end.replace(tzinfo=UTC))


@pytest.mark.parametrize("text", ["October", "2026-00", "2026-Q5", "2026-10-32", "a/b",
                                  "2026-10-08T00:00:00Z/2026-10-01T00:00:00Z",
                                  "2026-10-01T00:00:00/2026-10-08T00:00:00"])  # fmt: skip
def test_bad_periods(text: str) -> None:
    with pytest.raises(PeriodTextError, match="--period"):
        parse_window(text)


def test_nothing_recorded_is_no_downtime() -> None:
    w = parse_window("2026-10")
    d = service_downtime([], "checkout", w, t(5, 0, month=11))
    assert d.downtime == timedelta(0) and d.availability == 1 and d.spans == ()
