"""Reading YAML so that every object and field keeps its line.

A file is split into its documents first (so one broken document does not hide the
problems of the others, and each document keeps its own text and hash); each document is
parsed into plain Python data plus an index from field path to 1-based line number.

Parsing uses libyaml (PyYAML's C parser) to compose the node graph, with marks, and
resolves plain scalars by the YAML 1.2 core schema as ruamel does (``yes`` and ``on``
are strings, ``0o17`` is octal, ``2026-10-01`` a date): the pure-Python round-trip parser
took 4 ms per SLO, libyaml about a tenth of that. Duplicate keys are errors, ``<<``
merges are honoured, and recursive aliases are refused. ruamel still writes YAML
(``dump_documents``); reading does not import it: ``_IMPLICIT`` below is its YAML 1.2
resolver table (``tests/spec/test_yamlio.py`` checks that they agree).

Work is bounded for any input (``YamlLimits``): a file larger than ``max_bytes`` is not
read; before a document is composed, one streaming pass over libyaml's events counts its
nodes as they would be after alias expansion, its aliases and its nesting depth, and a
file over a limit is refused at the line where the limit is crossed. An alias bomb (a
kilobyte of nested aliases that expands to billions of nodes) therefore costs a
kilobyte's parse, not the expansion.
"""

from __future__ import annotations

import hashlib
import os
import re
import stat
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone, tzinfo
from pathlib import Path
from typing import Any

import yaml
from yaml._yaml import CParser
from yaml.events import (
    AliasEvent,
    MappingEndEvent,
    MappingStartEvent,
    ScalarEvent,
    SequenceEndEvent,
    SequenceStartEvent,
)
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

FieldPath = tuple[str | int, ...]

_SEPARATOR = re.compile(r"^---(\s|$)")


@dataclass(frozen=True)
class YamlLimits:
    """What one YAML file may hold. Each limit is far above any real spec file (the
    bundled examples have at most a few hundred nodes per file) and low enough that
    reading a file costs at most about a second and a few hundred megabytes."""

    max_bytes: int = 4 * 1024 * 1024  # the file's size
    max_nodes: int = 200_000  # scalars, sequences and mappings, counted after alias expansion
    max_aliases: int = 10_000  # ``*name`` references
    max_depth: int = 64  # nesting of sequences and mappings, after alias expansion


LIMITS = YamlLimits()


@dataclass(frozen=True)
class YamlDocument:
    """One YAML document of a file: its text, hash, data and field lines."""

    path: str
    start_line: int  # 1-based line of the document's first line in the file
    text: str
    data: Any
    lines: dict[FieldPath, int] = field(default_factory=dict)

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.text.encode("utf-8")).hexdigest()

    def line_of(self, path: FieldPath) -> int | None:
        """Line of the longest known prefix of ``path``."""
        for n in range(len(path), -1, -1):
            line = self.lines.get(path[:n])
            if line is not None:
                return line
        return None


@dataclass(frozen=True)
class YamlSyntaxError:
    path: str
    line: int | None
    message: str


def split_documents(text: str) -> list[tuple[int, str]]:
    """(0-based first line, text) of each document, without the ``---`` separator line."""
    lines = text.splitlines(keepends=True)
    chunks: list[tuple[int, str]] = []
    start, buf = 0, list[str]()
    for i, line in enumerate(lines):
        if _SEPARATOR.match(line):
            chunks.append((start, "".join(buf)))
            start, buf = i + 1, []
            rest = line[3:].strip()
            if rest and not rest.startswith("#"):  # `--- {a: 1}` keeps its content
                start, buf = i, [" " * 3 + line[3:]]
        else:
            buf.append(line)
    chunks.append((start, "".join(buf)))
    return [(s, t) for s, t in chunks if _has_content(t)]


def _has_content(text: str) -> bool:
    for line in text.splitlines():
        s = line.strip()
        if s and not s.startswith("#") and s != "...":
            return True
    return False


