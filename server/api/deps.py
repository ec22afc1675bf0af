"""Request dependencies: the app's state, a pooled connection per request, the loyalty rules in
force, the caller's credential, and the abuse limits.

The request's connection is committed when the handler has returned and before the answer is
sent (``scope="function"``): a 200 means the write is durable, a failed COMMIT is a 500, and a
till that reads right after its own write (on whichever pooled connection) sees it."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Annotated, Any

from fastapi import Depends, HTTPException, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from psycopg import AsyncConnection
from psycopg_pool import AsyncConnectionPool

from server.api.state import AppState
from server.auth import Role, token_hash
from server.loyalty.rules import LoyaltyRules
from server.queries.credentials import Principal, principal_for_token
from server.ratelimit import retry_after
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
    """A connection from the pool; committed when the handler succeeds, rolled back if not.

    Used with ``scope="function"``: the COMMIT runs before the response is sent, and the
    connection is back in the pool before a stream's body starts."""
    async with pool.connection() as conn:
        yield conn


ConnDep = Annotated[AsyncConnection[Any], Depends(get_conn, scope="function")]
SettingsDep = Annotated[Settings, Depends(get_settings)]
RulesDep = Annotated[LoyaltyRules, Depends(get_rules)]
BearerDep = Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]


def _unauthorized(detail: str) -> HTTPException:
    return HTTPException(
        status.HTTP_401_UNAUTHORIZED, detail, headers={"WWW-Authenticate": "Bearer"}
    )


def _too_many(state: AppState, limit: str, wait_s: float, detail: str) -> HTTPException:
    state.metrics.rate_limited.labels(limit).inc()
    return HTTPException(
        status.HTTP_429_TOO_MANY_REQUESTS, detail, headers={"Retry-After": retry_after(wait_s)}
    )


def client_address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


async def authenticate(
    request: Request, state: StateDep, conn: AsyncConnection[Any], token: str
) -> Principal:
    """The credential of ``token``; 401 if unknown or revoked, 429 once a client address (or a
    token) has presented too many bad credentials lately."""
    limiter = state.limits.auth_failures
    keys = (f"addr:{client_address(request)}", f"token:{token_hash(token).hex()}")
    wait_s = max(limiter.blocked(k) for k in keys)
    if wait_s > 0:
        raise _too_many(state, "credentials", wait_s, "too many failed credentials; wait")
    principal = await principal_for_token(conn, token)
    if principal is None:
        for k in keys:
            limiter.take(k)
        raise _unauthorized("unknown or revoked token")
    return principal


def require(*roles: Role) -> Callable[..., Awaitable[Principal]]:
    """A dependency that admits callers with one of ``roles`` (admins always pass)."""

    async def check(
        request: Request, state: StateDep, conn: ConnDep, creds: BearerDep
    ) -> Principal:
        if creds is None or not creds.credentials:
            raise _unauthorized("a bearer token is required")
        principal = await authenticate(request, state, conn, creds.credentials)
        if principal.role is not Role.ADMIN and principal.role not in roles:
            allowed = ", ".join(r.value for r in roles) or "admin"
            raise HTTPException(
                status.HTTP_403_FORBIDDEN, f"this needs the role: {allowed} or admin"
            )
        # a store named in the path or the query is checked here, once for every route
        for store_id in (request.path_params.get("store_id"), request.query_params.get("store_id")):
            if store_id is not None:
                check_store(principal, str(store_id))
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
IngestDep = Annotated[Principal, Depends(require(Role.EDGE, Role.CASHIER, Role.REGISTER))]


def limit_lookups(state: StateDep, who: CashierDep) -> Principal:
    """Member look-ups are rate-limited per credential (429 with ``Retry-After`` beyond)."""
    wait_s = state.limits.lookups.take(f"credential:{who.id}")
    if wait_s > 0:
        raise _too_many(state, "lookups", wait_s, "too many look-ups; wait")
    return who


LookupDep = Annotated[Principal, Depends(limit_lookups)]
