"""The tag registry: register carts, baskets, staff badges and member cards; unknown tags seen."""

from __future__ import annotations

from datetime import datetime

from pydantic import AwareDatetime, Field, field_validator

from storeflow.api.base import ApiModel
from storeflow.wire import TagKind

REGISTRABLE_KINDS = frozenset({TagKind.MEMBER_CARD, TagKind.CART, TagKind.BASKET, TagKind.STAFF})


class TagIn(ApiModel):
    """One tag to register: its EPC (hex, any case) and what it is."""

    epc: str = Field(pattern=r"^[0-9A-Fa-f]{8,64}$")
    kind: TagKind
    label: str | None = Field(default=None, max_length=200)

    @field_validator("epc")
    @classmethod
    def _upper(cls, v: str) -> str:
        return v.upper()

    @field_validator("kind")
    @classmethod
    def _registrable(cls, v: TagKind) -> TagKind:
        if v not in REGISTRABLE_KINDS:
            names = ", ".join(sorted(k.value for k in REGISTRABLE_KINDS))
            raise ValueError(f"a registered tag is one of: {names}")
        return v


class RegisteredTag(ApiModel):
    epc: str
    kind: TagKind
    label: str | None
    created_at: datetime
    updated_at: datetime


class Reclassified(ApiModel):
    """What a registration changed: stored visits given the new kind, trips rebuilt."""

    registered: int = 0
    visits: int = 0
    trips: int = 0


class UnknownPlace(ApiModel):
    reader_id: str
    zone: str
    visits: int
    tags: int


class UnknownPattern(ApiModel):
    """Unknown tags sharing a pattern: scheme, length, company (GID-96 manager number or SGTIN
    company prefix), GID-96 object class, and the first hex digits of other EPCs."""

    scheme: str
    bits: int
    company: str | None
    object_class: int | None
    hex_prefix: str | None
    tags: int
    visits: int
    first_seen: AwareDatetime
    last_seen: AwareDatetime


class GoodsReads(ApiModel):
    """Goods (SGTIN-96) reads an edge reader dropped, as of its last heartbeat."""

    device_id: str
    reader_id: str
    reads: int
    as_of: AwareDatetime


class UnknownTags(ApiModel):
    store_id: str
    visits: int
    tags: int
    places: list[UnknownPlace]
    patterns: list[UnknownPattern]
    goods: list[GoodsReads]