_IMPLICIT: tuple[tuple[str, str, int, str], ...] = (
    # (tag, pattern, re flags, first characters): ruamel.yaml's implicit resolvers for
    # YAML 1.2 (the core schema, and the tags of ``<<``, ``=``, ``!``, ``&`` and ``*``)
    ("bool", r"^(?:true|True|TRUE|false|False|FALSE)$", re.X, "tTfF"),
    (
        "float",
        r"""^(?:
         [-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+]?[0-9]+)?
        |[-+]?(?:[0-9][0-9_]*)(?:[eE][-+]?[0-9]+)
        |[-+]?\.[0-9_]+(?:[eE][-+][0-9]+)?
        |[-+]?\.(?:inf|Inf|INF)
        |\.(?:nan|NaN|NAN))$""",
        re.X,
        "-+0123456789.",
    ),
    (
        "int",
        r"""^(?:[-+]?0b[0-1_]+
        |[-+]?0o?[0-7_]+
        |[-+]?[0-9_]+
        |[-+]?0x[0-9a-fA-F_]+)$""",
        re.X,
        "-+0123456789",
    ),
    ("merge", r"^(?:<<)$", 0, "<"),
    (
        "null",
        r"""^(?: ~
        |null|Null|NULL
        | )$""",
        re.X,
        "~nN",  # and the empty scalar (below)
    ),
    (
        "timestamp",
        r"""^(?:[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]
        |[0-9][0-9][0-9][0-9] -[0-9][0-9]? -[0-9][0-9]?
        (?:[Tt]|[ \t]+)[0-9][0-9]?
        :[0-9][0-9] :[0-9][0-9] (?:\.[0-9]*)?
        (?:[ \t]*(?:Z|[-+][0-9][0-9]?(?::[0-9][0-9])?))?)$""",
        re.X,
        "0123456789",
    ),
    ("value", r"^(?:=)$", 0, "="),
    ("yaml", r"^(?:!|&|\*)$", 0, "!&*"),
)


class _Resolver(yaml.resolver.BaseResolver):
    """YAML 1.2 core schema implicit tags (ruamel's table), for libyaml's composer."""


for _tag, _pattern, _flags, _first in _IMPLICIT:
    _Resolver.add_implicit_resolver(
        "tag:yaml.org,2002:" + _tag,
        re.compile(_pattern, _flags),
        [*_first, *([""] if _tag == "null" else [])],
    )


class _Composer(CParser, _Resolver):
    def __init__(self, text: str) -> None:
        CParser.__init__(self, text)
        _Resolver.__init__(self)


class _Refused(Exception):
    """A document libyaml composes but slm refuses: a duplicate key, a recursive alias, a
    merge of something other than mappings (0-based ``line`` within the document)."""

    def __init__(self, line: int, message: str):
        self.line = line
        self.message = message


class YamlFileError(Exception):
    """A YAML file that cannot be read as text: missing, not a regular file, too large or
    not UTF-8 (``line`` is where the size limit is crossed, when that is the reason)."""

    def __init__(self, path: str, message: str, line: int | None = None):
        super().__init__(message)
        self.path = path
        self.line = line
        self.message = message


