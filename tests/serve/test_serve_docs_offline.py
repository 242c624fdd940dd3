"""``slm serve``'s API docs load offline (no CDN), and its banner advertises only pages
that exist: a real server process on a loopback port."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from serve_helpers import SERVICE, STORE_SLO, ServerProcess

URL = re.compile(r"""(?:src|href)\s*=\s*["']([^"']+)["']|url:\s*["']([^"']+)["']""")


@pytest.fixture
def server(tmp_path: Path) -> Iterator[ServerProcess]:
    (tmp_path / "service.yaml").write_text(SERVICE.format(service="api"))
    (tmp_path / "slo.yaml").write_text(STORE_SLO.format(name="api", interval="1m", series="api"))
    s = ServerProcess([tmp_path], tmp_path, "--at", "2026-11-01T00:00:00Z", "--no-probes")
    s.start()
    try:
        yield s
    finally:
        s.stop()


@pytest.mark.parametrize("page", ["/docs", "/redoc"])
def test_docs_pages_reference_no_external_host_and_their_assets_are_served(
    server: ServerProcess, page: str
) -> None:
    r = server.get(page)
    assert r.status_code == 200
    html = r.text
    # Before: Swagger UI's script and style came from cdn.jsdelivr.net (blank offline).
    assert "://" not in html, re.findall(r"\S*://\S*", html)
    refs = {a or b for a, b in URL.findall(html)}
    assets = {ref for ref in refs if ref.endswith((".js", ".css"))}
    assert len(assets) >= 1
    for ref in refs:
        assert ref.startswith("/"), ref
        asset = server.get(ref)
        assert asset.status_code == 200, ref
        assert len(asset.content) > 100, ref


def test_banner_advertises_only_pages_that_answer(server: ServerProcess) -> None:
    banner = next(line for line in server.output().splitlines() if "status at http" in line)
    advertised = re.findall(r"\bat (http://\S+?|/\S+?)(?=[,\s)]|$)", banner)
    paths = {re.sub(r"^http://[^/]+", "", a) or "/" for a in advertised}
    assert paths == {"/api/v1/slos", "/docs", "/metrics"}, banner
    for path in paths:
        assert server.get(path).status_code == 200, path
    # Before: the banner read "slm serve: http://HOST:PORT/ ..." while / answered 404.
    assert not re.search(r"http://[^/\s]+/(\s|$)", banner)
