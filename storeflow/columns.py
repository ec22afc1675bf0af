"""The columnar encoding of an ingest batch: the edge's lean body for ``/api/v1/ingest/columns``.

The events of an :class:`~storeflow.wire.IngestBatch`, with the zone visits as columns: one JSON
array per field instead of one object per visit. The values and their rules are the zone visit's
(the field types are shared with :mod:`storeflow.wire`); the server checks each column in one
pass and turns rows straight into database rows, without a model object per visit. Any other
event (heartbeats, card scans, raw reads) travels as it does in the JSON batch, in ``events``.

Row numbers (``RowProblem.index`` in the answer): the visits first, in column order, then
``events``. The JSON batch stays the format for everyone else; the answer is the same.

Versioned by ``columns_version``; a server that does not know a version answers 422.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import Literal, Self

from pydantic import AwareDatetime, Field, model_validator

from storeflow.models import Frozen
from storeflow.wire import (
    MAX_BATCH_EVENTS,
    DeviceId,
    Epc,
    Event,
    ReadCount,
    StoreId,
    TagKind,
    ZoneCode,
    ZoneVisit,
)

COLUMNS_VERSION: Literal[1] = 1


class VisitColumns(Frozen):
    """Zone visits, one list per field of :class:`~storeflow.wire.ZoneVisit`, all one length."""

    event_id: list[uuid.UUID] = Field(default_factory=list)
    store_id: list[StoreId] = Field(default_factory=list)
    zone: list[ZoneCode] = Field(default_factory=list)
    epc: list[Epc] = Field(default_factory=list)
    tag_kind: list[TagKind] = Field(default_factory=list)
    enter_at: list[AwareDatetime] = Field(default_factory=list)
    exit_at: list[AwareDatetime] = Field(default_factory=list)
    reads: list[ReadCount] = Field(default_factory=list)
    mean_rssi_dbm: list[float] = Field(default_factory=list)
    reader_id: list[str] = Field(default_factory=list)

    @model_validator(mode="after")
    def _one_length(self) -> Self:
        lengths = {name: len(getattr(self, name)) for name in type(self).model_fields}
        if len(set(lengths.values())) > 1:
            raise ValueError(f"the visit columns differ in length: {lengths}")
        return self

    def __len__(self) -> int:
        return len(self.event_id)

    def rows(self) -> Iterator[ZoneVisit]:
        """The visits as wire events (for tests and tools; the server reads the columns)."""
        for values in zip(*(getattr(self, name) for name in type(self).model_fields), strict=True):
            yield ZoneVisit(**dict(zip(type(self).model_fields, values, strict=True)))


class ColumnarBatch(Frozen):
    """What an edge agent posts to ``/api/v1/ingest/columns``."""

    columns_version: Literal[1] = COLUMNS_VERSION
    device_id: DeviceId
    sent_at: AwareDatetime
    visits: VisitColumns = Field(default_factory=VisitColumns)
    events: list[Event] = Field(default_factory=list, description="any other events")

    def all_events(self) -> list[Event]:
        """Every event of the batch in row order (the visits, then ``events``), as wire events."""
        return [*self.visits.rows(), *self.events]

    @model_validator(mode="after")
    def _bounded(self) -> Self:
        n = len(self.visits) + len(self.events)
        if n > MAX_BATCH_EVENTS:
            raise ValueError(f"{n} events in one batch; at most {MAX_BATCH_EVENTS}")
        return self


def encode_columns(
    *, device_id: str, sent_at: datetime, events: Sequence[Event]
) -> tuple[str, list[int]]:
    """The columnar body for ``events``, and the place of each row of the body in ``events``
    (the visits come first, so the server's row numbers are positions in the body).

    Raises :class:`ValueError` for a value JSON cannot carry (a NaN or infinite number), as the
    JSON batch's encoder refuses it too."""
    cols: dict[str, list[object]] = {name: [] for name in VisitColumns.model_fields}
    order: list[int] = []
    others: list[str] = []
    other_places: list[int] = []
    for place, event in enumerate(events):
        if isinstance(event, ZoneVisit):
            cols["event_id"].append(str(event.event_id))
            cols["store_id"].append(event.store_id)
            cols["zone"].append(event.zone)
            cols["epc"].append(event.epc)
            cols["tag_kind"].append(event.tag_kind.value)
            cols["enter_at"].append(event.enter_at.isoformat())
            cols["exit_at"].append(event.exit_at.isoformat())
            cols["reads"].append(event.reads)
            cols["mean_rssi_dbm"].append(event.mean_rssi_dbm)
            cols["reader_id"].append(event.reader_id)
            order.append(place)
        else:
            others.append(event.model_dump_json())
            other_places.append(place)
    head = json.dumps(
        {"columns_version": COLUMNS_VERSION, "device_id": device_id, "sent_at": sent_at.isoformat()}
    )
    visits = json.dumps(cols, allow_nan=False, separators=(",", ":"))
    body = f'{head[:-1]}, "visits": {visits}, "events": [{",".join(others)}]}}'
    return body, order + other_places
