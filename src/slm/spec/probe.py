"""The ``slm/v1`` ``Probe`` kind: a synthetic check run on a schedule (see docs/probes.md).

The pydantic models check shapes; ``map_probe`` checks what spans fields (exactly one
check kind, timeout within the interval, JSON paths and regular expressions that compile,
``{{ var }}`` placeholders that a variable or an earlier step defines) and builds the
``slm.domain.probe.Probe``.
"""

from __future__ import annotations

import ipaddress
import json
import os
import re
from collections.abc import Mapping
from typing import Annotated, Any, Literal

from jsonpath_ng.ext.parser import parse as parse_json_path
from pydantic import BeforeValidator, Field

from slm.domain.durations import parse_duration
from slm.domain.probe import (
    ENV_PREFIX,
    Check,
    DnsCheck,
    Extraction,
    HttpCheck,
    HttpExpect,
    HttpRequest,
    JsonAssertion,
    Probe,
    TcpCheck,
    TlsOptions,
    TransactionCheck,
    placeholders,
    request_texts,
)
from slm.spec.common import Duration, SpecModel, StrMap
from slm.spec.context import MapContext, origin_of
from slm.spec.problems import SpecObject
from slm.spec.slm_v1 import Envelope
from slm.spec.yamlio import FieldPath

