"""``POST /api/v1/ingest``: batches of wire events from edge devices."""

from __future__ import annotations

from fastapi import APIRouter

from server.api.deps import ConnDep, EdgeDep, SettingsDep
from server.privacy.keys import keys_from
from server.queries.ingest import ingest_batch
from storeflow.wire import IngestBatch, IngestResult

router = APIRouter(tags=["ingest"])


@router.post("/ingest", response_model=IngestResult)
async def ingest(
    batch: IngestBatch, conn: ConnDep, principal: EdgeDep, settings: SettingsDep
) -> IngestResult:
    """Store a batch idempotently (an event id already stored counts as a duplicate).

    Zone visits go in through COPY and a staging table; the trips of the tags concerned are
    re-assembled in the same transaction. Events for another store than the edge credential's
    are counted as rejected."""
    return await ingest_batch(
        conn,
        principal=principal,
        batch=batch,
        trip_gap_s=settings.trip_gap_s,
        privacy=keys_from(settings),
    )
