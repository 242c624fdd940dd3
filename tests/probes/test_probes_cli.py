"""``slm probe check`` and ``slm probe run`` on the example probes, against the test shop."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from probe_servers import ProbeHTTPServer
from typer.testing import CliRunner

from slm.cli import app
from slm.store.db import open_store
from slm.store.probes import ProbeRepository

EXAMPLE = Path(__file__).parents[2] / "examples" / "probes" / "shop-probes.yaml"
SLM = str(Path(sys.executable).parent / "slm")
ENV = {"SHOP_PASSWORD": "secret"}


@pytest.fixture
def specs(http_server: ProbeHTTPServer, open_port: int, tmp_path: Path) -> Path:
    """The example probes, pointed at the test shop and an open TCP port."""
    text = EXAMPLE.read_text().replace("http://127.0.0.1:8089", http_server.base)
    text = text.replace("port: 5432", f"port: {open_port}")
    path = tmp_path / "specs" / "shop-probes.yaml"
    path.parent.mkdir()
    path.write_text(text)
    return path.parent


def invoke(*args: str, env: dict[str, str] | None = None) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, list(args), env=env)
    return result.exit_code, result.stdout, result.stderr


def slm(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """The installed ``slm`` command (errors mapped to exit codes as users see them)."""
    env = {k: v for k, v in os.environ.items() if k != "SHOP_PASSWORD"}
    return subprocess.run(
        [SLM, *args], capture_output=True, text=True, check=False, cwd=cwd, env=env
    )


def test_check_prints_one_passing_result(specs: Path) -> None:
    code, out, _ = invoke("probe", "check", str(specs), "shop-home", "--format", "json")
    assert code == 0, out
    doc = json.loads(out)
    assert doc["schema"] == "slm.probe-results/v1"
    (result,) = doc["items"]
    assert (result["probe"], result["success"], result["reason"]) == ("shop-home", True, "")
    assert result["details"]["status"] == 200


def test_check_runs_the_example_transaction(specs: Path) -> None:
    code, out, _ = invoke("probe", "check", str(specs), "shop-checkout", env=ENV)
    assert code == 0, out
    assert "shop-checkout" in out and "ok" in out


def test_check_exits_1_with_the_reason_when_the_check_fails(specs: Path) -> None:
    result = slm("probe", "check", str(specs), "shop-checkout", "--format", "json", cwd=specs)
    assert result.returncode == 1
    (check,) = json.loads(result.stdout)["items"]
    assert check["reason"] == "step 'login': environment variable SHOP_PASSWORD is not set"


def test_check_of_an_unknown_probe(specs: Path) -> None:
    result = slm("probe", "check", str(specs), "nope", cwd=specs)
    assert result.returncode == 4
    assert "no Probe named nope (probes: shop-checkout, shop-db, shop-home)" in result.stderr
    assert "Traceback" not in result.stderr


def test_run_once_stores_every_probe(specs: Path, tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'slm.db'}"
    code, out, err = invoke("db", "upgrade", "--db", db)
    assert code == 0, err
    code, out, err = invoke("probe", "run", str(specs), "--once", "--db", db, env=ENV)
    assert code == 0, out + err
    assert "recorded 3 checks" in err
    store = open_store(db, tmp_path)
    with store.transaction() as repos:
        stored = ProbeRepository(repos.connection).recent()
    assert sorted((r.probe, r.success) for r in stored) == [
        ("shop-checkout", True),
        ("shop-db", True),
        ("shop-home", True),
    ]
    store.close()


def test_run_refuses_a_store_that_needs_upgrading(specs: Path, tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'empty.db'}"
    result = slm("probe", "run", str(specs), "--once", "--db", db, cwd=tmp_path)
    assert result.returncode == 5
    assert "run `slm db upgrade" in result.stderr


def test_bad_spec_is_reported_without_traceback(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("apiVersion: slm/v1\nkind: Probe\nmetadata: {name: x}\nspec: {interval: 1m}\n")
    result = slm("probe", "run", str(bad), "--once", cwd=tmp_path)
    assert result.returncode == 1
    assert f"{bad}:4: Probe/x: spec: give exactly one of http, tcp, dns or transaction" in (
        result.stderr
    )
    assert "Traceback" not in result.stderr


def test_run_on_schedule_until_interrupted(specs: Path, tmp_path: Path) -> None:
    # Short enough to see three runs quickly, long enough for a loaded CI machine to answer.
    text = (specs / "shop-probes.yaml").read_text().replace("interval: 1m", "interval: 2s")
    for slow in ("timeout: 5s", "timeout: 3s"):
        text = text.replace(slow, "timeout: 2s")
    (specs / "shop-probes.yaml").write_text(text)
    proc = subprocess.Popen(
        [SLM, "probe", "run", str(specs), "-n", "shop-home"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=tmp_path,
        env={**os.environ, "COLUMNS": "200"},
    )
    assert proc.stdout is not None
    lines = [proc.stdout.readline() for _ in range(3)]
    proc.send_signal(signal.SIGINT)
    _out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    assert all(" ok   shop-home@local " in line for line in lines), lines
    assert "stopped: " in err and "Traceback" not in err
    store = open_store(None, tmp_path)
    with store.transaction() as repos:
        assert ProbeRepository(repos.connection).count("shop-home") >= 3
    store.close()
