"""Optional extras: the core install (rules, validation, conversion) loads none of the heavy
optional packages, and a command that needs a missing extra says which one to install."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
RULES_SPEC = ROOT / "tests" / "rules" / "specs" / "promtool-shop.yaml"
OPTIONAL = ("pyarrow", "duckdb", "duckdb_engine", "fastapi", "uvicorn", "psycopg", "starlette")

# Runs the slm command line in this interpreter; `blocked` top-level modules fail to import
# as they would when their extra is not installed; prints the optional modules loaded.
RUNNER = """
import importlib.abc, json, sys
blocked = set(json.loads(sys.argv[1]))
class Block(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in blocked:
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return None
sys.meta_path.insert(0, Block())
optional = set(json.loads(sys.argv[2]))
sys.argv = ["slm", *sys.argv[3:]]
from slm.cli import main
code = 0
try:
    main()
except SystemExit as e:
    code = e.code if isinstance(e.code, int) else 1
loaded = sorted({m.split(".")[0] for m in sys.modules} & optional)
print("LOADED " + json.dumps(loaded), file=sys.stderr)
sys.exit(code)
"""


def run(*args: str, blocked: tuple[str, ...] = (), cwd: Path = ROOT) -> tuple[int, str, list[str]]:
    r = subprocess.run(
        [sys.executable, "-c", RUNNER, json.dumps(blocked), json.dumps(OPTIONAL), *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env={**os.environ, "COLUMNS": "200"},
        timeout=120,
    )
    lines = r.stderr.splitlines()
    loaded = json.loads(next(x for x in lines if x.startswith("LOADED "))[7:])
    return r.returncode, "\n".join(x for x in lines if not x.startswith("LOADED ")), loaded


@pytest.mark.parametrize(
    "args",
    [
        ("rules", "generate", str(RULES_SPEC)),
        ("validate", "examples"),
        ("convert", str(RULES_SPEC)),
        ("--version",),
    ],
    ids=lambda a: " ".join(a[:2]),
)
def test_core_commands_load_no_optional_package(args: tuple[str, ...]) -> None:
    # Blocked too: the command must also *work* without them, not only not import them.
    code, stderr, loaded = run(*args, blocked=OPTIONAL)
    assert code == 0, stderr
    assert loaded == []


def test_core_dependencies_leave_the_heavy_packages_to_extras() -> None:
    meta = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    core = " ".join(meta["dependencies"]).lower()
    for name in ("pyarrow", "duckdb", "fastapi", "uvicorn", "psycopg"):
        assert name not in core, name
    extras = meta["optional-dependencies"]
    assert {"parquet", "duckdb", "postgres", "server", "all"} <= set(extras)
    assert any("pyarrow" in d for d in extras["parquet"])
    assert any("fastapi" in d for d in extras["server"])
    assert any("psycopg" in d for d in extras["postgres"])


def test_csv_without_pyarrow_names_the_extra(tmp_path: Path) -> None:
    (tmp_path / "m.csv").write_text("timestamp,series,value\n1790812800,s,1\n")
    db = f"sqlite:///{tmp_path / 'slm.db'}"
    code, stderr, _ = run("ingest", str(tmp_path / "m.csv"), "--db", db, blocked=("pyarrow",))
    assert code == 2, stderr
    assert "pip install 'slm[parquet]'" in stderr
    assert "Traceback" not in stderr


def test_serve_without_fastapi_names_the_extra(tmp_path: Path) -> None:
    code, stderr, _ = run("serve", "examples", "--no-probes", blocked=("fastapi", "uvicorn"))
    assert code == 2, stderr
    assert "pip install 'slm[server]'" in stderr
    assert "Traceback" not in stderr


def test_postgres_store_without_psycopg_names_the_extra() -> None:
    code, stderr, _ = run(
        "incident", "list", "--db", "postgresql://nobody@127.0.0.1:9/none", blocked=("psycopg",)
    )
    assert code == 2, stderr
    assert "pip install 'slm[postgres]'" in stderr
