"""Reading YAML with ruamel (round-trip) so every object and field keeps its line.

A file is split into its documents first (so one broken document does not hide the
problems of the others, and each document keeps its own text and hash); each document is
parsed into plain Python data plus an index from field path to 1-based line number.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import MarkedYAMLError, YAMLError

FieldPath = tuple[str | int, ...]

_SEPARATOR = re.compile(r"^---(\s|$)")


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


def parse_file(path: str, text: str) -> tuple[list[YamlDocument], list[YamlSyntaxError]]:
    docs: list[YamlDocument] = []
    errors: list[YamlSyntaxError] = []
    for offset, chunk in split_documents(text):
        try:
            raw = YAML(typ="rt").load(chunk)
        except MarkedYAMLError as e:
            mark = e.problem_mark or e.context_mark
            line = offset + mark.line + 1 if mark is not None else offset + 1
            errors.append(YamlSyntaxError(path, line, _yaml_message(e)))
            continue
        except YAMLError as e:
            errors.append(YamlSyntaxError(path, offset + 1, f"invalid YAML: {e}"))
            continue
        lines: dict[FieldPath, int] = {}
        data = _plain(raw, (), offset, lines)
        lines.setdefault((), offset + 1)
        docs.append(YamlDocument(path, offset + 1, chunk, data, lines))
    return docs, errors


def _yaml_message(e: MarkedYAMLError) -> str:
    parts = [p for p in (e.context, e.problem) if p]
    return "invalid YAML: " + (", ".join(parts) if parts else "cannot parse")


def _plain(node: Any, path: FieldPath, offset: int, lines: dict[FieldPath, int]) -> Any:
    """ruamel round-trip nodes -> plain dict/list/scalars, recording lines in ``lines``."""
    if isinstance(node, CommentedMap):
        lines.setdefault(path, offset + node.lc.line + 1)
        out: dict[str, Any] = {}
        for key, value in node.items():
            k = str(key)
            sub = (*path, k)
            lines[sub] = offset + node.lc.key(key)[0] + 1
            out[k] = _plain(value, sub, offset, lines)
        return out
    if isinstance(node, CommentedSeq):
        lines.setdefault(path, offset + node.lc.line + 1)
        items: list[Any] = []
        for i, value in enumerate(node):
            sub = (*path, i)
            lines[sub] = offset + node.lc.item(i)[0] + 1
            items.append(_plain(value, sub, offset, lines))
        return items
    return _scalar(node)


def _scalar(value: Any) -> Any:
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, datetime):
        return datetime(*value.timetuple()[:6], value.microsecond, tzinfo=value.tzinfo)
    if isinstance(value, date):
        return date(value.year, value.month, value.day)
    if isinstance(value, int):
        return bool(value) if type(value).__name__ == "ScalarBoolean" else int(value)
    if isinstance(value, float):
        return float(value)
    if isinstance(value, str):
        return str(value)
    return value


def dump_documents(documents: list[dict[str, Any]]) -> str:
    """Multi-document YAML, block style, keys in the given order."""
    import io

    yaml = YAML(typ="rt")
    yaml.default_flow_style = False
    yaml.width = 4096
    yaml.indent(mapping=2, sequence=4, offset=2)
    buf = io.StringIO()
    yaml.dump_all(documents, buf)
    return buf.getvalue()
