"""The cashier's screen: the page, and a live stream of the member cards scanned at a register.

Card scans arrive through ingest (the till's card scanner) and are announced with PostgreSQL
``NOTIFY card_scan``; one connection per server process LISTENs (``server.scanhub``) and hands
each scan to the streams of its register, so this works with several server processes and an
open stream never holds a pooled connection. Each scan's member look-up borrows a pooled
connection for that look-up only.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator
from typing import Any

from fastapi import APIRouter
from fastapi.responses import HTMLResponse, StreamingResponse

from server.api.deps import CashierDep, ConnDep, StateDep, check_register, check_store
from server.api.middleware import static_page
from server.api.state import AppState
from server.errors import DomainError
from server.queries import membership as q
from server.queries.credentials import Principal
from server.queries.privacy import log_access
from server.sale_limits import limits_from
from storeflow.api.till import TillConfig

logger = logging.getLogger(__name__)

router = APIRouter(prefix="/registers", tags=["cashier"])
page_router = APIRouter(tags=["cashier"])

KEEPALIVE_S = 15.0


def _sse(event: str, data: dict[str, Any]) -> bytes:
    return f"event: {event}\ndata: {json.dumps(data, default=str)}\n\n".encode()


async def _member_event(state: AppState, scan: dict[str, Any], who: Principal) -> bytes:
    try:
        async with state.pool.connection() as conn:
            member = await q.lookup(
                conn,
                card=str(scan["card_number"]),
                phone=None,
                member_no=None,
                tiers=state.rules.tiers,
            )
            await log_access(conn, who, member.member_id, "GET /registers/{id}/scans")
    except DomainError as exc:
        return _sse("problem", {"scanned_at": scan.get("scanned_at"), "message": str(exc)})
    return _sse(
        "member",
        {
            "scanned_at": scan.get("scanned_at"),
            "card_number": scan["card_number"],
            **member.model_dump(mode="json"),
        },
    )


async def _scan_events(
    state: AppState, *, store_id: str, register_id: str, who: Principal
) -> AsyncIterator[bytes]:
    async with state.scans.subscribe(store_id, register_id) as scans:
        yield b": connected\n\n"
        while True:
            try:
                scan = await asyncio.wait_for(scans.get(), KEEPALIVE_S)
            except TimeoutError:
                yield b": keep-alive\n\n"
                continue
            yield await _member_event(state, scan, who)


@router.get(
    "/{register_id}/scans",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/event-stream": {"schema": {"type": "string"}}}}},
)
async def scan_stream(
    register_id: str, store_id: str, state: StateDep, who: CashierDep
) -> StreamingResponse:
    """Server-sent events: ``member`` (who was scanned) or ``problem`` (unknown or lost card)."""
    check_store(who, store_id)
    check_register(who, register_id)
    return StreamingResponse(
        _scan_events(state, store_id=store_id, register_id=register_id, who=who),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )


@router.get("/{register_id}/till")
async def till_config(
    register_id: str, store_id: str, conn: ConnDep, state: StateDep, who: CashierDep
) -> TillConfig:
    """What the cashier's page offers and checks: the store's counters and the sale limits."""
    check_store(who, store_id)
    check_register(who, register_id)
    limits = limits_from(state.settings)
    return TillConfig(
        store_id=store_id,
        register_id=register_id,
        counters=await q.store_counters(conn, store_id),
        confirm_above=limits.confirm_above,
        supervisor_above=limits.supervisor_above,
        hard_max=limits.hard_max,
    )


@page_router.get("/cashier", response_class=HTMLResponse, include_in_schema=False)
async def cashier_page() -> HTMLResponse:
    """The cashier's page (plain HTML and a little JavaScript; no build step). Its inline script
    runs by its hash (Content-Security-Policy), nothing else does."""
    html, csp = static_page("cashier.html")
    return HTMLResponse(html, headers={"Content-Security-Policy": csp})
