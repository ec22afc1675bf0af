"""Domain errors: raised by the query layer without any HTTP in them, answered once by the app's
handler with the status that fits and the message as ``detail``."""

from __future__ import annotations

import asyncio

import psycopg
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from server.api.errors import install, status_for
from server.errors import (
    Conflict,
    DomainError,
    Forbidden,
    InsufficientPoints,
    InvalidRequest,
    NotFound,
)
from server.queries import membership as q
from tests.fix_db import Api


@pytest.mark.parametrize(
    ("error", "status"),
    [
        (NotFound("card not found"), 404),
        (Conflict("card reported lost"), 409),
        (InsufficientPoints(5, 9), 409),
        (InvalidRequest("give card, phone or member_no"), 422),
        (Forbidden("this credential is for store 'north'"), 403),
        (DomainError("refused"), 400),
    ],
)
def test_each_domain_error_has_one_status(error: DomainError, status: int) -> None:
    assert status_for(error) == status
    assert not hasattr(error, "status")  # the exception itself knows nothing of HTTP


def test_the_handler_answers_with_the_status_and_the_message() -> None:
    app = FastAPI()
    install(app)

    @app.get("/points")
    async def points() -> None:
        raise InsufficientPoints(20, 50)

    with TestClient(app) as client:
        r = client.get("/points")
    assert (r.status_code, r.json()) == (
        409,
        {"detail": "insufficient points: 20 available, 50 requested"},
    )


def test_an_invalid_request_is_still_a_value_error() -> None:
    # pure code that catches ValueError (the analysis layer) keeps catching it
    assert isinstance(InvalidRequest("end must be after start"), ValueError)


def test_the_query_layer_raises_a_domain_error_the_api_answers_as_404(api: Api) -> None:
    async def look_up() -> None:
        async with await psycopg.AsyncConnection.connect(api.db_url) as conn:
            await q.member_for_card(conn, "0000")

    with pytest.raises(NotFound, match="card not found"):
        asyncio.run(look_up())

    till = api.headers("cashier", store_id="demo", register_id="T1")
    client: TestClient = api.client  # type: ignore[assignment]
    r = client.get("/api/v1/members/lookup", params={"card": "0000"}, headers=till)
    assert (r.status_code, r.json()["detail"]) == (404, "card not found")
    r = client.get("/api/v1/members/lookup", headers=till)
    assert (r.status_code, r.json()["detail"]) == (422, "give card, phone or member_no")
