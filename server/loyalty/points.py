"""Points: earning, spending, expiry, reversal on returns, and the ledger entries they make. Pure.

Points live in *lots*: every earn creates a lot with an expiry time; spending, expiring and
reversing take points out of lots. The ledger is append-only (:class:`LedgerEntry`, whose rules
say which kind of entry has which sign and needs which lot); every change to a member's points is
a batch of entries made here by one of the entry builders (:func:`earn_entry`,
:func:`referral_entry`, :func:`redemption_entries`, :func:`return_entries`,
:func:`referral_reversal_entries`, :func:`expiry_entries`, :func:`debt_settlement_entries`), and
:func:`lot_changes` says what a batch does to the lots. A lot is expired at ``at`` when
``at >= expires_at``.

Reversing points that were already spent cannot take them from a lot; :func:`plan_reversal`
reports that part as a shortfall, which :func:`return_entries` records as a lot-less ``reverse``
entry: a debt. ``balance == sum of lot remainders - debt`` always holds, where the balance is the
sum of all entries and the debt minus the sum of the lot-less ones.
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from decimal import ROUND_FLOOR, Decimal, localcontext
from typing import Literal

from server.loyalty.rules import EarningRules, Tier, add_months

logger = logging.getLogger(__name__)

_CENT = Decimal("0.01")


def _require_aware(name: str, value: datetime) -> None:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be a timezone-aware datetime, got {value!r}")


def _check_money(name: str, value: Decimal) -> None:
    if not value.is_finite() or value != value.quantize(_CENT):
        raise ValueError(f"{name} must be a finite amount with at most 2 decimal places: {value}")


def _cents(value: Decimal) -> int:
    return int(value.quantize(_CENT) * 100)


# --------------------------------------------------------------------------------- earning


@dataclass(frozen=True, slots=True)
class Line:
    """A purchase line as the till reports it; ``amount`` is the line's paid total (>= 0)."""

    sku: str
    counter: str | None
    category: str | None
    quantity: Decimal | int
    amount: Decimal

    def __post_init__(self) -> None:
        _check_money(f"line {self.sku!r} amount", self.amount)
        if self.amount < 0:
            raise ValueError(f"line {self.sku!r}: amount must not be negative ({self.amount})")


@dataclass(frozen=True, slots=True)
class EarnResult:
    points_total: int
    per_line: list[int]


def place_multiplier(rules: EarningRules, *, counter: str | None, category: str | None) -> Decimal:
    """Counter or category multiplier: the larger when both are configured, never both."""
    found: list[Decimal] = []
    if counter is not None and counter in rules.counter_multipliers:
        found.append(rules.counter_multipliers[counter])
    if category is not None and category in rules.category_multipliers:
        found.append(rules.category_multipliers[category])
    return max(found) if found else Decimal(1)


def promotion_multiplier(
    rules: EarningRules, *, at: datetime, counter: str | None, category: str | None
) -> Decimal:
    """The largest multiplier among promotions active at ``at`` that apply; 1 if none."""
    found = [
        p.multiplier
        for p in rules.promotions
        if p.is_active(at) and p.applies_to(counter=counter, category=category)
    ]
    return max(found) if found else Decimal(1)


def line_multiplier(
    rules: EarningRules, *, at: datetime, tier: Tier, counter: str | None, category: str | None
) -> Decimal:
    """Everything a line's amount is multiplied by: base x place x tier x promotion."""
    with localcontext() as ctx:
        ctx.prec = 60
        return (
            rules.base_points_per_unit
            * place_multiplier(rules, counter=counter, category=category)
            * tier.points_multiplier
            * promotion_multiplier(rules, at=at, counter=counter, category=category)
        )


def earn_for_purchase(
    lines: Sequence[Line], *, at: datetime, tier: Tier, rules: EarningRules
) -> EarnResult:
    """Points a purchase earns, per line (floored), so a return can reverse per line.

    A purchase earning 0 points creates no lot (an ``earn`` entry must be positive).
    """
    _require_aware("at", at)
    per_line: list[int] = []
    with localcontext() as ctx:
        ctx.prec = 60  # exact: 2-place amounts times short multipliers
        for line in lines:
            mult = line_multiplier(
                rules, at=at, tier=tier, counter=line.counter, category=line.category
            )
            raw = line.amount * mult
            per_line.append(int(raw.to_integral_value(rounding=ROUND_FLOOR)))
    total = sum(per_line)
    logger.debug("earned %s points over %s lines at %s (tier %s)", total, len(lines), at, tier.name)
    return EarnResult(points_total=total, per_line=per_line)


