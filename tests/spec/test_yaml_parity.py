"""The libyaml-based reader gives the same data and lines as ruamel's round-trip loader.

ruamel (YAML 1.2, round trip) was the reader before; it is the reference here for every
YAML file in the repository and for the scalar forms where YAML 1.1 and 1.2 differ.
"""

from __future__ import annotations

import math
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pytest
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import YAMLError

from slm.spec.yamlio import FieldPath, parse_file, split_documents

ROOT = Path(__file__).resolve().parents[2]
FILES = sorted(
    p
    for d in ("examples", "tests", "src")
    for p in (ROOT / d).rglob("*.y*ml")
    if p.suffix in (".yaml", ".yml")
)


def reference(text: str) -> list[tuple[Any, dict[FieldPath, int]]]:
    out = []
    for offset, chunk in split_documents(text):
        raw = YAML(typ="rt").load(chunk)
        lines: dict[FieldPath, int] = {}
        data = _ruamel_plain(raw, (), offset, lines)
        lines.setdefault((), offset + 1)
        out.append((data, lines))
    return out


def _ruamel_plain(node: Any, path: FieldPath, offset: int, lines: dict[FieldPath, int]) -> Any:
    if isinstance(node, CommentedMap):
        lines.setdefault(path, offset + node.lc.line + 1)
        out = {}
        for key, value in node.items():
            sub = (*path, str(key))
            lines[sub] = offset + node.lc.key(key)[0] + 1
            out[str(key)] = _ruamel_plain(value, sub, offset, lines)
        return out
    if isinstance(node, CommentedSeq):
        lines.setdefault(path, offset + node.lc.line + 1)
        items = []
        for i, value in enumerate(node):
            lines[(*path, i)] = offset + node.lc.item(i)[0] + 1
            items.append(_ruamel_plain(value, (*path, i), offset, lines))
        return items
    if type(node).__name__ == "ScalarBoolean":
        return bool(node)
    if isinstance(node, datetime):
        return datetime(*node.timetuple()[:6], node.microsecond, tzinfo=node.tzinfo)
    if isinstance(node, date):
        return date(node.year, node.month, node.day)
    for t in (bool, int, float, str):
        if isinstance(node, t):
            return t(node)
    return node


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    if isinstance(a, dict) and isinstance(b, dict):
        return list(a) == list(b) and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    return type(a) is type(b) and a == b


@pytest.mark.parametrize("path", FILES, ids=lambda p: str(p.relative_to(ROOT)))
def test_repository_yaml_reads_as_ruamel_reads_it(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    try:
        expected = reference(text)
    except YAMLError:
        docs, errors = parse_file(str(path), text)
        assert errors, "ruamel refuses this file; so must the reader"
        return
    docs, errors = parse_file(str(path), text)
    assert errors == []
    assert len(docs) == len(expected)
    for doc, (data, lines) in zip(docs, expected, strict=True):
        assert _same(doc.data, data)
        assert doc.lines == lines


SCALARS = """\
yes: yes
on: on
no: no
octal: 0o17
leading_zero: 017
hex: 0x1f
binary: 0b101
underscores: 1_000
negative: -42
float: 1.5
exp: 1e3
half: .5
inf: -.inf
nan: .nan
null: ~
empty:
true_: true
False_: False
date: 2026-10-01
utc: 2026-10-01T00:00:00Z
offset: 2026-10-01T01:00:00+02:00
fraction: 2026-10-01T01:00:00.25-05:30
naive: 2026-10-01 10:00:00
quoted_int: "17"
tagged: !!str 17
version: 1.10
"""


def test_scalars_follow_yaml_1_2_like_ruamel() -> None:
    [doc], errors = parse_file("s.yaml", SCALARS)
    [(data, lines)] = reference(SCALARS)
    assert errors == []
    assert data.pop("tagged").value == "17"  # ruamel keeps explicit tags as TaggedScalar
    assert doc.data.pop("tagged") == "17"
    assert _same(doc.data, data)
    assert doc.data["yes"] == "yes" and doc.data["octal"] == 15 and doc.data["leading_zero"] == 17
    assert doc.data["version"] == 1.1
    assert doc.data["offset"].utcoffset().total_seconds() == 7200
    assert doc.lines == lines


def test_merge_keys_and_aliases() -> None:
    """(ruamel's line table fails with a KeyError on merged keys, so no reference here.)"""
    text = """\
base: &base {a: 1, b: 2}
more: &more {c: 3}
one:
  <<: *base
  b: 20
many:
  <<: [*base, *more]
  d: 4
same: *base
"""
    [doc], errors = parse_file("m.yaml", text)
    assert errors == []
    assert doc.data["one"] == {"b": 20, "a": 1}
    assert doc.data["many"] == {"d": 4, "a": 1, "b": 2, "c": 3}
    assert doc.data["same"] == {"a": 1, "b": 2}


@pytest.mark.parametrize(
    ("text", "line", "message"),
    [
        ("a: 1\nb: 2\na: 3\n", 3, 'duplicate key "a"'),
        ("a: [1, 2\nb: 3\n", 2, "did not find expected ',' or ']'"),
        ("a: &x\n  b: *x\n", 1, "recursive alias"),
        ("a: 1\n  b: 2\n", 2, "mapping values are not allowed"),
        ("a: 2026-13-45\n", 1, "invalid YAML"),
        ("a:\n  <<: [1]\n", 2, "<< merges only mappings"),
    ],
    ids=["duplicate-key", "flow", "recursive-alias", "indent", "bad-date", "bad-merge"],
)
def test_bad_yaml_names_the_line(text: str, line: int, message: str) -> None:
    docs, errors = parse_file("bad.yaml", "kind: x\n---\n" + text)
    assert len(docs) == 1  # the good document before it still reads
    [error] = errors
    assert error.line == line + 2
    assert message in error.message


def test_the_resolver_table_is_ruamels_yaml_1_2_table() -> None:
    """``yamlio`` keeps its own copy of ruamel's YAML 1.2 implicit resolvers (so that
    reading specs does not import ruamel): same tags, patterns, flags, first characters
    and order."""
    from ruamel.yaml.resolver import implicit_resolvers

    from slm.spec.yamlio import _Resolver

    def table(pairs: list[tuple[str, Any]]) -> dict[str, list[tuple[str, str, int]]]:
        out: dict[str, list[tuple[str, str, int]]] = {}
        for first, (tag, regexp) in pairs:
            out.setdefault(first, []).append((tag, regexp.pattern, regexp.flags))
        return out

    theirs = [
        (first, (tag, regexp))
        for versions, tag, regexp, firsts in implicit_resolvers
        if (1, 2) in versions
        for first in firsts
    ]
    resolvers = _Resolver.yaml_implicit_resolvers
    ours = [(first, pair) for first, pairs in resolvers.items() for pair in pairs]
    assert table(ours) == table(theirs)


def test_reading_specs_does_not_import_ruamel(tmp_path: Path) -> None:
    import subprocess
    import sys

    f = tmp_path / "slo.yaml"
    f.write_text("apiVersion: openslo/v1\nkind: Service\nmetadata: {name: web}\nspec: {}\n")
    code = (
        "import sys; from slm.spec.loader import load_workspace; "
        f"load_workspace([{str(f)!r}]); print('ruamel' in sys.modules)"
    )
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert run.stdout.strip() == "False"
