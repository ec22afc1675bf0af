"""``POST /api/v1/ingest``: batches of wire events from edge devices and till card scanners;
``POST /api/v1/ingest/columns``: the same from edge devices, zone visits as columns."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from fastapi import APIRouter

from server.api.deps import ConnDep, IngestDep, SettingsDep, StateDep
from server.api.json_body import ValidatedJsonRoute
from server.api.state import AppState
from server.ingest_checks import TimeWindow
from server.privacy.keys import keys_from
from server.queries.ingest import ingest_batch, ingest_columns
from server.settings import Settings
from storeflow.columns import ColumnarBatch
from storeflow.wire import IngestBatch, IngestResult

# the batches are validated from the JSON bytes in one pass (server/api/json_body.py)
router = APIRouter(tags=["ingest"], route_class=ValidatedJsonRoute)


def _window(settings: Settings) -> TimeWindow:
    return TimeWindow(
        now=datetime.now(UTC),
        max_age=timedelta(days=settings.ingest_max_age_days),
        max_ahead=timedelta(seconds=settings.ingest_max_ahead_s),
    )


def _counted(state: AppState, result: IngestResult) -> IngestResult:
    """The answer, once its figures are in the server's metrics."""
    state.metrics.ingested(
        accepted=result.accepted, duplicates=result.duplicates, rejected=result.rejected
    )
    return result


@router.post("/ingest", response_model=IngestResult)
async def ingest(
    batch: IngestBatch, conn: ConnDep, principal: IngestDep, settings: SettingsDep, state: StateDep
) -> IngestResult:
    """Store a batch idempotently (an event id already stored counts as a duplicate).

    Zone visits go in through COPY and a staging table; the trips of the tags concerned are
    re-assembled in the same transaction, committed before the answer: a 200 means stored.
    Events the credential may not send (another store's, card scans from an edge device, any
    other event from a till's scanner) or dated outside the accepted window are rejected, each
    with its reason in ``problems``."""
    result = await ingest_batch(
        conn,
        principal=principal,
        batch=batch,
        trip_gap_s=settings.trip_gap_s,
        window=_window(settings),
        privacy=keys_from(settings),
    )
    return _counted(state, result)


@router.post("/ingest/columns", response_model=IngestResult)
async def ingest_in_columns(
    batch: ColumnarBatch,
    conn: ConnDep,
    principal: IngestDep,
    settings: SettingsDep,
    state: StateDep,
) -> IngestResult:
    """Store a columnar batch (``storeflow/columns.py``): zone visits as one array per field,
    any other event as in ``/ingest``. The checks, the steps and the answer are those of
    ``/ingest``; a row's ``index`` counts the visits first, then ``events``."""
    result = await ingest_columns(
        conn,
        principal=principal,
        batch=batch,
        trip_gap_s=settings.trip_gap_s,
        window=_window(settings),
        privacy=keys_from(settings),
    )
    return _counted(state, result)
