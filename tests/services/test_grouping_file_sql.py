"""Grouped SLOs on File and SQL data: one result per value of the grouping label column,
each equal to the same SLO over that group's data alone; data without the column, and
sources that have no labels, are refused with a located message, never summed."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest
import sqlalchemy as sa

from slm.domain.errors import SpecError
from slm.services.backtest import run_backtest
from slm.services.evaluate import evaluate_workspace
from slm.services.report import GROUPED, report_workspace
from slm.sources.factory import SourceFactory
from slm.spec.loader import load_workspace

ROOT = Path(__file__).resolve().parents[2]
T0 = datetime(2026, 10, 1, tzinfo=UTC)
AT = T0 + timedelta(days=2, hours=3, minutes=17)
MINUTES = 3 * 1440
REGIONS = ("eu", "us")


def _counts() -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Per region and minute: (good, total); us has an outage, eu a gap."""
    rng = np.random.default_rng(11)
    out = {}
    for region, rate in zip(REGIONS, (30.0, 50.0), strict=True):
        total = rng.poisson(rate, MINUTES).astype(np.int64)
        bad = rng.binomial(total, 0.002)
        if region == "us":
            bad[2000:2030] = total[2000:2030]  # half an hour down
        if region == "eu":
            total[1500:1520] = 0  # no requests: no rows
            bad[1500:1520] = 0
        out[region] = (total - bad, total)
    return out


def _write_csv(path: Path, regions: tuple[str, ...], with_column: bool) -> None:
    lines = ["timestamp,series,value" + (",region" if with_column else "")]
    for region in regions:
        good, total = _counts()[region]
        for m in np.flatnonzero(total).tolist():
            t = int(T0.timestamp()) + 60 * m
            tail = f",{region}" if with_column else ""
            lines += [f"{t},good,{good[m]}{tail}", f"{t},total,{total[m]}{tail}"]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def _slo(name: str, source: str, good: str, total: str, grouped: bool) -> str:
    annotations = "{'slm.dev/grouping': region}" if grouped else "{}"
    return f"""---
apiVersion: openslo/v1
kind: SLO
metadata:
  name: {name}
  annotations: {annotations}
spec:
  service: shop
  indicator:
    metadata: {{name: {name}}}
    spec:
      ratioMetric:
        counter: false
        good: {{metricSource: {{metricSourceRef: {source}, spec: {good}}}}}
        total: {{metricSource: {{metricSourceRef: {source}, spec: {total}}}}}
  timeWindow: [{{duration: 1d, isRolling: true}}]
  budgetingMethod: Occurrences
  objectives: [{{displayName: ok, target: 0.995}}]
"""


SERVICE = "apiVersion: openslo/v1\nkind: Service\nmetadata: {name: shop}\nspec: {}\n"


def _datasource(name: str, kind: str, details: str) -> str:
    return f"""---
apiVersion: openslo/v1
kind: DataSource
metadata: {{name: {name}}}
spec:
  type: {kind}
  connectionDetails: {details}
"""


@pytest.fixture
def file_specs(tmp_path: Path) -> Path:
    _write_csv(tmp_path / "all.csv", REGIONS, with_column=True)
    for region in REGIONS:
        _write_csv(tmp_path / f"{region}.csv", (region,), with_column=False)
    _write_csv(tmp_path / "plain.csv", REGIONS, with_column=False)
    text = SERVICE
    for name in ("all", "eu", "us", "plain"):
        text += _datasource(f"{name}-file", "File", f"{{path: {name}.csv}}")
    good, total = "{series: good}", "{series: total}"
    text += _slo("by-region", "all-file", good, total, grouped=True)
    for region in REGIONS:
        text += _slo(f"{region}-alone", f"{region}-file", good, total, grouped=False)
    text += _slo("no-column", "plain-file", good, total, grouped=True)
    path = tmp_path / "specs.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def _same_figures(got: object, alone: object) -> None:
    from dataclasses import replace

    assert replace(got, slo="x", group=()) == replace(alone, slo="x")  # type: ignore[type-var]


def test_file_groups_by_its_label_column(file_specs: Path) -> None:
    ws = load_workspace([file_specs])
    report = evaluate_workspace(ws, AT, SourceFactory())
    by = {(r.slo, r.group): r for r in report.results}
    assert [g for s, g in by if s == "by-region"] == [(("region", "eu"),), (("region", "us"),)]
    for region in REGIONS:
        alone = by[(f"{region}-alone", ())]
        assert alone.total > 40_000
        _same_figures(by[("by-region", (("region", region),))], alone)
    assert by[("by-region", (("region", "us"),))].sli != by[("by-region", (("region", "eu"),))].sli
    # a file without the column is refused by name, not summed into one figure
    (failure,) = report.failures
    assert failure.slo == "no-column"
    assert "plain.csv: no column 'region' to group by" in failure.message
    assert ("no-column", ()) not in by


