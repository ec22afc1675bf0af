"""Pseudonymous EPCs on the edge: a keyed hash replaces every EPC before a visit is queued."""

from __future__ import annotations

import pytest

from edge.config import PrivacyConfig
from edge.pipeline import visit_to_event
from edge.tracker import Visit
from storeflow.pseudonym import edge_epc, keyed_hash
from storeflow.wire import TagKind
from storeflow.yamlconf import ConfigError

RAW = "3500079FF000000400000001"


def visit() -> Visit:
    return Visit(RAW, TagKind.MEMBER_CARD, "C03", "R1", 1_800_000_000.0, 1_800_000_060.0, 9, -55.0)


def test_keyed_hash_is_stable_per_key_and_separated_per_use() -> None:
    assert edge_epc(b"k1", RAW) == edge_epc(b"k1", RAW.lower())
    assert edge_epc(b"k1", RAW) != edge_epc(b"k2", RAW)
    assert keyed_hash(b"k1", RAW, domain="a") != keyed_hash(b"k1", RAW, domain="b")
    with pytest.raises(ValueError, match="non-empty key"):
        keyed_hash(b"", RAW, domain="a")


def test_with_a_key_the_raw_epc_never_reaches_the_wire() -> None:
    plain = visit_to_event(visit(), store_id="demo")
    hidden = visit_to_event(visit(), store_id="demo", epc_key=b"store-secret")
    assert plain.epc == RAW
    assert hidden.epc == edge_epc(b"store-secret", RAW)
    assert RAW not in hidden.model_dump_json()
    assert hidden.event_id != plain.event_id  # ids are made from what is sent


def test_the_key_comes_from_the_config_or_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    assert PrivacyConfig().resolve_key() is None
    monkeypatch.delenv("STOREFLOW_EDGE_EPC_KEY", raising=False)
    with pytest.raises(ConfigError, match="STOREFLOW_EDGE_EPC_KEY"):
        PrivacyConfig(pseudonymise_epcs=True).resolve_key()
    monkeypatch.setenv("STOREFLOW_EDGE_EPC_KEY", "from-env")
    assert PrivacyConfig(pseudonymise_epcs=True).resolve_key() == b"from-env"
    cfg = PrivacyConfig.model_validate({"pseudonymise_epcs": True, "key": "inline"})
    assert cfg.resolve_key() == b"inline"
    assert "inline" not in repr(cfg)
