"""``storeflow sim evaluate``: how well the real edge code recovers the simulator's ground truth.

A seeded scenario is simulated, every read is encoded as its reader would send it, decoded by the
edge's drivers and tracked by the edge's tracker; the visits that come out are scored against the
true visits (precision, recall, dwell error, exact paths).

``--reader`` picks how the readers talk to the edge: ``layout`` (each as the store layout says),
or every reader as ``serial`` (R2000 frames), ``mqtt`` (Impinj IoT JSON) or ``llrp`` (LLRP over a
real TCP socket to the sllurp-based driver; see :mod:`orchestration.replay`).
"""

from __future__ import annotations

import argparse
import json
import logging
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta

from edge.agent import tag_kind
from edge.outbox import Outbox
from edge.pipeline import EdgePipeline
from edge.tracker import TrackerParams, Visit
from edge.zones import AntennaMap
from firmware_sim.model import TrueVisit
from orchestration import demo_data
from orchestration.replay import replay
from storeflow.wire import SHOPPER_TAG_KINDS

logger = logging.getLogger(__name__)


READER_CHOICES = {"serial": "r2000", "mqtt": "impinj_iot", "llrp": "llrp"}


def reader_protocols(reader: str, layout_protocols: dict[str, str]) -> dict[str, str]:
    """Protocol per reader: the layout's (``layout``) or one transport for all of them."""
    if reader == "layout":
        return dict(layout_protocols)
    try:
        proto = READER_CHOICES[reader]
    except KeyError:
        raise ValueError(f"unknown reader transport {reader!r}") from None
    return dict.fromkeys(layout_protocols, proto)


@dataclass(frozen=True)
class EvaluationResult:
    noise: str
    reader: str
    shoppers: int
    peak_in_store: int
    true_visits: int
    detected_visits: int
    precision: float
    recall: float
    dwell_median_abs_error_s: float
    dwell_p90_abs_error_s: float
    exact_path_share: float
    reads: int
    reads_per_s: float


def evaluate(
    *,
    noise: str,
    hours: float = 6.0,
    seed: int | None = None,
    trips_per_day: float | None = None,
    params: TrackerParams | None = None,
    reader: str = "layout",
) -> EvaluationResult:
    from firmware_sim.evaluate import DetectedVisit, score_visits
    from firmware_sim.live import backfill_reads
    from firmware_sim.scenario import load_scenario

    scenario = load_scenario(demo_data.SCENARIO_PATH, noise=noise, seed=seed)
    if trips_per_day is not None:
        base = scenario.traffic
        scale = trips_per_day / base.trips_per_day
        traffic = base.model_copy(
            update={  # enough cards and carts that no tag is wanted in two places at once
                "trips_per_day": trips_per_day,
                "members": max(base.members, int(base.members * scale)),
                "carts": max(base.carts, int(base.carts * scale)),
                "baskets": max(base.baskets, int(base.baskets * scale)),
            }
        )
        scenario = scenario.model_copy(update={"traffic": traffic})
    layout = demo_data.layout()
    start = datetime(2026, 11, 2, 11, 0, tzinfo=UTC)  # a Monday, in opening hours
    end = start + timedelta(hours=hours)
    reads, truth = backfill_reads(scenario, layout, start, end)
    detected: list[Visit] = []
    pipeline = EdgePipeline(
        store_id=demo_data.STORE_ID,
        antenna_map=AntennaMap.from_layout(layout),
        kind_of=tag_kind,
        outbox=Outbox(":memory:"),
        params=params,
        on_visit=detected.append,
    )
    protocols = reader_protocols(reader, demo_data.reader_protocols())
    stats = replay(reads, pipeline=pipeline, protocols=protocols)
    shopper_visits = [v for v in detected if v.tag_kind in SHOPPER_TAG_KINDS]
    true_visits = list(truth.visits)
    score = score_visits(
        true_visits,
        [DetectedVisit(epc=v.epc, zone=v.zone, enter=v.enter, exit=v.exit) for v in shopper_visits],
    )
    return EvaluationResult(
        noise=noise,
        reader=reader,
        shoppers=len({v.shopper_id for v in true_visits}),
        peak_in_store=peak_occupancy(true_visits),
        true_visits=len(true_visits),
        detected_visits=len(shopper_visits),
        precision=round(score.precision, 4),
        recall=round(score.recall, 4),
        dwell_median_abs_error_s=round(score.dwell_median_abs_error_s, 2),
        dwell_p90_abs_error_s=round(score.dwell_p90_abs_error_s, 2),
        exact_path_share=round(score.exact_path_share, 4),
        reads=stats.reads_in,
        reads_per_s=round(stats.reads_per_s),
    )


def peak_occupancy(visits: list[TrueVisit]) -> int:
    """Most shoppers in the store at one time (from their first enter to their last exit)."""
    stays: dict[int, tuple[float, float]] = {}
    for v in visits:
        lo, hi = stays.get(v.shopper_id, (v.enter, v.exit))
        stays[v.shopper_id] = (min(lo, v.enter), max(hi, v.exit))
    events = sorted([(a, 1) for a, _ in stays.values()] + [(b, -1) for _, b in stays.values()])
    peak = cur = 0
    for _, step in events:
        cur += step
        peak = max(peak, cur)
    return peak


def add_evaluate_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "evaluate",
        help="score the edge's zone visits against the simulator's ground truth",
        description="Simulate a seeded busy period, run every read through the real edge decoders "
        "and tracker, and print visit precision/recall, dwell error and exact-path share.",
    )
    p.add_argument(
        "--noise",
        choices=["clean", "realistic", "harsh"],
        default="realistic",
        help="how noisy the simulated readers are (realistic)",
    )
    p.add_argument("--hours", type=float, default=6.0, help="simulated hours from 11:00 (6)")
    p.add_argument("--seed", type=int, default=None, help="override the scenario's seed")
    p.add_argument(
        "--trips-per-day", type=float, default=None, help="override the scenario's traffic"
    )
    p.add_argument(
        "--reader",
        choices=["layout", *READER_CHOICES],
        default="layout",
        help="how the readers reach the edge: as in the layout (default), or all of them as "
        "serial R2000, MQTT Impinj IoT, or LLRP over TCP",
    )
    p.add_argument("--json", action="store_true", help="print one JSON line")
    p.set_defaults(func=run_evaluate)


def run_evaluate(args: argparse.Namespace) -> int:
    result = evaluate(
        noise=args.noise,
        hours=args.hours,
        seed=args.seed,
        trips_per_day=args.trips_per_day,
        reader=args.reader,
    )
    if args.json:
        print(json.dumps(asdict(result)))
        return 0
    print(
        f"noise={result.noise} reader={result.reader}: {result.shoppers} shoppers "
        f"(at most {result.peak_in_store} in the store at once), {result.true_visits} true visits, "
        f"{result.detected_visits} detected\n"
        f"  visit precision {result.precision:.3f}  recall {result.recall:.3f}\n"
        f"  dwell abs error: median {result.dwell_median_abs_error_s:.2f} s, "
        f"p90 {result.dwell_p90_abs_error_s:.2f} s\n"
        f"  trips with exactly the true zone sequence: {result.exact_path_share:.1%}\n"
        f"  {result.reads:,} reads through the edge code at {result.reads_per_s:,.0f} reads/s"
    )
    return 0
