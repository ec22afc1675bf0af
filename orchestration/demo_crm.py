"""The demo's customer-relationship content: complaints, follow-up tasks, referrals and months of
class snapshots, so the console's lists and member pages and the Members page's transitions have
something to show on a fresh demo.

Everything goes through the server's own query functions (complaints are recorded, assigned,
answered and resolved at planted times; resolving makes the rule's follow-up tasks) except the
class snapshots of the months before the simulated history: the demo's purchases cover only the
back-filled days, so those months are planted from a simple monthly chain between the classes,
run backwards from each member's real current class (the class analysis run over the store's
sales), so the current month shows the members' real moves rather than a jump from made-up
classes. Complaints, follow-ups and referrals are seeded once per database (a complaint recorded
by :data:`ACTOR` marks it done); the class snapshots once per store, as soon as the store has
sales (:func:`plant_class_history`: on a fresh demo, after the back-fill).
"""

from __future__ import annotations

import logging
import random
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import psycopg
import yaml

from storeflow.api.complaints import Channel, Severity

logger = logging.getLogger(__name__)

ACTOR = "demo-care"
SEED = 13
SNAPSHOT_MONTHS = 6
STAFF = ("Mei (front desk)", "Jun (floor manager)", "Lan (customer care)")
COUNTERS = ("C01", "C02", "C03", "C04", "C05", "C06", "C07", "C08")

# The referral reward the demo's server runs with (an earning rule; see config/).
DEMO_REFERRAL = {"referrer_points": 500, "new_member_points": 200, "min_purchase": "50.00"}


def earning_rules_file(data_dir: Path) -> Path:
    """The demo server's earning rules: the defaults and a referral reward, written once."""
    from server.loyalty.rules import EarningRules, ReferralReward

    rules = EarningRules(referral=ReferralReward.model_validate(DEMO_REFERRAL))
    path = data_dir / "earning-rules.yaml"
    path.write_text(yaml.safe_dump(rules.model_dump(mode="json"), sort_keys=False))
    return path


@dataclass(frozen=True, slots=True)
class Planted:
    """What a complaint's life looks like: ``after`` minutes from being made."""

    severity: Severity
    category: str
    text: str
    days_ago: float
    anonymous: bool = False
    assigned_after: float | None = None
    responded_after: float | None = None
    resolved_after: float | None = None
    on_the_spot: bool = False
    channel: Channel = "in_store"


