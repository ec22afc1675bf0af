"""Members, cards, purchases and points in the database; the rules come from server.loyalty.

Every points change is a batch of ledger entries made by the pure rules (``server.loyalty.points``)
and written with the lots it touches by ``server.queries.ledger``, in one transaction under a lock
on the member row, so concurrent redemptions can never spend the same points twice.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from psycopg import AsyncConnection, errors

from server import errors as domain_errors
from server.errors import Conflict, Forbidden, InvalidRequest, NotFound
from server.loyalty import (
    InsufficientPoints,
    Line,
    Tier,
    debt_settlement_entries,
    earn_entry,
    earn_for_purchase,
    expiry_entries,
    redemption_entries,
    return_entries,
    reverse_for_return,
)
from server.loyalty.discount import Discount, tier_discount
from server.loyalty.rules import EarningRules, TierRules
from server.privacy.consent import Purpose as ConsentPurpose
from server.privacy.consent import may_use
from server.queries import ledger, referrals
from server.queries.ledger import balance
from server.rollup import mark_dirty
from server.sale_limits import SaleLimits
from storeflow.api.members import MemberAtTill, MemberCreated, MemberIn
from storeflow.api.points import RedemptionIn
from storeflow.api.purchases import (
    LineIn,
    PurchaseIn,
    PurchaseOut,
    QuoteIn,
    QuoteOut,
    ReturnIn,
    ReturnOut,
    SaleLine,
    SaleOut,
)
from storeflow.api.till import TillCounter


def normalise_phone(phone: str | None) -> str | None:
    if phone is None:
        return None
    digits = "".join(c for c in phone if c.isdigit() or c == "+")
    return digits or None


async def create_member(conn: AsyncConnection[Any], m: MemberIn, *, actor: str) -> MemberCreated:
    """Enrol a member; ``referral_code`` (or the older ``referrer_no``) records who referred
    them. An unknown code is a 422; the new member gets a referral code of their own."""
    referrer_id = None
    if m.referrer_no:
        row = await (
            await conn.execute("SELECT id FROM member WHERE member_no = %s", (m.referrer_no,))
        ).fetchone()
        if row is None:
            raise InvalidRequest(f"referrer {m.referrer_no!r} not found")
        referrer_id = row[0]
    if m.referral_code:
        by_code = await referrals.referrer_for_code(conn, m.referral_code)
        if referrer_id is not None and await survivor(conn, referrer_id) != by_code:
            raise InvalidRequest("referrer_no and referral_code name different members")
        referrer_id = by_code
    try:
        async with conn.transaction():
            row = await (
                await conn.execute(
                    "INSERT INTO member (member_no, name, phone, email, birth_date, gender, "
                    "referrer_id) VALUES ('M' || nextval('member_no_seq'), %s, %s, %s, %s, %s, %s) "
                    "RETURNING id, member_no, referral_code",
                    (
                        m.name,
                        normalise_phone(m.phone),
                        m.email,
                        m.birth_date,
                        m.gender,
                        referrer_id,
                    ),
                )
            ).fetchone()
    except errors.UniqueViolation as exc:
        field = "email" if "email" in str(exc) else "phone"
        raise Conflict(f"a member with this {field} already exists") from exc
    assert row is not None
    member_id, member_no, code = int(row[0]), str(row[1]), row[2]
    for purpose, granted in m.consents.items():
        await conn.execute(
            "INSERT INTO consent (member_id, purpose, granted, source) VALUES (%s, %s, %s, %s)",
            (member_id, purpose, granted, actor),
        )
    await conn.execute(
        "INSERT INTO tier_history (member_id, tier, since, reason) "
        "VALUES (%s, 'Member', now(), 'joined')",
        (member_id,),
    )
    return MemberCreated(member_id=member_id, member_no=member_no, referral_code=code)


async def issue_card(
    conn: AsyncConnection[Any], member_id: int, card_number: str, epc: str | None
) -> None:
    try:
        async with conn.transaction():
            await conn.execute(
                "INSERT INTO card (card_number, member_id, epc) VALUES (%s, %s, %s)",
                (card_number, member_id, epc),
            )
            if epc:
                await conn.execute(
                    "INSERT INTO tag (epc, kind, label) VALUES (%s, 'member_card', %s) "
                    "ON CONFLICT (epc) DO UPDATE SET kind = 'member_card'",
                    (epc, f"card {card_number[-4:]}"),
                )
    except errors.UniqueViolation as exc:
        raise Conflict("that card number or tag is already in use") from exc
    except errors.ForeignKeyViolation as exc:
        raise NotFound("member not found") from exc


async def report_lost(conn: AsyncConnection[Any], card_number: str) -> int:
    row = await (
        await conn.execute(
            "UPDATE card SET status = 'lost', ended_at = now() WHERE card_number = %s "
            "AND status = 'active' RETURNING member_id",
            (card_number,),
        )
    ).fetchone()
    if row is None:
        raise NotFound("no active card with that number")
    return int(row[0])


async def replace_card(
    conn: AsyncConnection[Any], card_number: str, new_number: str, new_epc: str | None
) -> int:
    """The new card keeps the member (and so points and history); the old card and its tag stop."""
    row = await (
        await conn.execute(
            "SELECT member_id, status FROM card WHERE card_number = %s FOR UPDATE", (card_number,)
        )
    ).fetchone()
    if row is None:
        raise NotFound("card not found")
    member_id, status = int(row[0]), row[1]
    if status == "replaced":
        raise Conflict("card already replaced")
    await conn.execute(
        "UPDATE card SET status = 'replaced', ended_at = coalesce(ended_at, now()) "
        "WHERE card_number = %s",
        (card_number,),
    )
    await issue_card(conn, member_id, new_number, new_epc)
    await conn.execute(
        "UPDATE card SET replaced_by = %s WHERE card_number = %s", (new_number, card_number)
    )
    return member_id


async def member_for_card(conn: AsyncConnection[Any], card_number: str) -> int:
    row = await (
        await conn.execute(
            "SELECT member_id, status FROM card WHERE card_number = %s", (card_number,)
        )
    ).fetchone()
    if row is None:
        raise NotFound("card not found")
    if row[1] == "lost":
        raise Conflict("card reported lost")
    if row[1] == "replaced":
        raise Conflict("card replaced by a newer card")
    return int(row[0])


async def lookup(
    conn: AsyncConnection[Any],
    *,
    card: str | None,
    phone: str | None,
    member_no: str | None,
    tiers: TierRules,
) -> MemberAtTill:
    if card:
        member_id = await member_for_card(conn, card)
        row = await (
            await conn.execute("SELECT id FROM member WHERE id = %s", (member_id,))
        ).fetchone()
    elif phone:
        row = await (
            await conn.execute(
                "SELECT id FROM member WHERE phone = %s AND merged_into IS NULL",
                (normalise_phone(phone),),
            )
        ).fetchone()
    elif member_no:
        row = await (
            await conn.execute(
                "SELECT coalesce(merged_into, id) FROM member WHERE member_no = %s", (member_no,)
            )
        ).fetchone()
    else:
        raise InvalidRequest("give card, phone or member_no")
    if row is None:
        raise NotFound("member not found")
    return await at_till(conn, int(row[0]), tiers=tiers)


async def at_till(conn: AsyncConnection[Any], member_id: int, *, tiers: TierRules) -> MemberAtTill:
    row = await (
        await conn.execute(
            "SELECT id, member_no, name, tier FROM member WHERE id = %s", (member_id,)
        )
    ).fetchone()
    if row is None:
        raise NotFound("member not found")
    tier = tiers.get(row[3])
    return MemberAtTill(
        member_id=row[0],
        member_no=row[1],
        name=row[2],
        tier=tier.name,
        discount_rate=tier.discount_rate,
        points_multiplier=tier.points_multiplier,
        points_balance=await balance(conn, member_id),
    )


async def store_counters(conn: AsyncConnection[Any], store_id: str) -> list[TillCounter]:
    """The store's counters (empty for a store without a layout)."""
    rows = await (
        await conn.execute(
            "SELECT code, name FROM counter WHERE store_id = %s ORDER BY code", (store_id,)
        )
    ).fetchall()
    return [TillCounter(code=r[0], name=r[1]) for r in rows]


