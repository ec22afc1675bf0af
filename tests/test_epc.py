"""EPC identity: GID-96 encoding and fields, our object-class convention; goods and foreign tags."""

from __future__ import annotations

import pytest

from storeflow.epc import (
    GID96_CLASS_BITS,
    GID96_MANAGER_BITS,
    GID96_SERIAL_BITS,
    OBJECT_CLASS_BASKET,
    OBJECT_CLASS_CART,
    OBJECT_CLASS_MEMBER_CARD,
    OBJECT_CLASS_STAFF,
    Gid96,
    classify_epc,
    decode_gid96,
    encode_gid96,
)
from storeflow.wire import SHOPPER_TAG_KINDS, TagKind

MAX_MANAGER = (1 << GID96_MANAGER_BITS) - 1
MAX_CLASS = (1 << GID96_CLASS_BITS) - 1
MAX_SERIAL = (1 << GID96_SERIAL_BITS) - 1


def test_gid96_is_the_protocols_md_example_and_checks_ranges() -> None:
    assert encode_gid96(31231, 11, 12) == "3500079FF00000B00000000C"
    with pytest.raises(ValueError):
        encode_gid96(MAX_MANAGER + 1, 1, 1)
    with pytest.raises(ValueError):
        encode_gid96(1, MAX_CLASS + 1, 1)
    with pytest.raises(ValueError):
        encode_gid96(1, 1, -1)


@pytest.mark.parametrize(
    "fields", [(31231, 1, 7), (0, 0, 0), (MAX_MANAGER, MAX_CLASS, MAX_SERIAL), (1, 9, 1 << 35)]
)
def test_decode_undoes_encode(fields: tuple[int, int, int]) -> None:
    assert decode_gid96(encode_gid96(*fields)) == Gid96(*fields)


@pytest.mark.parametrize(
    ("object_class", "kind"),
    [
        (OBJECT_CLASS_MEMBER_CARD, TagKind.MEMBER_CARD),
        (OBJECT_CLASS_CART, TagKind.CART),
        (OBJECT_CLASS_BASKET, TagKind.BASKET),
        (OBJECT_CLASS_STAFF, TagKind.STAFF),
        (0, TagKind.UNKNOWN),
        (4, TagKind.UNKNOWN),
        (MAX_CLASS, TagKind.UNKNOWN),
    ],
)
def test_gid96_object_class_convention(object_class: int, kind: TagKind) -> None:
    ident = classify_epc(encode_gid96(MAX_MANAGER, object_class, MAX_SERIAL))
    assert ident.scheme == "gid-96"
    assert ident.uri == f"urn:epc:id:gid:{MAX_MANAGER}.{object_class}.{MAX_SERIAL}"
    assert ident.kind_hint == kind


@pytest.mark.parametrize(
    ("epc", "scheme", "uri", "kind"),
    [
        ("3500079FF00000B00000000C", "gid-96", "urn:epc:id:gid:31231.11.12", TagKind.UNKNOWN),
        (encode_gid96(31231, 1, 7), "gid-96", "urn:epc:id:gid:31231.1.7", TagKind.MEMBER_CARD),
        (encode_gid96(31231, 2, 7), "gid-96", "urn:epc:id:gid:31231.2.7", TagKind.CART),
        (encode_gid96(31231, 9, 1), "gid-96", "urn:epc:id:gid:31231.9.1", TagKind.STAFF),
        ("3074257BF7194E4000001A85", "sgtin-96", None, TagKind.GOODS),
        ("E200301666130121155074EF", "unknown", None, TagKind.UNKNOWN),
        ("zz", "unknown", None, TagKind.UNKNOWN),
    ],
)
def test_classify_epc(epc: str, scheme: str, uri: str | None, kind: TagKind) -> None:
    ident = classify_epc(epc)
    assert (ident.scheme, ident.uri, ident.kind_hint) == (scheme, uri, kind)


def test_lower_case_hex_is_the_same_tag() -> None:
    assert classify_epc("3500079ff00000b00000000c") == classify_epc("3500079FF00000B00000000C")


@pytest.mark.parametrize(
    "epc",
    [
        "3500079FF00000B00000000C00",  # GID header but not 96 bits
        "3500079FF00000B0000000",
        "3074257BF7194E4000001A85",  # SGTIN-96: goods
        "E280689400005012345678AB",  # a factory EPC
        "",
        "35 00",
    ],
)
def test_nothing_but_our_gid96_classes_is_a_shopper(epc: str) -> None:
    assert classify_epc(epc).kind_hint not in SHOPPER_TAG_KINDS
    assert decode_gid96(epc) is None
