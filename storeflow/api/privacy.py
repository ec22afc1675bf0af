"""Data-rights answers: the member's copy and a retention purge run."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict

from storeflow.api.base import ApiModel


class MemberCopy(BaseModel):
    """Everything held about a person: the profile, then each table's rows about them under the
    table's name (consents, cards, purchases, visits, trips, points entries ...)."""

    model_config = ConfigDict(frozen=True, extra="allow")

    generated_at: datetime
    member_id: int
    erased_at: datetime | None = None
    note: str | None = None
    profile: dict[str, Any] | None = None


class PurgeReport(ApiModel):
    run_id: int
    cutoffs: dict[str, Any]
    deleted: dict[str, Any]