async def check_counters(conn: AsyncConnection[Any], store_id: str, lines: list[LineIn]) -> None:
    """Every line's counter code must be one of the store's counters, else the sale could not
    be attributed. A store with no layout on record has no counters to check against."""
    codes = [ln.counter for ln in lines if ln.counter]
    if not codes:
        return
    known = {c.code for c in await store_counters(conn, store_id)}
    if not known:
        return
    for i, ln in enumerate(lines):
        if ln.counter and ln.counter not in known:
            raise InvalidRequest(
                f"line {i + 1}: unknown counter {ln.counter!r} at store {store_id!r} "
                f"(known: {', '.join(sorted(known))})"
            )


def sale_total(lines: list[LineIn]) -> Decimal:
    return sum((ln.amount for ln in lines), Decimal("0"))


async def quote(
    conn: AsyncConnection[Any], body: QuoteIn, *, tiers: TierRules, limits: SaleLimits
) -> QuoteOut:
    """What a sale will cost the customer, checked as recording it would be (nothing stored)."""
    await check_counters(conn, body.store_id, body.lines)
    total = sale_total(body.lines)
    limits.check_max(total)
    member = None
    if body.card_number:
        member = await at_till(conn, await member_for_card(conn, body.card_number), tiers=tiers)
    d = tier_discount(total, tiers.get(member.tier) if member else None)
    return QuoteOut(
        member_id=member.member_id if member else None,
        member_name=member.name if member else None,
        tier=member.tier if member else None,
        total=total,
        discount_rate=d.rate,
        discount=d.amount,
        amount_due=d.to_pay,
        needs_confirmation=total > limits.confirm_above,
        needs_supervisor=total > limits.supervisor_above,
    )


