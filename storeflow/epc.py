"""EPC schemes: what a tag's EPC says, and the one place that knows the GID-96 bit layout.

Member cards, carts, baskets and staff badges carry GS1 GID-96 EPCs (header 0x35, then the general
manager number in 28 bits, the object class in 24 and the serial number in 36); our object-class
convention says which kind of tag it is. Goods tags are SGTIN-96 (header 0x30) and never people.
The EPC in a member card is a pseudonym: only the server links it to a member.

The edge decodes EPCs with :func:`classify_epc`; the simulator and the demo data encode them with
:func:`encode_gid96`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from types import MappingProxyType
from typing import Literal

from storeflow.wire import TagKind

GID96_HEADER = 0x35
SGTIN96_HEADER = 0x30
EPC96_BYTES = 12

GID96_MANAGER_BITS = 28
GID96_CLASS_BITS = 24
GID96_SERIAL_BITS = 36
_CLASS_SHIFT = GID96_SERIAL_BITS
_MANAGER_SHIFT = GID96_CLASS_BITS + GID96_SERIAL_BITS
_HEADER_SHIFT = GID96_MANAGER_BITS + GID96_CLASS_BITS + GID96_SERIAL_BITS
_MANAGER_MASK = (1 << GID96_MANAGER_BITS) - 1
_CLASS_MASK = (1 << GID96_CLASS_BITS) - 1
_SERIAL_MASK = (1 << GID96_SERIAL_BITS) - 1
_HEADER_BITS = GID96_HEADER << _HEADER_SHIFT

# Our object-class convention: which GID-96 object class is which kind of tag.
OBJECT_CLASS_MEMBER_CARD = 1
OBJECT_CLASS_CART = 2
OBJECT_CLASS_BASKET = 3
OBJECT_CLASS_STAFF = 9

KIND_BY_OBJECT_CLASS: Mapping[int, TagKind] = MappingProxyType(
    {
        OBJECT_CLASS_MEMBER_CARD: TagKind.MEMBER_CARD,
        OBJECT_CLASS_CART: TagKind.CART,
        OBJECT_CLASS_BASKET: TagKind.BASKET,
        OBJECT_CLASS_STAFF: TagKind.STAFF,
    }
)

Scheme = Literal["gid-96", "sgtin-96", "unknown"]


@dataclass(frozen=True, slots=True)
class Gid96:
    """The fields of a GID-96 EPC."""

    manager: int
    object_class: int
    serial: int

    @property
    def uri(self) -> str:
        """The pure-identity URI, ``urn:epc:id:gid:M.C.S``."""
        return f"urn:epc:id:gid:{self.manager}.{self.object_class}.{self.serial}"

    @property
    def kind(self) -> TagKind:
        """What the tag is attached to, by our object-class convention."""
        return KIND_BY_OBJECT_CLASS.get(self.object_class, TagKind.UNKNOWN)


def encode_gid96(manager: int, object_class: int, serial: int) -> str:
    """A GID-96 EPC as 24 upper-case hex digits; a field out of its range is a ValueError."""
    if not (
        0 <= manager <= _MANAGER_MASK
        and 0 <= object_class <= _CLASS_MASK
        and 0 <= serial <= _SERIAL_MASK
    ):
        raise ValueError("GID-96 field out of range")
    value = _HEADER_BITS | (manager << _MANAGER_SHIFT) | (object_class << _CLASS_SHIFT) | serial
    return f"{value:024X}"  # 96 bits


def _epc96(epc_hex: str) -> bytes | None:
    try:
        raw = bytes.fromhex(epc_hex)
    except ValueError:
        return None
    return raw if len(raw) == EPC96_BYTES else None


def decode_gid96(epc_hex: str) -> Gid96 | None:
    """The fields of a GID-96 EPC given in hex; None when the EPC is not a GID-96."""
    raw = _epc96(epc_hex)
    if raw is None or raw[0] != GID96_HEADER:
        return None
    value = int.from_bytes(raw, "big")
    return Gid96(
        manager=(value >> _MANAGER_SHIFT) & _MANAGER_MASK,
        object_class=(value >> _CLASS_SHIFT) & _CLASS_MASK,
        serial=value & _SERIAL_MASK,
    )


@dataclass(frozen=True, slots=True)
class TagIdentity:
    scheme: Scheme
    uri: str | None
    kind_hint: TagKind


@lru_cache(maxsize=65_536)
def classify_epc(epc_hex: str) -> TagIdentity:
    """Decode the EPC header and, for GID-96, its fields and the kind of tag they say."""
    gid = decode_gid96(epc_hex)
    if gid is not None:
        return TagIdentity("gid-96", gid.uri, gid.kind)
    raw = _epc96(epc_hex)
    if raw is not None and raw[0] == SGTIN96_HEADER:
        return TagIdentity("sgtin-96", None, TagKind.GOODS)
    return TagIdentity("unknown", None, TagKind.UNKNOWN)
