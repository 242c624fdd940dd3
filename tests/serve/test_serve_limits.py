"""Request bodies have a size limit (413 before the body is read whole) and the incident
list is paged (``limit``, ``cursor``, ``next``), on a real ``slm serve``."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from serve_helpers import ServerProcess, problem, store_workspace

from slm.api.app import create_app
from slm.api.deps import Services
from slm.api.pages import MAX_LIMIT
from slm.services.incidents import IncidentService
from slm.services.ports import FixedClock
from slm.services.status import StatusBoard
from slm.spec.loader import load_workspace
from slm.store.db import Store

AT = "2026-11-02T12:00:00Z"
BASE = "/api/v1/incidents"


def raw_request(port: int, head: str, body: bytes, timeout: float = 10.0) -> bytes:
    """Send ``head`` and ``body`` on a socket; the answer, up to the server closing."""
    answer = b""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        s.sendall(head.encode() + body)
        try:
            while chunk := s.recv(65536):  # the server closes the connection after it
                answer += chunk
        except TimeoutError:
            pass
    return answer


def test_a_body_over_the_limit_is_a_413_before_it_is_read(
    serve: type[ServerProcess], tmp_path: Any
) -> None:
    server = serve([store_workspace(tmp_path)], tmp_path, "--at", AT).start()
    # 64 MB announced, 1 KB sent: the answer comes without waiting for the rest
    head = (
        f"POST {BASE} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        f"Content-Length: {64 * 1024 * 1024}\r\n\r\n"
    )
    started = time.monotonic()
    answer = raw_request(server.port, head, b"{" + b" " * 1023)
    assert answer.startswith(b"HTTP/1.1 413 "), answer[:200]
    assert time.monotonic() - started < 5
    assert b"application/problem+json" in answer and b"larger than 1048576 bytes" in answer

    # without a length (chunked), it is counted as it comes and refused past the limit
    def chunks() -> Iterator[bytes]:
        yield b'{"title": "'
        for _ in range(40):
            yield b"x" * 65536  # 2.5 MiB in all

    r = httpx.post(
        server.url + BASE, content=chunks(), headers={"Content-Type": "application/json"}
    )
    assert "larger than 1048576 bytes" in problem(r, 413)["detail"]

    # bulk routes take more: a 2 MiB push is read (and refused for its content, not size)
    big = {"idempotency_key": "k" * 2 * 1024 * 1024, "items": []}
    r = server.post("/api/v1/measurements", json=big)
    assert problem(r, 422)["errors"][0]["field"] in ("idempotency_key", "items")
    assert server.get("/healthz").status_code == 200


def test_the_limits_are_options(serve: type[ServerProcess], tmp_path: Any) -> None:
    ws = store_workspace(tmp_path)
    server = serve([ws], tmp_path, "--at", AT, "--max-body", "100", "--max-bulk-body", "200")
    server.start()
    r = server.post(BASE, json={"title": "t" * 100, "service": "checkout"})
    assert "larger than 100 bytes" in problem(r, 413)["detail"]
    items = [{"series": "s", "timestamp": 1793491200 + 60 * n, "value": 1} for n in range(5)]
    r = server.post("/api/v1/measurements", json={"idempotency_key": "k", "items": items})
    assert "larger than 200 bytes" in problem(r, 413)["detail"]
    metrics = server.get("/metrics").text
    assert 'slm_push_batches_total{outcome="rejected"} 1.0' in metrics


SPECS = """\
apiVersion: openslo/v1
kind: Service
metadata:
  name: checkout
spec: {}
"""
COUNT = 1234  # more than the largest page
T0 = datetime(2026, 10, 1, tzinfo=UTC)


@pytest.fixture
def client(store: Store, tmp_path: Any) -> Iterator[TestClient]:
    (tmp_path / "specs.yaml").write_text(SPECS)
    ws = load_workspace([tmp_path / "specs.yaml"])
    clock = FixedClock(datetime(2026, 11, 2, 12, tzinfo=UTC))
    service = IncidentService(store, ws, clock=clock)
    app = create_app(StatusBoard([]), store, clock=clock, services=Services(incidents=service))
    with TestClient(app) as c:
        yield c


@pytest.fixture
def listed(client: TestClient) -> TestClient:
    """``client`` with COUNT incidents, imported in one request."""
    doc = {
        "result": [
            {
                "number": f"INC{n:07d}",
                "short_description": f"incident {n}",
                "cmdb_ci": "checkout",
                "priority": "3",
                "state": "2",
                # ten incidents share each instant: the id breaks the tie
                "opened_at": (T0 + timedelta(minutes=(COUNT - n) // 10)).strftime(
                    "%Y-%m-%d %H:%M:%S"
                ),
            }
            for n in range(COUNT)
        ]
    }
    r = client.post(f"{BASE}/import?format=servicenow", json=doc)
    assert r.status_code == 200, r.text
    return client


def walk(client: TestClient, path: str) -> tuple[list[str], int]:
    """Every id of the list, following ``next``; and the number of pages."""
    ids: list[str] = []
    pages = 0
    while path:
        r = client.get(path)
        assert r.status_code == 200, r.text
        body = r.json()
        assert body["schema"] == "slm.incidents/v1"
        ids += [i["id"] for i in body["items"]]
        pages += 1
        if body["next"] is not None:
            assert r.headers["link"] == f'<{body["next"]}>; rel="next"'
        path = body["next"]
    return ids, pages


def test_the_incident_list_pages_through_every_incident_once(listed: TestClient) -> None:
    client = listed
    first = client.get(BASE).json()
    assert len(first["items"]) == 100 and first["next"].startswith(f"{BASE}?cursor=")
    ids, pages = walk(client, BASE)
    assert pages == 13 and len(ids) == COUNT == len(set(ids))
    opened = {n: (T0 + timedelta(minutes=(COUNT - n) // 10), f"INC{n:07d}") for n in range(COUNT)}
    assert ids == [iid for _, iid in sorted(opened.values())]  # oldest first, then by id
    big, pages = walk(client, f"{BASE}?limit={MAX_LIMIT}&status=all")
    assert (big, pages) == (ids, 2)
    few, _ = walk(client, f"{BASE}?limit=7&service=checkout")
    assert few == ids
    last = client.get(f"{BASE}?limit={COUNT}")
    assert problem(last, 422)["errors"][0] == {
        "in": "query",
        "field": "limit",
        "message": f"Input should be less than or equal to {MAX_LIMIT}",
    }


@pytest.mark.parametrize("cursor", ["nope", "W10", "WyJ4IiwgMV0", "WyIyMDI2LTAxLTAxIiwieCJd"])
def test_a_cursor_not_made_by_the_server_is_a_422(client: TestClient, cursor: str) -> None:
    [where] = problem(client.get(f"{BASE}?cursor={cursor}"), 422)["errors"]
    assert (where["in"], where["field"]) == ("query", "cursor")
    assert "not a cursor of this list" in where["message"]