M, H, D = 1.0, 60.0, 24 * 60.0
COMPLAINTS: tuple[Planted, ...] = (
    # resolved on the spot, at the counter
    Planted("low", "price", "Shelf price differed from the till price", 52, resolved_after=8 * M,
            on_the_spot=True),
    Planted("medium", "service", "Waited a long time at the fitting rooms", 44,
            resolved_after=15 * M, on_the_spot=True),
    Planted("low", "product", "Tester bottle empty at the fragrance counter", 37,
            resolved_after=5 * M, on_the_spot=True),
    Planted("medium", "price", "Member discount not applied to a sale item", 29,
            resolved_after=12 * M, on_the_spot=True),
    Planted("high", "product", "Watch strap broke the day after buying", 21,
            resolved_after=25 * M, on_the_spot=True),
    Planted("low", "service", "No bags at the checkout", 14, resolved_after=4 * M,
            on_the_spot=True, anonymous=True),
    Planted("medium", "staff", "Sales assistant was rude about a return", 9,
            resolved_after=20 * M, on_the_spot=True),
    Planted("low", "price", "Points not shown on the receipt", 4, resolved_after=6 * M,
            on_the_spot=True),
    # resolved later, some within their targets and some not
    Planted("medium", "delivery", "Sofa delivered a week late", 48, channel="phone",
            assigned_after=2 * H, responded_after=6 * H, resolved_after=4 * D),
    Planted("high", "product", "Shoes came apart after two weeks", 40, channel="email",
            assigned_after=1 * H, responded_after=3 * H, resolved_after=1.5 * D),
    Planted("low", "cleanliness", "Toilets on the first floor were dirty", 33, channel="web",
            anonymous=True, assigned_after=5 * H, responded_after=30 * H, resolved_after=9 * D),
    Planted("critical", "safety", "Child's finger caught in the escalator gap", 26,
            assigned_after=10 * M, responded_after=40 * M, resolved_after=20 * H),
    Planted("medium", "service", "Alteration of trousers not ready when promised", 19,
            channel="phone", assigned_after=3 * H, responded_after=20 * H, resolved_after=9 * D),
    Planted("high", "price", "Charged twice for one purchase", 12, channel="email",
            assigned_after=2 * H, responded_after=6 * H, resolved_after=3 * D),
    Planted("medium", "product", "Cosmetics set missing an item", 8, channel="web",
            assigned_after=4 * H, responded_after=10 * H, resolved_after=2 * D),
    # open, still within their targets
    Planted("low", "service", "Would like longer opening hours on Sundays", 0.5, channel="web"),
    Planted("medium", "product", "Jacket zip stuck after first wear", 0.3, assigned_after=30 * M),
    Planted("low", "cleanliness", "Spilt drink left in the back aisle", 0.1, anonymous=True),
    # open and overdue
    Planted("high", "delivery", "Ordered bed linen never arrived", 6, channel="phone",
            assigned_after=2 * H),
    Planted("medium", "staff", "Nobody at the jewellery counter for 20 minutes", 11,
            responded_after=30 * H),
    Planted("critical", "safety", "Loose floor tile by the entrance", 3, channel="social"),
    Planted("medium", "price", "Refund for a returned coat still not received", 16,
            channel="email", assigned_after=1 * D, responded_after=2 * D),
)  # fmt: skip

FOLLOWUPS_BY_HAND: tuple[tuple[str, int, int], ...] = (
    # (title, due in days from today, the staff member)
    ("Call back about the alteration of the suit", -2, 0),
    ("Tell her the perfume is back in stock", 0, 1),
    ("Invite to the spring preview evening", 3, 2),
    ("Confirm the delivery date of the sofa", 1, 0),
    ("Ask how the new shoes fit", 5, 1),
    ("Thank for the feedback on the fitting rooms", -6, 2),
)

REFERRED = ("Qian Yu", "Deng Hui", "Feng Lin", "Cao Min", "Peng Jie", "Xie Wen")

# Planted months, backwards: the class at the month end before, given this month end's class
# (rows sum to 1). A member who has never bought (potential) never was anything else; buyers were
# now and then a stage lower (they have moved up since) and less often a stage higher.
BACKWARD_CHAIN: dict[str, tuple[tuple[str, float], ...]] = {
    "potential": (("potential", 1.0),),
    "occasional": (("occasional", 0.86), ("potential", 0.10), ("loyal", 0.04)),
    "loyal": (("loyal", 0.80), ("occasional", 0.13), ("core", 0.07)),
    "core": (("core", 0.85), ("loyal", 0.12), ("occasional", 0.03)),
}


def _pick(rng: random.Random, choices: tuple[tuple[str, float], ...]) -> str:
    return rng.choices([c for c, _ in choices], weights=[w for _, w in choices])[0]


def month_ends(today: date, months: int) -> list[date]:
    """The last days of the ``months`` whole months before ``today``'s month, oldest first."""
    ends: list[date] = []
    first = today.replace(day=1)
    for _ in range(months):
        end = first - timedelta(days=1)
        ends.append(end)
        first = end.replace(day=1)
    return ends[::-1]


def planted_classes(
    members: list[tuple[int, date, str]], ends: list[date], *, seed: int = SEED
) -> list[tuple[int, date, str]]:
    """Each member's class at each month end since they joined, from ``members`` as (id, joined,
    current class): the last month end is the current class, and each one before it is drawn
    from :data:`BACKWARD_CHAIN` given the one after. A class the chain does not know (a member
    objecting to profiling: ``unprofiled``) stays as it is. Deterministic for a seed; oldest
    first per member."""
    rng = random.Random(seed)
    out: list[tuple[int, date, str]] = []
    for member_id, joined, current in members:
        chain: list[tuple[int, date, str]] = []
        cls = current
        for end in reversed(ends):
            if joined > end:
                break
            chain.append((member_id, end, cls))
            if cls in BACKWARD_CHAIN:
                cls = _pick(rng, BACKWARD_CHAIN[cls])
        out.extend(reversed(chain))
    return out


