"""Member cards: issue, report lost, replace."""

from __future__ import annotations

from typing import Literal

from storeflow.api.base import ApiModel


class CardIn(ApiModel):
    card_number: str
    epc: str | None = None


class ReplaceIn(ApiModel):
    new_card_number: str
    new_epc: str | None = None


class CardLost(ApiModel):
    card_number: str
    member_id: int
    status: Literal["lost"] = "lost"


class CardReplaced(ApiModel):
    member_id: int
    card_number: str
    replaces: str
