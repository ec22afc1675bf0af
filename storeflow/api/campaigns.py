"""``/campaigns``: triggered contacts. Trigger rules as data, runs that turn a rule into a contact
list (marketing consent, a per-member frequency cap, a random hold-out group), and the uplift of
contacting: contacted against held-out members, purchase rate and spend per member afterwards.

A rule is one of six kinds (``kind`` picks the model): ``birthday``, ``purchase_anniversary``,
``lapse``, ``points_expiring``, ``near_tier``, ``browsed_not_bought``. The same models read the
rules file (``config/campaigns.example.yaml``); an unknown key is an error, not ignored."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import Field, model_validator

from storeflow.api.base import ApiModel
from storeflow.models import Frozen

Kind = Literal[
    "birthday",
    "purchase_anniversary",
    "lapse",
    "points_expiring",
    "near_tier",
    "browsed_not_bought",
]
KINDS: tuple[Kind, ...] = (
    "birthday",
    "purchase_anniversary",
    "lapse",
    "points_expiring",
    "near_tier",
    "browsed_not_bought",
)
Group = Literal["contacted", "held_out"]

Share = Annotated[Decimal, Field(ge=0, lt=1, decimal_places=3, allow_inf_nan=False)]


class RuleBase(Frozen):
    """What every rule has: a unique name, an optional store, the message the store's e-mail or
    SMS service sends, the hold-out share, how soon the rule may pick a member again, and the
    window the uplift is measured over."""

    name: str = Field(min_length=1, max_length=100, pattern=r"\S")
    store_id: str | None = Field(
        default=None,
        min_length=1,
        max_length=100,
        description="the store the rule runs for (its time zone, its sales); null: the chain",
    )
    message: str = Field(min_length=1, max_length=1000, description="what the contact says")
    holdout_share: Share = Field(
        default=Decimal("0.2"),
        description="share of the selected members kept uncontacted, drawn at random per run",
    )
    cooldown_days: int = Field(
        default=30,
        ge=0,
        le=730,
        description="a member this rule picked (contacted or held out) is not picked again "
        "within this many days",
    )
    uplift_days: int = Field(
        default=30, ge=1, le=365, description="purchases within this many days after the run"
    )
    active: bool = True


class BirthdayRule(RuleBase):
    """Members whose birthday falls ``days_before`` days after the run's day (or within the
    ``span_days`` days from then: a weekly run uses 7)."""

    kind: Literal["birthday"]
    days_before: int = Field(default=7, ge=0, le=90)
    span_days: int = Field(default=1, ge=1, le=31)


class PurchaseAnniversaryRule(RuleBase):
    """Members who bought in ``category`` (and/or at ``counter``) within ``tolerance_days`` of
    the same date in one of the past ``years_back`` years, where that date is ``days_before``
    days after the run's day: remind them before the occasion they bought for."""

    kind: Literal["purchase_anniversary"]
    category: str | None = Field(default=None, min_length=1, max_length=100)
    counter: str | None = Field(default=None, min_length=1, max_length=100)
    days_before: int = Field(default=7, ge=0, le=90)
    tolerance_days: int = Field(default=3, ge=0, le=30)
    years_back: int = Field(default=3, ge=1, le=10)

    @model_validator(mode="after")
    def _what(self) -> PurchaseAnniversaryRule:
        if self.category is None and self.counter is None:
            raise ValueError("a purchase_anniversary rule needs a category or a counter")
        if self.counter is not None and self.store_id is None:
            raise ValueError("a counter is one store's: give the rule's store_id")
        return self


class LapseRule(RuleBase):
    """The Members page's lapse alert, at one store: days since the last purchase above
    ``factor`` x the member's median interval (defaults: those of the lapse alerts)."""

    kind: Literal["lapse"]
    factor: float | None = Field(default=None, gt=0, le=100, description="null: the default")
    min_purchases: int | None = Field(default=None, ge=2, le=1000, description="purchase days")
    max_p_alive: float = Field(default=1.0, ge=0, le=1, description="only P(alive) at or below")

    @model_validator(mode="after")
    def _store(self) -> LapseRule:
        if self.store_id is None:
            raise ValueError("a lapse rule runs for one store: give store_id")
        return self


class PointsExpiringRule(RuleBase):
    """Members with at least ``min_points`` points in lots that expire within ``within_days``."""

    kind: Literal["points_expiring"]
    within_days: int = Field(default=30, ge=1, le=365)
    min_points: int = Field(default=1, ge=1)


class NearTierRule(RuleBase):
    """Members whose qualifying 12-month spend is short of the next tier's threshold by at most
    ``within_amount`` (the tier ladder in force; the top tier has no next)."""

    kind: Literal["near_tier"]
    within_amount: Decimal = Field(gt=0, decimal_places=2, allow_inf_nan=False, le=10**9)


