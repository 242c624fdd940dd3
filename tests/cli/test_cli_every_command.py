"""Every command of ``slm`` (found by walking the Typer app, so new commands are covered
without editing this file) meets bad paths and bad values with a message naming the
problem and a non-zero exit code, never a traceback."""

from __future__ import annotations

import enum
import sys
from pathlib import Path
from typing import Any

import pytest
import typer

from slm.cli import app, main

MISSING = "/nonexistent-slm-test/nowhere.yaml"
BAD_DB = "sqlite:////nonexistent-slm-test/folder/slm.db"
BOGUS = "@@bogus@@"

# Commands that take nothing that can be wrong.
NOTHING_TO_GET_WRONG = {("version",)}

# Valid values for required options, by name, so that the path or the value under test is
# what fails; anything else gets "x".
VALID = {
    "--from": "2026-10-01T00:00:00Z",
    "--to": "2026-10-02T00:00:00Z",
    "--period": "2026-10",
    "--targets": "99.9",
    "--format": "jira",
    "--attribution": "provider",
    "--level": "1",
}
VALID_FOR = {
    (("reconcile",), "--from"): "2026-10-01",
    (("reconcile",), "--to"): "2026-10-02",
}
# Options a command needs one of (no single one is required).
EXTRA = {("incident", "impact"): ["--start", "2026-10-01T00:00:00Z"]}


def _leaves(command: Any, prefix: tuple[str, ...] = ()) -> list[tuple[tuple[str, ...], Any]]:
    subs = getattr(command, "commands", None)
    if subs is None:
        return [(prefix, command)]
    return [leaf for name, sub in subs.items() for leaf in _leaves(sub, (*prefix, name))]


COMMANDS = [
    (path, cmd)
    for path, cmd in _leaves(typer.main.get_command(app))
    if path not in NOTHING_TO_GET_WRONG
]


def _annotation(param: Any) -> Any:
    return param.type_descriptor.annotation


def _is_path(param: Any) -> bool:
    return "Path" in str(_annotation(param))


def base_args(path: tuple[str, ...], cmd: Any, skip: str | None = None) -> list[str]:
    """Arguments that are all wrong where they can be: missing files, a store in a
    missing folder; required options valid so that those are what fails."""
    args: list[str] = []
    for p in cmd.params:
        if p.param_type_name == "argument":
            ann = str(_annotation(p))
            value = MISSING if _is_path(p) else "1" if "int" in ann else "x"
            args += [value] * (1 if p.nargs == 1 else 2)
        elif p.opts[0] == skip:
            continue
        elif p.opts[0] == "--db":
            args += ["--db", BAD_DB]
        elif p.required:
            value = VALID_FOR.get((path, p.opts[0]), VALID.get(p.opts[0], "x"))
            args += [p.opts[0], MISSING if _is_path(p) else value]
    if skip not in EXTRA.get(path, [None]):
        args += EXTRA.get(path, [])
    return args


def run(args: list[str], capsys: pytest.CaptureFixture[str], mp: pytest.MonkeyPatch) -> Any:
    mp.setattr(sys, "argv", ["slm", *args])
    mp.setenv("COLUMNS", "200")
    mp.setenv("TERMINAL_WIDTH", "200")
    mp.delenv("SLM_DB_URL", raising=False)
    try:
        main()
        code = 0
    except SystemExit as e:
        code = e.code if isinstance(e.code, int) else int(e.code is not None)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def _flat(text: str) -> str:
    return " ".join(text.replace("│", " ").split())


@pytest.mark.parametrize(("path", "cmd"), COMMANDS, ids=[" ".join(p) for p, _ in COMMANDS])
def test_bad_paths_and_stores(
    path: tuple[str, ...],
    cmd: Any,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(tmp_path)
    args = base_args(path, cmd)
    assert MISSING in args or BAD_DB in args, f"{path}: nothing to get wrong; list it above"
    code, out, err = run([*path, *args], capsys, monkeypatch)
    assert code != 0, (out, err)
    assert "Traceback" not in err and "Traceback" not in out
    assert "nonexistent-slm-test" in _flat(err), err  # names the missing file or folder
    assert not any(tmp_path.iterdir()), "nothing written"


def _value_cases() -> list[tuple[tuple[str, ...], Any, str]]:
    cases = []
    for path, cmd in COMMANDS:
        for p in cmd.params:
            if p.param_type_name != "option" or p.is_flag or p.opts[0] == "--db":
                continue
            ann = _annotation(p)
            typed = isinstance(ann, type) and issubclass(ann, int | float | enum.Enum)
            named = p.opts[0] in ("--at", "--from", "--to", "--since", "--start", "--end")
            named = named or p.opts[0] in ("--replay-at", "--windows", "--period", "--step")
            if typed or named or _is_path(p):
                cases.append((path, cmd, p.opts[0]))
    return cases


VALUE_CASES = _value_cases()


@pytest.mark.parametrize(
    ("path", "cmd", "option"),
    VALUE_CASES,
    ids=[f"{' '.join(p)} {o}" for p, _, o in VALUE_CASES],
)
def test_bad_option_values(
    path: tuple[str, ...],
    cmd: Any,
    option: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(tmp_path)
    param = next(p for p in cmd.params if p.opts[0] == option)
    value = f"/nonexistent-slm-test/{BOGUS}.yaml" if _is_path(param) else BOGUS
    code, out, err = run(
        [*path, *base_args(path, cmd, skip=option), option, value], capsys, monkeypatch
    )
    assert code != 0, (out, err)
    assert "Traceback" not in err and "Traceback" not in out
    flat = _flat(err)
    # The message names the bad value, or what failed before it was reached.
    assert BOGUS in flat or option in flat or "nonexistent-slm-test" in flat, err


def test_the_walk_covers_the_commands() -> None:
    names = {" ".join(p) for p, _ in COMMANDS}
    assert {"evaluate", "rules generate", "sla statement", "incident export"} <= names
    assert len(COMMANDS) >= 40
    assert len(VALUE_CASES) >= 40
