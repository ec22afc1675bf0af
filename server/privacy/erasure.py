"""Erasure (GDPR Art. 17, PIPL Art. 47): the person goes, the accounts stay balanced.

The member row stays as a pseudonymous row -- the points ledger is append-only and refers to it,
so balances and sums still hold -- but its personal fields are removed, its member number and
its cards' numbers and tags are replaced by keyed hashes (server secret), the floor data of its
tags moves to the untracked pseudonym, its sales lose their trip, and its individual figures go.
Records merged into the member are erased with it. Daily facts (counts) are not touched. A later
scan of an old card is an unknown card; a later read of an old tag counts as nobody's.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from psycopg import AsyncConnection
from pydantic import BaseModel

from server.privacy.keys import Hasher
from server.privacy.tracking import forget_member_tracking, member_group

logger = logging.getLogger(__name__)


class ErasureOut(BaseModel):
    member_id: int
    erased_at: datetime
    records: int
    cards: int
    already_erased: bool
    detail: dict[str, int]


async def _forget_care_texts(conn: AsyncConnection[Any], group: list[int]) -> dict[str, int]:
    """Complaints and follow-ups keep their counts, categories and times (the counters' and the
    care team's figures); what the person said and what was noted about them goes."""
    done: dict[str, int] = {}
    cur = await conn.execute(
        "UPDATE complaint SET text = 'erased', resolution = NULL WHERE member_id = ANY(%s)",
        (group,),
    )
    done["complaints"] = cur.rowcount
    await conn.execute(
        "UPDATE complaint_event e SET text = NULL FROM complaint c "
        "WHERE c.id = e.complaint_id AND c.member_id = ANY(%s)",
        (group,),
    )
    cur = await conn.execute(
        "UPDATE followup SET note = NULL, outcome_note = NULL WHERE member_id = ANY(%s)", (group,)
    )
    done["followups"] = cur.rowcount
    return done


async def erase_member(
    conn: AsyncConnection[Any], member_id: int, hasher: Hasher, *, gap_s: float
) -> ErasureOut | None:
    """Erase ``member_id`` (and the records merged into it); None: no such member."""
    group = await member_group(conn, member_id)
    if not group:
        return None
    await conn.execute("SELECT 1 FROM member WHERE id = ANY(%s) ORDER BY id FOR UPDATE", (group,))
    cur = await conn.execute(
        "SELECT min(coalesce(merged_into, id)), max(erased_at) FROM member WHERE id = ANY(%s)",
        (group,),
    )
    row = await cur.fetchone()
    assert row is not None
    survivor, erased_at = int(row[0]), row[1]
    if erased_at is not None:
        return ErasureOut(
            member_id=survivor,
            erased_at=erased_at,
            records=len(group),
            cards=0,
            already_erased=True,
            detail={},
        )
    detail = await forget_member_tracking(conn, survivor, hasher, gap_s=gap_s)
    cur = await conn.execute(
        "SELECT card_number, epc, replaced_by FROM card WHERE member_id = ANY(%s)", (group,)
    )
    cards = await cur.fetchall()
    numbers = [c[0] for c in cards]
    epcs = [c[1] for c in cards if c[1] is not None]
    if cards:
        # one statement, so the card -> card reference (replaced_by) is checked at its end
        await conn.execute(
            "UPDATE card c SET card_number = m.new_no, epc = m.new_epc, replaced_by = m.new_by, "
            "ended_at = coalesce(c.ended_at, now()) "
            "FROM unnest(%s::text[], %s::text[], %s::text[], %s::text[]) "
            "AS m(old_no, new_no, new_epc, new_by) WHERE c.card_number = m.old_no",
            (
                numbers,
                [hasher.erased_card_number(n) for n in numbers],
                [None if c[1] is None else hasher.erased_epc(c[1]) for c in cards],
                [None if c[2] is None else hasher.erased_card_number(c[2]) for c in cards],
            ),
        )
        pairs = (numbers, [hasher.erased_card_number(n) for n in numbers])
        for table in ("purchase", "card_scan"):
            cur = await conn.execute(
                f"UPDATE {table} t SET card_number = m.new FROM unnest(%s::text[], %s::text[]) "
                "AS m(old, new) WHERE t.card_number = m.old",
                pairs,
            )
            detail[f"{table}_card_numbers"] = cur.rowcount
        await conn.execute("DELETE FROM tag WHERE epc = ANY(%s)", (epcs,))
        await conn.execute("DELETE FROM card_epc_alias WHERE epc = ANY(%s)", (epcs,))
    cur = await conn.execute("DELETE FROM member_status WHERE member_id = ANY(%s)", (group,))
    detail["member_figures"] = cur.rowcount
    detail.update(await _forget_care_texts(conn, group))
    cur = await conn.execute("DELETE FROM member_stage WHERE member_id = ANY(%s)", (group,))
    detail["class_history"] = cur.rowcount
    # campaign lists keep who was contacted (for the uplift) but not why; nothing left to send
    cur = await conn.execute(
        "UPDATE campaign_contact SET reason = 'erased' WHERE member_id = ANY(%s)", (group,)
    )
    detail["campaign_contacts"] = cur.rowcount
    await conn.execute(
        "UPDATE campaign_outbox SET status = 'withdrawn' WHERE member_id = ANY(%s) "
        "AND status = 'pending'",
        (group,),
    )
    cur = await conn.execute("SELECT id, member_no FROM member WHERE id = ANY(%s)", (group,))
    numbers_of = await cur.fetchall()
    cur = await conn.execute(
        "UPDATE member m SET name = 'erased', phone = NULL, email = NULL, birth_date = NULL, "
        "gender = 'unknown', referrer_id = NULL, referral_code = NULL, member_no = x.no, "
        "erased_at = now() "
        "FROM unnest(%s::bigint[], %s::text[]) AS x(id, no) WHERE m.id = x.id "
        "RETURNING m.erased_at",
        (
            [r[0] for r in numbers_of],
            [hasher.erased_member_no(r[1]) for r in numbers_of],
        ),
    )
    done = await cur.fetchall()
    logger.info("member %s erased (%s records, %s cards)", survivor, len(group), len(cards))
    return ErasureOut(
        member_id=survivor,
        erased_at=done[0][0],
        records=len(group),
        cards=len(cards),
        already_erased=False,
        detail=detail,
    )