def read_text(path: str | Path, limits: YamlLimits = LIMITS) -> str:
    """The text of a YAML file, read only when it is a regular file of at most
    ``limits.max_bytes`` (a device or a FIFO would never end)."""
    p = Path(path)
    try:
        # O_NONBLOCK: opening a FIFO must not wait for a writer; it is refused below
        fd = os.open(p, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
        with os.fdopen(fd, "rb") as f:
            if not stat.S_ISREG(os.fstat(fd).st_mode):
                raise YamlFileError(str(p), "cannot read file: not a regular file")
            raw = f.read(limits.max_bytes + 1)
    except OSError as e:
        raise YamlFileError(str(p), f"cannot read file: {e.strerror or e}") from None
    if len(raw) > limits.max_bytes:
        line = raw.count(b"\n", 0, limits.max_bytes) + 1
        raise YamlFileError(
            str(p), f"file larger than the limit of {_size(limits.max_bytes)} for YAML files", line
        )
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as e:
        line = raw.count(b"\n", 0, e.start) + 1
        raise YamlFileError(str(p), "cannot read file: not UTF-8 text", line) from None


def _size(n: int) -> str:
    return f"{n // (1024 * 1024)} MiB" if n % (1024 * 1024) == 0 else f"{n} bytes"


@dataclass
class _Budget:
    """What is left of a file's limits while its documents are measured one by one."""

    limits: YamlLimits
    nodes: int = 0
    aliases: int = 0


def _measure(chunk: str, budget: _Budget) -> None:
    """Count the nodes a document expands to, its aliases and its depth from libyaml's
    event stream, without composing it; ``_OverLimit`` at the event that crosses a limit.

    An anchored node's expanded size and height are remembered by anchor name, so an
    alias adds the size of what it stands for in constant time. Scanner errors are
    ``yaml.MarkedYAMLError`` as from composing."""
    lim = budget.limits
    sizes: dict[str, tuple[int, int]] = {}  # anchor -> (expanded nodes, height)
    # per open collection: [expanded nodes so far, tallest child's height, anchor]
    stack: list[list[Any]] = [[0, 0, None]]
    parser = CParser(chunk)
    try:
        while True:
            event: Any = parser.get_event()  # the stubs know only the events' base class
            if event is None:
                break
            kind = type(event)
            if kind is ScalarEvent:
                nodes, height = 1, 0
                if event.anchor is not None:
                    sizes[event.anchor] = (1, 0)
            elif kind is MappingStartEvent or kind is SequenceStartEvent:
                nodes, height = 1, 1
            elif kind is MappingEndEvent or kind is SequenceEndEvent:
                nodes, tallest, anchor = stack.pop()
                _add(stack[-1], nodes, tallest + 1)
                if anchor is not None:
                    sizes[anchor] = (nodes, tallest + 1)
                continue
            elif kind is AliasEvent:
                budget.aliases += 1
                if budget.aliases > lim.max_aliases:
                    raise _OverLimit(
                        _line(event), f"more than {lim.max_aliases:,} aliases in one file"
                    )
                nodes, height = sizes.get(event.anchor, (1, 0))  # unknown: compose says why
            else:
                continue  # stream and document events
            budget.nodes += nodes
            if budget.nodes > lim.max_nodes:
                expanded = " once aliases are expanded" if budget.aliases else ""
                raise _OverLimit(
                    _line(event), f"more than {lim.max_nodes:,} nodes in one file{expanded}"
                )
            if len(stack) - 1 + height > lim.max_depth:
                raise _OverLimit(_line(event), f"nested deeper than {lim.max_depth} levels")
            if kind is MappingStartEvent or kind is SequenceStartEvent:
                stack.append([1, 0, event.anchor])
            else:
                _add(stack[-1], nodes, height)
    finally:
        parser.dispose()


def _line(event: Any) -> int:
    return event.start_mark.line if event.start_mark is not None else 0


def _add(frame: list[Any], nodes: int, height: int) -> None:
    frame[0] += nodes
    frame[1] = max(frame[1], height)


class _OverLimit(_Refused):
    """A document over one of the file's ``YamlLimits``: the rest of the file is not read."""

    def __init__(self, line: int, message: str):
        super().__init__(line, f"invalid YAML: {message} (a limit of slm's YAML reader)")


def parse_file(
    path: str, text: str, limits: YamlLimits = LIMITS
) -> tuple[list[YamlDocument], list[YamlSyntaxError]]:
    docs: list[YamlDocument] = []
    errors: list[YamlSyntaxError] = []
    budget = _Budget(limits)
    if len(text) > limits.max_bytes:  # text from elsewhere than read_text
        line = text.count("\n", 0, limits.max_bytes) + 1
        msg = f"file larger than the limit of {_size(limits.max_bytes)} for YAML files"
        return [], [YamlSyntaxError(path, line, msg)]
    for offset, chunk in split_documents(text):
        composer: _Composer | None = None
        try:
            _measure(chunk, budget)
            composer = _Composer(chunk)
            node = composer.get_single_node()
            lines: dict[FieldPath, int] = {}
            data = _plain(node, (), offset, lines, ()) if node is not None else None
        except yaml.MarkedYAMLError as e:
            mark = e.problem_mark or e.context_mark
            line = offset + mark.line + 1 if mark is not None else offset + 1
            errors.append(YamlSyntaxError(path, line, _yaml_message(e)))
            continue
        except _Refused as e:
            errors.append(YamlSyntaxError(path, offset + e.line + 1, e.message))
            if isinstance(e, _OverLimit):
                break
            continue
        except (yaml.YAMLError, ValueError) as e:
            errors.append(YamlSyntaxError(path, offset + 1, f"invalid YAML: {e}"))
            continue
        finally:
            if composer is not None:
                composer.dispose()
        lines.setdefault((), offset + 1)
        docs.append(YamlDocument(path, offset + 1, chunk, data, lines))
    return docs, errors


def _yaml_message(e: yaml.MarkedYAMLError) -> str:
    parts = [p for p in (e.context, e.problem) if p]
    return "invalid YAML: " + (", ".join(parts) if parts else "cannot parse")


_TAG = "tag:yaml.org,2002:"


def _plain(
    node: Node,
    path: FieldPath,
    offset: int,
    lines: dict[FieldPath, int],
    stack: tuple[int, ...],
) -> Any:
    """Composed nodes -> plain dict/list/scalars, recording lines in ``lines``."""
    if isinstance(node, ScalarNode):
        return _scalar(node)
    if id(node) in stack:
        raise _Refused(node.start_mark.line, "invalid YAML: a recursive alias")
    stack = (*stack, id(node))
    lines.setdefault(path, offset + node.start_mark.line + 1)
    if isinstance(node, SequenceNode):
        items: list[Any] = []
        for i, value in enumerate(node.value):
            sub = (*path, i)
            lines[sub] = offset + value.start_mark.line + 1
            items.append(_plain(value, sub, offset, lines, stack))
        return items
    if not isinstance(node, MappingNode):  # pragma: no cover - composer yields only these
        raise ValueError(f"unexpected node {node!r}")
    out: dict[str, Any] = {}
    merged: list[tuple[Node, Node]] = []
    for key, value in node.value:
        if key.tag == _TAG + "merge":
            merged += _merge_pairs(value)
            continue
        k = str(_plain(key, path, offset, {}, stack))
        if k in out:
            raise _Refused(
                key.start_mark.line, f'invalid YAML: found duplicate key "{k}" in a mapping'
            )
        sub = (*path, k)
        lines[sub] = offset + key.start_mark.line + 1
        out[k] = _plain(value, sub, offset, lines, stack)
    for key, value in merged:  # explicit keys win over merged ones, earlier merges first
        k = str(_plain(key, path, offset, {}, stack))
        if k not in out:
            sub = (*path, k)
            lines[sub] = offset + key.start_mark.line + 1
            out[k] = _plain(value, sub, offset, lines, stack)
    return out


def _merge_pairs(value: Node) -> list[tuple[Node, Node]]:
    maps = value.value if isinstance(value, SequenceNode) else [value]
    pairs: list[tuple[Node, Node]] = []
    for m in maps:
        if not isinstance(m, MappingNode):
            raise _Refused(m.start_mark.line, "invalid YAML: << merges only mappings")
        pairs += m.value
    return pairs


_TIMESTAMP = re.compile(
    r"^(\d{4})-(\d{1,2})-(\d{1,2})"
    r"(?:(?:[Tt]|[ \t]+)(\d{1,2}):(\d{2}):(\d{2})(?:\.(\d*))?"
    r"(?:[ \t]*(Z|[-+]\d{1,2}(?::?\d{2})?))?)?$"
)


def _scalar(node: ScalarNode) -> Any:
    value: str = node.value
    tag = node.tag.removeprefix(_TAG)
    if tag == "null":
        return None
    if tag == "bool":
        return value.lower() == "true"
    if tag == "int":
        return _int(value)
    if tag == "float":
        return _float(value)
    if tag == "timestamp":
        return _timestamp(value)
    return value


def _int(text: str) -> int:
    t = text.replace("_", "")
    sign = -1 if t.startswith("-") else 1
    t = t.lstrip("+-")
    for prefix, base in (("0b", 2), ("0o", 8), ("0x", 16)):
        if t.startswith(prefix):
            return sign * int(t[2:], base)
    return sign * int(t)


def _float(text: str) -> float:
    t = text.replace("_", "").lower()
    if t.endswith(".inf"):
        return float("-inf") if t.startswith("-") else float("inf")
    if t.endswith(".nan"):
        return float("nan")
    return float(t)


def _timestamp(text: str) -> date | datetime:
    m = _TIMESTAMP.match(text)
    if m is None:
        raise ValueError(f"not a timestamp: {text!r}")
    year, month, day, hour, minute, second, fraction, zone = m.groups()
    if hour is None:
        return date(int(year), int(month), int(day))
    micro = int((fraction or "").ljust(6, "0")[:6])
    tz: tzinfo | None = None
    if zone == "Z":
        tz = timezone(timedelta(0), "Z")
    elif zone:
        hours, _, minutes = zone[1:].partition(":")
        if not minutes and len(hours) > 2:
            hours, minutes = hours[:-2], hours[-2:]
        delta = timedelta(hours=int(hours), minutes=int(minutes or 0))
        tz = timezone(-delta if zone[0] == "-" else delta, zone)
    return datetime(
        int(year), int(month), int(day), int(hour), int(minute), int(second), micro, tzinfo=tz
    )


def dump_documents(documents: list[dict[str, Any]]) -> str:
    """Multi-document YAML, block style, keys in the given order."""
    import io

    from ruamel.yaml import YAML

    yaml = YAML(typ="rt")
    yaml.default_flow_style = False
    yaml.width = 4096
    yaml.indent(mapping=2, sequence=4, offset=2)
    buf = io.StringIO()
    yaml.dump_all(documents, buf)
    return buf.getvalue()
