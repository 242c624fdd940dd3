"""Bounded work for any YAML: alias bombs, huge flow lists, deep nesting, huge files and
many documents are refused (or read) in bounded time and memory, with file and line."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from slm.domain.errors import Problem
from slm.spec.problems import Problems
from slm.spec.yamlio import LIMITS, YamlFileError, YamlLimits, parse_file, read_text


def alias_bomb(levels: int) -> str:
    """The billion-laughs shape: each level is ten aliases of the one before."""
    lines = ["l0: &l0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    for i in range(1, levels):
        lines.append(f"l{i}: &l{i} [" + ", ".join([f"*l{i - 1}"] * 10) + "]")
    return "\n".join(lines) + "\n"


def nested(depth: int) -> str:
    return "a: " + "[" * depth + "]" * depth + "\n"


def block_nested(depth: int) -> str:
    return "".join("  " * i + f"k{i}:\n" for i in range(depth)) + "  " * depth + "leaf: 1\n"


def test_an_alias_bomb_is_refused_at_the_alias_that_crosses_the_limit() -> None:
    text = alias_bomb(8)  # 10^8 nodes once expanded, from about 500 bytes
    assert len(text) < 1024
    docs, errors = parse_file("bomb.yaml", text)
    assert docs == []
    assert [(e.path, e.line) for e in errors] == [("bomb.yaml", 6)]  # 10^6 > 200,000 at l5
    assert "more than 200,000 nodes in one file once aliases are expanded" in errors[0].message


def test_aliases_within_the_limit_expand_as_before() -> None:
    docs, errors = parse_file("ok.yaml", alias_bomb(3))
    assert errors == []
    assert len(docs[0].data["l2"]) == 10 and docs[0].data["l2"][9][9] == ["lol"] * 10


def test_the_number_of_aliases_is_limited() -> None:
    text = "a: &a x\nb: [*a, *a, *a, *a]\n"
    limits = YamlLimits(max_aliases=3)
    _, errors = parse_file("f.yaml", text, limits)
    assert [(e.line, e.message.split(" (")[0]) for e in errors] == [
        (2, "invalid YAML: more than 3 aliases in one file")
    ]
    assert parse_file("f.yaml", text, YamlLimits(max_aliases=4))[1] == []


def test_a_huge_flow_list_is_refused_before_it_is_composed() -> None:
    text = "a: [" + ",".join(["1"] * (LIMITS.max_nodes + 10)) + "]\n"
    docs, errors = parse_file("flow.yaml", text)
    assert docs == [] and [e.line for e in errors] == [1]
    assert "more than 200,000 nodes in one file" in errors[0].message


def test_nodes_are_counted_over_all_documents_of_a_file_and_the_rest_is_not_read() -> None:
    text = "---\na: [1, 2, 3]\n" * 5  # 5 nodes per document
    docs, errors = parse_file("f.yaml", text, YamlLimits(max_nodes=12))
    assert len(docs) == 2
    assert [e.line for e in errors] == [6]  # the third document crosses 12; no more errors


@pytest.mark.parametrize("make", [nested, block_nested])
def test_nesting_is_limited_with_the_line_where_it_gets_too_deep(make: object) -> None:
    assert callable(make)
    ok, errors = parse_file("deep.yaml", make(LIMITS.max_depth - 1))  # + the top mapping
    assert errors == [] and ok
    for depth in (LIMITS.max_depth, 960, 5000 if make is nested else 1500):
        docs, errors = parse_file("deep.yaml", make(depth))
        assert docs == [] and len(errors) == 1 and errors[0].line is not None
        assert "nest" in errors[0].message  # ours, or libyaml's own limit at 1000
    _, errors = parse_file("deep.yaml", block_nested(200))
    assert errors[0].line == LIMITS.max_depth + 1
    assert "nested deeper than 64 levels" in errors[0].message


def test_an_alias_counts_the_depth_of_what_it_stands_for() -> None:
    inner = "[" * 40 + "]" * 40
    text = f"a: &a {inner}\nb: [[[[[[[[[[[[[[[[[[[[[[[[[[[[[[*a]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]\n"
    _, errors = parse_file("f.yaml", text)
    assert [e.line for e in errors] == [2] and "nested deeper" in errors[0].message


def test_a_file_over_the_size_limit_is_not_read(tmp_path: Path) -> None:
    f = tmp_path / "big.yaml"
    f.write_text("a: 1\n" * 10 + "# " + "x" * 100 + "\n")
    with pytest.raises(YamlFileError) as e:
        read_text(f, YamlLimits(max_bytes=60))
    assert e.value.line == 11 and "larger than the limit of 60 bytes" in e.value.message
    assert read_text(f, YamlLimits(max_bytes=200)).startswith("a: 1")
    _, errors = parse_file(str(f), f.read_text(), YamlLimits(max_bytes=60))
    assert [e.line for e in errors] == [11]


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs FIFOs")
def test_devices_and_fifos_are_not_read(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe.yaml"
    os.mkfifo(fifo)
    with pytest.raises(YamlFileError, match="not a regular file"):
        read_text(fifo)  # opening a FIFO without a writer would block: it is never opened
    with pytest.raises(YamlFileError, match="not a regular file"):
        read_text("/dev/zero")


def test_problems_are_deduplicated_in_linear_time() -> None:
    """Adding n problems compares O(n) times (it was n²/2: 20k documents took 38 s)."""
    compared = [0]

    class Counted(Problem):
        def __eq__(self, other: object) -> bool:
            compared[0] += 1
            return super().__eq__(other)

        __hash__ = Problem.__hash__

    problems = Problems()
    n = 20_000
    for i in range(n):
        problems.add(Counted("f.yaml", i, "", "", "apiVersion", "required field missing"))
    for i in range(0, n, 2):  # repeats are dropped
        problems.add(Counted("f.yaml", i, "", "", "apiVersion", "required field missing"))
    problems.add(Counted("f.yaml", 1, "", "", "apiVersion", "x", severity="warning"))
    assert len(problems.items) == n and len(problems.warnings) == 1
    assert compared[0] <= 2 * n


def run_validate(
    args: list[str], capsys: pytest.CaptureFixture[str], mp: pytest.MonkeyPatch
) -> tuple[int, str]:
    from slm.cli import main

    mp.setattr(sys, "argv", ["slm", "validate", *args])
    mp.setenv("COLUMNS", "200")
    try:
        main()
        code = 0
    except SystemExit as e:
        code = e.code if isinstance(e.code, int) else int(e.code is not None)
    captured = capsys.readouterr()
    return code, captured.out + captured.err


def test_validate_refuses_hostile_yaml_with_located_errors(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "bomb.yaml").write_text("apiVersion: openslo/v1\n" + alias_bomb(8))
    (tmp_path / "deep.yaml").write_text("apiVersion: openslo/v1\n" + nested(960))
    (tmp_path / "big.yaml").write_text("apiVersion: openslo/v1\n# " + "x" * (5 << 20) + "\n")
    code, output = run_validate([str(tmp_path)], capsys, monkeypatch)
    assert code == 1, output
    assert f"{tmp_path / 'bomb.yaml'}:7: -: -: invalid YAML: more than 200,000 nodes" in output
    assert f"{tmp_path / 'deep.yaml'}:2: -: -: invalid YAML: nested deeper than 64" in output
    assert f"{tmp_path / 'big.yaml'}:2: -: -: file larger than the limit of 4 MiB" in output
    assert "3 problem(s) in 3 file(s)" in output
    assert "Traceback" not in output and "internal error" not in output


def test_validate_reports_twenty_thousand_bad_documents(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    f = tmp_path / "many.yaml"
    f.write_text("---\na: 1\n" * 20_000)
    code, output = run_validate([str(f)], capsys, monkeypatch)
    assert code == 1
    assert output.count("apiVersion: required field missing") == 20_000
    assert "20000 problem(s) in 1 file(s)" in output
