"""Domain errors to HTTP answers, registered once on the app (``install``)."""

from __future__ import annotations

import logging

import psycopg
from fastapi import FastAPI, Request, status
from fastapi.responses import JSONResponse

from server.errors import Conflict, DomainError, Forbidden, InvalidRequest, NotFound

logger = logging.getLogger(__name__)

STATUS: tuple[tuple[type[DomainError], int], ...] = (
    (NotFound, status.HTTP_404_NOT_FOUND),
    (Conflict, status.HTTP_409_CONFLICT),
    (InvalidRequest, status.HTTP_422_UNPROCESSABLE_CONTENT),
    (Forbidden, status.HTTP_403_FORBIDDEN),
)


def status_for(exc: DomainError) -> int:
    """The HTTP status of a domain error (its nearest listed class; 400 for any other)."""
    for kind, code in STATUS:
        if isinstance(exc, kind):
            return code
    return status.HTTP_400_BAD_REQUEST


async def domain_error_response(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, DomainError)
    code = status_for(exc)
    logger.info("%s %s -> %s: %s", request.method, request.url.path, code, exc)
    return JSONResponse({"detail": str(exc)}, status_code=code)


async def bad_value_response(request: Request, exc: Exception) -> JSONResponse:
    """A value the database or the calendar cannot hold (a NUL character in text, a number or
    a date out of range): the caller's input, so 422, and the database's words stay here."""
    logger.info("%s %s -> 422: %s", request.method, request.url.path, exc)
    return JSONResponse(
        {"detail": "a value is out of range or holds characters text cannot hold"},
        status_code=status.HTTP_422_UNPROCESSABLE_CONTENT,
    )


def install(app: FastAPI) -> None:
    """Answer every domain error raised below a route with its status and ``{"detail": ...}``;
    a value out of range (``psycopg.DataError``, ``OverflowError``) with 422."""
    app.add_exception_handler(DomainError, domain_error_response)
    app.add_exception_handler(psycopg.DataError, bad_value_response)
    app.add_exception_handler(OverflowError, bad_value_response)
