"""A simulation scenario: traffic, shopper behaviour per counter, dwell, and the radio world.

Loaded from YAML (``firmware_sim/scenarios/demo.yaml``) with errors naming file, line and key.

* ``traffic``: trips per day, an hourly arrival profile over the opening hours, weekday factors,
  the mix of shopper tags (member cards, carts, baskets) and the sizes of the member population
  and of the cart and basket pools.
* ``counters``: per counter the planted truth the planner's analyses should recover:
  ``attraction`` (P(a shopper visits it)), ``conversion`` (P(buys | visited)), the mean basket.
* ``dwell``: lognormal dwell per zone kind; no true visit is shorter than ``minimum_s``.
* RF presets ``clean``, ``realistic`` and ``harsh`` describe how hard the readers make life for
  the edge: ``realistic`` is 10 % missed reads, 5 % cross-reads, reader clocks up to 3 s off.
  ``rf_overrides`` changes single fields of a preset.
* ``promotion`` and ``layout_change`` plant known effects (see :meth:`Scenario.behaviour`), so a
  before/after analysis can be checked against the truth.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator

from storeflow.layout import StoreLayout
from storeflow.models import Frozen
from storeflow.yamlconf import ConfigError, load_yaml

Noise = Literal["clean", "realistic", "harsh"]
NOISE_LEVELS: tuple[Noise, ...] = ("clean", "realistic", "harsh")


class RfProfile(Frozen):
    """How the readers see the tags (see :mod:`firmware_sim.rf` for the model)."""

    read_rate_hz: float = Field(
        default=2.0, gt=0, description="reports per tag per second in its zone's antenna"
    )
    miss_rate: float = Field(default=0.0, ge=0, lt=1, description="share of reads lost")
    cross_read_rate: float = Field(
        default=0.0, ge=0, lt=1, description="reads by adjacent zones' antennas, share of reads"
    )
    cross_read_penalty_db: float = Field(
        default=10.0, ge=0, description="cross-reads are this much weaker (+-2 dB)"
    )
    rssi_noise_db: float = Field(default=1.0, ge=0, description="RSSI noise, standard deviation")
    clock_offset_s: float = Field(default=0.0, ge=0, description="reader clocks within +-this")
    clock_drift_ppm: float = Field(default=0.0, ge=0, description="reader clocks drift +-this")
    disconnects_per_hour: float = Field(default=0.0, ge=0, description="per reader")
    disconnect_s: float = Field(default=5.0, ge=0, description="mean outage length")


class RfOverride(Frozen):
    """Fields to change in one RF preset; unset fields keep the preset's value."""

    read_rate_hz: float | None = Field(default=None, gt=0)
    miss_rate: float | None = Field(default=None, ge=0, lt=1)
    cross_read_rate: float | None = Field(default=None, ge=0, lt=1)
    cross_read_penalty_db: float | None = Field(default=None, ge=0)
    rssi_noise_db: float | None = Field(default=None, ge=0)
    clock_offset_s: float | None = Field(default=None, ge=0)
    clock_drift_ppm: float | None = Field(default=None, ge=0)
    disconnects_per_hour: float | None = Field(default=None, ge=0)
    disconnect_s: float | None = Field(default=None, ge=0)


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


class Traffic(Frozen):
    trips_per_day: float = Field(default=800, gt=0, description="on a weekday factor of 1")
    open_hour: int = Field(default=10, ge=0, le=23)
    close_hour: int = Field(default=22, ge=1, le=24)
    hourly_weights: list[float] = Field(
        default=[4, 6, 8, 9, 7, 6, 7, 9, 11, 12, 9, 6], description="one per opening hour"
    )
    weekday_factors: list[float] = Field(
        default=[0.8, 0.8, 0.85, 0.9, 1.1, 1.4, 1.3],
        min_length=7,
        max_length=7,
        description="Monday first",
    )
    member_share: float = Field(default=0.6, ge=0, le=1, description="trips with a member card")
    cart_share: float = Field(default=0.3, ge=0, le=1, description="trips with a cart")
    members: int = Field(default=2500, ge=1, description="member population (cards)")
    carts: int = Field(default=150, ge=1)
    baskets: int = Field(default=100, ge=1)
    member_activity_shape: float = Field(
        default=0.6, gt=0, description="gamma shape of members' visit rates (small = uneven)"
    )
    member_activity_cap: float = Field(
        default=3.0, ge=1, description="no member visits more than this times the mean rate"
    )
    member_spend_sigma: float = Field(
        default=0.8, ge=0, description="lognormal spread of members' spending level"
    )

    @model_validator(mode="after")
    def _consistent(self) -> Traffic:
        if self.close_hour <= self.open_hour:
            raise ValueError("close_hour must be after open_hour")
        hours = self.close_hour - self.open_hour
        if len(self.hourly_weights) != hours:
            raise ValueError(
                f"hourly_weights needs one weight per opening hour: {hours}, "
                f"got {len(self.hourly_weights)}"
            )
        if any(w < 0 for w in self.hourly_weights) or sum(self.hourly_weights) <= 0:
            raise ValueError("hourly_weights must be >= 0 and not all zero")
        if any(f < 0 for f in self.weekday_factors):
            raise ValueError("weekday_factors must be >= 0")
        if self.member_share + self.cart_share > 1 + 1e-9:
            raise ValueError("member_share + cart_share must be <= 1 (the rest carry baskets)")
        return self

    @property
    def basket_share(self) -> float:
        return max(0.0, 1.0 - self.member_share - self.cart_share)


