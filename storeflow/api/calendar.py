"""``/stores/{store_id}/calendar``: promotions, layout changes and other events of a store."""

from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import Field, model_validator

from storeflow.api.base import ApiModel

EventKind = Literal["promotion", "layout_change", "other"]


class EventIn(ApiModel):
    kind: EventKind
    title: str = Field(min_length=1, max_length=200)
    first_day: date
    last_day: date | None = Field(default=None, description="default: the first day")
    counters: list[str] = Field(default_factory=list, max_length=100)

    @model_validator(mode="after")
    def _ends_after_it_starts(self) -> EventIn:
        if self.last_day is not None and self.last_day < self.first_day:
            raise ValueError("the event ends before it starts")
        return self


class StoreEvent(ApiModel):
    id: int | None  # None: read from the layout (an antenna mapping that changed)
    kind: EventKind
    title: str
    first_day: date
    last_day: date
    counters: list[str]
    source: Literal["recorded", "layout"]