async def record_purchase(
    conn: AsyncConnection[Any],
    p: PurchaseIn,
    *,
    actor: str,
    earning: EarningRules,
    tiers: TierRules,
    limits: SaleLimits | None = None,
) -> PurchaseOut:
    """Idempotent on (store, POS id): a retry returns the first answer and changes nothing.

    Refused: a total over the hard maximum, a total over the per-sale limit without a
    supervisor, a counter code the store does not have. The member's tier before the sale
    gives its discount (``server.loyalty.discount``)."""
    done = await _recorded(conn, p, tiers=tiers)
    if done is not None:  # answered before the card is checked: it may be lost since
        return done
    total = sale_total(p.lines)
    (limits or SaleLimits()).check(total, supervisor=p.supervisor)
    await check_counters(conn, p.store_id, p.lines)
    member_id = await member_for_card(conn, p.card_number) if p.card_number else None
    tier: Tier | None = None
    if member_id is not None:  # serialise with redemptions and other sales of this member
        await conn.execute("SELECT 1 FROM member WHERE id = %s FOR UPDATE", (member_id,))
        tier = tiers.get((await at_till(conn, member_id, tiers=tiers)).tier)
    discount = tier_discount(total, tier)
    row = await (
        await conn.execute(
            "INSERT INTO purchase (store_id, register_id, pos_id, at, member_id, card_number, "
            "total, discount_rate, discount, amount_due, supervisor, recorded_by) "
            "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s) "
            "ON CONFLICT (store_id, pos_id) DO NOTHING RETURNING id",
            (
                p.store_id,
                p.register_id,
                p.pos_id,
                p.at,
                member_id,
                p.card_number,
                total,
                discount.rate,
                discount.amount,
                discount.to_pay,
                p.supervisor.strip() if p.supervisor else None,
                actor,
            ),
        )
    ).fetchone()
    if row is None:
        old = await _recorded(conn, p, tiers=tiers)
        assert old is not None
        return old
    purchase_id = int(row[0])
    earned = [0] * len(p.lines)
    tier_name: str | None = None
    if member_id is not None:
        assert tier is not None
        tier_name = tier.name
        lines = [Line(ln.sku, ln.counter, ln.category, ln.quantity, ln.amount) for ln in p.lines]
        result = earn_for_purchase(lines, at=p.at, tier=tiers.get(tier_name), rules=earning)
        earned = result.per_line
        if result.points_total > 0:
            entry = earn_entry(
                result.points_total,
                lot_id=await ledger.new_lot_id(conn),
                at=p.at,
                rules=earning,
                actor=actor,
                purchase_id=purchase_id,
            )
            await ledger.append_entries(conn, member_id, [entry], purchase_id=purchase_id)
        await conn.execute(
            "UPDATE purchase SET points_earned = %s WHERE id = %s",
            (sum(earned), purchase_id),
        )
        await referrals.reward_first_purchase(
            conn,
            member_id=member_id,
            purchase_id=purchase_id,
            total=total,
            at=p.at,
            rules=earning,
            actor=actor,
        )
        await _settle_debt(conn, member_id, actor=actor)
        tier_name = await _upgrade_tier(conn, member_id, tier_name, at=p.at, tiers=tiers)
    await link_trip(
        conn,
        purchase_id=purchase_id,
        store_id=p.store_id,
        member_id=member_id,
        at=p.at,
        counters=[ln.counter for ln in p.lines if ln.counter],
    )
    await mark_dirty(conn, p.store_id, [p.at])
    async with conn.cursor() as cur:
        await cur.executemany(
            "INSERT INTO purchase_line (purchase_id, line_no, sku, counter, category, quantity, "
            "amount, points) VALUES (%s, %s, %s, %s, %s, %s, %s, %s)",
            [
                (
                    purchase_id,
                    i + 1,
                    ln.sku,
                    ln.counter,
                    ln.category,
                    ln.quantity,
                    ln.amount,
                    earned[i],
                )
                for i, ln in enumerate(p.lines)
            ],
        )
    return PurchaseOut(
        purchase_id=purchase_id,
        member_id=member_id,
        total=total,
        points_earned=sum(earned),
        points_balance=await balance(conn, member_id) if member_id is not None else None,
        tier=tier_name,
        duplicate=False,
        **_discount_fields(discount),
    )