def expiry_for(earned_at: datetime, rules: EarningRules) -> datetime:
    """When points earned at ``earned_at`` expire: ``expiry_months`` calendar months later."""
    _require_aware("earned_at", earned_at)
    return add_months(earned_at, rules.expiry_months)


# ------------------------------------------------------------------------------------ lots


@dataclass(frozen=True, slots=True)
class Lot:
    """Points from one earn: ``points`` originally, ``remaining`` still spendable."""

    lot_id: str
    earned_at: datetime
    expires_at: datetime
    points: int
    remaining: int

    def __post_init__(self) -> None:
        if not 0 <= self.remaining <= self.points:
            raise ValueError(
                f"lot {self.lot_id}: remaining {self.remaining} outside 0..{self.points}"
            )

    def is_expired(self, at: datetime) -> bool:
        return at >= self.expires_at


@dataclass(frozen=True, slots=True)
class Allocation:
    """``points`` (> 0) taken out of lot ``lot_id``."""

    lot_id: str
    points: int


class InsufficientPoints(ValueError):
    def __init__(self, available: int, requested: int) -> None:
        super().__init__(f"insufficient points: {available} available, {requested} requested")
        self.available = available
        self.requested = requested


def _check_points(points: int) -> None:
    if points < 0:
        raise ValueError(f"points must not be negative: {points}")


def _take(ordered: Iterable[Lot], points: int) -> tuple[list[Allocation], int]:
    """Take up to ``points`` from ``ordered`` lots in order; returns allocations and the rest."""
    out: list[Allocation] = []
    need = points
    for lot in ordered:
        if need == 0:
            break
        take = min(lot.remaining, need)
        if take > 0:
            out.append(Allocation(lot.lot_id, take))
            need -= take
    return out, need


def spendable(lots: Iterable[Lot], *, at: datetime) -> list[Lot]:
    """Unexpired lots with points left, oldest-expiring first (then oldest earned, then id)."""
    _require_aware("at", at)
    live = [lot for lot in lots if lot.remaining > 0 and not lot.is_expired(at)]
    return sorted(live, key=lambda lot: (lot.expires_at, lot.earned_at, lot.lot_id))


def spend_fifo(lots: Sequence[Lot], points: int, *, at: datetime) -> list[Allocation]:
    """Allocate ``points`` to lots, oldest-expiring first; all or nothing.

    Expired lots are ignored. Raises :class:`InsufficientPoints` when the unexpired lots hold
    fewer than ``points``; nothing is allocated then.
    """
    _check_points(points)
    ordered = spendable(lots, at=at)
    have = sum(lot.remaining for lot in ordered)
    if points > have:
        raise InsufficientPoints(available=have, requested=points)
    allocations, rest = _take(ordered, points)
    assert rest == 0
    return allocations


def expire(lots: Sequence[Lot], *, at: datetime) -> list[Allocation]:
    """The remaining points of every lot past its expiry at ``at``, earliest expiry first."""
    _require_aware("at", at)
    due = [lot for lot in lots if lot.remaining > 0 and lot.is_expired(at)]
    due.sort(key=lambda lot: (lot.expires_at, lot.earned_at, lot.lot_id))
    return [Allocation(lot.lot_id, lot.remaining) for lot in due]


def settle_debt(lots: Sequence[Lot], debt: int, *, at: datetime) -> list[Allocation]:
    """Points to take from lots (oldest-expiring first) towards a debt; may cover it partly."""
    _check_points(debt)
    allocations, _ = _take(spendable(lots, at=at), debt)
    return allocations


# -------------------------------------------------------------------------------- reversal


