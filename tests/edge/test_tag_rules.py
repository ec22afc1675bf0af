"""Tag rules from the edge config: table-driven matching, validation that names file, line and
key, and the pipeline using them (kinds of visits, goods counted per reader)."""

from __future__ import annotations

from pathlib import Path

import pytest

from edge.config import EdgeConfig, load_edge_config
from edge.outbox import Outbox
from edge.pipeline import EdgePipeline
from edge.reads import TagRead
from edge.tag_rules import TagRulesConfig, kind_by_rules
from edge.zones import AntennaMap
from storeflow.epc import encode_gid96, encode_sgtin96
from storeflow.layout import load_layout
from storeflow.wire import Heartbeat, ReaderHealth, TagKind, ZoneVisit
from storeflow.yamlconf import ConfigError, parse_yaml

EXAMPLE = Path("edge/examples/store.yaml")
OURS = 4_711_000
CARD_11 = encode_gid96(OURS, 11, 5)
CART_23 = encode_gid96(OURS, 23, 6)
OTHER_11 = encode_gid96(OURS + 1, 11, 5)
SGTIN_CARD = encode_sgtin96("0614141", "000011", 5)
SGTIN_GOODS = encode_sgtin96("0614141", "812345", 6789)
LONG = "E2801160600002054C6D1A32AABBCCDD"  # a 128-bit EPC

RULES = TagRulesConfig.model_validate(
    {
        "rules": [
            {"scheme": "gid-96", "company": OURS, "object_class": [11, 12], "kind": "member_card"},
            {"scheme": "gid-96", "company": str(OURS), "object_class": ["20-29"], "kind": "cart"},
            {"scheme": "sgtin-96", "company": "0614141", "object_class": None, "kind": "goods"},
            {"hex_prefix": "e280", "bits": 128, "kind": "staff"},
        ]
    }
)
# the SGTIN card rule must come before the store's goods rule: first match wins
SGTIN_RULES = TagRulesConfig.model_validate(
    {
        "rules": [
            {
                "scheme": "sgtin-96",
                "company": "0614141",
                "hex_prefix": SGTIN_CARD[:14],
                "kind": "member_card",
            },
            *RULES.model_dump()["rules"],
        ],
        "convention": False,
    }
)

CASES = [
    (
        "no rules: convention member card",
        TagRulesConfig(),
        encode_gid96(1, 1, 1),
        TagKind.MEMBER_CARD,
    ),
    ("no rules: class 11 is unknown", TagRulesConfig(), CARD_11, TagKind.UNKNOWN),
    ("no rules: SGTIN-96 is goods", TagRulesConfig(), SGTIN_CARD, TagKind.GOODS),
    ("class value", RULES, CARD_11, TagKind.MEMBER_CARD),
    ("lower-case EPC", RULES, CARD_11.lower(), TagKind.MEMBER_CARD),
    ("class range", RULES, CART_23, TagKind.CART),
    ("class outside the rules: convention", RULES, encode_gid96(OURS, 3, 1), TagKind.BASKET),
    ("class outside the rules and range", RULES, encode_gid96(OURS, 30, 1), TagKind.UNKNOWN),
    ("another company", RULES, OTHER_11, TagKind.UNKNOWN),
    ("hex prefix and 128 bits", RULES, LONG, TagKind.STAFF),
    ("hex prefix, 96 bits: no match", RULES, LONG[:24], TagKind.UNKNOWN),
    ("SGTIN-96 card by item prefix", SGTIN_RULES, SGTIN_CARD, TagKind.MEMBER_CARD),
    ("SGTIN-96 goods of the company", SGTIN_RULES, SGTIN_GOODS, TagKind.GOODS),
    ("convention off: unmatched is unknown", SGTIN_RULES, encode_gid96(1, 1, 1), TagKind.UNKNOWN),
]


