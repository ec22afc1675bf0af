"""Running the simulated store: live (emitting reads as simulated time passes) or back-fill.

Live: shoppers are generated a chunk of simulated time ahead of the shared
:class:`ScaledClock`; their visits feed one continuous read stream (:func:`generate_reads`), and
every ~50 ms of wall time the reads whose simulated time has come go to their reader's emitter,
one batch per reader. Truth (visits, staff visits, purchases, trips) is appended to the truth
folder as it happens (a visit once it has ended), and purchases go to the optional POS sink when
they are made.

Back-fill: the same shoppers and reads for a past period, as an iterator, without sleeping.
"""

from __future__ import annotations

import heapq
import itertools
import logging
import threading
from collections import defaultdict
from collections.abc import Iterator, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Protocol, TypeVar

from firmware_sim.model import SimRead, TruePurchase, TrueVisit
from firmware_sim.rf import RadioWorld, ReadBlock
from firmware_sim.scenario import RfProfile, Scenario
from firmware_sim.shoppers import ShopperSimulator
from firmware_sim.truth import TrueTrip, Truth, append_truth
from storeflow.clock import ScaledClock
from storeflow.layout import StoreLayout

logger = logging.getLogger(__name__)

T = TypeVar("T")
_Due = list[tuple[float, int, T]]
_seq = itertools.count()


class PurchaseSink(Protocol):
    def post(self, purchase: TruePurchase) -> None: ...


class Emitter(Protocol):
    def emit(self, reads: Sequence[SimRead]) -> None: ...
    def close(self) -> None: ...


def _push(heap: _Due[T], at: float, record: T) -> None:
    heapq.heappush(heap, (at, next(_seq), record))


def _pop_due(heap: _Due[T], now: float) -> list[T]:
    """Records whose time is at or before ``now``, in time order."""
    out = []
    while heap and heap[0][0] <= now:
        out.append(heapq.heappop(heap)[2])
    return out


def batch_by_reader(reads: Sequence[SimRead]) -> dict[str, list[SimRead]]:
    """Reads grouped per reader, each group in the original order."""
    out: dict[str, list[SimRead]] = defaultdict(list)
    for r in reads:
        out[r.reader_id].append(r)
    return dict(out)


def _all_visits(result: Truth) -> list[TrueVisit]:
    return sorted(result.visits + result.staff_visits, key=lambda v: v.enter)


def backfill_reads(
    scenario: Scenario,
    layout: StoreLayout,
    start: datetime,
    end: datetime,
    *,
    rf: RfProfile | None = None,
) -> tuple[Iterator[SimRead], Truth]:
    """Every read of shoppers arriving in [start, end) (and of staff), in time order, streamed,
    and the truth. ``rf`` defaults to the scenario's noise level."""
    result = ShopperSimulator(scenario, layout).simulate(start, end)
    world = RadioWorld(layout, rf or scenario.rf, seed=scenario.seed, epoch=start.timestamp())
    return world.reads(_all_visits(result)), result


def backfill_read_blocks(
    scenario: Scenario,
    layout: StoreLayout,
    start: datetime,
    end: datetime,
    *,
    rf: RfProfile | None = None,
) -> tuple[Iterator[ReadBlock], Truth]:
    """The reads of :func:`backfill_reads` (the same ones), as blocks of columns."""
    result = ShopperSimulator(scenario, layout).simulate(start, end)
    world = RadioWorld(layout, rf or scenario.rf, seed=scenario.seed, epoch=start.timestamp())
    return world.read_blocks(_all_visits(result)), result