def reverse_for_return(
    *,
    earned_per_line: Sequence[int],
    line_amounts: Sequence[Decimal],
    already_returned_amounts: Sequence[Decimal],
    returning_amounts: Sequence[Decimal],
) -> int:
    """Points to reverse for a (partial) return, proportional to the value returned per line.

    Per line: ``floor(earned * (previous + now) / amount) - floor(earned * previous / amount)``.
    Summed over several partial returns this telescopes, so the total never exceeds what the
    line earned, and returning the full remainder reverses exactly the remainder. Returning
    more than was bought raises ``ValueError`` naming the line (0-based index).
    """
    n = len(earned_per_line)
    sizes = (len(line_amounts), len(already_returned_amounts), len(returning_amounts))
    if any(size != n for size in sizes):
        raise ValueError(
            f"per-line sequences differ in length: earned {n}, amounts {sizes[0]}, "
            f"already returned {sizes[1]}, returning {sizes[2]}"
        )
    total = 0
    for i in range(n):
        earned = earned_per_line[i]
        amount, before, now = line_amounts[i], already_returned_amounts[i], returning_amounts[i]
        for name, value in (("amount", amount), ("already returned", before), ("returning", now)):
            _check_money(f"line {i} {name}", value)
            if value < 0:
                raise ValueError(f"line {i}: {name} must not be negative ({value})")
        if earned < 0:
            raise ValueError(f"line {i}: earned points must not be negative ({earned})")
        if before + now > amount:
            raise ValueError(
                f"line {i}: returning {now} with {before} already returned exceeds the "
                f"{amount} bought"
            )
        if now == 0 or amount == 0:
            continue
        a, p, c = _cents(amount), _cents(before), _cents(before + now)
        total += earned * c // a - earned * p // a
    return total


@dataclass(frozen=True, slots=True)
class ReversalPlan:
    """Points to take back out of lots, and the part already spent (``shortfall``)."""

    from_lots: list[Allocation]
    shortfall: int


def plan_reversal(
    lots: Sequence[Lot], points: int, *, at: datetime, prefer_lot_ids: Collection[str] = ()
) -> ReversalPlan:
    """Where ``points`` being reversed come from: newest lots first, never below zero.

    Lots listed in ``prefer_lot_ids`` (the lots the purchase created) are drained first, then
    the other unexpired lots, newest earned first. What the lots cannot cover was already spent
    and is returned as ``shortfall`` for the caller to record explicitly as a debt.
    """
    _check_points(points)
    _require_aware("at", at)
    live = [lot for lot in lots if lot.remaining > 0 and not lot.is_expired(at)]
    live.sort(
        key=lambda lot: (lot.lot_id in prefer_lot_ids, lot.earned_at, lot.lot_id), reverse=True
    )
    allocations, shortfall = _take(live, points)
    if shortfall:
        logger.info("reversal of %s points leaves a shortfall of %s", points, shortfall)
    return ReversalPlan(from_lots=allocations, shortfall=shortfall)


# ---------------------------------------------------------------------------------- ledger

EntryKind = Literal["earn", "redeem", "expire", "reverse", "adjust"]
_DEBIT_KINDS: frozenset[str] = frozenset({"redeem", "expire", "reverse"})


@dataclass(frozen=True, slots=True)
class LedgerEntry:
    """One append-only ledger row; ``points`` is signed (credits > 0, debits < 0).

    * ``earn``: > 0, creates lot ``lot_id`` expiring at ``expires_at``.
    * ``redeem`` / ``expire``: < 0, out of lot ``lot_id``.
    * ``reverse``: < 0, out of lot ``lot_id``; without a lot it is a debt (points already spent).
    * ``adjust``: != 0; with a lot, > 0 creates a lot (needs ``expires_at``) and < 0 takes from
      one; without a lot it changes the debt (< 0 adds to it, > 0 pays it off).
    """

    kind: EntryKind
    points: int
    lot_id: str | None
    at: datetime
    actor: str
    reason: str
    ref: str | None = None
    expires_at: datetime | None = None

    def __post_init__(self) -> None:
        _require_aware("at", self.at)
        where = f"{self.kind} entry ({self.reason or 'no reason'})"
        if self.kind == "earn" and self.points <= 0:
            raise ValueError(f"{where}: points must be positive, got {self.points}")
        if self.kind in _DEBIT_KINDS and self.points >= 0:
            raise ValueError(f"{where}: points must be negative, got {self.points}")
        if self.kind == "adjust" and self.points == 0:
            raise ValueError(f"{where}: points must not be zero")
        if self.kind in ("earn", "redeem", "expire") and self.lot_id is None:
            raise ValueError(f"{where}: lot_id is required")
        if self.creates_lot:
            if self.expires_at is None:
                raise ValueError(f"{where}: expires_at is required for a new lot")
            _require_aware("expires_at", self.expires_at)
            if self.expires_at <= self.at:
                raise ValueError(f"{where}: expires_at must be after at")
        elif self.expires_at is not None:
            raise ValueError(f"{where}: expires_at only belongs on an entry that creates a lot")

    @property
    def creates_lot(self) -> bool:
        return self.lot_id is not None and self.points > 0


