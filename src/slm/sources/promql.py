"""PromQL as the parser sees it (``promql-parser``, Prometheus's own grammar).

Every place that needs to know what a query *is* — a plain series selector or an
expression, its label matchers, whether it is valid at all — asks here, never a regular
expression: comments, keywords (``sum``, ``Inf``), ``offset``/``@`` modifiers and quoting
are the parser's business.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import lru_cache

import promql_parser as pp

_WINDOW = re.compile(r"\{\{\s*\.window\s*\}\}")
SAMPLE_WINDOW = "5m"
"""What Sloth's ``{{.window}}`` placeholder stands for when a template is only checked."""

_OPS = (
    (pp.MatchOp.Equal, "="),
    (pp.MatchOp.NotEqual, "!="),
    (pp.MatchOp.Re, "=~"),
    (pp.MatchOp.NotRe, "!~"),
)


def _op(op: pp.MatchOp) -> str:
    return next(text for known, text in _OPS if op == known)


Matcher = tuple[str, str, str]
"""``(label, op, value)``: ``op`` is ``=``, ``!=``, ``=~`` or ``!~``; the metric name is
``("__name__", "=", name)``."""


class PromQLError(ValueError):
    """A query the parser refuses; the message is the parser's."""


@lru_cache(maxsize=4096)
def _parse(text: str) -> pp.Expr | str:
    try:
        return pp.parse(text)
    except ValueError as e:
        return str(e) or "invalid PromQL"


def parse(text: str) -> pp.Expr:
    """The AST of ``text``; ``PromQLError`` when it is not valid PromQL."""
    found = _parse(text)
    if isinstance(found, str):
        raise PromQLError(found)
    return found


def with_sample_window(text: str) -> str:
    """``text`` with Sloth's ``{{.window}}`` filled, so a template can be parsed."""
    return _WINDOW.sub(SAMPLE_WINDOW, text)


def unknown_function(message: str) -> bool:
    """The parser's "unknown function" error: functions come and go between Prometheus
    versions (``holt_winters`` was renamed in 3.0), so the server has the last word."""
    return message.startswith("unknown function")


def query_problem(text: str) -> str | None:
    """Why ``text`` cannot be a metric source's query (``None``: it can): not PromQL,
    or not an instant vector (a range selector or subquery is refused by Prometheus's
    query_range, and slm windows the query itself). A message for which
    ``unknown_function`` holds is only a warning."""
    try:
        expr = parse(with_sample_window(text))
    except PromQLError as e:
        return str(e) if unknown_function(str(e)) else f"invalid PromQL: {e}"
    if isinstance(expr, pp.MatrixSelector | pp.SubqueryExpr):
        return (
            "the query returns a range vector; a metric source's query must return an "
            "instant vector (slm applies the window itself)"
        )
    if isinstance(expr, pp.StringLiteral):
        return "the query returns a string; a metric source's query must return a number"
    return None


@dataclass(frozen=True)
class Selector:
    """A plain instant-vector selector (``name{...}`` or ``{...}``, no offset or ``@``)."""

    name: str | None
    matchers: frozenset[Matcher]  # the name included as __name__="..."
    text: str  # as written (rewritten without its comment if it has one)


def selector(text: str) -> Selector | None:
    """``text`` as a plain selector, or ``None`` (an expression, or not PromQL)."""
    try:
        expr = parse(text)
    except PromQLError:
        return None
    if not isinstance(expr, pp.VectorSelector) or expr.offset is not None or expr.at is not None:
        return None
    if expr.matchers.or_matchers:  # {a="1" or b="2"}: a union, not one selector
        return None
    written = [(m.name, _op(m.op), m.value) for m in expr.matchers.matchers]
    found = set(written)
    if expr.name:
        found.add(("__name__", "=", expr.name))
    # as written, unless a comment would swallow what slm appends ([5m], @ t)
    kept = text.strip() if "#" not in text else render_selector(expr.name, written)
    return Selector(expr.name, frozenset(found), kept)


def is_selector(text: str) -> bool:
    return selector(text) is not None


def enclosable(text: str) -> str:
    """``text`` ready to be put inside parentheses: a comment (``# ...``) runs to the end
    of its line, so a text that may hold one ends with a newline."""
    text = text.strip()
    return text + "\n" if "#" in text else text


def quote(value: str) -> str:
    """A PromQL double-quoted string literal of ``value``."""
    return json.dumps(value, ensure_ascii=False)


def render_selector(name: str | None, matchers: list[Matcher]) -> str:
    """``name{label op "value", ...}`` (matchers in the order given)."""
    body = ", ".join(f"{label}{op}{quote(value)}" for label, op, value in matchers)
    return f"{name}{{{body}}}" if name and body else name or f"{{{body}}}"
