"""Checkers against real loopback servers: HTTP(S), TCP, DNS.

Every misbehaving target gives a failed check with its reason, never an exception.
"""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from probe_servers import (
    BROKEN,
    CERT_EXPIRES,
    HANG,
    DnsServer,
    ProbeHTTPServer,
    closed_port,
)

from slm.domain.probe import (
    Check,
    CheckResult,
    DnsCheck,
    HttpCheck,
    HttpExpect,
    HttpRequest,
    JsonAssertion,
    Probe,
    TcpCheck,
    TlsOptions,
)
from slm.services.ports import FixedClock
from slm.sources.probes import run_check

AT = datetime(2026, 11, 29, 12, 0, 30, tzinfo=UTC)


def probe(check: Check, timeout: float = 2.0, **kw: Any) -> Probe:
    return Probe(
        "p",
        check,
        interval=timedelta(seconds=10),
        timeout=timedelta(seconds=timeout),
        location="test",
        **kw,
    )


def run(p: Probe, at: datetime = AT) -> CheckResult:
    return asyncio.run(run_check(p, FixedClock(at), env={"TOKEN": "t0k"}))


def http(url: str, **expect: Any) -> HttpCheck:
    return HttpCheck(HttpRequest(url, expect=HttpExpect(**expect)))


def equals(path: str, value: Any) -> JsonAssertion:
    return JsonAssertion(path, equals=value, has_equals=True)


OK_JSON = (equals("$.status", "ok"), JsonAssertion("$.items[*].sku", matches=r"^[a-z]\d$"))


@pytest.mark.parametrize(
    ("path", "expect", "reason"),
    [
        pytest.param("/health", {"json": OK_JSON}, "", id="ok-json"),
        pytest.param("/html", {"body_contains": ("Welcome",)}, "", id="ok-body-text"),
        pytest.param("/redirect", {"json": OK_JSON}, "", id="redirect-followed"),
        pytest.param("/status/500", {}, "status 500 != 200", id="server-error"),
        pytest.param(
            "/status/503", {"status": (200, 204)}, "status 503 != one of 200, 204", id="status-set"
        ),
        pytest.param("/status/404", {"status": (404,)}, "", id="expected-404"),
        pytest.param("/hang", {}, "timeout after 500ms", id="hang"),
        pytest.param("/reset", {}, "connection reset by peer", id="reset"),
        pytest.param("/garbage", {}, "invalid HTTP response: illegal status line", id="garbage"),
        pytest.param(
            "/badjson",
            {"json": OK_JSON},
            "invalid JSON at line 1 column 12: Expecting value",
            id="invalid-json",
        ),
        pytest.param("/redirect-loop", {}, "too many redirects", id="redirect-loop"),
        pytest.param(
            "/html", {"body_contains": ("Goodbye",)}, "body does not contain 'Goodbye'", id="text"
        ),
        pytest.param(
            "/health",
            {"json": (equals("$.status", "degraded"),)},
            'JSON path $.status: "ok" != "degraded"',
            id="json-equals",
        ),
        pytest.param(
            "/health",
            {"json": (JsonAssertion("$.missing", exists=True),)},
            "JSON path $.missing found nothing",
            id="json-exists",
        ),
        pytest.param(
            "/health",
            {"json": (JsonAssertion("$.items", exists=False),)},
            "JSON path $.items found 1 value(s), expected none",
            id="json-absent",
        ),
        pytest.param(
            "/health",
            {"json": (JsonAssertion("$.version", matches=r"^2\."),)},
            r'JSON path $.version: "1.2.3" does not match /^2\./',
            id="json-matches",
        ),
        pytest.param(
            "/health",
            {"json": (JsonAssertion("$.items[?(@.sku == 'b2')]", exists=True),)},
            "",
            id="json-filter",
        ),
        pytest.param(
            "/slow",
            {"max_latency": timedelta(milliseconds=50)},
            "latency ",
            id="slow-request",
        ),
    ],
)
def test_http_checks(
    http_server: ProbeHTTPServer, path: str, expect: dict[str, Any], reason: str
) -> None:
    # Only the cases that expect a timeout get the short one: a loaded CI machine may take
    # longer than 500 ms to answer a healthy request.
    timeout = 0.5 if reason.startswith("timeout") else 10.0
    result = run(probe(http(http_server.base + path, **expect), timeout=timeout))
    assert result.reason.startswith(reason) if reason else result.reason == ""
    assert result.success is (reason == "")
    assert (result.probe, result.location, result.started_at) == ("p", "test", AT)


