"""``/tiers``: the tier review job."""

from __future__ import annotations

from storeflow.api.base import ApiModel


class TierReview(ApiModel):
    """How many members moved up, moved down or kept their tier."""

    upgrade: int
    downgrade: int
    keep: int