def test_report_and_cli_show_each_group(file_specs: Path) -> None:
    ws = load_workspace([file_specs])
    rep = report_workspace(ws, AT, SourceFactory(), (timedelta(hours=1), timedelta(days=1)))
    by = {(o.slo, o.group): o for o in rep.objectives}
    for region in REGIONS:
        got, alone = by[("by-region", (("region", region),))], by[(f"{region}-alone", ())]
        assert [w.reason for w in got.windows] == [GROUPED, GROUPED]
        for g, a in zip(got.windows, alone.windows, strict=True):
            assert (g.good, g.total, g.sli, g.burn_rate) == (a.good, a.total, a.sli, a.burn_rate)
    command = [sys.executable, "-m", "slm", "evaluate", str(file_specs), "--at", AT.isoformat()]
    r = subprocess.run(
        [*command, "--format", "json"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
    )
    assert r.returncode == 3, r.stderr  # the file without the column fails (a source error)
    assert "no column 'region' to group by" in r.stderr
    out = json.loads(r.stdout)
    assert out["schema"] == "slm.evaluate/v1"
    results = out["items"]
    groups = [x.get("group") for x in results if x["slo"] == "by-region"]
    assert groups == [{"region": "eu"}, {"region": "us"}]
    r = subprocess.run(
        command,
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**os.environ, "COLUMNS": "250"},
        timeout=120,
    )
    assert 'ok {region="eu"}' in r.stdout and 'ok {region="us"}' in r.stdout


def test_uses_without_per_group_figures_refuse_grouped_slos(file_specs: Path) -> None:
    ws = load_workspace([file_specs])
    report = run_backtest(ws, SourceFactory(), AT - timedelta(hours=6), AT, slos=["by-region"])
    (failure,) = report.failures
    assert "grouped by region" in failure.message and "backtest" in failure.message


def test_a_grouped_slo_on_a_source_without_labels_is_a_located_spec_error(
    tmp_path: Path,
) -> None:
    text = SERVICE + _datasource("ingested", "Store", "{}")
    text += _slo("by-region", "ingested", "{series: good}", "{series: total}", grouped=True)
    path = tmp_path / "store.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(SpecError) as info:
        load_workspace([path])
    (problem,) = info.value.problems
    assert problem.path == str(path) and problem.line == 17  # the annotation
    assert problem.field == "metadata.annotations.slm.dev/grouping"
    assert "reads Store data, which has no labels to group by" in problem.message


# --- SQL: SQLite and PostgreSQL -----------------------------------------------------------

QUERY = (
    "SELECT (ts / :bucket) * :bucket AS bucket, {cols} SUM(ok) AS good, COUNT(*) AS total "
    "FROM requests WHERE ts >= :start_epoch AND ts < :end_epoch {where}GROUP BY 1{by}"
)


def _rows() -> list[tuple[int, str, int]]:
    rows = []
    for region, (good, total) in _counts().items():
        for m in np.flatnonzero(total).tolist():
            t = int(T0.timestamp()) + 60 * m
            # one row per request, spread over the minute
            n, g = int(total[m]), int(good[m])
            rows += [(t + (k * 60) // n, region, 1 if k < g else 0) for k in range(n)]
    return rows


def _sql_specs(path: Path, url: str) -> None:
    text = SERVICE + _datasource("db", "SQL", f"{{url: '{url}'}}")
    grouped = QUERY.format(cols="region,", where="", by=", 2")
    spec = "{{query: {q!r}, column: {c}}}"
    text += _slo(
        "by-region",
        "db",
        spec.format(q=grouped, c="good"),
        spec.format(q=grouped, c="total"),
        grouped=True,
    )
    for region in REGIONS:
        alone = QUERY.format(cols="", where=f"AND region = '{region}' ", by="")
        text += _slo(
            f"{region}-alone",
            "db",
            spec.format(q=alone, c="good"),
            spec.format(q=alone, c="total"),
            grouped=False,
        )
    plain = QUERY.format(cols="", where="", by="")
    text += _slo(
        "no-column",
        "db",
        spec.format(q=plain, c="good"),
        spec.format(q=plain, c="total"),
        grouped=True,
    )
    path.write_text(text, encoding="utf-8")


def _check_sql(path: Path) -> None:
    ws = load_workspace([path])
    report = evaluate_workspace(ws, AT, SourceFactory())
    by = {(r.slo, r.group): r for r in report.results}
    assert [g for s, g in by if s == "by-region"] == [(("region", "eu"),), (("region", "us"),)]
    for region in REGIONS:
        alone = by[(f"{region}-alone", ())]
        assert alone.total > 40_000
        _same_figures(by[("by-region", (("region", region),))], alone)
    (failure,) = report.failures
    assert failure.slo == "no-column"
    assert "the query returned no column 'region' to group by" in failure.message
    assert failure.message.startswith("DataSource db")


def test_sqlite_groups_by_a_result_column(tmp_path: Path) -> None:
    db = tmp_path / "requests.db"
    with sqlite3.connect(db) as conn:
        conn.execute("CREATE TABLE requests (ts INTEGER, region TEXT, ok INTEGER)")
        conn.executemany("INSERT INTO requests VALUES (?, ?, ?)", _rows())
    conn.close()
    path = tmp_path / "sql.yaml"
    _sql_specs(path, "sqlite:///requests.db")
    _check_sql(path)


@pytest.mark.postgres
def test_postgresql_groups_by_a_result_column(tmp_path: Path, pg_url: str) -> None:
    engine = sa.create_engine(pg_url.replace("postgresql://", "postgresql+psycopg://", 1))
    with engine.begin() as conn:
        conn.execute(sa.text("CREATE TABLE requests (ts bigint, region text, ok integer)"))
        conn.execute(
            sa.text("INSERT INTO requests VALUES (:ts, :region, :ok)"),
            [{"ts": t, "region": r, "ok": ok} for t, r, ok in _rows()],
        )
    engine.dispose()
    path = tmp_path / "sql.yaml"
    _sql_specs(path, pg_url)
    _check_sql(path)
