"""``/members/{id}/referrals``: the referral tree below a member (crm role: names are personal
data; every read is recorded in the privacy access log)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from server.api.deps import ConnDep
from server.crm.access import CrmDep
from server.queries import privacy as qp
from server.queries import referrals as q
from storeflow.api.referrals import ReferralTree

router = APIRouter(tags=["members"])


@router.get("/members/{member_id}/referrals", response_model=ReferralTree)
async def referral_tree(
    member_id: int,
    conn: ConnDep,
    who: CrmDep,
    depth: Annotated[
        int, Query(ge=1, le=q.MAX_DEPTH, description="levels below the member (1: own referrals)")
    ] = 3,
) -> ReferralTree:
    """Whom the member referred (enrolled with their code), whom those referred, and so on down
    to ``depth`` levels: when each joined, first bought, and the reward paid for them. The
    member's own referral code and referrer come with it."""
    answer = await q.tree(conn, member_id, depth=depth)
    await qp.log_access(conn, who, member_id, "GET /members/{id}/referrals")
    return answer