async def seed_crm(
    conn: psycopg.AsyncConnection[Any], *, store_id: str, timezone: str, now: datetime
) -> bool:
    """Seed the demo's complaints, follow-ups and referrals, and plant past class snapshots if
    the store has sales (:func:`plant_class_history`); False (and nothing done) when this
    database was seeded before."""
    seen = await (
        await conn.execute("SELECT 1 FROM complaint WHERE created_by = %s LIMIT 1", (ACTOR,))
    ).fetchone()
    if seen is not None:
        return False
    rng = random.Random(SEED)
    members = [
        int(r[0])
        for r in await (
            await conn.execute(
                "SELECT id FROM member WHERE member_no LIKE 'D%%' AND merged_into IS NULL "
                "ORDER BY id"
            )
        ).fetchall()
    ]
    if not members:
        return False
    await _complaints(conn, rng, members, store_id=store_id, now=now)
    await _followups_by_hand(conn, rng, members, now=now)
    await _referrals(conn)
    await plant_class_history(conn, store_id=store_id, timezone=timezone, now=now)
    return True


async def plant_class_history(
    conn: psycopg.AsyncConnection[Any], *, store_id: str, timezone: str, now: datetime
) -> int:
    """Plant each member's class at the :data:`SNAPSHOT_MONTHS` month ends before ``now``'s
    month, ending in their current class: the class analysis as of the end of ``now``'s day
    (run now unless a current run is there, as the Members page would; it keeps that day's real
    snapshot too). Returns the snapshots planted: 0 when the store has snapshots from before
    this month already (planted or real), or no sales yet (everyone would be potential; the
    demo plants them after the back-fill). Commits."""
    from server.member_status import ensure_status
    from server.rollup import day_bounds

    today = now.astimezone(ZoneInfo(timezone)).date()
    older = await (
        await conn.execute(
            "SELECT 1 FROM member_stage WHERE store_id = %s AND as_of < %s LIMIT 1",
            (store_id, today.replace(day=1)),
        )
    ).fetchone()
    sales = await (
        await conn.execute("SELECT 1 FROM purchase WHERE store_id = %s LIMIT 1", (store_id,))
    ).fetchone()
    if older is not None or sales is None:
        return 0
    as_of = day_bounds(today, timezone).hi
    await ensure_status(conn, store_id, as_of, staleness_s=0.0)
    members = [
        (int(r[0]), r[1], str(r[2]))
        for r in await (
            await conn.execute(
                "SELECT s.member_id, (m.joined_at AT TIME ZONE %s)::date, s.primary_class "
                "FROM member_status s JOIN member m ON m.id = s.member_id "
                "WHERE s.store_id = %s AND s.as_of = %s ORDER BY s.member_id",
                (timezone, store_id, as_of),
            )
        ).fetchall()
    ]
    rows = planted_classes(members, month_ends(today, SNAPSHOT_MONTHS))
    referrers = {
        int(r[0])
        for r in await (
            await conn.execute(
                "SELECT DISTINCT referrer_id FROM member WHERE referrer_id IS NOT NULL"
            )
        ).fetchall()
    }
    await conn.execute(
        "INSERT INTO member_stage (store_id, member_id, as_of, member_class, is_referrer) "
        "SELECT %s, * FROM unnest(%s::bigint[], %s::date[], %s::text[], %s::boolean[]) "
        "ON CONFLICT DO NOTHING",
        (
            store_id,
            [m for m, _, _ in rows],
            [d for _, d, _ in rows],
            [c for _, _, c in rows],
            [m in referrers and c not in ("potential", "unprofiled") for m, _, c in rows],
        ),
    )
    await conn.commit()
    logger.info(
        "demo class history: %s snapshots planted, ending in the current classes", len(rows)
    )
    return len(rows)