def _discount_fields(d: Discount) -> dict[str, Decimal]:
    return {"discount_rate": d.rate, "discount": d.amount, "amount_due": d.to_pay}


async def _recorded(
    conn: AsyncConnection[Any], p: PurchaseIn, *, tiers: TierRules
) -> PurchaseOut | None:
    old = await (
        await conn.execute(
            "SELECT id, member_id, total, points_earned, discount, "
            "coalesce(amount_due, total - discount), discount_rate FROM purchase "
            "WHERE store_id = %s AND pos_id = %s",
            (p.store_id, p.pos_id),
        )
    ).fetchone()
    if old is None:
        return None
    member_id = await survivor(conn, old[1]) if old[1] is not None else None
    return PurchaseOut(
        purchase_id=old[0],
        member_id=member_id,
        total=old[2],
        points_earned=old[3],
        points_balance=await balance(conn, member_id) if member_id is not None else None,
        tier=(await at_till(conn, member_id, tiers=tiers)).tier if member_id is not None else None,
        duplicate=True,
        discount_rate=old[6],
        discount=old[4],
        amount_due=old[5],
    )


async def sale_by_pos_id(conn: AsyncConnection[Any], store_id: str, pos_id: str) -> SaleOut:
    """A recorded sale and how much of each line was already returned (for a return)."""
    row = await (
        await conn.execute(
            "SELECT id, pos_id, register_id, at, member_id, total, discount, "
            "coalesce(amount_due, total - discount) FROM purchase "
            "WHERE store_id = %s AND pos_id = %s",
            (store_id, pos_id.strip()),
        )
    ).fetchone()
    if row is None:
        raise NotFound(f"no sale {pos_id!r} at store {store_id!r}")
    lines = await (
        await conn.execute(
            "SELECT l.line_no, l.sku, l.counter, l.amount, coalesce((SELECT sum(rl.amount) FROM "
            "purchase_return_line rl JOIN purchase_return pr ON pr.id = rl.return_pk "
            "WHERE pr.purchase_id = l.purchase_id AND rl.line_no = l.line_no), 0) "
            "FROM purchase_line l WHERE l.purchase_id = %s ORDER BY l.line_no",
            (row[0],),
        )
    ).fetchall()
    return SaleOut(
        purchase_id=row[0],
        pos_id=row[1],
        register_id=row[2],
        at=row[3],
        member_id=await survivor(conn, row[4]) if row[4] is not None else None,
        total=row[5],
        discount=row[6],
        amount_due=row[7],
        lines=[
            SaleLine(line_no=ln[0], sku=ln[1], counter=ln[2], amount=ln[3], returned=ln[4])
            for ln in lines
        ],
    )


