"""Ground truth on disk: JSON Lines of true visits and purchases, one folder per run."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import asdict
from pathlib import Path

from firmware_sim.model import TruePurchase, TrueVisit

VISITS = "visits.jsonl"
PURCHASES = "purchases.jsonl"


def append_truth(
    folder: Path, visits: Iterable[TrueVisit], purchases: Iterable[TruePurchase]
) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    with (folder / VISITS).open("a", encoding="utf-8") as f:
        for v in visits:
            f.write(json.dumps(asdict(v)) + "\n")
    with (folder / PURCHASES).open("a", encoding="utf-8") as f:
        for p in purchases:
            f.write(json.dumps(asdict(p)) + "\n")


def read_truth_visits(folder: Path) -> list[TrueVisit]:
    path = folder / VISITS
    if not path.exists():
        return []
    with path.open(encoding="utf-8") as f:
        return [TrueVisit(**json.loads(line)) for line in f if line.strip()]


def read_truth_purchases(folder: Path) -> list[TruePurchase]:
    path = folder / PURCHASES
    if not path.exists():
        return []
    with path.open(encoding="utf-8") as f:
        return [TruePurchase(**json.loads(line)) for line in f if line.strip()]
