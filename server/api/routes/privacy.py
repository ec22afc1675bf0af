"""Data rights: consents, the member's copy, erasure, the record of processing, the access log.

Roles: admin for everything; a cashier may read and record a member's consents at the till.
The record of processing (``/privacy/record`` and the page ``/privacy``) needs no credential.
Every read of a member's personal data here is written to the access log.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, HTTPException, Query, Response
from fastapi.encoders import jsonable_encoder
from fastapi.responses import HTMLResponse, JSONResponse
from pydantic import BaseModel, Field

from server.api.deps import AdminDep, ConnDep, SettingsDep, require
from server.auth import Role
from server.privacy import consent as c
from server.privacy.erasure import ErasureOut, erase_member
from server.privacy.export import member_export, to_zip
from server.privacy.keys import hasher, keys_from
from server.privacy.profiling import blank_unprofiled
from server.privacy.record import (
    ProcessingRecord,
    build_record,
    load_store_record,
    render_html,
    system_record,
)
from server.privacy.retention import Retention, purge
from server.privacy.tracking import forget_member_tracking, member_group
from server.queries import privacy as q
from server.queries.credentials import Principal
from storeflow.api.privacy import MemberCopy, PurgeReport
from storeflow.yamlconf import ConfigError

logger = logging.getLogger(__name__)

router = APIRouter(tags=["privacy"])
page_router = APIRouter(tags=["privacy"])

TillOrAdminDep = Annotated[Principal, Depends(require(Role.CASHIER))]


class ConsentsOut(BaseModel):
    member_id: int
    consents: list[c.ConsentState]
    history: list[c.ConsentEntry]


class ConsentIn(BaseModel):
    granted: bool
    channel: str = Field(
        default="api", min_length=1, max_length=50, description="till, desk, app, web, ..."
    )


class ConsentChanged(BaseModel):
    member_id: int
    entry: c.ConsentEntry
    allowed: bool
    effects: dict[str, int]


async def _member(conn: ConnDep, member_id: int) -> tuple[int, bool]:
    """The member's record in use and whether it was erased; 404 when there is none."""
    cur = await conn.execute(
        "SELECT s.id, s.erased_at IS NOT NULL FROM member m JOIN member s "
        "ON s.id = coalesce(m.merged_into, m.id) WHERE m.id = %s",
        (member_id,),
    )
    row = await cur.fetchone()
    if row is None:
        raise HTTPException(404, "member not found")
    return int(row[0]), bool(row[1])


@router.get("/members/{member_id}/consents", response_model=ConsentsOut)
async def get_consents(member_id: int, conn: ConnDep, who: TillOrAdminDep) -> ConsentsOut:
    """What the member allows now, per purpose, and every choice recorded, oldest first."""
    member_id, _ = await _member(conn, member_id)
    await q.log_access(conn, who, member_id, "GET /members/{id}/consents")
    return ConsentsOut(
        member_id=member_id,
        consents=await c.states(conn, member_id),
        history=await c.history(conn, member_id),
    )


@router.put("/members/{member_id}/consents/{purpose}", response_model=ConsentChanged)
async def put_consent(
    member_id: int,
    purpose: c.Purpose,
    body: ConsentIn,
    conn: ConnDep,
    who: TillOrAdminDep,
    settings: SettingsDep,
) -> ConsentChanged:
    """Give or withdraw consent for one purpose. A withdrawal takes effect at once: tracking
    unlinks the member's past trips and visits, profiling blanks their individual figures."""
    member_id, erased = await _member(conn, member_id)
    if erased:
        raise HTTPException(409, "this member was erased")
    entry = await c.record(
        conn, member_id, purpose, granted=body.granted, channel=body.channel, actor=who.name
    )
    effects: dict[str, int] = {}
    if not await c.may_use(conn, member_id, purpose):
        if purpose is c.Purpose.IN_STORE_TRACKING:
            effects = await forget_member_tracking(
                conn,
                member_id,
                await hasher(conn, keys_from(settings)),
                gap_s=settings.trip_gap_s,
            )
        elif purpose is c.Purpose.PROFILING:
            group = await member_group(conn, member_id)
            effects = {"member_figures": await blank_unprofiled(conn, member_ids=group)}
    return ConsentChanged(
        member_id=member_id,
        entry=entry,
        allowed=await c.may_use(conn, member_id, purpose),
        effects=effects,
    )