async def _settle_debt(conn: AsyncConnection[Any], member_id: int, *, actor: str) -> None:
    """Points owed (reversed after being spent) are paid off from the lots first: an ``adjust``
    out of each lot and a lot-less ``adjust`` paying the debt, so lots and balance agree."""
    owed = await ledger.owed(conn, member_id)
    if owed <= 0:
        return
    lots = await ledger.lots(conn, member_id)
    entries = debt_settlement_entries(lots, owed, at=datetime.now(UTC), actor=actor)
    await ledger.append_entries(conn, member_id, entries)


async def _upgrade_tier(
    conn: AsyncConnection[Any], member_id: int, current: str, *, at: datetime, tiers: TierRules
) -> str:
    """Upgrades happen at once on rolling 12-month spend (downgrades only at a review)."""
    row = await (
        await conn.execute(
            "SELECT coalesce(sum(total), 0) FROM purchase WHERE member_id = %s "
            "AND at > %s AND at <= %s",
            (member_id, at - timedelta(days=365), at),
        )
    ).fetchone()
    spend = Decimal(row[0]) if row else Decimal(0)
    best = tiers.for_spend(spend)
    if tiers.rank(best.name) <= tiers.rank(current):
        return current
    await conn.execute(
        "UPDATE member SET tier = %s, tier_since = %s WHERE id = %s", (best.name, at, member_id)
    )
    await conn.execute(
        "INSERT INTO tier_history (member_id, tier, since, reason) VALUES (%s, %s, %s, %s)",
        (member_id, best.name, at, f"12-month spend {spend} reached {best.min_spend_12m}"),
    )
    return best.name


async def redeem(conn: AsyncConnection[Any], member_id: int, r: RedemptionIn, *, actor: str) -> int:
    """Spend points oldest lot first; no double spend (member row locked); idempotent on key."""
    locked = await (
        await conn.execute("SELECT 1 FROM member WHERE id = %s FOR UPDATE", (member_id,))
    ).fetchone()
    if locked is None:
        raise NotFound("member not found")
    seen = await (
        await conn.execute(
            "SELECT 1 FROM redemption WHERE idempotency_key = %s AND member_id IN "
            "(SELECT id FROM member WHERE id = %s OR merged_into = %s)",
            (r.idempotency_key, member_id, member_id),
        )
    ).fetchone()
    if seen is not None:
        return await balance(conn, member_id)  # a retry, perhaps made on a merged record
    fresh = await (
        await conn.execute(
            "INSERT INTO redemption (member_id, idempotency_key, points, store_id, register_id) "
            "VALUES (%s, %s, %s, %s, %s) ON CONFLICT DO NOTHING RETURNING 1",
            (member_id, r.idempotency_key, r.points, r.store_id, r.register_id),
        )
    ).fetchone()
    if fresh is None:
        return await balance(conn, member_id)  # a retry of a redemption already made
    lots = await ledger.lots(conn, member_id)
    try:
        entries = redemption_entries(
            lots,
            r.points,
            at=datetime.now(UTC),
            actor=actor,
            reason=r.reason,
            key=r.idempotency_key,
        )
    except InsufficientPoints as exc:
        raise domain_errors.InsufficientPoints(exc.available, exc.requested) from exc
    await ledger.append_entries(conn, member_id, entries)
    return await balance(conn, member_id)


