"""Running the simulated store: live (emitting reads as simulated time passes) or back-fill.

Live: shoppers are generated a chunk of simulated time ahead, their reads merged in time order,
and each read handed to its reader's emitter when the shared :class:`ScaledClock` reaches it.
Back-fill: the same shoppers and reads for a past period, as an iterator, without sleeping.
"""

from __future__ import annotations

import heapq
import logging
import threading
import time
from collections import defaultdict
from collections.abc import Iterator, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Protocol

from firmware_sim.model import SimRead, TruePurchase, TrueVisit
from firmware_sim.rf import RadioWorld
from firmware_sim.scenario import Scenario
from firmware_sim.shoppers import ShopperSimulator, SimResult
from firmware_sim.truth import append_truth
from storeflow.clock import ScaledClock
from storeflow.layout import StoreLayout

logger = logging.getLogger(__name__)


class PurchaseSink(Protocol):
    def post(self, purchase: TruePurchase) -> None: ...


class Emitter(Protocol):
    def emit(self, reads: Sequence[SimRead]) -> None: ...
    def close(self) -> None: ...


def _all_visits(result: SimResult) -> list[TrueVisit]:
    return sorted(result.visits + result.staff_visits, key=lambda v: v.enter)


def backfill_reads(
    scenario: Scenario, layout: StoreLayout, start: datetime, end: datetime
) -> tuple[Iterator[SimRead], SimResult]:
    """Every read of shoppers arriving in [start, end), in time order, and the truth."""
    result = ShopperSimulator(scenario, layout).simulate(start, end)
    world = RadioWorld(layout, scenario.rf, seed=scenario.seed, epoch=start.timestamp())
    return world.reads(_all_visits(result)), result


class LiveSimulation:
    def __init__(
        self,
        scenario: Scenario,
        layout: StoreLayout,
        clock: ScaledClock,
        emitters: Mapping[str, Emitter],
        *,
        truth_dir: Path | None = None,
        chunk_s: float = 600.0,
        pos: PurchaseSink | None = None,
    ) -> None:
        self.scenario = scenario
        self.layout = layout
        self.clock = clock
        self.emitters = emitters
        self.truth_dir = truth_dir
        self.chunk_s = chunk_s
        self.shoppers = ShopperSimulator(scenario, layout)
        self.world = RadioWorld(layout, scenario.rf, seed=scenario.seed, epoch=clock.sim_epoch)
        self._stop = threading.Event()
        self._pending: list[SimRead] = []
        self.pos = pos
        self._purchases: list[TruePurchase] = []
        self.emitted = 0
        self.visits_generated = 0

    def stop(self) -> None:
        self._stop.set()

    def _generate(self, start: float, end: float) -> None:
        result = self.shoppers.simulate(
            datetime.fromtimestamp(start, UTC), datetime.fromtimestamp(end, UTC)
        )
        self.visits_generated += len(result.visits)
        if self.truth_dir is not None:
            append_truth(self.truth_dir, result.visits, result.purchases)
        self._purchases = sorted(self._purchases + result.purchases, key=lambda p: p.at)
        reads = list(self.world.reads(_all_visits(result)))
        self._pending = list(heapq.merge(self._pending, reads, key=lambda r: r.t))

    def run(self, until_sim_ts: float | None = None) -> None:
        """Emit reads as simulated time passes, until ``until_sim_ts`` or :meth:`stop`."""
        generated_to = self.clock.now()
        pos = 0
        while not self._stop.is_set():
            now = self.clock.now()
            if until_sim_ts is not None and now >= until_sim_ts:
                break
            while generated_to < now + self.chunk_s / 2:
                self._pending = self._pending[pos:]
                pos = 0
                self._generate(generated_to, generated_to + self.chunk_s)
                generated_to += self.chunk_s
            batch: dict[str, list[SimRead]] = defaultdict(list)
            pending = self._pending
            while pos < len(pending) and pending[pos].t <= now:
                batch[pending[pos].reader_id].append(pending[pos])
                pos += 1
            while self._purchases and self._purchases[0].at <= now:
                purchase = self._purchases.pop(0)
                if self.pos is not None:
                    self.pos.post(purchase)
            for reader_id, reads in batch.items():
                emitter = self.emitters.get(reader_id)
                if emitter is not None:
                    emitter.emit(reads)
                    self.emitted += len(reads)
            time.sleep(0.05)
