"""How to reach one Prometheus-compatible server: ``connectionDetails`` of a DataSource.

Accepted keys (camelCase, as OpenSLO writes them; see docs/prometheus.md)::

    url: http://prometheus:9090            # required; a path prefix is kept (Mimir, Thanos)
    headers: {X-Scope-OrgID: team-a}       # extra HTTP headers
    bearerToken: ... | bearerTokenFile: /run/secrets/token
    basicAuth: {username: u, password: p}  # or passwordFile
    tls: {caFile: ca.pem, certFile: c.pem, keyFile: k.pem, insecureSkipVerify: false}
    timeout: 30s                            # per HTTP request
    connectTimeout: 5s
    retry: {attempts: 3, initialBackoff: 200ms, maxBackoff: 5s}
    maxPointsPerQuery: 11000                # Prometheus refuses more per series
    maxConcurrentQueries: 4                 # requests in flight to this server
    compression: false                      # ask for gzip (for slow links)

An inline source (OpenSLO v2alpha ``dataSourceSpec``) carries the same keys in its spec;
one without ``url`` (Sloth specs) uses the ``SLM_PROMETHEUS_URL`` environment variable.
Problems are ``SourceError`` naming the file, line, object and field.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from slm.domain.durations import MAX_DURATION, parse_duration
from slm.domain.errors import SourceError
from slm.domain.model import DataSource

DEFAULT_TIMEOUT = 30.0
DEFAULT_CONNECT_TIMEOUT = 5.0
DEFAULT_ATTEMPTS = 3
DEFAULT_INITIAL_BACKOFF = 0.2
DEFAULT_MAX_BACKOFF = 5.0
MAX_POINTS = 11_000
URL_ENV = "SLM_PROMETHEUS_URL"
"""The server of inline sources that name none (Sloth specs have no place for a URL)."""
DEFAULT_IN_FLIGHT = 4

CONNECTION_KEYS = (
    "url",
    "headers",
    "bearerToken",
    "bearerTokenFile",
    "basicAuth",
    "tls",
    "timeout",
    "connectTimeout",
    "retry",
    "maxPointsPerQuery",
    "maxConcurrentQueries",
    "compression",
)
_BASIC_KEYS = ("username", "password", "passwordFile")
_TLS_KEYS = ("caFile", "certFile", "keyFile", "insecureSkipVerify")
_RETRY_KEYS = ("attempts", "initialBackoff", "maxBackoff")

T = TypeVar("T")


@dataclass(frozen=True)
class RetryPolicy:
    """``attempts`` tries in all; the n-th wait is ``min(max, initial * 2**n)`` with jitter."""

    attempts: int = DEFAULT_ATTEMPTS
    initial_backoff: float = DEFAULT_INITIAL_BACKOFF
    max_backoff: float = DEFAULT_MAX_BACKOFF

    def delay(self, retry: int, jitter: float) -> float:
        """Wait before retry number ``retry`` (0-based); ``jitter`` is uniform in [0, 1).

        "Equal jitter": half the exponential delay, plus up to the other half at random.
        """
        base = min(self.max_backoff, self.initial_backoff * float(2**retry))
        return base / 2 + base / 2 * jitter


@dataclass(frozen=True)
class PrometheusConfig:
    url: str
    label: str = "Prometheus"  # for messages: where the configuration came from
    headers: tuple[tuple[str, str], ...] = ()
    bearer_token: str | None = None
    basic_auth: tuple[str, str] | None = None
    ca_file: str | None = None
    cert: tuple[str, str] | None = None
    insecure_skip_verify: bool = False
    timeout: float = DEFAULT_TIMEOUT
    connect_timeout: float = DEFAULT_CONNECT_TIMEOUT
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    max_points: int = MAX_POINTS
    max_in_flight: int = DEFAULT_IN_FLIGHT
    compression: bool = False


class _Reader:
    """Reads typed values from a map, raising ``SourceError`` with the field's location."""

    def __init__(
        self,
        where: str,
        prefix: str,
        data: Mapping[str, Any],
        base_dir: str,
        read_files: bool = True,
    ):
        self.where, self.prefix, self.data, self.base_dir = where, prefix, data, base_dir
        self.read_files = read_files

    def fail(self, key: str, message: str) -> SourceError:
        return SourceError(f"{self.where}: {self.prefix}{key}: {message}")

    def unknown(self, allowed: tuple[str, ...]) -> None:
        for key in self.data:
            if key not in allowed:
                raise self.fail(str(key), f"unknown field (allowed: {', '.join(allowed)})")

    def get(self, key: str, kind: type[T], what: str) -> T | None:
        value = self.data.get(key)
        if value is None:
            return None
        if kind is float and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
            raise self.fail(key, f"must be {what}, not {value!r}")
        return value

    def text(self, key: str) -> str | None:
        value = self.get(key, str, "a string")
        if value is not None and not value.strip():
            raise self.fail(key, "must not be empty")
        return value

    def seconds(self, key: str, default: float) -> float:
        value = self.data.get(key)
        if value is None:
            return default
        if isinstance(value, int | float) and not isinstance(value, bool):
            if not 0 < value <= MAX_DURATION.total_seconds():  # also NaN and infinity
                raise self.fail(key, "must be a positive number of seconds, at most 100 years")
            return float(value)
        try:
            return parse_duration(str(value)).total_seconds()
        except ValueError as e:
            raise self.fail(key, str(e)) from None

    def positive_int(self, key: str, default: int) -> int:
        value = self.get(key, int, "a whole number")
        if value is None:
            return default
        if value < 1:
            raise self.fail(key, f"must be at least 1, not {value}")
        return value

    def file_text(self, key: str) -> str | None:
        path = self.path(key)
        if path is None:
            return None
        if not self.read_files:
            return path
        try:
            return Path(path).read_text(encoding="utf-8").strip()
        except OSError as e:
            raise self.fail(key, f"cannot read {path}: {e.strerror}") from None

    def path(self, key: str) -> str | None:
        value = self.text(key)
        return None if value is None else str(Path(self.base_dir) / value)

    def sub(self, key: str, allowed: tuple[str, ...]) -> _Reader | None:
        value = self.data.get(key)
        if value is None:
            return None
        if not isinstance(value, Mapping):
            raise self.fail(key, f"must be a map with {', '.join(allowed)}")
        reader = _Reader(self.where, f"{self.prefix}{key}.", value, self.base_dir, self.read_files)
        reader.unknown(allowed)
        return reader


