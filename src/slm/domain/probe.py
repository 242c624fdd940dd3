"""Synthetic probes: what a probe checks, what one check found, and how checks count.

A ``Probe`` runs one check (HTTP request, TCP connect, DNS resolution or a multi-step HTTP
transaction) every ``interval``, bounded by ``timeout``, from a ``location``. Each check
gives one ``CheckResult``: an SLI event that is good when the check passed, with its
latency and, when it failed, the reason.

Results are aggregated per one-minute bucket into three measurement series per probe and
location (see ``probe_series``):

- ``probe:NAME:good{location="LOC"}``: checks that passed,
- ``probe:NAME:total{location="LOC"}``: checks run,
- ``probe:NAME:latency{location="LOC"}``: the largest latency in seconds of the bucket.

Templates: request fields may hold ``{{ var }}`` placeholders, filled from the
transaction's variables, values extracted by earlier steps, and ``{{ env.NAME }}`` from the
environment of the process running the probe (``render`` takes it as an argument).
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from slm.domain.errors import TemplateError
from slm.domain.model import Origin

PROBE_FIELDS = ("good", "total", "latency")
ProbeField = Literal["good", "total", "latency"]
DEFAULT_LOCATION = "local"
BUCKET = timedelta(minutes=1)


# --- what a probe checks ----------------------------------------------------------------


@dataclass(frozen=True)
class JsonAssertion:
    """A JSON path (jsonpath-ng syntax) and what the values it finds must satisfy.

    ``exists``: whether the path must find something (``True``) or nothing (``False``);
    ``equals``: every value found equals it; ``matches``: every value found, as text,
    matches the regular expression. With ``equals``/``matches`` the path must find at
    least one value.
    """

    path: str
    exists: bool | None = None
    equals: Any = None
    has_equals: bool = False
    matches: str | None = None


@dataclass(frozen=True)
class Extraction:
    """Puts one value of a response into a variable: exactly one of json/regex/header."""

    var: str
    json: str | None = None
    regex: str | None = None  # on the body; group 1 if the pattern has groups, else the match
    header: str | None = None


@dataclass(frozen=True)
class HttpExpect:
    status: tuple[int, ...] = (200,)
    body_contains: tuple[str, ...] = ()
    json: tuple[JsonAssertion, ...] = ()
    max_latency: timedelta | None = None


@dataclass(frozen=True)
class TlsOptions:
    """``verify``: check the certificate chain and host name; ``ca_file``: trust these CAs
    (PEM) instead of the system's; ``min_days_left``: fail when the server certificate
    expires sooner (needs ``verify``)."""

    verify: bool = True
    ca_file: str | None = None
    min_days_left: int | None = None


@dataclass(frozen=True)
class HttpRequest:
    url: str
    method: str = "GET"
    headers: Mapping[str, str] = field(default_factory=dict)
    body: str | None = None
    follow_redirects: bool = True
    expect: HttpExpect = field(default_factory=HttpExpect)
    extract: tuple[Extraction, ...] = ()
    name: str = ""  # the step name in a transaction


@dataclass(frozen=True)
class HttpCheck:
    request: HttpRequest
    tls: TlsOptions = field(default_factory=TlsOptions)

    kind: Literal["http"] = "http"


@dataclass(frozen=True)
class TcpCheck:
    host: str
    port: int

    kind: Literal["tcp"] = "tcp"


@dataclass(frozen=True)
class DnsCheck:
    """Resolve ``name`` (record ``record_type``); with ``expect`` the answers must contain
    every expected value. ``nameserver``/``port`` pick the server (else the system's)."""

    name: str
    record_type: str = "A"
    expect: tuple[str, ...] = ()
    nameserver: str | None = None
    port: int = 53

    kind: Literal["dns"] = "dns"


@dataclass(frozen=True)
class TransactionCheck:
    """HTTP steps run in order on one client (cookies carry over); values extracted from
    one response fill ``{{ var }}`` placeholders of the later steps."""

    steps: tuple[HttpRequest, ...]
    variables: Mapping[str, str] = field(default_factory=dict)
    tls: TlsOptions = field(default_factory=TlsOptions)

    kind: Literal["transaction"] = "transaction"


Check = HttpCheck | TcpCheck | DnsCheck | TransactionCheck


@dataclass(frozen=True)
class Probe:
    name: str
    check: Check
    interval: timedelta
    timeout: timedelta
    location: str = DEFAULT_LOCATION
    max_latency: timedelta | None = None  # the whole check, whatever its kind
    display_name: str = ""
    description: str = ""
    labels: Mapping[str, str] = field(default_factory=dict)
    base_dir: str = "."  # directory of the spec file, for relative paths (caFile)
    origin: Origin | None = None


# --- what a check found -----------------------------------------------------------------


@dataclass(frozen=True)
class CheckResult:
    """One check of one probe: good when ``success``; ``reason`` says why it failed."""

    probe: str
    location: str
    started_at: datetime
    latency: float  # seconds
    success: bool
    reason: str = ""
    details: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.started_at.tzinfo is None:
            raise ValueError("CheckResult.started_at must be timezone-aware")


def format_seconds(seconds: float) -> str:
    """``2s``, ``1.5s``, ``250ms``: how reasons spell durations."""
    if seconds < 1:
        return f"{round(seconds * 1000)}ms"
    text = f"{seconds:.3f}".rstrip("0").rstrip(".")
    return f"{text}s"


def timeout_reason(timeout: timedelta) -> str:
    return f"timeout after {format_seconds(timeout.total_seconds())}"


def latency_reason(latency: float, limit: timedelta, what: str = "latency") -> str:
    return (
        f"{what} {format_seconds(latency)} > {format_seconds(limit.total_seconds())}"
        if latency > limit.total_seconds()
        else ""
    )


def certificate_reason(not_after: datetime, now: datetime, min_days_left: int) -> str:
    """Empty when the certificate has at least ``min_days_left`` whole days left."""
    days = math.floor((not_after - now) / timedelta(days=1))
    if days >= min_days_left:
        return ""
    if days < 0:
        return f"certificate expired {-days} day(s) ago"
    return f"certificate expires in {days} days < {min_days_left}"


# --- series and aggregation -------------------------------------------------------------


def probe_series(probe: str, field: str, location: str) -> str:
    """The measurement series of one probe field at one location."""
    return f'probe:{probe}:{field}{{location="{location}"}}'


def series_prefix(probe: str, field: str) -> str:
    """What every location's series of ``probe``/``field`` starts with."""
    return f"probe:{probe}:{field}{{"


def bucket_of(t: datetime, step: timedelta = BUCKET) -> int:
    """Unix seconds of the start of the bucket holding ``t``."""
    ts = int(t.astimezone(UTC).timestamp())
    width = int(step.total_seconds())
    return ts - ts % width


def aggregate(
    results: Iterable[CheckResult], step: timedelta = BUCKET
) -> list[tuple[str, int, float]]:
    """Measurement rows ``(series, bucket start, value)`` of the given checks.

    Every check of a (probe, location, bucket) must be among ``results``: the rows replace
    what the store held for those buckets. Sorted by series, then bucket.
    """
    acc: dict[tuple[str, str, int], list[float]] = {}
    for r in results:
        key = (r.probe, r.location, bucket_of(r.started_at, step))
        good, total, worst = acc.get(key, [0.0, 0.0, 0.0])
        acc[key] = [good + (1.0 if r.success else 0.0), total + 1.0, max(worst, r.latency)]
    rows: list[tuple[str, int, float]] = []
    for (probe, location, bucket), values in acc.items():
        for name, value in zip(PROBE_FIELDS, values, strict=True):
            rows.append((probe_series(probe, name, location), bucket, value))
    return sorted(rows)


# --- templates --------------------------------------------------------------------------

_PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)?)\s*\}\}")
ENV_PREFIX = "env."


def placeholders(text: str) -> list[str]:
    """Variable names used in ``text`` (``env.NAME`` included), in order."""
    return [m.group(1) for m in _PLACEHOLDER.finditer(text)]


def render(text: str, variables: Mapping[str, str], env: Mapping[str, str]) -> str:
    """``text`` with every ``{{ var }}`` replaced; ``TemplateError`` names a missing one."""

    def value(m: re.Match[str]) -> str:
        name = m.group(1)
        if name.startswith(ENV_PREFIX):
            key = name[len(ENV_PREFIX) :]
            if key not in env:
                raise TemplateError(f"environment variable {key} is not set")
            return env[key]
        if name not in variables:
            raise TemplateError(f"variable {name!r} has no value")
        return variables[name]

    return _PLACEHOLDER.sub(value, text)


def request_texts(req: HttpRequest) -> list[tuple[str, str]]:
    """(field, text) of every templated field of a request: url, headers, body."""
    out = [("url", req.url)]
    out += [(f"headers.{k}", v) for k, v in req.headers.items()]
    if req.body is not None:
        out.append(("body", req.body))
    return out