class BrowsedNotBoughtRule(RuleBase):
    """Members who visited a counter (``counter``, or any) at least ``min_visits`` times in the
    ``days`` days before the run, each visit with a dwell of at least ``min_dwell_s`` seconds,
    and never bought there. Only members who consented to in-store tracking."""

    kind: Literal["browsed_not_bought"]
    counter: str | None = Field(default=None, min_length=1, max_length=100)
    min_visits: int = Field(default=3, ge=1, le=1000)
    days: int = Field(default=30, ge=1, le=365)
    min_dwell_s: float = Field(default=60.0, ge=0, le=86400)

    @model_validator(mode="after")
    def _store(self) -> BrowsedNotBoughtRule:
        if self.store_id is None:
            raise ValueError("a browsed_not_bought rule runs for one store: give store_id")
        return self


TriggerRule = Annotated[
    BirthdayRule
    | PurchaseAnniversaryRule
    | LapseRule
    | PointsExpiringRule
    | NearTierRule
    | BrowsedNotBoughtRule,
    Field(discriminator="kind"),
]


class FrequencyCap(Frozen):
    """At most ``contacts`` contacts per member in any ``days`` days, over every rule."""

    contacts: int = Field(default=2, ge=1, le=100)
    days: int = Field(default=14, ge=1, le=365)


class CampaignFile(Frozen):
    """The rules file: the frequency cap and the rules (config/campaigns.example.yaml)."""

    frequency_cap: FrequencyCap | None = None
    rules: list[TriggerRule] = Field(default_factory=list)

    @model_validator(mode="after")
    def _unique(self) -> CampaignFile:
        names = [r.name for r in self.rules]
        twice = sorted({n for n in names if names.count(n) > 1})
        if twice:
            raise ValueError(f"rule names must be unique: {', '.join(twice)}")
        return self


class RuleOut(ApiModel):
    rule_id: int
    rule: TriggerRule
    updated_at: datetime


class ImportOut(ApiModel):
    rules: list[RuleOut]
    frequency_cap: FrequencyCap


class RunIn(ApiModel):
    rule_id: int = Field(ge=1, le=2**62)
    as_of: date = Field(description="the day the contacts go out (store-local)")
    seed: int | None = Field(
        default=None, ge=0, le=2**62, description="of the hold-out draw; default: from rule, day"
    )


class RunCounts(ApiModel):
    """How the rule's selection became the contact list, step by step."""

    selected: int = Field(description="members the rule picked")
    not_tracked: int = Field(description="browsed_not_bought: no in-store tracking consent")
    not_contactable: int = Field(description="no marketing consent, or no phone or e-mail")
    cooled_down: int = Field(description="picked by this rule within its cooldown days")
    capped: int = Field(description="already at the frequency cap")
    contacted: int
    held_out: int


class RunOut(ApiModel):
    run_id: int
    rule_id: int
    rule_name: str
    kind: Kind
    store_id: str | None
    as_of: date
    starts_at: datetime = Field(description="the start of the run's day: the uplift window's")
    seed: int
    holdout_share: Decimal
    frequency_cap: FrequencyCap
    counts: RunCounts
    rule: TriggerRule = Field(description="the rule as it was when the run was made")
    created_at: datetime
    created_by: str
    created: bool = Field(default=False, description="false: this run existed already")


class ContactOut(ApiModel):
    run_id: int
    member_id: int
    member_no: str
    name: str
    phone: str | None
    email: str | None
    group: Group
    reason: str
    message: str


class Difference(ApiModel):
    """Contacted minus held out, with a 95 % interval (null when a group is empty)."""

    estimate: float | None
    ci_low: float | None
    ci_high: float | None
    method: str
    distinguishable: bool = Field(description="the interval excludes 0")


class GroupFigures(ApiModel):
    group: Group
    members: int
    buyers: int = Field(description="members who bought within the window")
    purchase_rate: float | None
    spend: float = Field(description="net of returns")
    spend_per_member: float | None


class Uplift(ApiModel):
    window_days: int
    groups: list[GroupFigures]
    purchase_rate: Difference = Field(description="in shares: 0.15 = 15 percentage points")
    spend_per_member: Difference


class RunUplift(Uplift):
    run_id: int
    rule_id: int
    rule_name: str
    as_of: date
    window_start: datetime
    window_end: datetime
    window_complete: bool = Field(description="the window has ended")


class RuleUplift(Uplift):
    """Every run of the rule pooled (a member in two runs counts twice)."""

    rule_id: int
    rule_name: str
    kind: Kind
    store_id: str | None
    runs: int
    runs_complete: int = Field(description="runs whose window has ended")


class DeliveryOut(ApiModel):
    run_id: int
    delivered: int
    withdrawn: int = Field(description="consent withdrawn (or member erased) since the run")
    pending: int
    error: str | None = Field(default=None, description="why the webhook did not take them")


class OutboxEntry(ApiModel):
    outbox_id: int
    run_id: int
    member_id: int
    status: Literal["pending", "delivered", "withdrawn"]
    created_at: datetime
    delivered_at: datetime | None
    attempts: int
    last_error: str | None
