"""The wire schema shared by edge agents and the server.

This is the only contract between the store and the server: every message an edge agent sends
is one of the events below, inside an :class:`IngestBatch`. The module imports no I/O library,
so the edge, the server and the simulator can all depend on it.

Every event carries a unique ``event_id``. Ids of zone visits are deterministic (a UUIDv5 of the
store, zone, tag and enter time), so replaying the same reads produces the same ids and the
server's ``ON CONFLICT DO NOTHING`` makes the replay harmless.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from storeflow.models import Frozen

SCHEMA_VERSION: Literal[1] = 1

# Namespace for deterministic event ids (a fixed, arbitrary UUID).
EVENT_NAMESPACE = uuid.UUID("6f1d2b0e-4c1a-4f6e-9a57-3c8e2d1b7a90")


class TagKind(StrEnum):
    """What a tag is attached to. Only member cards, carts and baskets are shoppers."""

    MEMBER_CARD = "member_card"
    CART = "cart"
    BASKET = "basket"
    STAFF = "staff"
    GOODS = "goods"
    UNKNOWN = "unknown"


_SHOPPERS = (TagKind.MEMBER_CARD, TagKind.CART, TagKind.BASKET)
SHOPPER_TAG_KINDS = frozenset(_SHOPPERS)
# The same as plain strings, for SQL: ``tag_kind = ANY(%s)`` with ``list(SHOPPER_TAG_VALUES)``.
SHOPPER_TAG_VALUES: tuple[str, ...] = tuple(k.value for k in _SHOPPERS)

# Field rules, shared by the events below and the columnar encoding (storeflow/columns.py).
StoreId = Annotated[str, Field(min_length=1, max_length=64)]
ZoneCode = Annotated[str, Field(min_length=1, max_length=64)]
DeviceId = Annotated[str, Field(min_length=1, max_length=64)]
Epc = Annotated[str, Field(pattern=r"^[0-9A-F]{8,64}$")]
ReadCount = Annotated[int, Field(ge=1)]
MAX_BATCH_EVENTS = 10_000


class _Event(Frozen):
    event_id: uuid.UUID
    store_id: StoreId


class RawRead(_Event):
    """One tag read by one antenna, with the time already corrected to host time."""

    kind: Literal["raw_read"] = "raw_read"
    reader_id: str
    antenna: int = Field(ge=1, le=64)
    epc: Epc
    rssi_dbm: float
    read_at: AwareDatetime


class ZoneVisit(_Event):
    """A tag present in a zone from ``enter_at`` to ``exit_at`` (dwell = exit - enter)."""

    kind: Literal["zone_visit"] = "zone_visit"
    zone: ZoneCode
    epc: Epc
    tag_kind: TagKind
    enter_at: AwareDatetime
    exit_at: AwareDatetime
    reads: ReadCount
    mean_rssi_dbm: float
    reader_id: str

    @property
    def dwell_s(self) -> float:
        return (self.exit_at - self.enter_at).total_seconds()


class ReaderHealth(Frozen):
    connected: bool
    reads_total: int = 0
    frames_bad: int = 0
    reconnects: int = 0
    last_read_at: AwareDatetime | None = None
    clock_offset_s: float | None = None
    # Decoder statistics (optional: older edges do not send them).
    frames_ok: int = 0
    bytes_skipped: int = 0
    errors: dict[str, int] = Field(default_factory=dict)  # bad frames/messages by reason
    goods_reads: int = Field(default=0, ge=0, description="goods (SGTIN-96) reads dropped")
    # How far behind the edge is with this reader (optional: older edges do not send them).
    lag_s: float | None = Field(
        default=None, ge=0, description="edge-clock seconds since its input was last read empty"
    )
    bytes_waiting: int = Field(default=0, ge=0, description="bytes read but not yet decoded")


class Heartbeat(_Event):
    """Periodic status of an edge agent and its readers."""

    kind: Literal["heartbeat"] = "heartbeat"
    device_id: str
    sent_at: AwareDatetime
    outbox_depth: int = Field(ge=0)
    readers: dict[str, ReaderHealth] = Field(default_factory=dict)
    # Fault counters (optional with defaults: older edges do not send them).
    status: Literal["ok", "degraded"] = "ok"
    problems: list[str] = Field(default_factory=list)  # why degraded, in words
    rejected: dict[str, int] = Field(default_factory=dict)  # reads refused at entry, by reason
    dead_letters: int = Field(default=0, ge=0)  # events set aside, never to be sent
    outbox_bytes: int = Field(default=0, ge=0)
    outbox_held: int = Field(default=0, ge=0)  # events in memory, the disk refusing them
    outbox_refused_writes: int = Field(default=0, ge=0)
    outbox_dropped: dict[str, int] = Field(default_factory=dict)  # by reason: age, rows, ...
    thread_restarts: dict[str, int] = Field(default_factory=dict)  # crashes, by thread
    loop_lag_s: float = Field(default=0.0, ge=0)  # how late the edge's ticker woke (wall s)


class CardScan(_Event):
    """A member card presented at a till's card scanner."""

    kind: Literal["card_scan"] = "card_scan"
    register_id: str
    card_number: str = Field(min_length=1, max_length=64)
    scanned_at: AwareDatetime
    scanner: Literal["rdm6300", "barcode", "magstripe", "manual"]


Event = Annotated[RawRead | ZoneVisit | Heartbeat | CardScan, Field(discriminator="kind")]


class IngestBatch(Frozen):
    """What an edge agent posts to ``/api/v1/ingest``."""

    schema_version: Literal[1] = SCHEMA_VERSION
    device_id: DeviceId
    sent_at: AwareDatetime
    events: list[Event] = Field(max_length=MAX_BATCH_EVENTS)


class RowProblem(BaseModel):
    """Why one event of a batch was rejected (``index``: its place in ``events``)."""

    model_config = ConfigDict(frozen=True)

    index: int
    event_id: uuid.UUID
    reason: str


class IngestResult(BaseModel):
    """The server's acknowledgement: the edge deletes the batch from its outbox on this.

    Rejected events are not stored and never will be (resending them gives the same answer);
    ``problems`` says why, one entry per rejected event."""

    model_config = ConfigDict(frozen=True)

    accepted: int
    duplicates: int
    rejected: int = 0
    problems: list[RowProblem] = Field(default_factory=list)


def visit_event_id(*, store_id: str, zone: str, epc: str, enter_at: datetime) -> uuid.UUID:
    """Deterministic id of a zone visit: the same reads always give the same id."""
    stamp = enter_at.isoformat(timespec="milliseconds")
    return uuid.uuid5(EVENT_NAMESPACE, f"visit|{store_id}|{zone}|{epc}|{stamp}")


def scan_event_id(*, store_id: str, register_id: str, card_number: str, at: datetime) -> uuid.UUID:
    """Deterministic id of a card scan (one presentation of one card at one till)."""
    stamp = at.isoformat(timespec="milliseconds")
    return uuid.uuid5(EVENT_NAMESPACE, f"scan|{store_id}|{register_id}|{card_number}|{stamp}")