def test_redirects_are_not_followed_when_told(http_server: ProbeHTTPServer) -> None:
    check = HttpCheck(HttpRequest(http_server.base + "/redirect", follow_redirects=False))
    result = run(probe(check))
    assert result.reason == "status 302 != 200"
    assert result.details["status"] == 302


def test_method_headers_and_body_are_sent_with_env_templates(
    http_server: ProbeHTTPServer,
) -> None:
    req = HttpRequest(
        http_server.base + "/echo",
        method="PUT",
        headers={"Authorization": "Bearer {{ env.TOKEN }}"},
        body='{"n": 1}',
        expect=HttpExpect(
            json=(
                equals("$.method", "PUT"),
                equals("$.headers.authorization", "Bearer t0k"),
                equals("$.body", '{"n": 1}'),
                JsonAssertion("$.headers.user-agent", matches="^slm-probe/"),
            )
        ),
    )
    result = run(probe(HttpCheck(req)))
    assert result.success, result.reason


def test_a_missing_environment_variable_fails_the_check(http_server: ProbeHTTPServer) -> None:
    req = HttpRequest(http_server.base + "/echo", headers={"X": "{{ env.NOT_SET_ANYWHERE }}"})
    result = run(probe(HttpCheck(req)))
    assert result.reason == "environment variable NOT_SET_ANYWHERE is not set"


def test_connection_refused() -> None:
    result = run(probe(http(f"http://127.0.0.1:{closed_port()}/")))
    assert (result.success, result.reason) == (False, "connection refused")


def test_probe_max_latency_fails_a_slow_but_correct_check(http_server: ProbeHTTPServer) -> None:
    p = probe(http(http_server.base + "/slow"), max_latency=timedelta(milliseconds=100))
    result = run(p)
    assert not result.success
    assert result.reason.startswith("latency ") and result.reason.endswith(" > 100ms")
    assert result.latency >= 0.3


def test_latency_is_measured(http_server: ProbeHTTPServer) -> None:
    result = run(probe(http(http_server.base + "/slow")))
    assert result.success
    assert 0.3 <= result.latency < 2.0
    assert result.details["latency_seconds"] == pytest.approx(result.latency, abs=1e-5)


# --- HTTPS --------------------------------------------------------------------------------


def tls_probe(server: ProbeHTTPServer, ca_file: Path | None, **tls: Any) -> Probe:
    options = TlsOptions(ca_file=str(ca_file) if ca_file else None, **tls)
    return probe(HttpCheck(HttpRequest(server.base + "/health"), options))


def test_https_with_a_trusted_ca(https_server: ProbeHTTPServer, ca_file: Path) -> None:
    result = run(tls_probe(https_server, ca_file, min_days_left=14))
    assert result.success, result.reason


def test_https_certificate_expiring_soon(https_server: ProbeHTTPServer, ca_file: Path) -> None:
    # days left are counted from the probe's clock, not the wall clock
    soon = CERT_EXPIRES - timedelta(days=3, hours=12)
    result = run(tls_probe(https_server, ca_file, min_days_left=14), at=soon)
    assert (result.success, result.reason) == (False, "certificate expires in 3 days < 14")
    assert result.details["status"] == 200
    assert run(tls_probe(https_server, ca_file, min_days_left=3), at=soon).success
    late = CERT_EXPIRES + timedelta(days=2, hours=1)
    result = run(tls_probe(https_server, ca_file, min_days_left=3), at=late)
    assert result.reason == "certificate expired 3 day(s) ago"


def test_https_untrusted_certificate(https_server: ProbeHTTPServer) -> None:
    result = run(tls_probe(https_server, None))
    assert not result.success
    assert result.reason.startswith("TLS certificate verify failed: ")
    assert "self-signed" in result.reason or "unable to get local issuer" in result.reason


