"""Request dependencies: the app's state, a pooled connection per request, the loyalty rules in
force, and the caller's credential."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Annotated, Any

from fastapi import Depends, HTTPException, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from psycopg import AsyncConnection
from psycopg_pool import AsyncConnectionPool

from server.api.state import AppState
from server.auth import Role
from server.loyalty.rules import LoyaltyRules
from server.queries.credentials import Principal, principal_for_token
from server.settings import Settings

STATE_KEY = "storeflow"  # the lifespan state entry holding the AppState

_bearer = HTTPBearer(auto_error=False)


def get_state(request: Request) -> AppState:
    """The state the lifespan built (requests only run inside the lifespan)."""
    state = getattr(request.state, STATE_KEY, None)
    if not isinstance(state, AppState):
        raise RuntimeError("the app state is missing: was the app started through its lifespan?")
    return state


StateDep = Annotated[AppState, Depends(get_state)]


def get_pool(state: StateDep) -> AsyncConnectionPool[Any]:
    return state.pool


def get_settings(state: StateDep) -> Settings:
    return state.settings


def get_rules(state: StateDep) -> LoyaltyRules:
    return state.rules


PoolDep = Annotated[AsyncConnectionPool[Any], Depends(get_pool)]


async def get_conn(pool: PoolDep) -> AsyncIterator[AsyncConnection[Any]]:
    """A connection from the pool; committed when the request succeeds, rolled back if not."""
    async with pool.connection() as conn:
        yield conn


ConnDep = Annotated[AsyncConnection[Any], Depends(get_conn)]
SettingsDep = Annotated[Settings, Depends(get_settings)]
RulesDep = Annotated[LoyaltyRules, Depends(get_rules)]
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


def check_register(principal: Principal, register_id: str) -> None:
    """A till's credential may only act at its own register."""
    if principal.register_id is not None and principal.register_id != register_id:
        raise HTTPException(
            status.HTTP_403_FORBIDDEN, f"this credential is for register {principal.register_id!r}"
        )


EdgeDep = Annotated[Principal, Depends(require(Role.EDGE))]
PlannerDep = Annotated[Principal, Depends(require(Role.PLANNER))]
CashierDep = Annotated[Principal, Depends(require(Role.CASHIER))]
AdminDep = Annotated[Principal, Depends(require())]