KIND = "Probe"
_LOCATION = r"^[A-Za-z0-9][A-Za-z0-9_.-]*$"
_VARIABLE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_STEP = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"
RecordType = Literal["A", "AAAA", "CNAME", "MX", "TXT", "NS", "SOA", "SRV", "PTR", "CAA"]
Method = Literal["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]


def _listify(value: Any) -> Any:
    return [value] if isinstance(value, int | str) and not isinstance(value, bool) else value


def _upper(value: Any) -> Any:
    return value.upper() if isinstance(value, str) else value


Status = Annotated[int, Field(ge=100, le=599)]


class JsonAssertionSpec(SpecModel):
    path: str = Field(min_length=1)
    exists: bool | None = None
    equals: Any = None
    matches: str | None = None


class ExpectSpec(SpecModel):
    status: Annotated[list[Status], BeforeValidator(_listify)] = Field(
        default_factory=lambda: [200], min_length=1
    )
    body_contains: Annotated[list[str], BeforeValidator(_listify)] = Field(default_factory=list)
    json_assertions: list[JsonAssertionSpec] = Field(default_factory=list, alias="json")
    max_latency: Duration | None = None


class TlsSpec(SpecModel):
    verify: bool = True
    ca_file: str | None = Field(default=None, min_length=1)
    min_days_left: int | None = Field(default=None, ge=0)


class ExtractSpec(SpecModel):
    json_path: str | None = Field(default=None, alias="json", min_length=1)
    regex: str | None = Field(default=None, min_length=1)
    header: str | None = Field(default=None, min_length=1)


class RequestSpec(SpecModel):
    url: str = Field(min_length=1)
    method: Annotated[Method, BeforeValidator(_upper)] = "GET"
    headers: StrMap = Field(default_factory=dict)
    body: str | None = None
    json_body: Any = Field(default=None, alias="json")
    follow_redirects: bool = True
    expect: ExpectSpec = Field(default_factory=ExpectSpec)


class HttpSpec(RequestSpec):
    tls: TlsSpec = Field(default_factory=TlsSpec)


class StepSpec(RequestSpec):
    name: str | None = Field(default=None, pattern=_STEP)
    extract: dict[str, ExtractSpec] = Field(default_factory=dict)


class TcpSpec(SpecModel):
    host: str = Field(min_length=1)
    port: int = Field(ge=1, le=65535)


class DnsSpec(SpecModel):
    name: str = Field(min_length=1)
    record_type: Annotated[RecordType, BeforeValidator(_upper)] = "A"
    expect: Annotated[list[str], BeforeValidator(_listify)] = Field(default_factory=list)
    nameserver: str | None = None
    port: int = Field(default=53, ge=1, le=65535)


class TransactionSpec(SpecModel):
    variables: StrMap = Field(default_factory=dict)
    steps: list[StepSpec] = Field(min_length=1)
    tls: TlsSpec = Field(default_factory=TlsSpec)


class ProbeSpec(SpecModel):
    description: str | None = None
    interval: Duration = "1m"
    timeout: Duration = "10s"
    location: str = Field(default="local", pattern=_LOCATION, max_length=100)
    max_latency: Duration | None = None
    http: HttpSpec | None = None
    tcp: TcpSpec | None = None
    dns: DnsSpec | None = None
    transaction: TransactionSpec | None = None


class ProbeModel(Envelope):
    kind: Literal["Probe"]
    spec: ProbeSpec


# --- mapping ----------------------------------------------------------------------------


class _Mapper:
    def __init__(self, obj: SpecObject, ctx: MapContext):
        self.obj, self.ctx = obj, ctx
        self.ok = True

    def problem(self, field: FieldPath, message: str) -> None:
        self.ok = False
        self.ctx.problems.at(self.obj, field, message)

    def json_path(self, field: FieldPath, path: str) -> None:
        try:
            parse_json_path(path)
        except Exception as e:  # jsonpath-ng raises several types for bad paths
            self.problem(field, f"invalid JSON path {path!r}: {e}")

    def regex(self, field: FieldPath, pattern: str) -> None:
        try:
            re.compile(pattern)
        except re.error as e:
            self.problem(field, f"invalid regular expression {pattern!r}: {e}")

    def expect(self, f: FieldPath, m: ExpectSpec) -> HttpExpect:
        checks = []
        for i, a in enumerate(m.json_assertions):
            af = (*f, "json", i)
            self.json_path((*af, "path"), a.path)
            given = [k for k in ("exists", "equals", "matches") if k in a.model_fields_set]
            if len(given) != 1:
                self.problem(af, "give exactly one of exists, equals or matches")
            if a.matches is not None:
                self.regex((*af, "matches"), a.matches)
            checks.append(
                JsonAssertion(
                    path=a.path,
                    exists=a.exists,
                    equals=a.equals,
                    has_equals="equals" in a.model_fields_set,
                    matches=a.matches,
                )
            )
        return HttpExpect(
            status=tuple(m.status),
            body_contains=tuple(m.body_contains),
            json=tuple(checks),
            max_latency=_duration(m.max_latency),
        )

    def request(self, f: FieldPath, m: RequestSpec, name: str = "") -> HttpRequest:
        url = m.url.strip()
        if not url.startswith("{{") and not re.match(r"^https?://[^/\s]+", url):
            self.problem((*f, "url"), f"{url!r} is not an http:// or https:// URL")
        if m.body is not None and m.json_body is not None:
            self.problem(f, "give body or json, not both")
        headers = dict(m.headers)
        body = m.body
        if m.json_body is not None:
            body = json.dumps(m.json_body)
            if not any(k.lower() == "content-type" for k in headers):
                headers["Content-Type"] = "application/json"
        extract: list[Extraction] = []
        if isinstance(m, StepSpec):
            for var, e in m.extract.items():
                ef = (*f, "extract", var)
                if not _VARIABLE.match(var):
                    self.problem(ef, f"invalid variable name {var!r} (letters, digits and _)")
                sources = [s for s in (e.json_path, e.regex, e.header) if s is not None]
                if len(sources) != 1:
                    self.problem(ef, "give exactly one of json, regex or header")
                if e.json_path is not None:
                    self.json_path((*ef, "json"), e.json_path)
                if e.regex is not None:
                    self.regex((*ef, "regex"), e.regex)
                extract.append(Extraction(var, e.json_path, e.regex, e.header))
        return HttpRequest(
            url=url,
            method=m.method,
            headers=headers,
            body=body,
            follow_redirects=m.follow_redirects,
            expect=self.expect((*f, "expect"), m.expect),
            extract=tuple(extract),
            name=name,
        )

    def tls(self, f: FieldPath, m: TlsSpec, urls: list[str]) -> TlsOptions:
        if m.min_days_left is not None:
            if not m.verify:
                self.problem(
                    (*f, "minDaysLeft"),
                    "needs verify: true (an unverified certificate's expiry is not read)",
                )
            if urls and all(u.startswith("http://") for u in urls):
                self.problem((*f, "minDaysLeft"), "the probe has no https:// URL")
        return TlsOptions(verify=m.verify, ca_file=m.ca_file, min_days_left=m.min_days_left)

    def check_placeholders(self, f: FieldPath, req: HttpRequest, known: set[str]) -> None:
        for field, text in request_texts(req):
            for name in placeholders(text):
                if not name.startswith(ENV_PREFIX) and name not in known:
                    where = (*f, *field.split(".", 1))
                    self.problem(
                        where,
                        f"{{{{ {name} }}}} is not defined by transaction variables "
                        "or an earlier step's extract",
                    )

    def http(self, f: FieldPath, m: HttpSpec) -> HttpCheck:
        req = self.request(f, m)
        self.check_placeholders(f, req, set())
        return HttpCheck(request=req, tls=self.tls((*f, "tls"), m.tls, [req.url]))

    def transaction(self, f: FieldPath, m: TransactionSpec) -> TransactionCheck:
        known = set(m.variables)
        steps: list[HttpRequest] = []
        seen: set[str] = set()
        for i, s in enumerate(m.steps):
            sf = (*f, "steps", i)
            name = s.name or f"step-{i + 1}"
            if name in seen:
                self.problem((*sf, "name"), f"duplicate step name {name!r}")
            seen.add(name)
            req = self.request(sf, s, name)
            self.check_placeholders(sf, req, known)
            known |= {e.var for e in req.extract}
            steps.append(req)
        tls = self.tls((*f, "tls"), m.tls, [s.url for s in steps])
        return TransactionCheck(steps=tuple(steps), variables=dict(m.variables), tls=tls)

    def dns(self, f: FieldPath, m: DnsSpec) -> DnsCheck:
        if m.nameserver is not None:
            try:
                ipaddress.ip_address(m.nameserver)
            except ValueError:
                self.problem((*f, "nameserver"), f"{m.nameserver!r} is not an IP address")
        return DnsCheck(
            name=m.name,
            record_type=m.record_type,
            expect=tuple(m.expect),
            nameserver=m.nameserver,
            port=m.port,
        )

    def check(self, m: ProbeSpec) -> Check | None:
        given = [k for k in ("http", "tcp", "dns", "transaction") if getattr(m, k) is not None]
        if len(given) != 1:
            found = f" (found {', '.join(given)})" if given else ""
            self.problem(("spec",), f"give exactly one of http, tcp, dns or transaction{found}")
            return None
        f: FieldPath = ("spec", given[0])
        if m.http is not None:
            return self.http(f, m.http)
        if m.tcp is not None:
            return TcpCheck(host=m.tcp.host, port=m.tcp.port)
        if m.dns is not None:
            return self.dns(f, m.dns)
        assert m.transaction is not None
        return self.transaction(f, m.transaction)


def _duration(text: str | None) -> Any:
    return None if text is None else parse_duration(text)


def map_probe(obj: SpecObject, m: ProbeModel, ctx: MapContext) -> list[Any]:
    mp = _Mapper(obj, ctx)
    spec = m.spec
    interval, timeout = parse_duration(spec.interval), parse_duration(spec.timeout)
    if timeout > interval:
        mp.problem(("spec", "timeout"), f"timeout {spec.timeout} exceeds interval {spec.interval}")
    check = mp.check(spec)
    if check is None or not mp.ok:
        return []
    return [
        Probe(
            name=m.metadata.name,
            check=check,
            interval=interval,
            timeout=timeout,
            location=spec.location,
            max_latency=_duration(spec.max_latency),
            display_name=m.metadata.display_name or "",
            description=spec.description or "",
            labels=dict(m.metadata.labels),
            base_dir=_dir(obj),
            origin=origin_of(obj, m.api_version, m.kind),
        )
    ]


def _dir(obj: SpecObject) -> str:
    return os.path.dirname(obj.path) or "."


def probes_in(objects: Mapping[tuple[str, str], Mapping[str, Any]]) -> list[Probe]:
    """The probes of a workspace's ``objects``, in name order."""
    found = objects.get(("slm/v1", KIND), {})
    return [found[name] for name in sorted(found) if isinstance(found[name], Probe)]
