"""What an HTTP response must satisfy, and the values extracted from it.

Every function returns reasons (empty when all is well); none raises on bad responses.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Any

from jsonpath_ng import JSONPath
from jsonpath_ng.ext.parser import parse as _parse

from slm.domain.probe import (
    Extraction,
    HttpExpect,
    JsonAssertion,
    certificate_reason,
    latency_reason,
)

_MISSING = object()


@dataclass(frozen=True)
class Response:
    """A response as the assertions see it."""

    status: int
    headers: Mapping[str, str]  # case-insensitive (an ``httpx.Headers``)
    text: str
    latency: float
    url: str
    cert_not_after: datetime | None = None


@lru_cache(maxsize=512)
def json_path(path: str) -> JSONPath:
    return _parse(path)


def _status_reason(status: int, expected: tuple[int, ...]) -> str:
    if status in expected:
        return ""
    want = str(expected[0]) if len(expected) == 1 else "one of " + ", ".join(map(str, expected))
    return f"status {status} != {want}"


def _parse_json(text: str) -> tuple[Any, str]:
    try:
        return json.loads(text), ""
    except json.JSONDecodeError as e:
        return _MISSING, f"invalid JSON at line {e.lineno} column {e.colno}: {e.msg}"


def _json_reason(doc: Any, a: JsonAssertion) -> str:
    values = [m.value for m in json_path(a.path).find(doc)]
    if a.exists is not None:
        if a.exists and not values:
            return f"JSON path {a.path} found nothing"
        if not a.exists and values:
            return f"JSON path {a.path} found {len(values)} value(s), expected none"
        return ""
    if not values:
        return f"JSON path {a.path} found nothing"
    for v in values:
        if a.has_equals and v != a.equals:
            return f"JSON path {a.path}: {_show(v)} != {_show(a.equals)}"
        if a.matches is not None and not re.search(a.matches, _text(v)):
            return f"JSON path {a.path}: {_show(v)} does not match /{a.matches}/"
    return ""


def _show(value: Any) -> str:
    text = json.dumps(value, default=str)
    return text if len(text) <= 80 else text[:77] + "..."


def _text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value)


def response_reasons(
    resp: Response, expect: HttpExpect, *, now: datetime, min_days_left: int | None
) -> list[str]:
    """Why the response fails ``expect``; a wrong status is the only reason reported."""
    status = _status_reason(resp.status, expect.status)
    if status:
        return [status]
    reasons = [f"body does not contain {s!r}" for s in expect.body_contains if s not in resp.text]
    if expect.json:
        doc, problem = _parse_json(resp.text)
        if problem:
            reasons.append(problem)
        else:
            reasons += [r for a in expect.json if (r := _json_reason(doc, a))]
    if expect.max_latency is not None and (r := latency_reason(resp.latency, expect.max_latency)):
        reasons.append(r)
    if min_days_left is not None:
        if resp.cert_not_after is None:
            reasons.append("no TLS certificate to check (not an https:// response)")
        elif r := certificate_reason(resp.cert_not_after, now, min_days_left):
            reasons.append(r)
    return reasons


def extract(resp: Response, rules: tuple[Extraction, ...]) -> tuple[dict[str, str], str]:
    """The variables the rules extract, or the reason one could not be extracted."""
    out: dict[str, str] = {}
    doc: Any = _MISSING
    for rule in rules:
        if rule.header is not None:
            value = resp.headers.get(rule.header)
            if value is None:
                return out, f"extract {rule.var}: no header {rule.header!r} in the response"
            out[rule.var] = value
        elif rule.regex is not None:
            m = re.search(rule.regex, resp.text)
            if m is None:
                return out, f"extract {rule.var}: /{rule.regex}/ does not match the body"
            out[rule.var] = m.group(1) if m.groups() else m.group(0)
        elif rule.json is not None:
            if doc is _MISSING:
                doc, problem = _parse_json(resp.text)
                if problem:
                    return out, f"extract {rule.var}: {problem}"
            found = json_path(rule.json).find(doc)
            if not found:
                return out, f"extract {rule.var}: JSON path {rule.json} found nothing"
            out[rule.var] = _text(found[0].value)
    return out, ""