async def record_return(
    conn: AsyncConnection[Any],
    purchase_id: int,
    r: ReturnIn,
    *,
    actor: str,
    store_id: str | None = None,
    register_id: str | None = None,
) -> ReturnOut:
    """Reverse points in proportion to the value returned, never twice, never beyond the sale.

    Points are taken back from the purchase's own lot first, then the newest lots; what was
    already spent is recorded as a ``reverse`` ledger entry with no lot (a debt), so the
    balance may go below zero rather than leave points for goods no longer bought. A referral
    reward paid on the sale is taken back when what is kept of it no longer qualifies
    (:func:`server.queries.referrals.take_back_on_return`)."""
    row = await (
        await conn.execute(
            "SELECT member_id, store_id, register_id FROM purchase WHERE id = %s", (purchase_id,)
        )
    ).fetchone()
    if row is None:
        raise NotFound("purchase not found")
    if store_id is not None and row[1] != store_id:
        raise Forbidden(f"this credential is for store {store_id!r}")
    if register_id is not None and row[2] != register_id:
        raise Forbidden(f"the purchase was made at another register than {register_id!r}")
    member_id = row[0]
    if member_id is not None:
        await conn.execute("SELECT 1 FROM member WHERE id = %s FOR UPDATE", (member_id,))
    await conn.execute("SELECT 1 FROM purchase WHERE id = %s FOR UPDATE", (purchase_id,))
    old = await (
        await conn.execute(
            "SELECT amount, points_reversed, shortfall FROM purchase_return "
            "WHERE purchase_id = %s AND return_id = %s",
            (purchase_id, r.return_id),
        )
    ).fetchone()
    if old is not None:
        bal = await balance(conn, member_id) if member_id is not None else None
        return ReturnOut(
            purchase_id=purchase_id,
            amount=old[0],
            points_reversed=old[1],
            shortfall=old[2],
            points_balance=bal,
            duplicate=True,
        )
    lines = await (
        await conn.execute(
            "SELECT l.line_no, l.amount, l.points, coalesce((SELECT sum(rl.amount) FROM "
            "purchase_return_line rl JOIN purchase_return pr ON pr.id = rl.return_pk "
            "WHERE pr.purchase_id = l.purchase_id AND rl.line_no = l.line_no), 0) "
            "FROM purchase_line l WHERE l.purchase_id = %s ORDER BY l.line_no",
            (purchase_id,),
        )
    ).fetchall()
    by_no = {ln[0]: i for i, ln in enumerate(lines)}
    returning = [Decimal("0")] * len(lines)
    for rl in r.lines:
        if rl.line_no not in by_no:
            raise InvalidRequest(f"the purchase has no line {rl.line_no}")
        returning[by_no[rl.line_no]] += rl.amount
    try:
        points = reverse_for_return(
            earned_per_line=[ln[2] for ln in lines],
            line_amounts=[ln[1] for ln in lines],
            already_returned_amounts=[Decimal(ln[3]) for ln in lines],
            returning_amounts=returning,
        )
    except ValueError as exc:
        raise InvalidRequest(str(exc)) from exc
    amount = sum(returning, Decimal("0"))
    shortfall = 0
    now = datetime.now(UTC)
    if member_id is not None and points > 0:
        reversal = return_entries(
            await ledger.lots(conn, member_id),
            points,
            at=now,
            actor=actor,
            purchase_id=purchase_id,
            return_id=r.return_id,
            purchase_lot_ids=await ledger.purchase_lot_ids(conn, purchase_id),
        )
        await ledger.append_entries(conn, member_id, reversal.entries)
        shortfall = reversal.shortfall
    ret = await (
        await conn.execute(
            "INSERT INTO purchase_return (purchase_id, return_id, amount, points_reversed, "
            "shortfall, recorded_by) VALUES (%s, %s, %s, %s, %s, %s) RETURNING id",
            (purchase_id, r.return_id, amount, points, shortfall, actor),
        )
    ).fetchone()
    assert ret is not None
    async with conn.cursor() as cur:
        await cur.executemany(
            "INSERT INTO purchase_return_line (return_pk, line_no, amount) VALUES (%s, %s, %s)",
            [(ret[0], lines[i][0], amt) for i, amt in enumerate(returning) if amt > 0],
        )
    if member_id is not None:  # a referral reward paid on this sale may no longer be earned
        await referrals.take_back_on_return(
            conn,
            purchase_id=purchase_id,
            at=now,
            actor=actor,
            return_ref=f"return:{purchase_id}:{r.return_id}",
        )
    return ReturnOut(
        purchase_id=purchase_id,
        amount=amount,
        points_reversed=points,
        shortfall=shortfall,
        points_balance=await balance(conn, member_id) if member_id is not None else None,
        duplicate=False,
    )