@pytest.mark.parametrize(
    ("config", "epc", "kind"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_kind_by_rules(config: TagRulesConfig, epc: str, kind: TagKind) -> None:
    assert kind_by_rules(epc, config) == kind


BAD = [
    ("object_class: [11]", "object_class needs scheme: gid-96"),
    ('scheme: gid-96, object_class: ["30-20"]', "from <= to"),
    ('scheme: gid-96, object_class: ["x"]', "a number or a 'from-to' range"),
    ("scheme: gid-96, company: 47A", "company must be digits"),
    ("company: 4711", "company needs scheme"),
    ("scheme: gid-96, bits: 128", "a gid-96 EPC has 96 bits"),
    ("hex_prefix: XYZ", "hex_prefix"),
    ("bits: 64", "bits"),
    ("scheme: epc-256", "scheme"),
]


@pytest.mark.parametrize(("rule", "message"), BAD)
def test_bad_rules_name_file_line_and_key(tmp_path: Path, rule: str, message: str) -> None:
    text = EXAMPLE.read_text().replace(
        "  rules: []",
        f"  rules:\n    - {{scheme: gid-96, object_class: [11], kind: cart}}\n"
        f"    - {{{rule}, kind: member_card}}",
    )
    path = tmp_path / "store.yaml"
    path.write_text(text)
    (tmp_path / "layout.yaml").write_text(Path("firmware_sim/stores/demo.yaml").read_text())
    line = text.splitlines().index(f"    - {{{rule}, kind: member_card}}") + 1
    with pytest.raises(ConfigError) as err:
        parse_yaml(text, EdgeConfig, source=str(path))
    assert f"{path}:{line}: tags.rules[1]" in str(err.value)
    assert message in str(err.value)


def test_the_example_config_loads_with_the_convention() -> None:
    cfg, _ = load_edge_config(EXAMPLE)
    assert cfg.tags.rules == [] and cfg.tags.convention
    assert cfg.tags.classifier()(CARD_11) is TagKind.UNKNOWN


def _reads(epc: str, reader: str = "R1", antenna: int = 1, n: int = 10) -> list[TagRead]:
    return [TagRead(reader, antenna, epc, -55.0, host_ts=1000.0 + 0.5 * i) for i in range(n)]


def test_pipeline_uses_the_rules_and_counts_goods_per_reader() -> None:
    layout = load_layout(Path("firmware_sim/stores/demo.yaml"))
    outbox = Outbox(":memory:")
    pipe = EdgePipeline(
        store_id="demo",
        antenna_map=AntennaMap.from_layout(layout),
        kind_of=SGTIN_RULES.classifier(),
        outbox=outbox,
    )
    reader = layout.readers[0].id
    pipe.feed(_reads(CARD_11, reader) + _reads(SGTIN_CARD, reader) + _reads(SGTIN_GOODS, reader))
    pipe.flush()
    pipe.heartbeat(device_id="edge-1", now=2000.0, readers={reader: ReaderHealth(connected=True)})
    events = [p.event for p in outbox.peek(100)]
    kinds = {e.epc: e.tag_kind for e in events if isinstance(e, ZoneVisit)}
    assert kinds == {CARD_11: TagKind.MEMBER_CARD, SGTIN_CARD: TagKind.MEMBER_CARD}
    beats = [e for e in events if isinstance(e, Heartbeat)]
    assert beats[0].readers[reader].goods_reads == 10
    outbox.close()


def test_sgtin96_fields_round_trip_through_the_one_bit_layout() -> None:
    from storeflow.epc import decode_sgtin96, epc_pattern

    assert encode_sgtin96("0614141", "812345", 6789, filter=3) == "3074257BF7194E4000001A85"
    got = decode_sgtin96("3074257BF7194E4000001A85")
    assert got is not None and (got.company_prefix, got.item_reference, got.serial) == (
        "0614141",
        "812345",
        6789,
    )
    assert epc_pattern(CARD_11).object_class == 11
    assert decode_sgtin96(CARD_11) is None
