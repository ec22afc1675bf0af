"""A simulation scenario: traffic, shopper behaviour per counter, dwell, and the radio world.

Loaded from YAML (``firmware_sim/scenarios/demo.yaml``) with errors naming file, line and key.
The RF presets ``clean``, ``realistic`` and ``harsh`` describe how hard the readers make life for
the edge: ``realistic`` is 10 % missed reads, 5 % cross-reads, reader clocks up to 3 s off.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from storeflow.yamlconf import load_yaml

Noise = Literal["clean", "realistic", "harsh"]


class _Strict(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class RfProfile(_Strict):
    read_rate_hz: float = Field(default=2.0, gt=0, description="reports per tag per second")
    miss_rate: float = Field(default=0.0, ge=0, lt=1, description="share of reads lost")
    cross_read_rate: float = Field(default=0.0, ge=0, lt=1, description="extra reads by neighbours")
    cross_read_penalty_db: float = Field(default=10.0, ge=0)
    rssi_noise_db: float = Field(default=1.0, ge=0)
    clock_offset_s: float = Field(default=0.0, ge=0, description="reader clocks within +-this")
    clock_drift_ppm: float = Field(default=0.0, ge=0)
    disconnects_per_hour: float = Field(default=0.0, ge=0, description="per reader")
    disconnect_s: float = Field(default=5.0, ge=0, description="mean outage length")


RF_PRESETS: dict[str, RfProfile] = {
    "clean": RfProfile(rssi_noise_db=1.0),
    "realistic": RfProfile(
        miss_rate=0.10,
        cross_read_rate=0.05,
        rssi_noise_db=2.0,
        clock_offset_s=3.0,
        clock_drift_ppm=20,
        disconnects_per_hour=0.2,
        disconnect_s=5.0,
    ),
    "harsh": RfProfile(
        miss_rate=0.30,
        cross_read_rate=0.15,
        cross_read_penalty_db=6.0,
        rssi_noise_db=4.0,
        clock_offset_s=10.0,
        clock_drift_ppm=100,
        disconnects_per_hour=1.0,
        disconnect_s=20.0,
    ),
}


class Traffic(_Strict):
    trips_per_day: float = Field(default=800, gt=0)
    open_hour: int = Field(default=10, ge=0, le=23)
    close_hour: int = Field(default=22, ge=1, le=24)
    hourly_weights: list[float] = Field(
        default=[4, 6, 8, 9, 7, 6, 7, 9, 11, 12, 9, 6], description="one per opening hour"
    )
    weekday_factors: list[float] = Field(
        default=[0.8, 0.8, 0.85, 0.9, 1.1, 1.4, 1.3], min_length=7, max_length=7
    )
    member_share: float = Field(default=0.6, ge=0, le=1)
    cart_share: float = Field(default=0.3, ge=0, le=1)
    members: int = Field(default=2500, ge=1, description="member population (cards)")
    carts: int = Field(default=150, ge=1)
    baskets: int = Field(default=100, ge=1)


class CounterBehaviour(_Strict):
    attraction: float = Field(ge=0, le=1, description="probability a shopper visits")
    conversion: float = Field(ge=0, le=1, description="probability of buying, given a visit")
    basket_mean: float = Field(default=300.0, gt=0)
    dwell_median_s: float = Field(default=120.0, gt=0)


class Dwell(_Strict):
    entrance_s: float = 10.0
    aisle_s: float = 22.0
    checkout_buy_s: float = 90.0
    checkout_pass_s: float = 15.0
    exit_s: float = 9.0
    sigma: float = Field(default=0.45, gt=0, description="lognormal shape")
    minimum_s: float = Field(default=8.0, gt=0)


class Promotion(_Strict):
    counter: str
    start: date
    end: date
    attraction_uplift: float = Field(default=0.3, description="relative, +0.3 = +30 %")
    conversion_uplift: float = 0.0


class LayoutChange(_Strict):
    """On ``date``, counter ``counter`` gets a better (or worse) place: attraction changes."""

    counter: str
    date: date
    attraction_factor: float = 1.5


class Scenario(_Strict):
    layout: Path
    seed: int = 42
    traffic: Traffic = Traffic()
    staff: int = Field(default=6, ge=0)
    dwell: Dwell = Dwell()
    counters: dict[str, CounterBehaviour]
    noise: Noise = "realistic"
    rf_overrides: dict[str, RfProfile] = Field(default_factory=dict)
    promotion: Promotion | None = None
    layout_change: LayoutChange | None = None

    @property
    def rf(self) -> RfProfile:
        return self.rf_overrides.get(self.noise, RF_PRESETS[self.noise])


def load_scenario(
    path: Path | str, *, noise: str | None = None, seed: int | None = None
) -> Scenario:
    """Load a scenario; ``layout`` is resolved relative to the scenario file."""
    path = Path(path)
    sc = load_yaml(path, Scenario)
    update: dict[str, object] = {}
    if not sc.layout.is_absolute():
        update["layout"] = (path.parent / sc.layout).resolve()
    if noise is not None:
        update["noise"] = noise
    if seed is not None:
        update["seed"] = seed
    return sc.model_copy(update=update) if update else sc
