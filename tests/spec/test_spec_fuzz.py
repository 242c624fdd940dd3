"""A spec fuzzer: the example workspace, mutated (fields dropped, wrong types, extreme
numbers, unicode, aliases, deep nesting, long text), is validated in-process.

Whatever the spec, ``slm validate`` exits 0 or 1, never prints a traceback or an internal
error, and stays within a generous time and memory bound. Derandomized (a fixed sequence
of examples), so a failure reproduces; about 40 examples, well under a minute.
"""

from __future__ import annotations

import copy
import shutil
import sys
import time
import tracemalloc
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"
FILES = sorted(
    p.relative_to(EXAMPLES)
    for folder in ("shop", "agreements", "probes", "components", "sloth", "prometheus")
    for p in (EXAMPLES / folder).glob("*.yaml")
)
DOCS = {rel: list(yaml.safe_load_all((EXAMPLES / rel).read_text())) for rel in FILES}

MAX_SECONDS = 60  # per example; a healthy one takes well under a second
MAX_PEAK_BYTES = 256 * 1024 * 1024  # Python allocations while validating one example

ODD_VALUES: list[Any] = [
    None,
    True,
    False,
    0,
    -1,
    2**63,
    10**30,
    -(10**30),
    1e308,
    -1e308,
    float("inf"),
    float("nan"),
    0.5,
    "",
    " ",
    "soon",
    "0s",
    "-1m",
    "999999999999d",
    "1000000000d",
    "1s",
    "FREQ=SECONDLY",
    "FREQ=MINUTELY;BYMONTH=2;BYMONTHDAY=30",
    "/dev/zero",
    "\u202egnp.exe",
    "名前",
    "é" * 3,
    "\x00",
    "{{ 'x' * 3000000000 }}",
    "x" * 10_000,
    [],
    [1],
    [None, {}],
    {},
    {"a": {"b": {"c": [1, 2, 3]}}},
]


def paths(data: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every path to a value inside a document (not the document itself)."""
    out: list[tuple[Any, ...]] = []
    items = (
        data.items()
        if isinstance(data, dict)
        else enumerate(data)
        if isinstance(data, list)
        else []
    )
    for k, v in items:
        out.append((*prefix, k))
        out += paths(v, (*prefix, k))
    return out


def nested(depth: int) -> Any:
    value: Any = "leaf"
    for _ in range(depth):
        value = [value]
    return value


@st.composite
def mutation(draw: st.DrawFn) -> tuple[Path, str]:
    """One example file, mutated, as text."""
    rel = draw(st.sampled_from(FILES))
    docs = copy.deepcopy(DOCS[rel])
    kind = draw(st.sampled_from(["drop", "replace", "replace", "nest", "rename", "text"]))
    if kind == "text":  # damage the text: aliases, an alias bomb, a cut, a tab, BOM
        text = (EXAMPLES / rel).read_text()
        how = draw(st.sampled_from(["bomb", "alias", "cut", "tab", "bom", "flow", "dup"]))
        if how == "bomb":
            lines = ["l0: &l0 [x, x, x, x, x, x, x, x, x, x]"]
            lines += [f"l{i}: &l{i} [" + ", ".join([f"*l{i - 1}"] * 10) + "]" for i in range(1, 9)]
            return rel, text + "---\n" + "\n".join(lines) + "\n"
        if how == "alias":
            return rel, text.replace("spec:", "spec: &s", 1).replace("metadata:", "metadata: *s", 1)
        if how == "cut":
            at = draw(st.integers(0, len(text)))
            return rel, text[:at]
        if how == "tab":
            return rel, text.replace("  ", "\t", draw(st.integers(1, 3)))
        if how == "bom":
            return rel, "\ufeff" + text
        if how == "flow":
            return rel, text + "---\n" + "a: [" + ",".join(["1"] * 210_000) + "]\n"
        return rel, text + text  # every object defined twice
    i = draw(st.integers(0, len(docs) - 1))
    candidates = paths(docs[i])
    if not candidates:
        return rel, yaml.safe_dump_all(docs, allow_unicode=True)
    path = draw(st.sampled_from(candidates))
    parent = docs[i]
    for key in path[:-1]:
        parent = parent[key]
    last = path[-1]
    if kind == "drop":
        del parent[last]
    elif kind == "replace":
        parent[last] = draw(st.sampled_from(ODD_VALUES))
    elif kind == "nest":
        parent[last] = nested(draw(st.sampled_from([10, 63, 64, 120])))
    elif isinstance(parent, dict):  # rename a key: a typo, or unicode
        parent[draw(st.sampled_from(["spec ", "Spec", "spéc", "名前", "metadata\u200b"]))] = (
            parent.pop(last)
        )
    return rel, yaml.safe_dump_all(docs, allow_unicode=True, width=10**9)


def validate(
    ws: Path, capsys: pytest.CaptureFixture[str], mp: pytest.MonkeyPatch
) -> tuple[int, str]:
    from slm.cli import main

    mp.setattr(sys, "argv", ["slm", "validate", str(ws)])
    try:
        main()
        code = 0
    except SystemExit as e:
        code = e.code if isinstance(e.code, int) else int(e.code is not None)
    captured = capsys.readouterr()
    return code, captured.out + captured.err


@settings(
    max_examples=40,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(case=mutation())
def test_validate_any_mutation_of_the_examples(
    case: tuple[Path, str],
    tmp_path_factory: pytest.TempPathFactory,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    rel, text = case
    ws = tmp_path_factory.mktemp("fuzz") / "examples"
    shutil.copytree(EXAMPLES, ws, ignore=shutil.ignore_patterns("*.parquet"))
    (ws / rel).write_text(text, encoding="utf-8")
    target = ws / rel.parts[0] if rel.parts[0] in ("sloth", "prometheus") else ws
    tracemalloc.start()
    t0 = time.monotonic()
    try:
        code, output = validate(target, capsys, monkeypatch)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    elapsed = time.monotonic() - t0
    assert code in (0, 1), output
    assert "Traceback" not in output and "internal error" not in output, output
    assert elapsed < MAX_SECONDS, f"{rel}: {elapsed:.1f}s"
    assert peak < MAX_PEAK_BYTES, f"{rel}: {peak / 2**20:.0f} MiB"