@router.get(
    "/members/{member_id}/export",
    response_model=None,
    responses={
        200: {
            "model": MemberCopy,
            "content": {"application/zip": {"schema": {"type": "string", "format": "binary"}}},
        }
    },
)
async def export(
    member_id: int,
    conn: ConnDep,
    who: AdminDep,
    format: Annotated[Literal["json", "zip"], Query()] = "json",
) -> Response:
    """Everything held about the person, as JSON or (``format=zip``) a zip of CSV files."""
    data = await member_export(conn, member_id)
    if data is None:
        raise HTTPException(404, "member not found")
    await q.log_access(conn, who, int(data["member_id"]), f"GET /members/{{id}}/export ({format})")
    if format == "zip":
        return Response(
            to_zip(data),
            media_type="application/zip",
            headers={
                "Content-Disposition": f'attachment; filename="member-{data["member_id"]}.zip"'
            },
        )
    return JSONResponse(jsonable_encoder(data))


@router.post("/members/{member_id}/erase", response_model=ErasureOut)
async def erase(member_id: int, conn: ConnDep, who: AdminDep, settings: SettingsDep) -> ErasureOut:
    """Erase the member's personal data (and that of records merged into it). The request is
    logged first (and kept even if the erasure fails), its completion when it is done."""
    member_id, _ = await _member(conn, member_id)
    request_id = await q.open_request(conn, member_id, "erasure", who.name)
    await conn.commit()
    out = await erase_member(
        conn, member_id, await hasher(conn, keys_from(settings)), gap_s=settings.trip_gap_s
    )
    assert out is not None
    await q.complete_request(conn, request_id, out.model_dump(mode="json"))
    return out


async def _record(conn: ConnDep, settings: SettingsDep) -> ProcessingRecord:
    try:
        store = load_store_record(settings.privacy_record) if settings.privacy_record else None
    except ConfigError as exc:
        logger.error("privacy record: %s", exc)
        raise HTTPException(503, f"the store's privacy record is not valid: {exc}") from exc
    system = await system_record(
        conn,
        Retention.from_settings(settings),
        edge_key=settings.edge_epc_key is not None,
        secret=settings.privacy_secret is not None,
    )
    return build_record(store, system)


RecordDep = Annotated[ProcessingRecord, Depends(_record)]


@router.get("/privacy/record", response_model=ProcessingRecord)
async def record(rec: RecordDep) -> ProcessingRecord:
    """The record of processing (GDPR Art. 30): public, no credential needed."""
    return rec


@page_router.get("/privacy", response_class=HTMLResponse, include_in_schema=False)
async def privacy_page(rec: RecordDep) -> HTMLResponse:
    """The public privacy notice, generated from the record."""
    return HTMLResponse(render_html(rec))


@router.get("/privacy/access-log", response_model=list[q.AccessEntry])
async def access_log(
    conn: ConnDep,
    _: AdminDep,
    member_id: Annotated[int | None, Query()] = None,
    since: Annotated[datetime | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=10000)] = 500,
) -> list[q.AccessEntry]:
    """Who read which member's personal data, when, through which endpoint (newest first)."""
    return await q.access_log(conn, member_id=member_id, since=since, limit=limit)


@router.post("/privacy/purge")
async def run_purge(conn: ConnDep, who: AdminDep, settings: SettingsDep) -> PurgeReport:
    """Run the retention purge now (it also runs on a schedule in the server)."""
    report = await purge(
        conn,
        Retention.from_settings(settings),
        trigger=f"api:{who.name}",
        keys=keys_from(settings),
        trip_gap_s=settings.trip_gap_s,
    )
    return PurgeReport(run_id=report.run_id, cutoffs=report.cutoffs, deleted=report.deleted)


@router.get("/privacy/purge-runs", response_model=list[q.PurgeRun])
async def purge_runs(
    conn: ConnDep, _: AdminDep, limit: Annotated[int, Query(ge=1, le=1000)] = 50
) -> list[q.PurgeRun]:
    """The purge log, newest first."""
    return await q.purge_runs(conn, limit=limit)
