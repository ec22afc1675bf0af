"""What a tag is, from its EPC: GS1 GID-96 people/cart tags vs SGTIN-96 goods.

Member cards, carts, baskets and staff badges carry GID-96 EPCs (header 0x35: manager 28 bits,
object class 24, serial 36); the object class says which. Goods tags (SGTIN-96, header 0x30) are
never people. The EPC in a card is a pseudonym: only the server links it to a member.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Literal

from storeflow.wire import TagKind

GID96_HEADER = 0x35
SGTIN96_HEADER = 0x30

OBJECT_CLASS_MEMBER_CARD = 1
OBJECT_CLASS_CART = 2
OBJECT_CLASS_BASKET = 3
OBJECT_CLASS_STAFF = 9

_KIND_BY_CLASS = {
    OBJECT_CLASS_MEMBER_CARD: TagKind.MEMBER_CARD,
    OBJECT_CLASS_CART: TagKind.CART,
    OBJECT_CLASS_BASKET: TagKind.BASKET,
    OBJECT_CLASS_STAFF: TagKind.STAFF,
}


@dataclass(frozen=True, slots=True)
class TagIdentity:
    scheme: Literal["gid-96", "sgtin-96", "unknown"]
    uri: str | None
    kind_hint: TagKind


@lru_cache(maxsize=65_536)
def classify_epc(epc_hex: str) -> TagIdentity:
    """Decode the EPC header and, for GID-96, its fields (``urn:epc:id:gid:M.C.S``)."""
    try:
        raw = bytes.fromhex(epc_hex)
    except ValueError:
        return TagIdentity("unknown", None, TagKind.UNKNOWN)
    if len(raw) == 12 and raw[0] == GID96_HEADER:
        value = int.from_bytes(raw, "big")
        manager = (value >> 60) & ((1 << 28) - 1)
        object_class = (value >> 36) & ((1 << 24) - 1)
        serial = value & ((1 << 36) - 1)
        kind = _KIND_BY_CLASS.get(object_class, TagKind.UNKNOWN)
        return TagIdentity("gid-96", f"urn:epc:id:gid:{manager}.{object_class}.{serial}", kind)
    if len(raw) == 12 and raw[0] == SGTIN96_HEADER:
        return TagIdentity("sgtin-96", None, TagKind.GOODS)
    return TagIdentity("unknown", None, TagKind.UNKNOWN)