async def expire_points(conn: AsyncConnection[Any], *, as_of: datetime, actor: str) -> int:
    """The expiry job: lots past their date lose what remains, one ledger entry each.

    A time without a zone is taken as UTC."""
    if as_of.tzinfo is None:
        as_of = as_of.replace(tzinfo=UTC)
    expired = 0
    for member_id, lots in (await ledger.due_lots(conn, as_of=as_of)).items():
        entries = expiry_entries(lots, at=as_of, actor=actor)
        await ledger.append_entries(conn, member_id, entries)
        expired -= sum(e.points for e in entries)
    return expired


async def link_trip(
    conn: AsyncConnection[Any],
    *,
    counters: list[str],
    purchase_id: int,
    store_id: str,
    member_id: int | None,
    at: datetime,
) -> None:
    """Link a sale to the shopper's trip: the member's card tag seen on the floor (trip open at
    the sale or ended at most 15 min before), else a cart read at the checkout within 2 min.
    A member who has not consented to in-store tracking has no sale linked to any trip."""
    if member_id is not None and not await may_use(
        conn, member_id, ConsentPurpose.IN_STORE_TRACKING
    ):
        return
    row = None
    if member_id is not None:
        row = await (
            await conn.execute(
                "SELECT t.trip_id FROM trip t JOIN card c ON c.epc = t.epc AND c.member_id = %s "
                "AND (c.status = 'active' OR c.ended_at > t.start_at) "  # a lost card's tag stops
                "WHERE t.store_id = %s AND t.start_at <= %s AND t.end_at >= %s - interval '15 min' "
                "ORDER BY t.start_at DESC LIMIT 1",
                (member_id, store_id, at, at),
            )
        ).fetchone()
    if row is None:
        row = await (
            await conn.execute(
                "SELECT t.trip_id FROM zone_visit v JOIN zone z ON z.store_id = v.store_id "
                "AND z.code = v.zone AND z.kind = 'checkout' "
                "JOIN trip t ON t.store_id = v.store_id AND t.epc = v.epc "
                "AND t.start_at <= v.enter_at AND t.end_at >= v.exit_at "
                "WHERE v.store_id = %s AND v.tag_kind IN ('cart', 'basket') "
                "AND v.enter_at <= %s + interval '2 min' AND v.exit_at >= %s - interval '2 min' "
                # several carts may be at the checkout: prefer one whose trip passed the counters
                # the goods come from, then the one read closest to the sale
                "ORDER BY t.zones && (SELECT coalesce(array_agg(zone_code), '{}') FROM counter "
                "WHERE store_id = %s AND code = ANY(%s)) DESC, "
                "abs(extract(epoch FROM v.exit_at - %s)) LIMIT 1",
                (store_id, at, at, store_id, counters, at),
            )
        ).fetchone()
    if row is not None:
        await conn.execute("UPDATE purchase SET trip_id = %s WHERE id = %s", (row[0], purchase_id))