@dataclass(frozen=True, slots=True)
class LotChanges:
    """What a batch of entries does to lots: the lots it creates (as they stand after the batch)
    and the points it takes out of lots that existed before it (lot id -> points, > 0)."""

    created: list[Lot]
    taken: dict[str, int]


def lot_changes(entries: Iterable[LedgerEntry]) -> LotChanges:
    """The lot rows a batch of entries creates and changes, in entry order.

    Replaying a member's whole ledger gives every lot in ``created`` and nothing in ``taken``.
    Raises ``ValueError`` for a lot created twice (or after being taken from) and for a lot
    created in the batch and taken below zero in it.
    """
    created: dict[str, Lot] = {}
    taken: dict[str, int] = {}
    for n, e in enumerate(entries):
        if e.lot_id is None:
            continue
        if e.creates_lot:
            if e.lot_id in created or e.lot_id in taken:
                raise ValueError(f"entry {n}: lot {e.lot_id} created twice or after use")
            assert e.expires_at is not None
            created[e.lot_id] = Lot(e.lot_id, e.at, e.expires_at, e.points, e.points)
        elif e.lot_id in created:
            lot = created[e.lot_id]
            remaining = lot.remaining + e.points
            if remaining < 0:
                raise ValueError(
                    f"entry {n}: {e.kind} of {-e.points} from lot {e.lot_id} "
                    f"which has {lot.remaining} left"
                )
            created[e.lot_id] = replace(lot, remaining=remaining)
        else:
            taken[e.lot_id] = taken.get(e.lot_id, 0) - e.points
    return LotChanges(created=list(created.values()), taken=taken)


def debit_entries(
    kind: Literal["redeem", "expire", "reverse", "adjust"],
    allocations: Iterable[Allocation],
    *,
    at: datetime,
    actor: str,
    reason: str,
    ref: str | None = None,
) -> list[LedgerEntry]:
    """Ledger entries taking ``allocations`` out of their lots (one entry per lot)."""
    return [
        LedgerEntry(kind, -a.points, a.lot_id, at, actor, reason, ref)
        for a in allocations
        if a.points > 0
    ]


# ------------------------------------------------------------------------- entry builders
# Every ledger entry the programme writes is made by one of these: kind, sign, lot, expiry,
# reason and reference are decided here, never where the entries are stored.

EARN_REASON = "purchase"
REFERRER_REASON = "referral: a member you referred made their first purchase"
REFERRED_REASON = "referral: welcome bonus on your first purchase"
REFERRER_REVERSED_REASON = "referral reversed: the purchase it was paid on was returned"
REFERRED_REVERSED_REASON = "referral: welcome bonus reversed, the purchase was returned"
REFERRAL_DEBT_SUFFIX = "; points already spent (debt)"
RETURN_REASON = "goods returned"
RETURN_DEBT_REASON = "goods returned; points already spent (debt)"
EXPIRY_REASON = "points expired"
DEBT_SETTLEMENT_REASON = "points owed paid off"
DEBT_SETTLEMENT_REF = "debt"


def earn_entry(
    points: int, *, lot_id: str, at: datetime, rules: EarningRules, actor: str, purchase_id: int
) -> LedgerEntry:
    """The entry creating the lot a purchase's points go into (``points`` > 0)."""
    return LedgerEntry(
        "earn",
        points,
        lot_id,
        at,
        actor,
        EARN_REASON,
        f"purchase:{purchase_id}",
        expires_at=expiry_for(at, rules),
    )


