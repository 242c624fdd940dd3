"""``slm composite``, ``slm sla check`` and ``slm sla supplier`` as a user runs them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

AT = "2026-11-01T00:00:00Z"
DB = 3 * 0.995**2 * 0.005 + 0.995**3
PAYMENTS = 0.9999 * (0.9995 + 0.0005 * 0.99 * 0.999)


def slm(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "slm", *args],
        capture_output=True,
        text=True,
        env={**os.environ, "COLUMNS": "200"},
        timeout=120,
    )


def test_composite_json(examples_dir: Path) -> None:
    r = slm("composite", str(examples_dir), "--at", AT, "--format", "json")
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    assert (doc["schema"], doc["at"]) == ("slm.composite/v1", AT)
    assert doc["window"] == {"duration": "30d", "start": "2026-10-02T00:00:00Z", "end": AT}
    rows = {c["component"]: c for c in doc["components"]}
    checkout = rows["checkout"]
    assert checkout["root"] is True
    assert checkout["depends_on"] == ["shop-lb", "payments", "checkout-db"]
    assert checkout["design"]["composite"] == pytest.approx(0.9997 * 0.9999 * PAYMENTS * DB)
    assert 0.99 < checkout["measured"]["composite"] < checkout["measured"]["own"] < 1
    assert [s["slo"] for s in checkout["slos"]] == ["checkout-availability", "checkout-latency"]
    assert checkout["error_budget"]["target"] == 0.9997
    assert checkout["error_budget"]["budget"] == 0.0003  # not 0.00029999999999996696
    lb = rows["shop-lb"]
    assert (lb["tier"], lb["party"], lb["hosting"]) == ("vendor", "cloudco", "public-cloud")
    assert lb["measured"]["composite"] is None


def test_composite_table(examples_dir: Path) -> None:
    r = slm("composite", str(examples_dir), "--at", AT, "--window", "7d")
    assert r.returncode == 0, r.stderr
    assert "measured over 7d" in r.stdout
    for name in ("checkout", "checkout-db", "psp-backup", "shop-lb"):
        assert name in r.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        pytest.param(["--window", "soon"], "invalid duration 'soon'", id="bad-window"),
    ],
)
def test_composite_bad_options(examples_dir: Path, args: list[str], message: str) -> None:
    r = slm("composite", str(examples_dir), *args)
    assert r.returncode == 2
    assert message in r.stderr and "Traceback" not in r.stderr


def test_composite_rejects_a_cycle_with_a_located_message(tmp_path: Path) -> None:
    spec = tmp_path / "c.yaml"
    spec.write_text(
        "apiVersion: slm/v1\nkind: Component\nmetadata: {name: a}\nspec: {dependsOn: b}\n"
        "---\n"
        "apiVersion: slm/v1\nkind: Component\nmetadata: {name: b}\nspec: {dependsOn: [a]}\n"
    )
    r = slm("composite", str(spec))
    assert r.returncode == 1
    assert f"{spec}:9: Component/b: spec.dependsOn: dependency cycle: a -> b -> a" in r.stderr
    assert "Traceback" not in r.stderr


def test_composite_without_components(tmp_path: Path, examples_dir: Path) -> None:
    r = slm("composite", str(examples_dir / "shop"))
    assert r.returncode == 1
    assert "no Component objects" in r.stderr


def test_sla_check_flags_the_downtime_clause(examples_dir: Path) -> None:
    r = slm("sla", "check", str(examples_dir), "--format", "json")
    assert r.returncode == 1, r.stderr
    doc = json.loads(r.stdout)
    assert doc["ok"] is False
    checks = {c["clause"]: c for c in doc["checks"]}
    assert {k: c["verdict"] for k, c in checks.items()} == {
        "checkout-availability": "supported",
        "checkout-downtime": "not-supported",
        "payments-availability": "supported",
    }
    design = 0.9997 * PAYMENTS * DB  # everything but the load balancer
    down = checks["checkout-downtime"]
    assert down["supported"] == pytest.approx(design * 0.9999)
    (lb,) = down["promises"]
    assert (lb["agreement"], lb["component"], lb["target"]) == ("cloudco-lb-uc", "shop-lb", 0.9999)
    assert lb["required"] == pytest.approx(0.9995 / design, abs=1e-9)
    (ola,) = down["not_counted"]
    assert ola["agreement"] == "platform-checkout-ola" and "business hours" in ola["reason"]


def test_sla_supplier_json(examples_dir: Path) -> None:
    r = slm(
        "sla", "supplier", str(examples_dir), "--uc", "cloudco-lb-uc",
        "--history", "3mo", "--at", AT, "--format", "json",
    )  # fmt: skip
    assert r.returncode == 1, r.stderr  # 99.99 % cannot carry the 99.95 % downtime clause
    doc = json.loads(r.stdout)
    (c,) = doc["clauses"]
    design = 0.9997 * PAYMENTS * DB
    assert c["proposed"] == 0.9999
    assert c["required"] == pytest.approx(0.9995 / design, abs=1e-9)
    assert c["proposal_supports_sla"] is False
    assert [h["period"] for h in c["history"]] == ["2026-08", "2026-09", "2026-10"]
    for h in c["history"]:
        assert 0.99 < h["attainment"] <= 1 and h["coverage"] == 1.0
    # the approved Sunday maintenance hour (examples/agreements/exclusions.yaml) applies to
    # the UC's service: 5 Sundays in August, 4 in September and October
    assert c["business_hours_only"] is False
    assert [h["excluded_minutes"] for h in c["history"]] == [300, 240, 240]
    assert [h["eligible_minutes"] for h in c["history"]] == [44640, 43200, 44640]


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        pytest.param(["--uc", "acme-checkout-sla"], 4, "is an SLA, not a UC", id="not-a-uc"),
        pytest.param(
            ["--uc", "cloudco-lb-uc", "--history", "a year"], 2, "is not a history", id="history"
        ),
    ],
)
def test_sla_supplier_bad_input(
    examples_dir: Path, args: list[str], code: int, message: str
) -> None:
    r = slm("sla", "supplier", str(examples_dir), *args)
    assert r.returncode == code
    assert message in r.stderr and "Traceback" not in r.stderr


_WEB_PART = """\
apiVersion: openslo/v1
kind: SLO
metadata: {{name: web-{part}}}
spec:
  service: web
  indicator:
    metadata: {{name: web-{part}-ok}}
    spec:
      ratioMetric:
        counter: false
        good:
          metricSource: {{metricSourceRef: web, type: File, spec: {{series: {part}_good}}}}
        total:
          metricSource: {{metricSourceRef: web, type: File, spec: {{series: {part}_total}}}}
  timeWindow: [{{duration: 1d, isRolling: true}}]
  budgetingMethod: Occurrences
  objectives: [{{displayName: ok, target: 0.99}}]
