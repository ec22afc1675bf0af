"""EPC identity: GID-96 fields and our object-class convention; goods and foreign tags."""

from __future__ import annotations

import pytest

from edge.tags import (
    OBJECT_CLASS_BASKET,
    OBJECT_CLASS_CART,
    OBJECT_CLASS_MEMBER_CARD,
    OBJECT_CLASS_STAFF,
    classify_epc,
)
from firmware_sim.encoders import gid96_epc
from storeflow.wire import SHOPPER_TAG_KINDS, TagKind


@pytest.mark.parametrize(
    ("object_class", "kind"),
    [
        (OBJECT_CLASS_MEMBER_CARD, TagKind.MEMBER_CARD),
        (OBJECT_CLASS_CART, TagKind.CART),
        (OBJECT_CLASS_BASKET, TagKind.BASKET),
        (OBJECT_CLASS_STAFF, TagKind.STAFF),
        (0, TagKind.UNKNOWN),
        (4, TagKind.UNKNOWN),
        ((1 << 24) - 1, TagKind.UNKNOWN),
    ],
)
def test_gid96_object_class_convention(object_class: int, kind: TagKind) -> None:
    ident = classify_epc(gid96_epc((1 << 28) - 1, object_class, (1 << 36) - 1))
    assert ident.scheme == "gid-96"
    assert ident.uri == f"urn:epc:id:gid:{(1 << 28) - 1}.{object_class}.{(1 << 36) - 1}"
    assert ident.kind_hint == kind


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
