"""Request dependencies: a pooled connection per request, and the caller's credential."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Annotated, Any

from fastapi import Depends, HTTPException, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from psycopg import AsyncConnection

from server.auth import Role
from server.queries.credentials import Principal, principal_for_token
from server.settings import Settings

_bearer = HTTPBearer(auto_error=False)


async def get_conn(request: Request) -> AsyncIterator[AsyncConnection[Any]]:
    """A connection from the pool; committed when the request succeeds, rolled back if not."""
    async with request.app.state.pool.connection() as conn:
        yield conn


def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


ConnDep = Annotated[AsyncConnection[Any], Depends(get_conn)]
SettingsDep = Annotated[Settings, Depends(get_settings)]
BearerDep = Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]


def require(*roles: Role) -> Callable[..., Awaitable[Principal]]:
    """A dependency that admits callers with one of ``roles`` (admins always pass)."""

    async def check(conn: ConnDep, creds: BearerDep) -> Principal:
        if creds is None or not creds.credentials:
            raise HTTPException(
                status.HTTP_401_UNAUTHORIZED,
                "a bearer token is required",
                headers={"WWW-Authenticate": "Bearer"},
            )
        principal = await principal_for_token(conn, creds.credentials)
        if principal is None:
            raise HTTPException(
                status.HTTP_401_UNAUTHORIZED,
                "unknown or revoked token",
                headers={"WWW-Authenticate": "Bearer"},
            )
        if principal.role is not Role.ADMIN and principal.role not in roles:
            allowed = ", ".join(r.value for r in roles) or "admin"
            raise HTTPException(
                status.HTTP_403_FORBIDDEN, f"this needs the role: {allowed} or admin"
            )
        return principal

    return check


def check_store(principal: Principal, store_id: str) -> None:
    """Scoped credentials (edge, cashier) may only act for their own store."""
    if principal.store_id is not None and principal.store_id != store_id:
        raise HTTPException(
            status.HTTP_403_FORBIDDEN, f"this credential is for store {principal.store_id!r}"
        )


EdgeDep = Annotated[Principal, Depends(require(Role.EDGE))]
PlannerDep = Annotated[Principal, Depends(require(Role.PLANNER))]
CashierDep = Annotated[Principal, Depends(require(Role.CASHIER))]
AdminDep = Annotated[Principal, Depends(require())]