async def _complaints(
    conn: psycopg.AsyncConnection[Any],
    rng: random.Random,
    members: list[int],
    *,
    store_id: str,
    now: datetime,
) -> None:
    from server.queries import complaints as qc
    from server.queries import followups as qf
    from storeflow.api.complaints import ComplaintIn
    from storeflow.api.followups import OutcomeIn

    for p in COMPLAINTS:
        at = now - timedelta(days=p.days_ago)

        def after(minutes: float | None, at: datetime = at) -> datetime | None:
            return None if minutes is None else at + timedelta(minutes=minutes)

        made = await qc.record(
            conn,
            ComplaintIn(
                member_id=None if p.anonymous else rng.choice(members),
                store_id=store_id,
                channel=p.channel,
                category=p.category,
                counter=rng.choice(COUNTERS) if p.channel == "in_store" else None,
                severity=p.severity,
                text=p.text,
                at=at,
            ),
            actor=ACTOR,
        )
        cid = made.complaint_id
        if (when := after(p.assigned_after)) is not None:
            await qc.assign(conn, cid, rng.choice(STAFF), when, actor=ACTOR)
        if (when := after(p.responded_after)) is not None:
            await qc.respond(conn, cid, "We are looking into it and will call you back.", when,
                             actor=ACTOR)  # fmt: skip
        if (when := after(p.resolved_after)) is not None:
            done = await qc.resolve(
                conn,
                cid,
                "Refunded the difference and apologised"
                if p.category == "price"
                else "Replaced the item and apologised"
                if p.category in ("product", "delivery")
                else "Apologised and put it right",
                p.on_the_spot,
                when,
                actor=ACTOR,
            )
            for task in done.followups:  # the rule's call-back: made by most, on time or not
                due = date.fromisoformat(task.due_on)
                if due < now.date() and rng.random() < 0.75:
                    outcome = "reached" if rng.random() < 0.8 else "no_answer"
                    closed_at = datetime.combine(due, datetime.min.time(), tzinfo=UTC)
                    await qf.close(
                        conn,
                        task.followup_id,
                        OutcomeIn(outcome=outcome, at=closed_at + timedelta(hours=15)),
                    )


async def _followups_by_hand(
    conn: psycopg.AsyncConnection[Any], rng: random.Random, members: list[int], *, now: datetime
) -> None:
    from server.queries import followups as qf
    from storeflow.api.followups import FollowupIn, OutcomeIn

    for title, due_in, staff in FOLLOWUPS_BY_HAND:
        task = await qf.create_manual(
            conn,
            FollowupIn(
                member_id=rng.choice(members),
                title=title,
                due_on=now.date() + timedelta(days=due_in),
                assignee=STAFF[staff],
            ),
            actor=ACTOR,
        )
        if due_in < -3:
            await qf.close(conn, task.followup_id, OutcomeIn(outcome="reached", at=now))


async def _referrals(conn: psycopg.AsyncConnection[Any]) -> None:
    """A few members enrolled at the desk with a demo member's referral code (they have no card
    in the simulation, so they show in the trees as not bought yet)."""
    from server.queries.membership import create_member
    from storeflow.api.members import MemberIn

    codes = [
        str(r[0])
        for r in await (
            await conn.execute(
                "SELECT referral_code FROM member WHERE member_no LIKE 'D%%' "
                "AND referral_code IS NOT NULL ORDER BY member_no LIMIT 3"
            )
        ).fetchall()
    ]
    for i, name in enumerate(REFERRED):
        if not codes:
            return
        await create_member(
            conn,
            MemberIn(
                name=name,
                phone=f"1391111{i + 1:04d}",
                referral_code=codes[i % len(codes)],
                consents={"marketing": True},
            ),
            actor=ACTOR,
        )
