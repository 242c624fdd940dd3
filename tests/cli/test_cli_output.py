"""``-o/--output`` is one shared option: checked before any work, written atomically,
refused with a usage error (exit 2) naming the path and the problem."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
import typer

from slm.cli import app
from slm.cli.errors import OutputError
from slm.cli.output import _check, write_atomically

ROOT = Path(__file__).resolve().parents[2]
RULES_SPEC = ROOT / "tests" / "rules" / "specs" / "promtool-shop.yaml"


def slm(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "slm", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env={**os.environ, "COLUMNS": "200", "TERMINAL_WIDTH": "200"},
        timeout=120,
    )


def _leaves(command: object, prefix: tuple[str, ...] = ()) -> list[tuple[tuple[str, ...], object]]:
    subs = getattr(command, "commands", None)
    if subs is None:
        return [(prefix, command)]
    return [leaf for name, sub in subs.items() for leaf in _leaves(sub, (*prefix, name))]


def output_commands() -> list[tuple[str, ...]]:
    root = typer.main.get_command(app)
    return [
        path
        for path, cmd in _leaves(root)
        if any("--output" in p.opts for p in cmd.params)  # type: ignore[attr-defined]
    ]


def test_every_output_option_is_the_shared_one() -> None:
    root = typer.main.get_command(app)
    found = 0
    for path, cmd in _leaves(root):
        for p in cmd.params:  # type: ignore[attr-defined]
            if "--output" in p.opts or "-o" in p.opts:
                found += 1
                assert set(p.opts) == {"-o", "--output"}, path
                assert p.callback is not None and "_check" in repr(p.callback), path
    assert found >= 4


# Arguments that get each -o command past parsing (the output check comes first anyway).
ARGS: dict[tuple[str, ...], list[str]] = {
    ("rules", "generate"): [str(RULES_SPEC)],
    ("convert",): [str(RULES_SPEC)],
    ("incident", "export"): ["--format", "jira"],
    ("incident", "downtime"): ["--service", "checkout", "--period", "2026-10"],
    ("sla", "statement"): ["examples", "--agreement", "acme-checkout-sla", "--period", "2026-10"],
}


@pytest.mark.parametrize("command", output_commands(), ids=" ".join)
@pytest.mark.parametrize("case", ["directory", "missing-folder", "file-as-folder"])
def test_bad_output_paths_are_usage_errors(
    tmp_path: Path, command: tuple[str, ...], case: str
) -> None:
    (tmp_path / "plain").write_text("x")
    target, problem = {
        "directory": (tmp_path, "is a directory"),
        "missing-folder": (tmp_path / "nope" / "out.txt", "does not exist"),
        "file-as-folder": (tmp_path / "plain" / "out.txt", "is not a folder"),
    }[case]
    assert command in ARGS, f"give {command} arguments in ARGS"
    # --db in tmp_path: nothing reaches a real store before the output check.
    extra = ["--db", f"sqlite:///{tmp_path / 'slm.db'}"] if command[0] == "incident" else []
    r = slm(*command, *ARGS[command], *extra, "-o", str(target), cwd=ROOT)
    assert r.returncode == 2, (r.stdout, r.stderr)
    assert "Traceback" not in r.stderr
    flat = " ".join(r.stderr.replace("│", " ").split())
    assert str(target) in flat and problem in flat, r.stderr
    assert r.stdout == ""
    assert sorted(p.name for p in tmp_path.iterdir()) == ["plain"]  # nothing half-written


def test_statement_table_goes_to_the_output_file(tmp_path: Path, examples_dir: Path) -> None:
    # Before: the table format printed to stdout and ignored -o (exit 0, no file).
    out = tmp_path / "statement.txt"
    r = slm(
        "sla", "statement", "examples", "--agreement", "acme-checkout-sla", "--period", "2026-10",
        "-o", str(out), cwd=ROOT,
    )  # fmt: skip
    assert r.returncode == 0, r.stderr
    assert r.stdout == ""
    assert f"wrote {out}" in r.stderr
    text = out.read_text(encoding="utf-8")
    assert "checkout-availability" in text
    assert "\x1b[" not in text  # plain text, no colour codes
    assert all(line == line.rstrip() for line in text.splitlines())


def test_incident_export_writes_through_the_helper(tmp_path: Path) -> None:
    out = tmp_path / "incidents.json"
    db = f"sqlite:///{tmp_path / 's.db'}"
    assert slm("db", "upgrade", "--db", db).returncode == 0
    r = slm("incident", "export", "--format", "jira", "--db", db, "-o", str(out))
    assert r.returncode == 0, r.stderr
    assert r.stdout == ""
    assert f"wrote {out}" in r.stderr
    assert json.loads(out.read_text()) == json.loads(
        slm("incident", "export", "--format", "jira", "--db", db).stdout
    )


def test_write_keeps_the_mode_of_an_existing_file_and_leaves_no_temporary(tmp_path: Path) -> None:
    target = tmp_path / "rules.yaml"
    target.write_text("old")
    target.chmod(0o640)
    write_atomically(target, "new")
    assert target.read_text() == "new"
    assert stat.S_IMODE(target.stat().st_mode) == 0o640
    assert [p.name for p in tmp_path.iterdir()] == ["rules.yaml"]


def test_a_new_file_is_readable_by_others_per_umask(tmp_path: Path) -> None:
    # mkstemp makes 0600 files: Prometheus could not read rules written that way.
    old = os.umask(0o022)
    try:
        write_atomically(tmp_path / "new.yaml", "x")
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "new.yaml").stat().st_mode) == 0o644


def test_a_link_is_followed_and_kept(tmp_path: Path) -> None:
    real = tmp_path / "real.yaml"
    real.write_text("old")
    link = tmp_path / "link.yaml"
    link.symlink_to(real)
    write_atomically(link, "new")
    assert link.is_symlink()
    assert real.read_text() == "new"


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes anywhere")
def test_a_read_only_folder_is_refused(tmp_path: Path) -> None:
    folder = tmp_path / "ro"
    folder.mkdir()
    folder.chmod(0o500)
    try:
        with pytest.raises(OutputError, match="permission denied"):
            write_atomically(folder / "x.yaml", "x")
        with pytest.raises(typer.BadParameter, match="permission denied"):
            _check(folder / "x.yaml")
    finally:
        folder.chmod(0o700)


def test_a_failed_write_leaves_the_old_file_and_no_temporary(tmp_path: Path) -> None:
    target = tmp_path / "rules.yaml"
    target.write_text("old")
    with pytest.raises(UnicodeEncodeError):
        write_atomically(target, "\ud800")  # a lone surrogate cannot be encoded
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["rules.yaml"]


def test_device_targets_are_written_in_place() -> None:
    write_atomically(Path(os.devnull), "discarded")
    assert Path(os.devnull).exists() and not Path(os.devnull).is_file()