class LiveSimulation:
    """Plays the store live on ``clock``: :meth:`run` blocks; :meth:`stop` from anywhere."""

    def __init__(
        self,
        scenario: Scenario,
        layout: StoreLayout,
        clock: ScaledClock,
        emitters: Mapping[str, Emitter],
        *,
        truth_dir: Path | None = None,
        chunk_s: float = 600.0,
        tick_s: float = 0.05,
        pos: PurchaseSink | None = None,
        rf: RfProfile | None = None,
    ) -> None:
        self.scenario = scenario
        self.layout = layout
        self.clock = clock
        self.emitters = emitters
        self.truth_dir = truth_dir
        self.chunk_s = chunk_s
        self.tick_s = tick_s
        self.pos = pos
        self.shoppers = ShopperSimulator(scenario, layout)
        self.world = RadioWorld(
            layout, rf or scenario.rf, seed=scenario.seed, epoch=clock.sim_epoch
        )
        self._stop = threading.Event()
        # Truth waiting for its moment: heaps of (time, tiebreak, record).
        self._visits_due: _Due[TrueVisit] = []
        self._staff_due: _Due[TrueVisit] = []
        self._purchases_due: _Due[TruePurchase] = []
        self._trips_due: _Due[TrueTrip] = []
        self._failing: set[str] = set()
        self.emitted = 0
        self.dropped = 0
        self.visits_generated = 0
        self.truth_written = 0

    def stop(self) -> None:
        """Ask :meth:`run` to return (thread-safe; fine from a signal handler)."""
        self._stop.set()

    def _visit_stream(self, start: float) -> Iterator[TrueVisit]:
        """Visits of shoppers arriving from ``start`` on (and staff), sorted by enter, generated
        a chunk at a time: a chunk's visits all begin at or after the chunk's start, so earlier
        visits can be released once the next chunk is known."""
        pending: _Due[TrueVisit] = []
        lo = start
        while True:
            hi = lo + self.chunk_s
            result = self.shoppers.simulate(
                datetime.fromtimestamp(lo, UTC), datetime.fromtimestamp(hi, UTC)
            )
            self.visits_generated += len(result.visits)
            for v in result.visits:
                _push(self._visits_due, v.exit, v)
            for v in result.staff_visits:
                _push(self._staff_due, v.exit, v)
            for p in result.purchases:
                _push(self._purchases_due, p.at, p)
            for trip in result.trips:
                _push(self._trips_due, trip.end, trip)
            for v in result.visits + result.staff_visits:
                _push(pending, v.enter, v)
            while pending and pending[0][0] < hi:
                yield heapq.heappop(pending)[2]
            lo = hi

    def _settle_truth(self, now: float) -> None:
        visits = _pop_due(self._visits_due, now)
        staff = _pop_due(self._staff_due, now)
        purchases = _pop_due(self._purchases_due, now)
        trips = _pop_due(self._trips_due, now)
        if self.truth_dir is not None and (visits or staff or purchases or trips):
            append_truth(self.truth_dir, visits, purchases, staff_visits=staff, trips=trips)
            self.truth_written += len(visits) + len(staff) + len(purchases) + len(trips)
        if self.pos is not None:
            for p in purchases:
                try:
                    self.pos.post(p)
                except Exception:
                    logger.exception("the POS could not post a purchase")

    def _emit(self, batch: Sequence[SimRead]) -> None:
        for reader_id, reads in batch_by_reader(batch).items():
            emitter = self.emitters.get(reader_id)
            if emitter is None:
                self.dropped += len(reads)
                continue
            try:
                emitter.emit(reads)
            except Exception as exc:
                self.dropped += len(reads)
                if reader_id not in self._failing:
                    self._failing.add(reader_id)
                    logger.warning("reader %s cannot emit: %s", reader_id, exc)
                continue
            if reader_id in self._failing:
                self._failing.discard(reader_id)
                logger.info("reader %s emits again", reader_id)
            self.emitted += len(reads)

    def run(self, until_sim_ts: float | None = None) -> None:
        """Emit reads as simulated time passes, until ``until_sim_ts`` or :meth:`stop`."""
        start = self.clock.now()
        reads = self.world.reads(self._visit_stream(start))
        nxt: SimRead | None = next(reads, None)
        logger.info(
            "live simulation from %s at %.0fx",
            datetime.fromtimestamp(start, UTC).isoformat(),
            self.clock.scale,
        )
        while not self._stop.is_set():
            now = self.clock.now()
            if until_sim_ts is not None:
                now = min(now, until_sim_ts)
            batch: list[SimRead] = []
            while nxt is not None and nxt.t <= now:
                batch.append(nxt)
                nxt = next(reads, None)
            if batch:
                self._emit(batch)
            self._settle_truth(now)
            if until_sim_ts is not None and now >= until_sim_ts:
                break
            self._stop.wait(self.tick_s)
        logger.info(
            "live simulation stopped: %d reads emitted, %d dropped", self.emitted, self.dropped
        )


def backfill_truth(
    scenario: Scenario, layout: StoreLayout, start: datetime, end: datetime
) -> Truth:
    """The truth of [start, end) without reads."""
    return ShopperSimulator(scenario, layout).simulate(start, end)
