"""The demo's customer-relationship content: complaints, follow-up tasks, referrals and months of
class snapshots, so the console's lists and member pages and the Members page's transitions have
something to show on a fresh demo.

Everything goes through the server's own query functions (complaints are recorded, assigned,
answered and resolved at planted times; resolving makes the rule's follow-up tasks) except the
class snapshots of the months before the simulated history: the demo's purchases cover only the
back-filled days, so those months are planted from a simple monthly chain between the classes
(the runs of the class analysis add the real snapshots from then on). Seeded once per database:
a complaint recorded by :data:`ACTOR` marks it done.
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

# Planted months: the class at a month's end given last month's (rows sum to 1).
MONTHLY_CHAIN: dict[str, tuple[tuple[str, float], ...]] = {
    "potential": (("potential", 0.86), ("occasional", 0.14)),
    "occasional": (("occasional", 0.82), ("loyal", 0.11), ("potential", 0.07)),
    "loyal": (("loyal", 0.80), ("core", 0.09), ("occasional", 0.11)),
    "core": (("core", 0.88), ("loyal", 0.12)),
}
START_SHARES = (("potential", 0.45), ("occasional", 0.35), ("loyal", 0.12), ("core", 0.08))


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
    members: list[tuple[int, date]], ends: list[date], *, seed: int = SEED
) -> list[tuple[int, date, str]]:
    """Each member's class at each month end since they joined: a start drawn from
    :data:`START_SHARES`, then :data:`MONTHLY_CHAIN` month by month (new members start as
    potential). Deterministic for a seed."""
    rng = random.Random(seed)
    out: list[tuple[int, date, str]] = []
    for member_id, joined in members:
        cls: str | None = None
        for end in ends:
            if joined > end:
                continue
            if cls is None:
                cls = _pick(rng, START_SHARES) if end == ends[0] else "potential"
            else:
                cls = _pick(rng, MONTHLY_CHAIN[cls])
            out.append((member_id, end, cls))
    return out


async def seed_crm(
    conn: psycopg.AsyncConnection[Any], *, store_id: str, timezone: str, now: datetime
) -> bool:
    """Seed the demo's complaints, follow-ups, referrals and past class snapshots; False (and
    nothing done) when this database was seeded before."""
    seen = await (
        await conn.execute("SELECT 1 FROM complaint WHERE created_by = %s LIMIT 1", (ACTOR,))
    ).fetchone()
    if seen is not None:
        return False
    rng = random.Random(SEED)
    members = [
        (int(r[0]), r[1])
        for r in await (
            await conn.execute(
                "SELECT id, (joined_at AT TIME ZONE %s)::date FROM member "
                "WHERE member_no LIKE 'D%%' AND merged_into IS NULL ORDER BY id",
                (timezone,),
            )
        ).fetchall()
    ]
    if not members:
        return False
    await _complaints(conn, rng, [m for m, _ in members], store_id=store_id, now=now)
    await _followups_by_hand(conn, rng, [m for m, _ in members], now=now)
    await _referrals(conn)
    today = now.astimezone(ZoneInfo(timezone)).date()
    rows = planted_classes(members, month_ends(today, SNAPSHOT_MONTHS))
    referrers = {
        int(r[0])
        for r in await (
            await conn.execute(
                "SELECT DISTINCT referrer_id FROM member WHERE referrer_id IS NOT NULL"
            )
        ).fetchall()
    }
    async with conn.cursor() as cur:
        await cur.executemany(
            "INSERT INTO member_stage (store_id, member_id, as_of, member_class, is_referrer) "
            "VALUES (%s, %s, %s, %s, %s) ON CONFLICT DO NOTHING",
            [(store_id, m, d, c, m in referrers and c != "potential") for m, d, c in rows],
        )
    logger.info("demo customer care seeded: %s class snapshots planted", len(rows))
    return True


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