def where_of(datasource: DataSource | None) -> str:
    """``file:line: DataSource/name`` (or ``inline Prometheus source``) for messages."""
    if datasource is None:
        return "inline Prometheus source"
    origin = datasource.origin
    obj = f"DataSource/{datasource.name}"
    if origin is None:
        return obj
    line = f":{origin.line}" if origin.line is not None else ""
    return f"{origin.path}{line}: {obj}"


def config_for(
    datasource: DataSource | None,
    spec: Mapping[str, Any],
    base_dir: str = ".",
    *,
    read_files: bool = True,
) -> PrometheusConfig:
    """The configuration of a DataSource, or of an inline source's ``spec``.

    ``read_files=False`` checks the shape only: secret files (``bearerTokenFile``,
    ``passwordFile``) are not read, so ``slm validate`` works where they are not mounted.
    """
    where = where_of(datasource)
    if datasource is not None:
        reader = _Reader(
            where,
            "spec.connectionDetails.",
            datasource.connection_details,
            datasource.base_dir,
            read_files,
        )
        reader.unknown(CONNECTION_KEYS)
    else:
        if "url" not in spec and os.environ.get(URL_ENV):
            spec = {**spec, "url": os.environ[URL_ENV]}
        reader = _Reader(where, "spec.", spec, base_dir, read_files)
    return _parse(reader, where)


def _parse(r: _Reader, where: str) -> PrometheusConfig:
    url = r.text("url")
    if url is None:
        hint = "" if r.prefix.startswith("spec.connection") else f"; or set {URL_ENV}"
        raise r.fail("url", f"required field missing (e.g. http://prometheus:9090{hint})")
    if not url.startswith(("http://", "https://")):
        raise r.fail("url", f"must start with http:// or https://, not {url!r}")
    headers = _headers(r)
    token = r.text("bearerToken")
    token_file = r.file_text("bearerTokenFile")
    if token is not None and token_file is not None:
        raise r.fail("bearerToken", "use either bearerToken or bearerTokenFile, not both")
    basic = _basic(r.sub("basicAuth", _BASIC_KEYS))
    if basic is not None and (token or token_file):
        raise r.fail("basicAuth", "use either basicAuth or a bearer token, not both")
    tls = r.sub("tls", _TLS_KEYS)
    cert = _cert(tls) if tls is not None else None
    retry = r.sub("retry", _RETRY_KEYS)
    return PrometheusConfig(
        url=url.rstrip("/"),
        label=where,
        headers=headers,
        bearer_token=token or token_file,
        basic_auth=basic,
        ca_file=tls.path("caFile") if tls else None,
        cert=cert,
        insecure_skip_verify=bool(tls.get("insecureSkipVerify", bool, "true or false"))
        if tls
        else False,
        timeout=r.seconds("timeout", DEFAULT_TIMEOUT),
        connect_timeout=r.seconds("connectTimeout", DEFAULT_CONNECT_TIMEOUT),
        retry=_retry(retry) if retry else RetryPolicy(),
        max_points=r.positive_int("maxPointsPerQuery", MAX_POINTS),
        max_in_flight=r.positive_int("maxConcurrentQueries", DEFAULT_IN_FLIGHT),
        compression=bool(r.get("compression", bool, "true or false")),
    )


def _headers(r: _Reader) -> tuple[tuple[str, str], ...]:
    raw = r.get("headers", dict, "a map of header names to values")
    if raw is None:
        return ()
    out = []
    for k, v in raw.items():
        if not isinstance(v, str | int | float) or isinstance(v, bool):
            raise r.fail(f"headers.{k}", f"must be a string, not {v!r}")
        out.append((str(k), str(v)))
    return tuple(sorted(out))


def _basic(b: _Reader | None) -> tuple[str, str] | None:
    if b is None:
        return None
    user = b.text("username")
    if user is None:
        raise b.fail("username", "required field missing")
    password, password_file = b.get("password", str, "a string"), b.file_text("passwordFile")
    if password is not None and password_file is not None:
        raise b.fail("password", "use either password or passwordFile, not both")
    return user, password if password is not None else (password_file or "")


def _cert(tls: _Reader) -> tuple[str, str] | None:
    cert, key = tls.path("certFile"), tls.path("keyFile")
    if (cert is None) != (key is None):
        missing = "keyFile" if key is None else "certFile"
        raise tls.fail(missing, "required field missing (certFile and keyFile go together)")
    return None if cert is None or key is None else (cert, key)


def _retry(r: _Reader) -> RetryPolicy:
    initial = r.seconds("initialBackoff", DEFAULT_INITIAL_BACKOFF)
    maximum = r.seconds("maxBackoff", max(DEFAULT_MAX_BACKOFF, initial))
    if maximum < initial:
        raise r.fail("maxBackoff", "must not be shorter than initialBackoff")
    return RetryPolicy(r.positive_int("attempts", DEFAULT_ATTEMPTS), initial, maximum)
