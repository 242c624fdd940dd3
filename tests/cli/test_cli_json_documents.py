"""Every command that can print JSON prints one document of docs/json.md: an object whose
first field ``schema`` names a type listed there, with exactly the documented top-level
fields. The commands are found by walking the Typer app (an option ``--format`` offering
``json``, or a ``--json`` flag), so a new one fails here until it is run below and its
schema documented."""

from __future__ import annotations

import enum
import json
import shutil
import sys
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import typer

from slm.cli import app, main

AT = "2026-10-14T15:00:00Z"


def _leaves(command: Any, prefix: tuple[str, ...] = ()) -> list[tuple[tuple[str, ...], Any]]:
    subs = getattr(command, "commands", None)
    if subs is None:
        return [(prefix, command)]
    return [leaf for name, sub in subs.items() for leaf in _leaves(sub, (*prefix, name))]


def _emits_json(cmd: Any) -> bool:
    for p in cmd.params:
        if p.opts[0] == "--json":
            return True
        ann = p.type_descriptor.annotation
        is_enum = isinstance(ann, type) and issubclass(ann, enum.Enum)
        if p.opts[0] == "--format" and is_enum and "json" in {m.value for m in ann}:
            return True
        if p.opts[0] == "--format" and "json" in (p.help or ""):
            return True
    return False


JSON_COMMANDS = sorted(p for p, c in _leaves(typer.main.get_command(app)) if _emits_json(c))


@dataclass
class Workplace:
    root: Path  # the workspace: its store is root/.slm/slm.db
    examples: Path
    probes: Path
    retention: Path
    incident: str


# command -> (arguments, the schema printed, the exit codes it may end with)
Case = tuple[Callable[[Workplace], list[str]], str, set[int]]
CASES: dict[tuple[str, ...], Case] = {
    ("evaluate",): (lambda w: f"{w.examples} --at {AT}".split(), "slm.evaluate/v1", {0}),
    ("report",): (lambda w: f"{w.examples} --at {AT}".split(), "slm.report/v1", {0}),
    ("composite",): (lambda w: f"{w.examples} --at {AT}".split(), "slm.composite/v1", {0}),
    ("validate",): (lambda w: [str(w.examples)], "slm.validate/v1", {0}),
    ("reconcile",): (
        lambda w: (
            f"{w.examples} --sli checkout-requests-success --against "
            "checkout-availability --from 2026-10-13 --to 2026-10-14".split()
        ),
        "slm.reconcile/v1",
        {0, 6, 7},  # 6: a day differs, 7: a day without data on a side; printed either way
    ),
    ("alerts", "backtest"): (
        lambda w: (
            f"{w.examples} --from 2026-10-14T00:00:00Z --to {AT} "
            "--slo payments-availability".split()
        ),
        "slm.backtest/v1",
        {0},
    ),
    ("alerts", "check"): (  # two days on: the pages the fixture's check fired resolve
        lambda w: f"{w.examples} --at 2026-10-16T15:00:00Z".split(),
        "slm.alert-check/v1",
        {0},
    ),
    ("alerts", "list"): (lambda w: [], "slm.alerts/v1", {0}),
    ("alerts", "events"): (lambda w: [], "slm.alert-events/v1", {0}),
    ("incident", "list"): (lambda w: [], "slm.incidents/v1", {0}),
    ("incident", "show"): (lambda w: [w.incident], "slm.incident/v1", {0}),
    ("incident", "downtime"): (
        lambda w: f"--service checkout --period 2026-10 --at {AT}".split(),
        "slm.incident-downtime/v1",
        {0},
    ),
    ("notify", "log"): (lambda w: [], "slm.notifications/v1", {0}),
    ("probe", "check"): (lambda w: [str(w.probes), "local-health"], "slm.probe-results/v1", {0}),
    ("probe", "run"): (lambda w: [str(w.probes), "--once"], "slm.probe-results/v1", {0}),
    ("retention", "apply"): (
        lambda w: f"{w.retention} --dry-run --at {AT}".split(),
        "slm.retention/v1",
        {0},
    ),
    ("sla", "statement"): (
        lambda w: f"{w.examples} --agreement cloudco-lb-uc --period 2026-10".split(),
        "slm.statement/v1",
        {0},
    ),
    ("sla", "costs"): (
        lambda w: f"{w.examples} --period 2026-10".split(),
        "slm.costs/v1",
        {0},
    ),
    ("sla", "simulate"): (
        lambda w: (
            f"{w.examples} --targets 99.9,99.95 --history 2mo "
            "--at 2026-11-01T00:00:00Z --agreement cloudco-lb-uc".split()
        ),
        "slm.sla-simulation/v1",
        {0},
    ),
    ("sla", "check"): (lambda w: [str(w.examples)], "slm.sla-check/v1", {0, 1}),
    ("sla", "supplier"): (
        lambda w: (
            f"{w.examples} --uc cloudco-lb-uc --history 2mo --at 2026-11-01T00:00:00Z".split()
        ),
        "slm.sla-supplier/v1",
        {0, 1},  # 1: the proposal does not support an SLA; the document says which
    ),
}
# Commands whose --format names another system's shape, not an slm document.
FOREIGN = {("incident", "export"), ("incident", "import")}

