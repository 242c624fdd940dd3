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
    assert doc["at"] == AT
    assert doc["window"] == {"duration": "30d", "start": "2026-10-02T00:00:00Z", "end": AT}
    rows = {c["component"]: c for c in doc["components"]}
    checkout = rows["checkout"]
    assert checkout["root"] is True
    assert checkout["depends_on"] == ["shop-lb", "payments", "checkout-db"]
    assert checkout["design"]["composite"] == pytest.approx(0.9997 * 0.9999 * PAYMENTS * DB)
    assert 0.99 < checkout["measured"]["composite"] < checkout["measured"]["own"] < 1
    assert [s["slo"] for s in checkout["slos"]] == ["checkout-availability", "checkout-latency"]
    assert checkout["error_budget"]["target"] == pytest.approx(0.9997)
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
        pytest.param(["--window", "soon"], "is not a duration", id="bad-window"),
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
