"""Every ``slm`` command in README.md's shell blocks runs as written on the bundled
examples and exits 0, and README.md links only inside the repository."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
SLM = Path(sys.executable).parent / "slm"


def readme_commands() -> list[str]:
    blocks = re.findall(r"```sh\n(.*?)```", README.read_text(encoding="utf-8"), re.S)
    commands = []
    for block in blocks:
        for line in block.splitlines():
            line = line.strip()
            if line.startswith("slm "):
                commands.append(re.sub(r"\s+#.*$", "", line))
    return commands


COMMANDS = readme_commands()


def test_the_readme_has_commands() -> None:
    assert len(COMMANDS) >= 10
    assert any(c.startswith("slm rules generate") for c in COMMANDS)


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory, examples_dir: Path) -> Path:
    """A working folder like the repository root: examples/ and nothing else."""
    d = tmp_path_factory.mktemp("readme")
    (d / "examples").symlink_to(examples_dir)
    return d


@pytest.mark.parametrize("command", COMMANDS)
def test_readme_command_runs_as_written(command: str, workdir: Path) -> None:
    args = shlex.split(command)
    env = {k: v for k, v in os.environ.items() if k not in ("SLM_DB_URL", "SLM_WORKSPACE")}
    r = subprocess.run(
        [str(SLM), *args[1:]], capture_output=True, text=True, cwd=workdir, env=env, timeout=300
    )
    assert r.returncode == 0, f"{command}\n{r.stdout[-2000:]}\n{r.stderr[-2000:]}"
    assert "Traceback" not in r.stderr
    for target in re.findall(r"-o (\S+)", command):
        assert (workdir / target).stat().st_size > 0


def test_readme_links_stay_in_the_repository() -> None:
    text = README.read_text(encoding="utf-8")
    for link in re.findall(r"\]\(([^)]+)\)", text):
        assert "://" not in link and not link.startswith(".."), link
        assert (ROOT / link.split("#")[0]).exists(), link


def test_readme_files_exist() -> None:
    # Before: the README named sloth-slos.yaml and export.csv, which do not exist.
    for command in COMMANDS:
        for word in shlex.split(command):
            if word.startswith("examples/"):
                assert (ROOT / word).exists(), word
