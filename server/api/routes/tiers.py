"""``/tiers``: the tier review job (admin)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Query

from server.api.deps import AdminDep, ConnDep, RulesDep
from server.queries import membership as q
from storeflow.api.tiers import TierReview

router = APIRouter(prefix="/tiers", tags=["tiers"])


@router.post("/review")
async def review_tiers(
    conn: ConnDep, rules: RulesDep, _: AdminDep, as_of: Annotated[datetime | None, Query()] = None
) -> TierReview:
    """The tier review job: upgrades at once, downgrades only at a review date."""
    counts = await q.review_tiers(conn, as_of=as_of or datetime.now(UTC), tiers=rules.tiers)
    return TierReview.model_validate(counts)
