"""Incident clocks: pause and resume, retroactive start, business hours, breach time shifted
by paused time; incident files with clear errors."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from slm.domain.business_calendar import BusinessCalendar, parse_hour_range
from slm.domain.errors import DataError
from slm.domain.incident_clock import Incident, IncidentEvent, run_clock
from slm.spec.incident_file import read_incidents

MIN = timedelta(minutes=1)


def t(hhmm: str, day: int = 5) -> datetime:
    h, m = hhmm.split(":")
    return datetime(2026, 10, day, int(h), int(m), tzinfo=UTC)  # 5 Oct 2026 is a Monday


def incident(*events: tuple[str, datetime, str]) -> Incident:
    return Incident(
        "INC-1",
        "s",
        tuple(IncidentEvent(k, at, v) for k, at, v in events),  # type: ignore[arg-type]
    )


def test_pause_and_resume_shift_the_breach_time() -> None:
    inc = incident(
        ("open", t("10:00"), "P1"),
        ("pause", t("10:30"), ""),
        ("resume", t("11:15"), ""),
        ("resolve", t("13:00"), ""),
    )
    r = run_clock(inc, "resolve", timedelta(hours=2), t("23:00"))
    assert r.elapsed == timedelta(hours=3) - timedelta(minutes=45)
    assert r.paused == timedelta(minutes=45)
    assert r.breach_at == t("12:45")  # 10:00 + 2h, shifted by the 45 minute pause
    assert r.breached  # 2h15m > 2h


def test_retroactive_start_counts_from_opening_not_from_the_priority_change() -> None:
    # Opened as P3 at 09:00, raised to P1 at 10:00, responded at 10:20; P1 responds in 30m.
    inc = incident(
        ("open", t("09:00"), "P3"),
        ("pause", t("09:10"), ""),
        ("resume", t("09:40"), ""),
        ("priority", t("10:00"), "P1"),
        ("respond", t("10:20"), ""),
    )
    assert inc.priority == "P1" and inc.priority_since == t("10:00")
    retro = run_clock(inc, "respond", 30 * MIN, t("23:00"), retroactive_start=True)
    assert retro.start == t("09:00")
    assert retro.elapsed == 80 * MIN - 30 * MIN  # the pause before the change still counts
    assert retro.breach_at == t("10:00")  # 09:00 + 30m + 30m paused
    assert retro.breached
    plain = run_clock(inc, "respond", 30 * MIN, t("23:00"), retroactive_start=False)
    assert (plain.start, plain.elapsed, plain.breached) == (t("10:00"), 20 * MIN, False)


def test_an_unresumed_pause_lasts_until_the_stop() -> None:
    inc = incident(
        ("open", t("10:00"), "P2"), ("pause", t("10:10"), ""), ("resolve", t("15:00"), "")
    )
    r = run_clock(inc, "resolve", timedelta(hours=1), t("23:00"))
    assert (r.elapsed, r.breached) == (10 * MIN, False)


def test_a_running_clock_is_measured_until_now() -> None:
    inc = incident(("open", t("10:00"), "P1"))
    r = run_clock(inc, "resolve", timedelta(hours=4), t("12:00"))
    assert r.running and r.elapsed == timedelta(hours=2) and not r.breached
    assert r.breach_at == t("14:00")


def test_business_hours_clock_skips_nights_weekends_and_pauses() -> None:
    hours = ((parse_hour_range("09:00-17:00"),),) * 5 + ((), ())
    cal = BusinessCalendar("c", "UTC", hours)
    # Opened Friday 16:00, paused Friday 16:30 .. Monday 10:00, resolved Monday 12:00.
    inc = incident(
        ("open", t("16:00", 9), "P1"),
        ("pause", t("16:30", 9), ""),
        ("resume", t("10:00", 12), ""),
        ("resolve", t("12:00", 12), ""),
    )
    r = run_clock(inc, "resolve", timedelta(hours=2), t("23:00", 12), schedule=cal.business_spans)
    assert r.elapsed == 30 * MIN + timedelta(hours=2)  # Fri 16:00-16:30, Mon 10:00-12:00
    assert r.paused == 30 * MIN + 60 * MIN  # Fri 16:30-17:00 and Mon 09:00-10:00
    assert r.breach_at == t("11:30", 12)
    assert r.breached


def test_csv_incident_file(tmp_path: Path) -> None:
    f = tmp_path / "inc.csv"
    f.write_text(
        "incident,service,priority,event,at,note\n"
        "A,web,P1,open,2026-10-05T10:00:00Z,\n"
        "A,,,resolve,2026-10-05T13:00:00+02:00,\n"
        "B,web,P2,open,2026-10-05T12:00:00Z,late entry\n",
        encoding="utf-8",
    )
    parsed = read_incidents(f)
    assert [i.id for i in parsed.incidents] == ["A", "B"]
    a = parsed.incidents[0]
    assert a.first("resolve") is not None and a.first("resolve").at == t("11:00")  # type: ignore[union-attr]
    assert len(parsed.sha256) == 64


def test_yaml_incident_file(tmp_path: Path) -> None:
    f = tmp_path / "inc.yaml"
    f.write_text(
        "incidents:\n"
        "  - id: A\n"
        "    service: web\n"
        "    events:\n"
        "      - {event: open, at: '2026-10-05T10:00:00Z', priority: P1}\n"
        "      - {event: respond, at: '2026-10-05T10:05:00Z'}\n",
        encoding="utf-8",
    )
    [a] = read_incidents(f).incidents
    assert (a.priority, a.opened_at) == ("P1", t("10:00"))


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        pytest.param("A,web,P1,opened,2026-10-05T10:00:00Z,\n", ":2: event: 'opened'", id="kind"),
        pytest.param("A,web,P1,open,2026-10-05T10:00:00,\n", ":2: at: ", id="no-offset"),
        pytest.param("A,web,,open,2026-10-05T10:00:00Z,\n", ":2: priority: required", id="prio"),
        pytest.param("A,,,resolve,2026-10-05T10:00:00Z,\n", "has 0 open events", id="no-open"),
        pytest.param(
            "A,web,P1,open,2026-10-05T10:00:00Z,\nA,,,pause,2026-10-05T09:00:00Z,\n",
            ":3: pause at 2026-10-05T09:00:00+00:00 is before incident 'A' was opened",
            id="before-open",
        ),
    ],
)
def test_bad_incident_rows_name_file_and_line(tmp_path: Path, rows: str, message: str) -> None:
    f = tmp_path / "inc.csv"
    f.write_text("incident,service,priority,event,at,note\n" + rows, encoding="utf-8")
    with pytest.raises(DataError) as e:
        read_incidents(f)
    assert f"{f}{message}" in str(e.value) or message in str(e.value)
    assert str(f) in str(e.value)


def test_missing_columns(tmp_path: Path) -> None:
    f = tmp_path / "inc.csv"
    f.write_text("id,when\n1,2\n", encoding="utf-8")
    with pytest.raises(DataError, match=r"inc.csv:1: missing column\(s\) incident"):
        read_incidents(f)
