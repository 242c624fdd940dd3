"""Start-up budget of the command line, checked by what is imported (never by a clock).

A command imports only its own command modules (``slm.cli.COMMAND_MODULES``); heavy
libraries wait until a command needs them.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import typer

import slm.cli
from slm.cli import COMMAND_MODULES, app

# Libraries that no ``--help`` needs: stores, servers, data formats, HTTP, numerics, the
# YAML parsers and the asyncio event loop.
HEAVY = (
    "asyncio",
    "duckdb",
    "fastapi",
    "httpx",
    "numpy",
    "psycopg",
    "pyarrow",
    "ruamel",
    "sqlalchemy",
    "ssl",
    "starlette",
    "uvicorn",
    "yaml",
)

PROBE = """
import json, sys
sys.argv = ["slm", *sys.argv[1:]]
from slm.cli import main
try:
    main()
except SystemExit as e:
    code = e.code
else:
    code = 0
print(json.dumps({"code": code, "modules": sorted(sys.modules)}), file=sys.stderr)
"""


def imported_by(*args: str) -> tuple[int, set[str]]:
    run = subprocess.run(
        [sys.executable, "-c", PROBE, *args], capture_output=True, text=True, check=False
    )
    found = json.loads(run.stderr.strip().splitlines()[-1])
    return found["code"], set(found["modules"])


@pytest.mark.parametrize("command", ["evaluate", "report", "validate", "sla"])
def test_a_command_help_imports_only_its_own_modules_and_nothing_heavy(command: str) -> None:
    code, modules = imported_by(command, "--help")
    assert code == 0
    assert sorted(m for m in modules if m.split(".")[0] in HEAVY) == []
    every = {f"slm.cli.{m}" for ms in COMMAND_MODULES.values() for m in ms}
    own = {f"slm.cli.{m}" for m in COMMAND_MODULES[command]}
    assert modules & every == own


def test_the_root_help_lists_every_command() -> None:
    run = subprocess.run(
        [sys.executable, "-m", "slm", "--help"], capture_output=True, text=True, check=False
    )
    assert run.returncode == 0
    for name in COMMAND_MODULES:
        assert f" {name} " in run.stdout


def _name(c: typer.models.CommandInfo) -> str:
    assert c.callback is not None
    return c.name or c.callback.__name__.replace("_", "-")


def _module_of(name: str) -> set[str]:
    """The modules whose functions make up the top-level command or group ``name``."""
    for c in app.registered_commands:
        if _name(c) == name and c.callback is not None:
            return {c.callback.__module__}
    found: set[str] = set()
    for g in app.registered_groups:
        t = g.typer_instance
        if t is not None and name in (g.name, t.info.name):
            found |= {c.callback.__module__ for c in t.registered_commands if c.callback}
    return found


def test_every_command_maps_to_the_modules_that_define_it() -> None:
    names = {_name(c) for c in app.registered_commands}
    names |= {g.name or "" for g in app.registered_groups}
    assert names == set(COMMAND_MODULES)
    for name, modules in COMMAND_MODULES.items():
        defined = {m.removeprefix("slm.cli.") for m in _module_of(name)} - {"slm.cli"}
        assert defined == set(modules), name


def test_the_package_app_is_the_complete_application() -> None:
    assert slm.cli.app is app
    assert len(app.registered_commands) + len(app.registered_groups) == len(COMMAND_MODULES)


REPORT_SPEC = """\
apiVersion: openslo/v1
kind: DataSource
metadata: {name: prom}
spec:
  type: Prometheus
  connectionDetails: {url: "http://127.0.0.1:1", retry: {attempts: 1}}
---
apiVersion: openslo/v1
kind: SLO
metadata: {name: api}
spec:
  service: api
  indicator:
    metadata: {name: api-requests}
    spec:
      ratioMetric:
        counter: true
        good: {metricSource: {metricSourceRef: prom, spec: {query: 'x{code="ok"}'}}}
        total: {metricSource: {metricSourceRef: prom, spec: {query: 'x'}}}
  timeWindow: [{duration: 30d, isRolling: true}]
  budgetingMethod: Occurrences
  objectives: [{target: 0.99}]
"""

# What ``slm report`` over OpenSLO v1 SLOs on Prometheus never needs: the other spec
# formats' models, the YAML writer, progress bars off a terminal, and httpx's own
# command-line client (click, pygments).
NOT_FOR_A_REPORT = (
    "click",
    "pygments",
    "rich.progress",
    "ruamel",
    "slm.spec.openslo_v1alpha",
    "slm.spec.openslo_v2alpha",
    "slm.spec.pyrra",
    "slm.spec.slo_generator",
    "slm.spec.sloth",
)


def test_a_report_imports_only_what_it_uses(tmp_path: Path) -> None:
    spec = tmp_path / "slo.yaml"
    spec.write_text(REPORT_SPEC, encoding="utf-8")
    code, modules = imported_by("report", str(spec), "--at", "2026-01-01T00:00:00Z")
    assert code == 3  # the source failed (nothing listens there), the rest ran
    assert "httpx" in modules and "slm.spec.openslo_v1" in modules
    assert sorted(m for m in modules if m.split(".")[0] in NOT_FOR_A_REPORT) == []
    assert sorted(m for m in modules if m in NOT_FOR_A_REPORT) == []
