"""Member cards (admin): issue one to a member, report it lost, replace it.

The paths keep their two roots (``/members/{id}/cards`` to issue, ``/cards/{number}/...`` for a
card already issued), so this router has no common prefix."""

from __future__ import annotations

from fastapi import APIRouter

from server.api.deps import AdminDep, ConnDep, SettingsDep
from server.queries import membership as q
from server.queries.tags import reclassify
from storeflow.api.cards import CardIn, CardLost, CardReplaced, ReplaceIn
from storeflow.wire import TagKind

router = APIRouter(tags=["cards"])


@router.post("/members/{member_id}/cards", status_code=201)
async def issue_card(
    member_id: int, body: CardIn, conn: ConnDep, settings: SettingsDep, _: AdminDep
) -> CardIn:
    """Issue a card (and link the RFID tag inside it) to a member; visits the tag made before
    become the member card's (server/queries/tags.py)."""
    member_id = await q.survivor(conn, member_id)
    await q.issue_card(conn, member_id, body.card_number, body.epc)
    if body.epc:
        await reclassify(
            conn, {body.epc: TagKind.MEMBER_CARD}, stores=None, gap_s=settings.trip_gap_s
        )
    return body


@router.post("/cards/{card_number}/lost")
async def report_lost(card_number: str, conn: ConnDep, _: AdminDep) -> CardLost:
    """The card and its tag stop working at once."""
    member_id = await q.report_lost(conn, card_number)
    return CardLost(card_number=card_number, member_id=member_id)


@router.post("/cards/{card_number}/replace", status_code=201)
async def replace_card(
    card_number: str, body: ReplaceIn, conn: ConnDep, settings: SettingsDep, _: AdminDep
) -> CardReplaced:
    """A new card for the same member (points and history stay); the old card and tag stop."""
    member_id = await q.replace_card(conn, card_number, body.new_card_number, body.new_epc)
    if body.new_epc:
        await reclassify(
            conn, {body.new_epc: TagKind.MEMBER_CARD}, stores=None, gap_s=settings.trip_gap_s
        )
    return CardReplaced(member_id=member_id, card_number=body.new_card_number, replaces=card_number)
