"""Reads -> tracker -> wire events -> outbox, without threads (the agent adds those).

Shared by the live agent and by replays (back-fill, evaluation), so both run the same code.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime

from edge.outbox import Outbox
from edge.reads import TagRead
from edge.tracker import TrackerParams, Visit, ZoneTracker
from edge.zones import AntennaMap
from storeflow.pseudonym import edge_epc
from storeflow.wire import Heartbeat, ReaderHealth, TagKind, ZoneVisit, visit_event_id

KIND_CACHE_MAX = 65_536  # tags whose kind the pipeline remembers


def to_datetime(ts: float) -> datetime:
    return datetime.fromtimestamp(ts, tz=UTC)


def visit_to_event(visit: Visit, *, store_id: str, epc_key: bytes | None = None) -> ZoneVisit:
    """A tracker visit as a wire event, with its deterministic id; with ``epc_key`` the EPC is
    replaced by its keyed hash (:func:`storeflow.pseudonym.edge_epc`)."""
    enter = to_datetime(visit.enter)
    epc = edge_epc(epc_key, visit.epc) if epc_key else visit.epc
    return ZoneVisit(
        event_id=visit_event_id(store_id=store_id, zone=visit.zone, epc=epc, enter_at=enter),
        store_id=store_id,
        zone=visit.zone,
        epc=epc,
        tag_kind=visit.tag_kind,
        enter_at=enter,
        exit_at=to_datetime(visit.exit),
        reads=visit.reads,
        mean_rssi_dbm=round(visit.mean_rssi_dbm, 2),
        reader_id=visit.reader_id,
    )


class EdgePipeline:
    """Thread-safe front of the tracker: feed reads, tick the clock, visits land in the outbox."""

    def __init__(
        self,
        *,
        store_id: str,
        antenna_map: AntennaMap,
        kind_of: Callable[[str], TagKind],
        outbox: Outbox,
        params: TrackerParams | None = None,
        on_visit: Callable[[Visit], None] | None = None,
        durable: bool = False,
        epc_key: bytes | None = None,
        outbox_batch: int = 1,
    ) -> None:
        """``outbox_batch``: closed visits go to the outbox this many at a time (the rest on
        :meth:`flush`); a replay's setting, where nothing is lost to a crash. The live agent
        writes each as it closes (1)."""
        if durable and outbox_batch != 1:
            raise ValueError("a durable pipeline writes every visit as it closes")
        self.store_id = store_id
        self._epc_key = epc_key
        self.tracker = ZoneTracker(zone_of=antenna_map, kind_of=kind_of, params=params)
        self._kind_of = kind_of
        self.goods_reads: dict[str, int] = {}  # per reader: reported in heartbeats
        self.outbox = outbox
        self._on_visit = on_visit
        self.durable = durable  # keep the open visits in the outbox with every write
        self._lock = threading.Lock()
        self._kinds: dict[str, TagKind] = {}
        self._outbox_batch = max(1, outbox_batch)
        self._held: list[ZoneVisit] = []
        self.visits_out = 0

    def feed(self, reads: Iterable[TagRead]) -> None:
        batch = reads if isinstance(reads, list) else list(reads)
        with self._lock:
            self._count_goods(batch)
            self._emit(self.tracker.feed(batch))

    def _count_goods(self, reads: list[TagRead]) -> None:
        """Count goods reads per reader (the tracker drops them)."""
        kinds, goods = self._kinds, self.goods_reads
        for read in reads:
            kind = kinds.get(read.epc)
            if kind is None:
                if len(kinds) >= KIND_CACHE_MAX:
                    kinds.clear()
                kind = kinds[read.epc] = self._kind_of(read.epc)
            if kind is TagKind.GOODS:
                goods[read.reader_id] = goods.get(read.reader_id, 0) + 1

    def tick(self, now: float, horizons: Mapping[str, float] | None = None) -> None:
        with self._lock:
            self._emit(self.tracker.advance(now, horizons))

    def flush(self) -> None:
        with self._lock:
            self._emit(self.tracker.flush())
            self._write_held()

    def checkpoint(self) -> None:
        """Save the open visits into the outbox (``durable`` pipelines; the ticker calls this)."""
        with self._lock:
            self.outbox.save_open_visits(self.tracker.open_state())

    def restore(self, now: float) -> int:
        """Reopen the open visits saved before a crash, close those absent since, return how
        many were reopened. Call before any read is fed."""
        with self._lock:
            n = self.tracker.restore(self.outbox.load_open_visits(), resumed_at=now)
            self._emit(self.tracker.advance(now))
            return n

    def reader_status(self, reader_id: str, *, connected: bool, now: float) -> None:
        """Tell the tracker whether ``reader_id`` is connected (:meth:`ZoneTracker.reader_down`)."""
        with self._lock:
            if connected:
                self.tracker.reader_up(reader_id, now)
            else:
                self.tracker.reader_down(reader_id, now)

    def heartbeat(self, *, device_id: str, now: float, readers: dict[str, ReaderHealth]) -> None:
        beat = Heartbeat(
            event_id=uuid.uuid4(),
            store_id=self.store_id,
            device_id=device_id,
            sent_at=to_datetime(now),
            outbox_depth=self.outbox.depth(),
            readers={
                rid: h.model_copy(update={"goods_reads": self.goods_reads.get(rid, 0)})
                for rid, h in readers.items()
            },
        )
        self.outbox.put([beat])

    def _emit(self, visits: list[Visit]) -> None:
        if not visits:
            return
        self.visits_out += len(visits)
        if self._on_visit is not None:
            for v in visits:
                self._on_visit(v)
        events = [visit_to_event(v, store_id=self.store_id, epc_key=self._epc_key) for v in visits]
        if self.durable:  # the closed visits and the open ones that remain, in one transaction
            self.outbox.put(events, open_visits=self.tracker.open_state())
            return
        self._held += events
        if len(self._held) >= self._outbox_batch:
            self._write_held()

    def _write_held(self) -> None:
        if self._held:
            events, self._held = self._held, []
            self.outbox.put(events)
