"""Fixtures for the probe tests: real loopback servers (see ``probe_servers``)."""

from __future__ import annotations

import socket
import ssl
from collections.abc import Iterator
from pathlib import Path

import pytest
import trustme
from probe_servers import CERT_EXPIRES, CERT_VALID_FROM, DnsServer, ProbeHTTPServer


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


@pytest.fixture(scope="session")
def https_server(ca: trustme.CA) -> Iterator[ProbeHTTPServer]:
    """HTTPS with a certificate valid from ``CERT_VALID_FROM`` to ``CERT_EXPIRES``."""
    cert = ca.issue_cert(
        "127.0.0.1", "localhost", not_before=CERT_VALID_FROM, not_after=CERT_EXPIRES
    )
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    cert.configure_cert(ctx)
    server = ProbeHTTPServer(tls=ctx).start()
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
