"""Locating problems (file, line, object, field) and rewriting pydantic's messages."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError
from pydantic_core import ErrorDetails

from slm.domain.errors import Problem
from slm.spec.yamlio import FieldPath, YamlDocument


def format_field(path: FieldPath) -> str:
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


@dataclass
class SpecObject:
    """One object of a document (a document may hold a list of objects)."""

    doc: YamlDocument
    prefix: FieldPath
    data: dict[str, Any]
    kind_label: str
    name: str

    @property
    def path(self) -> str:
        return self.doc.path

    @property
    def line(self) -> int:
        return self.doc.line_of(self.prefix) or self.doc.start_line

    def line_of(self, field: FieldPath) -> int | None:
        return self.doc.line_of((*self.prefix, *field))

    def problem(
        self, field: FieldPath, message: str, *, name: str | None = None, severity: str = "error"
    ) -> Problem:
        return Problem(
            path=self.path,
            line=self.line_of(field),
            kind=self.kind_label,
            name=self.name if name is None else name,
            field=format_field(field),
            message=message,
            severity=severity,
        )


@dataclass
class Problems:
    """Errors (``items``: the input is refused) and warnings (reported, input accepted)."""

    items: list[Problem] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)
    _seen: set[Problem] = field(default_factory=set, repr=False)

    def add(self, problem: Problem) -> None:
        """Record ``problem`` once: a repeat (same place, same message) is dropped. The
        check is a set lookup, so adding n problems costs O(n), not O(n²)."""
        if problem in self._seen:
            return
        self._seen.add(problem)
        (self.warnings if problem.is_warning else self.items).append(problem)

    def at(self, obj: SpecObject, field: FieldPath, message: str) -> None:
        self.add(obj.problem(field, message))

    def warn(self, obj: SpecObject, field: FieldPath, message: str) -> None:
        self.add(obj.problem(field, message, severity="warning"))

    def from_validation(self, obj: SpecObject, error: ValidationError) -> None:
        for detail in error.errors():
            loc = tuple(p for p in detail["loc"] if not _is_union_tag(p))
            self.add(obj.problem(loc, humanize(detail)))


def _is_union_tag(part: Any) -> bool:
    return isinstance(part, str) and ("[" in part or part in {"str", "list", "datetime"})


_QUOTED = re.compile(r"'([^']*)'")


def humanize(detail: ErrorDetails) -> str:
    """pydantic's error -> a short message a spec author understands."""
    kind = detail["type"]
    ctx: dict[str, Any] = dict(detail.get("ctx") or {})
    loc = detail["loc"]
    if kind == "extra_forbidden":
        return f"unknown field {str(loc[-1])!r}" if loc else "unknown field"
    if kind == "missing":
        return "required field missing"
    if kind == "literal_error":
        choices = _QUOTED.findall(str(ctx.get("expected", "")))
        return "must be " + (
            ", ".join(choices) if len(choices) == 1 else "one of " + ", ".join(choices)
        )
    if kind in ("value_error", "assertion_error"):
        return str(ctx.get("error", detail["msg"]))
    simple = _SIMPLE.get(kind)
    if simple:
        return simple.format(**ctx)
    return str(detail["msg"]).lower()


_SIMPLE: dict[str, str] = {
    "string_type": "must be a string",
    "float_type": "must be a number",
    "float_parsing": "must be a number",
    "int_type": "must be a whole number",
    "int_parsing": "must be a whole number",
    "int_from_float": "must be a whole number",
    "bool_type": "must be true or false",
    "bool_parsing": "must be true or false",
    "dict_type": "must be a mapping",
    "model_type": "must be a mapping",
    "model_attributes_type": "must be a mapping",
    "list_type": "must be a list",
    "datetime_type": "must be a date and time",
    "datetime_parsing": "must be a date and time",
    "too_short": "must have at least {min_length} item(s)",
    "too_long": "must have at most {max_length} item(s)",
    "string_too_short": "must not be empty",
    "string_too_long": "must be at most {max_length} characters",
    "greater_than": "must be greater than {gt}",
    "greater_than_equal": "must be at least {ge}",
    "less_than": "must be less than {lt}",
    "less_than_equal": "must be at most {le}",
}
