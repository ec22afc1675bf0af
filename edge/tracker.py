"""Zone tracking: raw tag reads in, zone visits (enter, exit, dwell) out.

The rules, in the spirit of EPCglobal ALE event cycles and the EdgeX LLRP inventory service:

* A read is mapped to a zone by its (reader, antenna). Reads carrying a reader timestamp are moved
  onto the host clock (:mod:`edge.clock_sync`); others take the host receive time.
* **Enter**: a tag enters zone Z once Z has at least ``enter_reads`` reads within the last
  ``enter_window_s`` seconds and no other zone read the tag louder over that window (mean RSSI,
  :func:`entry_zone`): a neighbour's cross-reads that happen to arrive first do not open a short
  phantom visit. The visit starts at the first of those reads.
* **Cross-reads**: while a tag is in zone A, zone B takes over only if B's mean RSSI over the window
  beats A's by ``hysteresis_db``, or A has not seen the tag for ``switch_absence_s``. A neighbouring
  antenna's weaker, sparser reads therefore never split a visit.
* **Exit**: a visit ends at the last read in its zone, once the tag has been absent from that
  zone for ``exit_timeout_s`` or another zone took over.
* **Absence is counted only while the edge listens**: while a visit's reader is disconnected
  (or the edge itself was down: restored visits) its absence clock stands still, for at most
  ``reader_outage_hold_s``; once the reader is back, absence counts from then. Reads an MQTT
  reader queued meanwhile extend the visit instead of opening a second one, and a tag that
  stays through a short outage keeps one visit.
* **Edge padding**: reads arrive as a Poisson process, so the first read comes a little after the
  true entry and the last a little before the true exit. Each end is widened by the median of
  that gap, ``ln 2 / rate`` (capped, and never overlapping the tag's neighbouring visits).

Everything here is pure: time comes in with the reads and with :meth:`ZoneTracker.advance`.
"""

from __future__ import annotations

import logging
import math
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from pydantic import Field

from edge.clock_sync import OffsetEstimator
from edge.reads import TagRead
from edge.zones import AntennaMap
from storeflow.models import Frozen
from storeflow.wire import TagKind

logger = logging.getLogger(__name__)

LN2 = math.log(2.0)


class TrackerParams(Frozen):
    """Tracker settings (the ``tracker:`` section of the edge config)."""

    enter_reads: int = Field(default=3, ge=1, description="reads needed to enter a zone")
    enter_window_s: float = Field(default=4.0, gt=0, description="...within this many seconds")
    exit_timeout_s: float = Field(default=5.0, gt=0, description="absence that ends a visit")
    switch_absence_s: float = Field(default=2.0, gt=0, description="absence that lets a rival win")
    hysteresis_db: float = Field(default=3.0, ge=0, description="RSSI margin a rival zone needs")
    pad_edges: bool = Field(default=True, description="widen visit ends by the expected read gap")
    max_pad_s: float = Field(default=2.0, ge=0)
    late_read_margin_s: float = Field(default=1.0, ge=0, description="wait for late reads")
    reader_outage_hold_s: float = Field(
        default=300.0, ge=0, description="longest a disconnected reader's visits are held open"
    )


@dataclass(frozen=True, slots=True)
class Visit:
    """A finished zone visit, in host-clock epoch seconds."""

    epc: str
    tag_kind: TagKind
    zone: str
    reader_id: str
    enter: float
    exit: float
    reads: int
    mean_rssi_dbm: float

    @property
    def dwell_s(self) -> float:
        return self.exit - self.enter


@dataclass(slots=True)
class _Window:
    """Recent reads of one tag in one zone."""

    times: deque[float] = field(default_factory=deque)
    rssis: deque[float] = field(default_factory=deque)
    rssi_sum: float = 0.0

    def add(self, t: float, rssi: float, horizon: float) -> None:
        self.times.append(t)
        self.rssis.append(rssi)
        self.rssi_sum += rssi
        self.prune(horizon)

    def prune(self, horizon: float) -> None:
        times, rssis = self.times, self.rssis
        while times and times[0] < horizon:
            times.popleft()
            self.rssi_sum -= rssis.popleft()

    def mean(self) -> float:
        return self.rssi_sum / len(self.times) if self.times else -math.inf