async def survivor(conn: AsyncConnection[Any], member_id: int) -> int:
    """The member record in use: a record merged into another answers for that one."""
    row = await (
        await conn.execute(
            "SELECT coalesce(merged_into, id) FROM member WHERE id = %s", (member_id,)
        )
    ).fetchone()
    if row is None:
        raise NotFound("member not found")
    return int(row[0])


async def merge_members(
    conn: AsyncConnection[Any], source: int, into: int, *, actor: str, tiers: TierRules
) -> MemberAtTill:
    """Two records that are one person: cards, purchases, points (and so visits) follow ``into``.

    The ledger is append-only, so the source's entries stay where they are and balances count
    the entries of every record merged into a member."""
    if source == into:
        raise InvalidRequest("a member cannot be merged into itself")
    rows = await (
        await conn.execute(
            "SELECT id, merged_into, erased_at IS NOT NULL FROM member WHERE id IN (%s, %s) "
            "ORDER BY id FOR UPDATE",
            (source, into),
        )
    ).fetchall()
    if len(rows) != 2:
        raise NotFound("member not found")
    if any(r[1] is not None for r in rows):
        raise Conflict("one of the two records was already merged")
    if any(r[2] for r in rows):
        # An erased person never reappears: nothing may be attached to or taken from the record.
        raise Conflict("one of the two records was erased; erased records cannot be merged")
    for table in ("card", "purchase"):
        await conn.execute(
            f"UPDATE {table} SET member_id = %s WHERE member_id = %s", (into, source)
        )
    await ledger.move_lots(conn, source, into)
    await conn.execute(
        "UPDATE member SET merged_into = %s WHERE id = %s OR merged_into = %s",
        (into, source, source),
    )
    await conn.execute(
        "INSERT INTO tier_history (member_id, tier, since, reason) SELECT %s, tier, now(), %s "
        "FROM member WHERE id = %s",
        (into, f"member {source} merged into this record by {actor}", into),
    )
    await _settle_debt(conn, into, actor=actor)
    current = (await at_till(conn, into, tiers=tiers)).tier
    await _upgrade_tier(conn, into, current, at=datetime.now(UTC), tiers=tiers)
    return await at_till(conn, into, tiers=tiers)


async def review_tiers(
    conn: AsyncConnection[Any], *, as_of: datetime, tiers: TierRules
) -> dict[str, int]:
    """The review job: every member's tier from 12-month spend net of returns; downgrades only
    once a review date has come (``server.loyalty.tiers.evaluate_tier``)."""
    from server.loyalty.tiers import evaluate_tier

    rows = await (
        await conn.execute(
            "SELECT m.id, m.tier, m.last_review, coalesce((SELECT sum(p.total) FROM purchase p "
            "WHERE p.member_id = m.id AND p.at > %s AND p.at <= %s), 0) - coalesce((SELECT "
            "sum(r.amount) FROM purchase_return r JOIN purchase p ON p.id = r.purchase_id "
            "WHERE p.member_id = m.id AND r.at > %s AND r.at <= %s), 0) "
            "FROM member m WHERE m.merged_into IS NULL ORDER BY m.id FOR UPDATE",
            (as_of - timedelta(days=365), as_of, as_of - timedelta(days=365), as_of),
        )
    ).fetchall()
    counts = {"upgrade": 0, "downgrade": 0, "keep": 0}
    for member_id, tier, last_review, spend in rows:
        d = evaluate_tier(
            tier, max(Decimal(spend), Decimal(0)), as_of=as_of, rules=tiers, last_review=last_review
        )
        counts[d.change] += 1
        if d.new_tier != tier:
            await conn.execute(
                "UPDATE member SET tier = %s, tier_since = %s WHERE id = %s",
                (d.new_tier, d.effective_at, member_id),
            )
            await conn.execute(
                "INSERT INTO tier_history (member_id, tier, since, reason) VALUES (%s, %s, %s, %s)",
                (member_id, d.new_tier, d.effective_at, d.reason),
            )
        if d.review_date is not None:
            await conn.execute(
                "UPDATE member SET last_review = %s WHERE id = %s", (d.review_date, member_id)
            )
    return counts
