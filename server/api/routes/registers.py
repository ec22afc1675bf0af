"""The cashier's screen: the page, and a live stream of the member cards scanned at a register.

Card scans arrive through ingest (the register agent) and are announced with PostgreSQL
``NOTIFY card_scan``; each open stream LISTENs, so this works with several server processes.
"""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator
from importlib import resources
from typing import Any

import psycopg
from fastapi import APIRouter
from fastapi.responses import HTMLResponse, StreamingResponse

from server.api.deps import CashierDep, ConnDep, StateDep, check_register, check_store
from server.errors import DomainError
from server.loyalty.rules import TierRules
from server.queries import membership as q
from server.sale_limits import limits_from
from storeflow.api.till import TillConfig

logger = logging.getLogger(__name__)

router = APIRouter(prefix="/registers", tags=["cashier"])
page_router = APIRouter(tags=["cashier"])

KEEPALIVE_S = 15.0


def _sse(event: str, data: dict[str, Any]) -> bytes:
    return f"event: {event}\ndata: {json.dumps(data, default=str)}\n\n".encode()


async def _scan_events(
    database_url: str, *, store_id: str, register_id: str, tiers: TierRules
) -> AsyncIterator[bytes]:
    async with await psycopg.AsyncConnection.connect(database_url, autocommit=True) as listen:
        await listen.execute("LISTEN card_scan")
        yield b": connected\n\n"
        while True:
            got = False
            async for note in listen.notifies(timeout=KEEPALIVE_S, stop_after=1):
                got = True
                scan = json.loads(note.payload)
                if scan.get("store_id") != store_id or scan.get("register_id") != register_id:
                    continue
                async with await psycopg.AsyncConnection.connect(database_url) as conn:
                    try:
                        member = await q.lookup(
                            conn,
                            card=scan["card_number"],
                            phone=None,
                            member_no=None,
                            tiers=tiers,
                        )
                        yield _sse(
                            "member",
                            {
                                "scanned_at": scan["scanned_at"],
                                "card_number": scan["card_number"],
                                **member.model_dump(mode="json"),
                            },
                        )
                    except DomainError as exc:
                        yield _sse(
                            "problem", {"scanned_at": scan["scanned_at"], "message": str(exc)}
                        )
            if not got:
                yield b": keep-alive\n\n"


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
        _scan_events(
            state.database_url,
            store_id=store_id,
            register_id=register_id,
            tiers=state.rules.tiers,
        ),
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
    """The cashier's page (plain HTML and a little JavaScript; no build step)."""
    html = resources.files("server").joinpath("static", "cashier.html").read_text("utf-8")
    return HTMLResponse(html)