@dataclass(slots=True)
class _TagState:
    kind: TagKind
    windows: dict[str, _Window] = field(default_factory=dict)
    zone: str | None = None
    reader_id: str = ""
    enter: float = 0.0
    last: float = 0.0
    reads: int = 0
    rssi_sum: float = 0.0
    last_seen: float = 0.0
    prev_exit: float = -math.inf
    listen_from: float = -math.inf  # absence counts from max(last, listen_from)


ZoneLookup = Callable[[str, int, float], str | None]


def entry_zone(windows: Mapping[str, tuple[int, float]], enter_reads: int) -> str | None:
    """The zone a tag in no zone enters: of the zones that read it over the window
    (zone -> (reads, mean RSSI)), the loudest, once it has ``enter_reads`` reads; else None
    (a louder zone without enough reads yet holds the others back). Pure."""
    heard = [(mean, zone, n) for zone, (n, mean) in windows.items() if n > 0]
    if not heard:
        return None
    _, zone, n = max(heard)
    return zone if n >= enter_reads else None


class ZoneTracker:
    """Turns a stream of :class:`TagRead` into closed :class:`Visit` records.

    ``zone_of(reader_id, antenna, t)`` maps an antenna to the zone it covers at time ``t`` (layouts
    change over time); ``kind_of(epc)`` says what a tag is. Tags whose kind is in ``ignore_kinds``
    (goods by default) are counted and otherwise dropped.
    """

    def __init__(
        self,
        *,
        zone_of: ZoneLookup,
        kind_of: Callable[[str], TagKind],
        params: TrackerParams | None = None,
        ignore_kinds: Iterable[TagKind] = (TagKind.GOODS,),
    ) -> None:
        self.params = params or TrackerParams()
        self._zone_of = zone_of
        # Antennas that cover one zone for good (an AntennaMap knows them): looked up directly.
        self._fixed_zones: Mapping[tuple[str, int], str] = (
            zone_of.fixed if isinstance(zone_of, AntennaMap) else {}
        )
        self._kind_of = kind_of
        self._ignore = frozenset(ignore_kinds)
        self._tags: dict[str, _TagState] = {}
        self._kinds: dict[str, TagKind] = {}
        self._offsets: dict[str, OffsetEstimator] = {}
        self.reads_seen = 0
        self.reads_unmapped = 0
        self.reads_ignored: dict[TagKind, int] = {}
        self.latest_ts = -math.inf
        self._down: dict[str, float] = {}  # reader -> since when it is disconnected

    # -- input -------------------------------------------------------------------------------

    def host_time(self, read: TagRead) -> float:
        """The read's time on the host clock, correcting the reader's clock when it has one."""
        if read.reader_ts is None:
            return read.host_ts
        est = self._offsets.get(read.reader_id)
        if est is None:
            est = self._offsets[read.reader_id] = OffsetEstimator()
        return est.correct(read.reader_ts, read.host_ts)

    def clock_offsets(self) -> dict[str, float]:
        """Current estimate of each reader's clock offset (reader - host), seconds."""
        return {r: e.offset_s for r, e in self._offsets.items() if e.offset_s is not None}

    def feed(self, reads: Iterable[TagRead]) -> list[Visit]:
        """Process reads; return the visits that these reads closed (by a zone switch)."""
        out: list[Visit] = []
        p = self.params
        window_s = p.enter_window_s
        enter_reads = p.enter_reads
        tags = self._tags
        zone_of = self._zone_of
        fixed = self._fixed_zones
        offsets = self._offsets
        seen = 0
        latest = self.latest_ts
        try:
            for read in reads:
                seen += 1
                reader_id, antenna, epc, rssi, t, reader_ts = read
                if reader_ts is not None:  # host_time, inlined
                    est = offsets.get(reader_id)
                    if est is None:
                        est = offsets[reader_id] = OffsetEstimator()
                    t = est.correct(reader_ts, t)
                if t > latest:
                    latest = t
                zone = fixed.get((reader_id, antenna))
                if zone is None:
                    zone = zone_of(reader_id, antenna, t)
                if zone is None:
                    self.reads_unmapped += 1
                    continue
                state = tags.get(epc)
                if state is None:
                    kind = self._kinds.get(epc)
                    if kind is None:
                        kind = self._kinds[epc] = self._kind_of(epc)
                    if kind in self._ignore:
                        self.reads_ignored[kind] = self.reads_ignored.get(kind, 0) + 1
                        continue
                    state = tags[epc] = _TagState(kind=kind)
                state.last_seen = t
                win = state.windows.get(zone)
                if win is None:
                    win = state.windows[zone] = _Window()
                # _Window.add, inlined: this runs for every read
                times = win.times
                rssis = win.rssis
                times.append(t)
                rssis.append(rssi)
                rssi_sum = win.rssi_sum + rssi
                horizon = t - window_s
                while times and times[0] < horizon:
                    times.popleft()
                    rssi_sum -= rssis.popleft()
                win.rssi_sum = rssi_sum
                if zone == state.zone:
                    state.reads += 1
                    state.rssi_sum += rssi
                    if t > state.last:
                        state.last = t
                    continue
                if len(times) < enter_reads:
                    continue
                if state.zone is None:
                    heard: dict[str, tuple[int, float]] = {}
                    for z, w in state.windows.items():
                        w.prune(horizon)
                        heard[z] = (len(w.times), w.mean())
                    if entry_zone(heard, enter_reads) == zone:
                        self._open(state, zone, reader_id, win)
                    continue
                cur = state.windows.get(state.zone)
                cur_mean = -math.inf
                if cur is not None:
                    cur.prune(horizon)
                    cur_mean = cur.mean()
                if win.mean() > cur_mean + p.hysteresis_db or t - state.last >= p.switch_absence_s:
                    next_enter = times[0]
                    out.append(self._close(epc, state, next_enter=next_enter))
                    self._open(state, zone, reader_id, win)
        finally:
            self.reads_seen += seen
            self.latest_ts = latest
        return out

    def reader_down(self, reader_id: str, at: float) -> None:
        """``reader_id`` is disconnected since ``at``: its visits stop ageing (see the module)."""
        self._down.setdefault(reader_id, at)

    def reader_up(self, reader_id: str, at: float) -> None:
        """``reader_id`` is connected again at ``at``: absence of its tags counts from then."""
        if self._down.pop(reader_id, None) is None:
            return
        for state in self._tags.values():
            if state.zone is not None and state.reader_id == reader_id:
                state.listen_from = max(state.listen_from, at)

    def advance(self, now: float, horizons: Mapping[str, float] | None = None) -> list[Visit]:
        """Close visits whose tag has been absent for the exit timeout as of ``now`` (absence
        counted only while their reader was connected). ``horizons``: per reader, the time up
        to which its reads have all been fed; its tags are judged as of then (a reader the
        edge is behind with does not lose its visits to reads still waiting to be read)."""
        p = self.params
        cutoff = now - p.exit_timeout_s - p.late_read_margin_s
        behind = {
            r: min(h, now) - p.exit_timeout_s - p.late_read_margin_s
            for r, h in (horizons or {}).items()
            if h < now
        }
        forget = now - max(p.enter_window_s, p.exit_timeout_s) - p.late_read_margin_s
        held = {r for r, since in self._down.items() if now - since < p.reader_outage_hold_s}
        out: list[Visit] = []
        stale: list[str] = []
        for epc, state in self._tags.items():
            if (
                state.zone is not None
                and max(state.last, state.listen_from) < behind.get(state.reader_id, cutoff)
                and state.reader_id not in held
            ):
                out.append(self._close(epc, state, next_enter=None))
            if state.zone is None and state.last_seen < forget:
                stale.append(epc)
        for epc in stale:
            del self._tags[epc]
        return out

    def flush(self) -> list[Visit]:
        """Close every open visit (at shutdown or the end of a replay)."""
        out = [self._close(epc, s, next_enter=None) for epc, s in self._tags.items() if s.zone]
        self._tags.clear()
        return out

    # -- durability --------------------------------------------------------------------------

    def open_state(self) -> list[dict[str, Any]]:
        """The open visits as plain values, for a checkpoint (see :meth:`restore`)."""
        return [
            {
                "epc": epc,
                "kind": s.kind.value,
                "zone": s.zone,
                "reader_id": s.reader_id,
                "enter": s.enter,
                "last": s.last,
                "reads": s.reads,
                "rssi_sum": s.rssi_sum,
                "last_seen": s.last_seen,
                "prev_exit": s.prev_exit if math.isfinite(s.prev_exit) else None,
            }
            for epc, s in self._tags.items()
            if s.zone is not None
        ]

    def restore(self, states: Iterable[dict[str, Any]], *, resumed_at: float | None = None) -> int:
        """Reopen visits from a checkpoint (after a crash); returns how many were restored.

        A restored visit keeps its enter time, so it closes with the same event id; the next
        reads of the tag extend it, or :meth:`advance` closes it by the absence rule, counted
        from ``resumed_at`` (the edge heard nothing while it was down, which is no absence).
        """
        n = 0
        for v in states:
            try:
                epc = str(v["epc"])
                prev = v.get("prev_exit")
                state = _TagState(
                    kind=TagKind(v["kind"]),
                    zone=str(v["zone"]),
                    reader_id=str(v["reader_id"]),
                    enter=float(v["enter"]),
                    last=float(v["last"]),
                    reads=int(v["reads"]),
                    rssi_sum=float(v["rssi_sum"]),
                    last_seen=float(v["last_seen"]),
                    prev_exit=-math.inf if prev is None else float(prev),
                    listen_from=-math.inf if resumed_at is None else resumed_at,
                )
            except (KeyError, TypeError, ValueError) as exc:
                logger.error("cannot restore an open visit %r: %s", v, exc)
                continue
            if state.reads < 1 or epc in self._tags:
                continue
            self._tags[epc] = state
            self._kinds[epc] = state.kind
            self.latest_ts = max(self.latest_ts, state.last_seen)
            n += 1
        return n

    @property
    def open_visits(self) -> int:
        return sum(1 for s in self._tags.values() if s.zone is not None)

    # -- state changes -----------------------------------------------------------------------

    @staticmethod
    def _open(state: _TagState, zone: str, reader_id: str, win: _Window) -> None:
        state.zone = zone
        state.reader_id = reader_id
        state.enter = win.times[0]
        state.last = max(win.times)
        state.reads = len(win.times)
        state.rssi_sum = win.rssi_sum

    def _close(self, epc: str, state: _TagState, *, next_enter: float | None) -> Visit:
        assert state.zone is not None
        enter, exit_ = state.enter, state.last
        if self.params.pad_edges and state.reads >= 3 and exit_ > enter:
            rate = (state.reads - 1) / (exit_ - enter)
            pad = min(LN2 / rate, self.params.max_pad_s)
            # not back over the previous visit's end, but never after this visit's first read
            # (late reads from a reader the edge was behind with may precede that end)
            enter = max(enter - pad, min(state.prev_exit, enter))
            exit_ = exit_ + pad if next_enter is None else max(min(exit_ + pad, next_enter), exit_)
        visit = Visit(
            epc=epc,
            tag_kind=state.kind,
            zone=state.zone,
            reader_id=state.reader_id,
            enter=enter,
            exit=exit_,
            reads=state.reads,
            mean_rssi_dbm=state.rssi_sum / state.reads,
        )
        state.prev_exit = exit_
        state.listen_from = -math.inf
        state.zone = None
        state.reads = 0
        state.rssi_sum = 0.0
        return visit
