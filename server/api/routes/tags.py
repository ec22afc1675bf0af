"""The tag registry of a store (admin) and the tags it does not know (planner).

``POST /stores/{id}/tags`` registers tags as JSON, ``POST /stores/{id}/tags/import`` as CSV
(``epc,kind[,label]`` with a header line); both re-classify what was already stored of them and
answer what changed. ``GET /stores/{id}/unknown-tags`` lists unknown tags' visits per reader and
zone, their most common EPC patterns, and the goods reads each edge reader dropped."""

from __future__ import annotations

import csv
import io
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query, Request
from pydantic import ValidationError

from server.api.deps import AdminDep, ConnDep, PlannerDep, SettingsDep
from server.errors import InvalidRequest
from server.queries import tags as q
from storeflow.api.tags import Reclassified, RegisteredTag, TagIn, UnknownTags
from storeflow.wire import TagKind

router = APIRouter(prefix="/stores/{store_id}", tags=["tags"])

MAX_TAGS = 100_000


@router.post("/tags")
async def register(
    store_id: str, body: list[TagIn], conn: ConnDep, settings: SettingsDep, _: AdminDep
) -> Reclassified:
    """Register tags (carts, baskets, staff badges, member cards): from now on the registry
    decides their kind, and their stored visits, trips and daily facts follow."""
    if len(body) > MAX_TAGS:
        raise InvalidRequest(f"at most {MAX_TAGS} tags per request")
    return await q.register_tags(conn, store_id, body, gap_s=settings.trip_gap_s)


@router.get("/tags")
async def list_tags(
    store_id: str, conn: ConnDep, _: AdminDep, kind: TagKind | None = None
) -> list[RegisteredTag]:
    """The tags registered for the store (member cards issued to members are not listed)."""
    return await q.list_tags(conn, store_id, kind)


@router.post(
    "/tags/import",
    openapi_extra={
        "requestBody": {"content": {"text/csv": {"schema": {"type": "string"}}}, "required": True}
    },
)
async def import_csv(
    store_id: str, request: Request, conn: ConnDep, settings: SettingsDep, _: AdminDep
) -> Reclassified:
    """Register tags from CSV (``epc,kind,label``, header line first; label optional)."""
    tags = parse_tags_csv((await request.body()).decode("utf-8-sig"))
    return await q.register_tags(conn, store_id, tags, gap_s=settings.trip_gap_s)


def parse_tags_csv(text: str, *, source: str = "csv") -> list[TagIn]:
    """Tags from CSV text; a bad row is an error naming its line and column (422)."""
    reader = csv.DictReader(io.StringIO(text))
    fields = [f.strip().lower() for f in reader.fieldnames or []]
    if "epc" not in fields or "kind" not in fields:
        raise InvalidRequest(f"{source}:1: the header needs the columns epc and kind")
    reader.fieldnames = fields
    out: list[TagIn] = []
    errors: list[str] = []
    for row in reader:
        if not any((v or "").strip() for v in row.values()):
            continue
        try:
            out.append(
                TagIn(
                    epc=(row.get("epc") or "").strip(),
                    kind=(row.get("kind") or "").strip(),
                    label=(row.get("label") or "").strip() or None,
                )
            )
        except ValidationError as exc:
            for err in exc.errors():
                col = ".".join(str(p) for p in err["loc"]) or "row"
                errors.append(f"{source}:{reader.line_num}: {col}: {err['msg']}")
        if len(out) > MAX_TAGS:
            raise InvalidRequest(f"at most {MAX_TAGS} tags per import")
    if errors:
        raise InvalidRequest("\n".join(errors[:50]))
    if not out:
        raise InvalidRequest(f"{source}: no tags")
    return out


@router.get("/unknown-tags")
async def unknown_tags(
    store_id: str,
    conn: ConnDep,
    _: PlannerDep,
    start: Annotated[datetime | None, Query(description="from (default: all)")] = None,
    end: Annotated[datetime | None, Query(description="until, exclusive")] = None,
    limit: Annotated[int, Query(ge=1, le=1000, description="patterns listed")] = 50,
) -> UnknownTags:
    """Tags the registry and the edge's rules do not know, so store IT can map them: visits
    per reader and zone, the EPC patterns seen most (scheme, company, object class), and the
    goods reads each edge reader dropped. No EPC is listed: unknown tags are pseudonymous."""
    return await q.unknown_tags(conn, store_id, start, end, limit=limit)