class CounterBehaviour(Frozen):
    attraction: float = Field(ge=0, le=1, description="probability a shopper visits")
    conversion: float = Field(ge=0, le=1, description="probability of buying, given a visit")
    basket_mean: float = Field(default=300.0, gt=0, description="mean purchase amount")
    dwell_median_s: float = Field(default=120.0, gt=0)


class Dwell(Frozen):
    """Median dwell per zone kind (lognormal with shape ``sigma``); counters have their own."""

    entrance_s: float = Field(default=10.0, gt=0)
    aisle_s: float = Field(default=22.0, gt=0)
    checkout_buy_s: float = Field(default=90.0, gt=0, description="paying at the checkout")
    checkout_pass_s: float = Field(default=15.0, gt=0, description="walking through it")
    exit_s: float = Field(default=9.0, gt=0)
    sigma: float = Field(default=0.45, gt=0, description="lognormal shape")
    minimum_s: float = Field(default=8.0, gt=0, description="no true visit is shorter")


class Promotion(Frozen):
    """From ``start`` to ``end`` (both days included) a counter attracts and converts more."""

    counter: str
    start: date
    end: date
    attraction_uplift: float = Field(default=0.3, ge=-1, description="relative, +0.3 = +30 %")
    conversion_uplift: float = Field(default=0.0, ge=-1, description="relative")

    @model_validator(mode="after")
    def _ordered(self) -> Promotion:
        if self.end < self.start:
            raise ValueError("promotion end is before its start")
        return self


class LayoutChange(Frozen):
    """On ``date`` counter ``counter`` gets a new place.

    With ``swap_with`` the two counters trade places, so from that day each has the other's
    attraction (the place draws the shoppers, the brand keeps its conversion). Otherwise the
    counter's attraction is multiplied by ``attraction_factor``.
    """

    counter: str
    date: date
    attraction_factor: float = Field(default=1.5, ge=0)
    swap_with: str | None = None


class Scenario(Frozen):
    layout: Path
    seed: int = 42
    traffic: Traffic = Traffic()
    staff: int = Field(default=6, ge=0)
    dwell: Dwell = Dwell()
    counters: dict[str, CounterBehaviour]
    noise: Noise = "realistic"
    rf_overrides: dict[Noise, RfOverride] = Field(default_factory=dict)
    promotion: Promotion | None = None
    layout_change: LayoutChange | None = None

    @model_validator(mode="after")
    def _references(self) -> Scenario:
        known = set(self.counters)
        if self.promotion is not None and self.promotion.counter not in known:
            raise ValueError(f"promotion counter {self.promotion.counter!r} is not in counters")
        change = self.layout_change
        if change is not None:
            for code in (change.counter, change.swap_with):
                if code is not None and code not in known:
                    raise ValueError(f"layout_change counter {code!r} is not in counters")
        return self

    @property
    def rf(self) -> RfProfile:
        return self.rf_profile(self.noise)

    def rf_profile(self, noise: str) -> RfProfile:
        """The preset ``noise`` with this scenario's overrides applied."""
        if noise not in RF_PRESETS:
            raise ValueError(f"unknown noise level {noise!r}, expected one of {NOISE_LEVELS}")
        base = RF_PRESETS[noise]
        override = next((o for k, o in self.rf_overrides.items() if k == noise), None)
        if override is None:
            return base
        return base.model_copy(update=override.model_dump(exclude_none=True))

    def behaviour(self, counter: str, day: date) -> tuple[float, float]:
        """(attraction, conversion) of ``counter`` on ``day``, with the planted effects applied.

        A counter the scenario does not list is never visited on purpose.
        """
        b = self.counters.get(counter)
        if b is None:
            return 0.0, 0.0
        attraction, conversion = b.attraction, b.conversion
        change = self.layout_change
        if change is not None and day >= change.date:
            if change.swap_with is not None:
                if counter == change.counter:
                    attraction = self.counters[change.swap_with].attraction
                elif counter == change.swap_with:
                    attraction = self.counters[change.counter].attraction
            elif counter == change.counter:
                attraction *= change.attraction_factor
        promo = self.promotion
        if promo is not None and promo.counter == counter and promo.start <= day <= promo.end:
            attraction *= 1 + promo.attraction_uplift
            conversion *= 1 + promo.conversion_uplift
        return min(max(attraction, 0.0), 1.0), min(max(conversion, 0.0), 1.0)


def check_against_layout(scenario: Scenario, layout: StoreLayout) -> None:
    """Raise :class:`ConfigError` if the scenario names counters the layout lacks, or the
    layout lacks the zones every trip needs (an entrance, a checkout and an exit)."""
    problems: list[str] = []
    codes = {c.code for c in layout.counters}
    unknown = sorted(set(scenario.counters) - codes)
    if unknown:
        problems.append(f"counters not in the layout: {unknown}")
    kinds = {z.kind.value for z in layout.zones}
    for kind in ("entrance", "checkout", "exit"):
        if kind not in kinds:
            problems.append(f"the layout has no {kind} zone")
    if problems:
        raise ConfigError(
            f"scenario does not fit layout {layout.store.id!r}: " + "; ".join(problems)
        )


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
        if noise not in RF_PRESETS:
            raise ConfigError(f"unknown noise level {noise!r}, expected one of {NOISE_LEVELS}")
        update["noise"] = noise
    if seed is not None:
        update["seed"] = seed
    return sc.model_copy(update=update) if update else sc