STORE_FREE = {("validate",), ("composite",), ("sla", "check"), ("probe", "check")}


PROBE = """\
apiVersion: slm/v1
kind: Probe
metadata: {{name: local-health}}
spec:
  interval: 1m
  timeout: 5s
  location: local
  http:
    url: http://127.0.0.1:{port}/health
    expect: {{status: 200}}
"""

RETENTION = """\
apiVersion: slm/v1
kind: RetentionPolicy
metadata: {name: minutes-then-hours}
spec:
  selector: {series: ["http_*"]}
  tiers: [{resolution: 1m, keep: 1d}, {resolution: 1h, keep: 30d}]
"""


class _Health(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture(scope="module")
def health() -> Iterator[int]:
    """A real HTTP server on a free loopback port for the probe commands."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Health)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1]
    server.shutdown()
    server.server_close()


def run(args: list[str], mp: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> Any:
    mp.setattr(sys, "argv", ["slm", *args])
    mp.setenv("COLUMNS", "200")
    mp.delenv("SLM_DB_URL", raising=False)
    try:
        main()
        code = 0
    except SystemExit as e:
        code = e.code if isinstance(e.code, int) else int(e.code is not None)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.fixture(scope="module")
def workplace(
    examples_dir: Path, health: int, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Workplace]:
    root = tmp_path_factory.mktemp("json-docs")
    probes = root / "probes"
    probes.mkdir()
    (probes / "probe.yaml").write_text(PROBE.format(port=health), encoding="utf-8")
    retention = root / "retention"
    retention.mkdir()
    (retention / "policy.yaml").write_text(RETENTION, encoding="utf-8")
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(root)
        capture = _Capture()
        args = ["incident", "open", "--title", "checkout errors", "--service", "checkout"]
        args += ["--priority", "P2", "--at", "2026-10-14T13:00:00Z"]
        code, out = capture.run(args, mp)
        assert code == 0, out
        incident = out.split()[0]
        mp.chdir(examples_dir.parent)  # alert states in the store for `alerts list`/`events`
        code, out = capture.run(
            ["alerts", "check", str(examples_dir), "--at", AT, "--workspace", str(root)], mp
        )
        assert code == 0, out
    yield Workplace(root, examples_dir, probes, retention, incident)
    shutil.rmtree(root, ignore_errors=True)


class _Capture:
    """Runs the CLI in-process outside a test's capsys (for the module fixture)."""

    def run(self, args: list[str], mp: pytest.MonkeyPatch) -> tuple[int, str]:
        import contextlib
        import io

        mp.setattr(sys, "argv", ["slm", *args])
        mp.delenv("SLM_DB_URL", raising=False)
        out, err = io.StringIO(), io.StringIO()
        code = 0
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                main()
            except SystemExit as e:
                code = e.code if isinstance(e.code, int) else int(e.code is not None)
        return code, out.getvalue() + err.getvalue()


def test_every_json_command_is_run_here() -> None:
    found = set(JSON_COMMANDS) - FOREIGN
    assert found == set(CASES), (
        f"not run here: {sorted(found - set(CASES))}; no longer JSON: {set(CASES) - found}"
    )
    assert len(found) >= 20


@pytest.mark.parametrize("path", sorted(CASES), ids=[" ".join(p) for p in sorted(CASES)])
def test_the_json_is_a_documented_document(
    path: tuple[str, ...],
    workplace: Workplace,
    check_document: Any,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    make_args, schema, codes = CASES[path]
    cmd = dict(_leaves(typer.main.get_command(app)))[path]
    flag = ["--json"] if any(p.opts[0] == "--json" for p in cmd.params) else ["--format", "json"]
    store = [] if path in STORE_FREE else ["--workspace", str(workplace.root)]
    monkeypatch.chdir(workplace.examples.parent)  # the examples' relative data paths
    code, out, err = run([*path, *make_args(workplace), *flag, *store], monkeypatch, capsys)
    assert code in codes, err
    assert "Traceback" not in err
    doc = json.loads(out)
    check_document(doc, schema)
    if "items" in doc and path not in (("alerts", "events"), ("notify", "log")):
        assert doc["items"], f"{' '.join(path)}: an empty list proves little"


def test_probe_run_prints_one_document_per_line(workplace: Workplace, check_document: Any) -> None:
    """``slm probe run`` without ``--once`` prints JSON Lines as checks happen."""
    import asyncio

    from slm.cli.probe import result_line
    from slm.services.probing import probes_of, run_once
    from slm.spec.loader import load_workspace

    probes = probes_of(load_workspace([workplace.probes]), None)
    (result,) = asyncio.run(run_once(probes))
    line = result_line(result)
    assert line.endswith("\n") and line.count("\n") == 1
    doc = json.loads(line)
    check_document(doc, "slm.probe-result/v1")
    assert (doc["probe"], doc["success"]) == ("local-health", True)