---
apiVersion: slm/v1
kind: Component
metadata: {{name: web-{part}}}
spec: {{targetPercent: 99, slos: [{{slo: web-{part}}}]}}
---
"""

_WEB = """\
apiVersion: openslo/v1
kind: Service
metadata: {name: web}
spec: {}
---
apiVersion: openslo/v1
kind: DataSource
metadata: {name: web}
spec: {type: File, connectionDetails: {path: web.csv}}
---
apiVersion: slm/v1
kind: Component
metadata: {name: site}
spec: {dependsOn: {anyOf: [web-a, web-b]}}
---
apiVersion: slm/v1
kind: Component
metadata: {name: api}
spec: {dependsOn: [web-a, web-c]}
"""


def _redundancy_workspace(tmp_path: Path) -> Path:
    """web-a and web-b serve one site redundantly; web-c is in series with web-a in an
    api. Over one day web-a fails every request in minutes 100-113, web-b in 500-513
    (disjoint) and web-c in 100-113 (the same minutes as web-a)."""
    start = 1793404800  # 2026-10-31T00:00:00Z, one day before AT
    down = {"a": range(100, 114), "b": range(500, 514), "c": range(100, 114)}
    rows = ["timestamp,series,value"]
    for part, minutes in down.items():
        for i in range(24 * 60):
            rows.append(f"{start + 60 * i},{part}_total,100")
            rows.append(f"{start + 60 * i},{part}_good,{0 if i in minutes else 100}")
    (tmp_path / "web.csv").write_text("\n".join(rows) + "\n")
    specs = "".join(_WEB_PART.format(part=p) for p in down) + _WEB
    (tmp_path / "web.yaml").write_text(specs)
    return tmp_path


def test_composite_measures_per_minute_beside_the_design(tmp_path: Path) -> None:
    ws = _redundancy_workspace(tmp_path)
    r = slm("composite", str(ws), "--at", AT, "--window", "1d", "--format", "json")
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    assert "independent" in doc["method"]["design"]
    assert "minute by minute" in doc["method"]["measured"]
    rows = {c["component"]: c for c in doc["components"]}
    down = 14 / 1440  # each web part's share of bad minutes
    assert rows["web-a"]["measured"]["own"] == pytest.approx(1 - down, abs=1e-12)
    # the site's redundant pair never failed in the same minute: 100 %, where the formula
    # over the day's figures would say 1 - down² and the design 1 - 0.01²
    site = rows["site"]
    assert site["design"]["composite"] == pytest.approx(1 - 0.01**2, abs=1e-12)
    assert site["measured"]["composite"] == 1.0
    assert (site["measured"]["coverage"], site["measured"]["minutes"]) == (1.0, 1440)
    assert site["measured"]["assumed_from_design"] == ["site"]
    # web-a and web-c in series failed in the same 14 minutes: lost once, not twice
    api = rows["api"]
    assert api["design"]["composite"] == pytest.approx(0.99**2, abs=1e-12)
    assert api["measured"]["composite"] == pytest.approx(1 - down, abs=1e-12)

    table = slm("composite", str(ws), "--at", AT, "--window", "1d")
    assert table.returncode == 0, table.stderr
    assert "Design: the targets" in table.stdout and "Measured: minute by minute" in table.stdout