def test_https_without_verification(https_server: ProbeHTTPServer) -> None:
    assert run(tls_probe(https_server, None, verify=False)).success


def test_https_missing_ca_file(https_server: ProbeHTTPServer, tmp_path: Path) -> None:
    result = run(tls_probe(https_server, tmp_path / "nope.pem"))
    assert result.reason.startswith("cannot use caFile ")


def test_ca_file_is_relative_to_the_spec(https_server: ProbeHTTPServer, ca_file: Path) -> None:
    p = replace(tls_probe(https_server, Path(ca_file.name)), base_dir=str(ca_file.parent))
    assert run(p).success


def test_expiry_is_not_checked_on_plain_http(http_server: ProbeHTTPServer) -> None:
    check = HttpCheck(HttpRequest(http_server.base + "/health"), TlsOptions(min_days_left=1))
    assert run(probe(check)).success


# --- TCP ----------------------------------------------------------------------------------


def test_tcp_open_port(open_port: int) -> None:
    result = run(probe(TcpCheck("127.0.0.1", open_port)))
    assert result.success
    assert result.details == {"kind": "tcp", "address": f"127.0.0.1:{open_port}"}


def test_tcp_closed_port() -> None:
    port = closed_port()
    result = run(probe(TcpCheck("127.0.0.1", port)))
    assert (result.success, result.reason) == (False, f"connection refused by 127.0.0.1:{port}")


def test_tcp_unknown_host() -> None:
    result = run(probe(TcpCheck("no-such-host.invalid", 80)))
    assert result.reason.startswith("cannot resolve no-such-host.invalid")


# --- DNS ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "rtype", "expect", "reason"),
    [
        pytest.param("shop.test", "A", ("127.0.0.1",), "", id="a-record"),
        pytest.param("SHOP.test", "A", ("127.0.0.2", "127.0.0.1"), "", id="a-both-any-case"),
        pytest.param("shop.test", "MX", ("10 mx.shop.test",), "", id="mx-no-trailing-dot"),
        pytest.param("shop.test", "TXT", ("v=spf1 -all",), "", id="txt-unquoted"),
        pytest.param("www.shop.test", "CNAME", ("shop.test.",), "", id="cname"),
        pytest.param("shop.test", "A", (), "", id="resolves"),
        pytest.param(
            "shop.test",
            "A",
            ("10.0.0.1",),
            "shop.test A: expected 10.0.0.1 not among the answers (127.0.0.1, 127.0.0.2)",
            id="wrong-answer",
        ),
        pytest.param(
            "nope.shop.test", "A", (), "nope.shop.test: no such domain (NXDOMAIN)", id="nxdomain"
        ),
        pytest.param("www.shop.test", "A", (), "www.shop.test: no A records", id="no-answer"),
        pytest.param(HANG, "A", (), "timeout after 500ms", id="no-reply"),
        pytest.param(BROKEN, "A", (), f"{BROKEN} A: no nameserver answered", id="servfail"),
    ],
)
def test_dns_checks(
    dns_server: DnsServer, name: str, rtype: str, expect: tuple[str, ...], reason: str
) -> None:
    check = DnsCheck(name, rtype, expect, nameserver="127.0.0.1", port=dns_server.port)
    timeout = 0.5 if reason.startswith("timeout") else 10.0
    result = run(probe(check, timeout=timeout))
    assert result.reason.startswith(reason) if reason else result.reason == ""
    assert result.success is (reason == "")
    if result.success:
        assert result.details["answers"]


def test_https_expired_certificate(ca: Any, ca_file: Path) -> None:
    import ssl

    # expired by any real clock (OpenSSL checks validity against it in the handshake)
    cert = ca.issue_cert(
        "127.0.0.1",
        not_before=datetime(2000, 1, 1, tzinfo=UTC),
        not_after=datetime(2000, 1, 11, tzinfo=UTC),
    )
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    cert.configure_cert(ctx)
    server = ProbeHTTPServer(tls=ctx).start()
    try:
        result = run(tls_probe(server, ca_file, min_days_left=14))
    finally:
        server.stop()
    assert result.reason == "TLS certificate verify failed: certificate has expired"
