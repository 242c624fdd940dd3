"""Every error answer is an RFC 9457 problem (``slm.api.problems``): slm's errors by the
one status table, FastAPI's validation, Starlette's unknown routes and methods, and a bug
(500 without its message); and the CLI's one exit-code table keeps the documented codes."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from fastapi import APIRouter
from fastapi.testclient import TestClient
from serve_helpers import problem

from slm.api.app import create_app
from slm.api.problems import STATUSES, status_of, type_of
from slm.cli.errors import EXIT_CODES, OutputError, exit_code
from slm.domain import errors as domain
from slm.services import errors as services
from slm.services.ports import FixedClock
from slm.services.status import StatusBoard
from slm.store.db import Store

NOW = datetime(2026, 11, 2, 12, tzinfo=UTC)
RAISED: dict[str, Exception] = {
    "missing": domain.NotFoundError("no such thing"),
    "signed": domain.SignedOffError("signed off", about="root_cause"),
    "store": domain.StoreError("database is locked"),
    "bug": RuntimeError("secret internals"),
}


@pytest.fixture
def client(store: Store) -> Iterator[TestClient]:
    router = APIRouter()

    @router.get("/raise/{what}")
    def raise_(what: str) -> None:
        raise RAISED[what]

    app = create_app(StatusBoard([]), store, clock=FixedClock(NOW), routers=[router])
    with TestClient(app, raise_server_exceptions=False) as c:
        yield c


def test_unknown_routes_and_methods_are_problems(client: TestClient) -> None:
    got = problem(client.get("/nope"), 404)
    assert (got["type"], got["title"], got["detail"]) == ("about:blank", "Not Found", "Not Found")
    r = client.delete("/api/v1/slos")
    assert problem(r, 405)["type"] == "about:blank" and r.headers["allow"] == "GET"


def test_errors_of_the_tree_answer_by_the_table(client: TestClient) -> None:
    got = problem(client.get("/raise/missing"), 404)
    assert got["type"] == "tag:slm.dev,2026:problem:not-found"
    assert got["detail"] == "no such thing" and got["errors"] == []
    got = problem(client.get("/raise/signed"), 409)
    assert got["errors"] == [{"field": "root_cause", "message": "signed off"}]
    got = problem(client.get("/raise/store"), 503)
    assert got["type"] == "tag:slm.dev,2026:problem:store-unavailable"


def test_a_bug_is_a_500_problem_that_keeps_its_message_in_the_log(
    client: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.ERROR, logger="slm.api"):
        got = problem(client.get("/raise/bug"), 500)
    assert "secret internals" not in got["detail"] and "bug in slm" in got["detail"]
    assert "secret internals" in caplog.text  # with its traceback


def test_a_body_that_is_not_utf8_is_a_422_about_the_body(client: TestClient) -> None:
    r = client.post(
        "/api/v1/measurements", content=b"\x80\xff", headers={"Content-Type": "application/json"}
    )
    [where] = problem(r, 422)["errors"]
    assert (where["in"], where["pointer"]) == ("body", "")
    assert "cannot be read" in where["message"]


TREE = [
    c
    for module in (domain, services)
    for c in vars(module).values()
    if isinstance(c, type) and issubclass(c, domain.SlmError)
] + [OutputError]


@pytest.mark.parametrize("cls", TREE, ids=lambda c: c.__name__)
def test_every_error_of_the_tree_has_an_exit_code_and_a_status(cls: type) -> None:
    error = cls.__new__(cls)
    assert exit_code(error) in {1, 2, 3, 4, 5, 8}
    assert 400 <= status_of(error) < 600
    assert type_of(error).startswith("tag:slm.dev,2026:problem:")


def test_the_exit_codes_are_the_documented_ones() -> None:
    """docs/cli.md, "Exit codes": the codes each kind of error had before the table."""
    codes = {
        domain.SpecError: 1,
        domain.DataError: 1,
        domain.ConflictError: 1,
        domain.SignedOffError: 1,
        services.IdempotencyConflict: 1,
        services.MissingIdempotencyKey: 1,
        services.InvalidBatch: 1,
        domain.InvalidDocument: 1,
        domain.UsageError: 2,
        domain.MissingExtraError: 2,
        services.PeriodError: 2,
        services.OutsideTermError: 2,
        services.PeriodTextError: 2,
        OutputError: 2,
        domain.SlmError: 2,
        domain.SourceError: 3,
        domain.DeliveryError: 3,
        domain.NotFoundError: 4,
        domain.StoreError: 5,
        domain.StoreConflict: 5,
        services.UndeterminedError: 8,
    }
    assert {c: exit_code(c.__new__(c)) for c in codes} == codes
    assert set(EXIT_CODES) <= set(TREE) and set(STATUSES) <= set(TREE)
