"""EPC schemes: what a tag's EPC says, and the one place that knows the GID-96 bit layout.

Member cards, carts, baskets and staff badges carry GS1 GID-96 EPCs (header 0x35, then the general
manager number in 28 bits, the object class in 24 and the serial number in 36); our object-class
convention says which kind of tag it is. Goods tags are SGTIN-96 (header 0x30) and never people.
The EPC in a member card is a pseudonym: only the server links it to a member.

The edge decodes EPCs with :func:`classify_epc` (the default when its config has no tag rules, see
``edge/tag_rules.py``); the server describes tags it does not know with :func:`epc_pattern`; the
simulator and the demo data encode them with :func:`encode_gid96` and :func:`encode_sgtin96`.
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

# SGTIN-96: header 8, filter 3, partition 3, company prefix + item reference 44, serial 38 bits.
# The partition says how the 44 bits split: (company prefix bits, its decimal digits).
SGTIN96_PARTITIONS: tuple[tuple[int, int], ...] = (
    (40, 12),
    (37, 11),
    (34, 10),
    (30, 9),
    (27, 8),
    (24, 7),
    (20, 6),
)
_SGTIN_SERIAL_BITS = 38
_SGTIN_PARTITION_SHIFT = 44 + _SGTIN_SERIAL_BITS
_SGTIN_FILTER_SHIFT = _SGTIN_PARTITION_SHIFT + 3


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


@dataclass(frozen=True, slots=True)
class Sgtin96:
    """The fields of an SGTIN-96 EPC (company prefix and item reference as GS1 digit strings)."""

    filter: int
    company_prefix: str
    item_reference: str
    serial: int


def encode_sgtin96(company_prefix: str, item_reference: str, serial: int, filter: int = 1) -> str:
    """An SGTIN-96 EPC as 24 upper-case hex digits; the prefix's length picks the partition."""
    part = next(
        (i for i, (_, d) in enumerate(SGTIN96_PARTITIONS) if d == len(company_prefix)), None
    )
    if part is None or not (company_prefix + item_reference).isdigit():
        raise ValueError("SGTIN-96 company prefix must have 6 to 12 digits")
    c_bits, c_digits = SGTIN96_PARTITIONS[part]
    i_bits = 44 - c_bits
    if len(item_reference) != 13 - c_digits or not (0 <= serial < 1 << _SGTIN_SERIAL_BITS):
        raise ValueError("SGTIN-96 field out of range")
    value = (
        (SGTIN96_HEADER << 88)
        | ((filter & 7) << _SGTIN_FILTER_SHIFT)
        | (part << _SGTIN_PARTITION_SHIFT)
        | (int(company_prefix) << (i_bits + _SGTIN_SERIAL_BITS))
        | (int(item_reference) << _SGTIN_SERIAL_BITS)
        | serial
    )
    return f"{value:024X}"


def decode_sgtin96(epc_hex: str) -> Sgtin96 | None:
    """The fields of an SGTIN-96 EPC given in hex; None when it is not a valid SGTIN-96."""
    raw = _epc96(epc_hex)
    if raw is None or raw[0] != SGTIN96_HEADER:
        return None
    value = int.from_bytes(raw, "big")
    part = (value >> _SGTIN_PARTITION_SHIFT) & 7
    if part >= len(SGTIN96_PARTITIONS):
        return None
    c_bits, c_digits = SGTIN96_PARTITIONS[part]
    i_bits = 44 - c_bits
    company = (value >> (i_bits + _SGTIN_SERIAL_BITS)) & ((1 << c_bits) - 1)
    item = (value >> _SGTIN_SERIAL_BITS) & ((1 << i_bits) - 1)
    if company >= 10**c_digits or item >= 10 ** (13 - c_digits):
        return None
    return Sgtin96(
        filter=(value >> _SGTIN_FILTER_SHIFT) & 7,
        company_prefix=f"{company:0{c_digits}d}",
        item_reference=f"{item:0{13 - c_digits}d}",
        serial=value & ((1 << _SGTIN_SERIAL_BITS) - 1),
    )


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


@dataclass(frozen=True, slots=True)
class EpcPattern:
    """What an EPC says about the kind of tag, without its serial: the key that tag rules (edge)
    and the unknown-tag report (server) use.

    ``company`` is the GID-96 general manager number or the SGTIN-96 company prefix;
    ``object_class`` the GID-96 object class (the SGTIN-96 item reference is not kept: it names a
    product, and goods are only counted); ``hex_prefix`` the first four hex digits."""

    scheme: Scheme
    bits: int
    company: str | None
    object_class: int | None
    hex_prefix: str


def epc_pattern(epc_hex: str) -> EpcPattern:
    """The pattern of an EPC in hex (any length; ``bits`` is 4 per hex digit)."""
    epc = epc_hex.upper()
    bits = 4 * len(epc)
    gid = decode_gid96(epc)
    if gid is not None:
        return EpcPattern("gid-96", bits, str(gid.manager), gid.object_class, epc[:4])
    sgtin = decode_sgtin96(epc)
    if sgtin is not None:
        return EpcPattern("sgtin-96", bits, sgtin.company_prefix, None, epc[:4])
    return EpcPattern("unknown", bits, None, None, epc[:4])
