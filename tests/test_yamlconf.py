"""Config files: errors name the file, the line and the key."""

from __future__ import annotations

from pathlib import Path

import pytest

from edge.config import load_edge_config
from storeflow.layout import load_layout
from storeflow.yamlconf import ConfigError


def test_example_edge_config_is_valid() -> None:
    cfg, layout = load_edge_config("edge/examples/store.yaml")
    assert [r.id for r in cfg.readers] == ["R1", "R2", "R3", "R4"]
    assert layout.store.id == cfg.store_id


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "device_id: x\nstore_id: demo\nlayout: {layout}\nreaders:\n  - id: R1\n"
            "    protocol: r2000\n    serail: {{url: x}}\n",
            "cfg.yaml:7: readers[0].serail",
        ),
        (
            "device_id: x\nstore_id: demo\nlayout: {layout}\nreaders:\n  - id: R1\n"
            "    protocol: r2001\n",
            "cfg.yaml:6: readers[0].protocol",
        ),
        ("device_id: x\nstore_id: demo\nlayout: {layout}\nreaders: []\n", "cfg.yaml:4: readers"),
        ("device_id: [\n", "cfg.yaml:2: not valid YAML"),
        (
            "device_id: x\nstore_id: other\nlayout: {layout}\nreaders:\n  - id: R1\n"
            "    protocol: r2000\n    serial: {{url: x}}\n",
            "store_id",
        ),
    ],
)
def test_edge_config_errors(tmp_path: Path, text: str, message: str) -> None:
    layout = Path("firmware_sim/stores/demo.yaml").resolve()
    path = tmp_path / "cfg.yaml"
    path.write_text(text.format(layout=layout))
    with pytest.raises(ConfigError, match=message.replace("[", r"\[").replace("]", r"\]")):
        load_edge_config(path)


def test_layout_reference_errors(tmp_path: Path) -> None:
    text = (
        Path("firmware_sim/stores/demo.yaml")
        .read_text()
        .replace("zone: C08, area", "zone: C99, area")
    )
    path = tmp_path / "store.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError, match="counter 'C08' is in unknown zone 'C99'"):
        load_layout(path)
    with pytest.raises(ConfigError, match="cannot read"):
        load_layout(tmp_path / "missing.yaml")


def test_the_demo_layout_gives_counter_terms_and_a_take_target() -> None:
    layout = load_layout("firmware_sim/stores/demo.yaml")
    assert layout.store.take_target_per_m2 == 900
    terms = {c.code: (c.rent_per_m2, c.commission_rate) for c in layout.counters}
    assert terms["C06"] == (None, 0.08) and terms["C08"] == (600, None)


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        (
            "commission_rate: 0.08}",
            "commission_rate: 8}",
            r"store.yaml:\d+: counters\[5\].commission_rate: .*8 is not a share of the sales: "
            "write 25 % as 0.25",
        ),
        ("rent_per_m2: 600}", "rent_per_m2: -5}", r"counters\[7\].rent_per_m2: .*greater than"),
        ("take_target_per_m2: 900", "take_target_per_m2: 0", r"store.yaml:7: store.take_target"),
        ("rent_per_m2: 600}", "rent: 600}", r"counters\[7\].rent: Extra inputs"),
    ],
)
def test_counter_terms_errors_name_the_line_and_key(
    tmp_path: Path, old: str, new: str, message: str
) -> None:
    text = Path("firmware_sim/stores/demo.yaml").read_text()
    assert old in text
    path = tmp_path / "store.yaml"
    path.write_text(text.replace(old, new))
    with pytest.raises(ConfigError, match=message):
        load_layout(path)
