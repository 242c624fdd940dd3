"""Fixtures for the probe tests: real loopback servers (see ``probe_servers``)."""

from __future__ import annotations

import socket
import ssl
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import trustme
from probe_servers import DnsServer, ProbeHTTPServer


@pytest.fixture(scope="session")
def http_server() -> Iterator[ProbeHTTPServer]:
    server = ProbeHTTPServer().start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture(scope="session")
def ca_file(ca: trustme.CA, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("ca") / "ca.pem"
    ca.cert_pem.write_to_path(str(path))
    return path


def _tls_server(ca: trustme.CA, not_after: datetime | None) -> ProbeHTTPServer:
    cert = ca.issue_cert("127.0.0.1", "localhost", not_after=not_after)
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    cert.configure_cert(ctx)
    return ProbeHTTPServer(tls=ctx).start()


@pytest.fixture(scope="session")
def https_server(ca: trustme.CA) -> Iterator[ProbeHTTPServer]:
    """HTTPS with a certificate valid for 90 more days."""
    server = _tls_server(ca, datetime.now(UTC) + timedelta(days=90, hours=1))
    yield server
    server.stop()


@pytest.fixture(scope="session")
def expiring_https_server(ca: trustme.CA) -> Iterator[ProbeHTTPServer]:
    """HTTPS with a certificate that expires in 3 days (and some hours)."""
    server = _tls_server(ca, datetime.now(UTC) + timedelta(days=3, hours=12))
    yield server
    server.stop()


@pytest.fixture(scope="session")
def dns_server() -> Iterator[DnsServer]:
    server = DnsServer().start()
    yield server
    server.stop()


@pytest.fixture
def open_port() -> Iterator[int]:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    s.listen()
    yield s.getsockname()[1]
    s.close()