def referral_entry(
    points: int,
    *,
    lot_id: str,
    at: datetime,
    rules: EarningRules,
    actor: str,
    referred_member_id: int,
    to_referrer: bool,
) -> LedgerEntry:
    """The entry creating the lot of a referral reward (``points`` > 0): to the referrer, or
    to the referred member (``to_referrer=False``). Both name the referred member in ``ref``,
    ``referral:<id>``, so a member's ledger shows whom a reward was for."""
    return LedgerEntry(
        "earn",
        points,
        lot_id,
        at,
        actor,
        REFERRER_REASON if to_referrer else REFERRED_REASON,
        f"referral:{referred_member_id}",
        expires_at=expiry_for(at, rules),
    )


def redemption_entries(
    lots: Sequence[Lot], points: int, *, at: datetime, actor: str, reason: str, key: str
) -> list[LedgerEntry]:
    """Spending ``points`` oldest-expiring lot first; raises :class:`InsufficientPoints`."""
    allocations = spend_fifo(lots, points, at=at)
    return debit_entries(
        "redeem", allocations, at=at, actor=actor, reason=reason, ref=f"redemption:{key}"
    )


@dataclass(frozen=True, slots=True)
class Reversal:
    """The entries taking back a return's points; ``shortfall`` of them were already spent."""

    entries: list[LedgerEntry]
    shortfall: int


def return_entries(
    lots: Sequence[Lot],
    points: int,
    *,
    at: datetime,
    actor: str,
    purchase_id: int,
    return_id: str,
    purchase_lot_ids: Collection[str] = (),
) -> Reversal:
    """Taking back ``points`` for a return: out of lots (the purchase's own first, see
    :func:`plan_reversal`), and what was already spent as one lot-less entry, a debt."""
    plan = plan_reversal(lots, points, at=at, prefer_lot_ids=purchase_lot_ids)
    ref = f"return:{purchase_id}:{return_id}"
    entries = debit_entries(
        "reverse", plan.from_lots, at=at, actor=actor, reason=RETURN_REASON, ref=ref
    )
    if plan.shortfall:
        entries.append(
            LedgerEntry("reverse", -plan.shortfall, None, at, actor, RETURN_DEBT_REASON, ref)
        )
    return Reversal(entries=entries, shortfall=plan.shortfall)


def referral_reversal_entries(
    lots: Sequence[Lot],
    points: int,
    *,
    at: datetime,
    actor: str,
    referred_member_id: int,
    to_referrer: bool,
    reward_lot_ids: Collection[str] = (),
) -> Reversal:
    """Taking back a referral reward's ``points`` (its purchase was returned): out of the reward's
    own lot first, then the newest lots (:func:`plan_reversal`); what was already spent becomes
    one lot-less entry, a debt, as on a return. ``ref`` is ``referral:<referred member>`` like
    the reward's own entry."""
    plan = plan_reversal(lots, points, at=at, prefer_lot_ids=reward_lot_ids)
    reason = REFERRER_REVERSED_REASON if to_referrer else REFERRED_REVERSED_REASON
    ref = f"referral:{referred_member_id}"
    entries = debit_entries("reverse", plan.from_lots, at=at, actor=actor, reason=reason, ref=ref)
    if plan.shortfall:
        entries.append(
            LedgerEntry(
                "reverse", -plan.shortfall, None, at, actor, reason + REFERRAL_DEBT_SUFFIX, ref
            )
        )
    return Reversal(entries=entries, shortfall=plan.shortfall)


def expiry_entries(lots: Sequence[Lot], *, at: datetime, actor: str) -> list[LedgerEntry]:
    """What remains in every lot past its expiry at ``at``, one entry per lot."""
    return debit_entries("expire", expire(lots, at=at), at=at, actor=actor, reason=EXPIRY_REASON)


def debt_settlement_entries(
    lots: Sequence[Lot], owed: int, *, at: datetime, actor: str
) -> list[LedgerEntry]:
    """Paying ``owed`` points off from the lots, oldest-expiring first, as far as they go: per lot
    an ``adjust`` out of it and a lot-less ``adjust`` paying the debt, so the balance stays put."""
    reason, ref = DEBT_SETTLEMENT_REASON, DEBT_SETTLEMENT_REF
    entries: list[LedgerEntry] = []
    for a in settle_debt(lots, owed, at=at):
        entries.append(LedgerEntry("adjust", -a.points, a.lot_id, at, actor, reason, ref))
        entries.append(LedgerEntry("adjust", a.points, None, at, actor, reason, ref))
    return entries
