"""Scenario files: the demo loads, mistakes are named by file:line:key, planted effects apply."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from firmware_sim.cli import DEFAULT_SCENARIO
from firmware_sim.scenario import (
    RF_PRESETS,
    LayoutChange,
    Promotion,
    Scenario,
    check_against_layout,
    load_scenario,
)
from storeflow.layout import load_layout
from storeflow.yamlconf import ConfigError

STORE = (Path(DEFAULT_SCENARIO).parent.parent / "stores" / "demo.yaml").resolve()

BASE = f"""layout: {STORE}
seed: 7
counters:
  C01: {{attraction: 0.5, conversion: 0.2}}
  C02: {{attraction: 0.2, conversion: 0.4}}
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "scenario.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_the_demo_scenario_loads_and_fits_its_layout() -> None:
    sc = load_scenario(DEFAULT_SCENARIO)
    assert sc.layout.is_absolute() and sc.layout.exists()
    layout = load_layout(sc.layout)
    check_against_layout(sc, layout)
    assert set(sc.counters) == {c.code for c in layout.counters}
    assert sc.traffic.trips_per_day == 800
    assert len(sc.traffic.hourly_weights) == sc.traffic.close_hour - sc.traffic.open_hour


def test_presets_are_what_the_docs_promise() -> None:
    realistic = RF_PRESETS["realistic"]
    assert (realistic.miss_rate, realistic.cross_read_rate, realistic.clock_offset_s) == (
        0.10,
        0.05,
        3.0,
    )
    assert RF_PRESETS["clean"].miss_rate == 0 and RF_PRESETS["clean"].cross_read_rate == 0
    harsh = RF_PRESETS["harsh"]
    assert harsh.miss_rate > realistic.miss_rate
    assert harsh.cross_read_rate > realistic.cross_read_rate
    assert all(p.read_rate_hz == 2.0 for p in RF_PRESETS.values())


def test_noise_override_and_layout_relative_to_the_file(tmp_path: Path) -> None:
    text = BASE.replace(str(STORE), "store.yaml") + "noise: clean\n"
    (tmp_path / "store.yaml").write_text(STORE.read_text(encoding="utf-8"), encoding="utf-8")
    sc = load_scenario(write(tmp_path, text), noise="harsh", seed=99)
    assert sc.layout == (tmp_path / "store.yaml").resolve()
    assert sc.noise == "harsh" and sc.seed == 99 and sc.rf == RF_PRESETS["harsh"]


def test_rf_overrides_change_only_the_fields_given(tmp_path: Path) -> None:
    text = BASE + "rf_overrides:\n  realistic: {miss_rate: 0.2}\n"
    sc = load_scenario(write(tmp_path, text))
    rf = sc.rf_profile("realistic")
    assert rf.miss_rate == 0.2
    assert rf.cross_read_rate == RF_PRESETS["realistic"].cross_read_rate
    assert sc.rf_profile("harsh") == RF_PRESETS["harsh"]


@pytest.mark.parametrize(
    ("extra", "where", "message"),
    [
        ("traffic:\n  trip_per_day: 5\n", ":7: traffic.trip_per_day", "Extra inputs"),
        ("traffic:\n  hourly_weights: [1, 2]\n", ":7: traffic", "one weight per opening hour"),
        ("traffic:\n  member_share: 0.8\n  cart_share: 0.5\n", ":7: traffic", "must be <= 1"),
        ("traffic:\n  open_hour: 20\n  close_hour: 9\n", ":7: traffic", "after open_hour"),
        ("staff: -1\n", ":6: staff", "greater than or equal"),
        ("noise: noisy\n", ":6: noise", "'clean', 'realistic' or 'harsh'"),
        (
            "promotion: {counter: C09, start: 2026-11-01, end: 2026-11-07}\n",
            ":1: (top level)",
            "promotion counter 'C09'",
        ),
        (
            "promotion: {counter: C01, start: 2026-11-08, end: 2026-11-07}\n",
            ":6: promotion",
            "end is before its start",
        ),
        (
            "layout_change: {counter: C01, date: 2026-11-01, swap_with: C07}\n",
            ":1: (top level)",
            "layout_change counter 'C07'",
        ),
    ],
)
def test_mistakes_name_file_line_and_key(
    tmp_path: Path, extra: str, where: str, message: str
) -> None:
    path = write(tmp_path, BASE + extra)
    with pytest.raises(ConfigError) as err:
        load_scenario(path)
    text = str(err.value)
    assert f"{path}{where}" in text and message in text


def test_unknown_noise_level_on_the_command_line(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="unknown noise level"):
        load_scenario(write(tmp_path, BASE), noise="stormy")


def test_counters_must_exist_in_the_layout(tmp_path: Path) -> None:
    sc = load_scenario(write(tmp_path, BASE + "  C42: {attraction: 0.1, conversion: 0.1}\n"))
    with pytest.raises(ConfigError, match=r"counters not in the layout: \['C42'\]"):
        check_against_layout(sc, load_layout(STORE))


def _scenario(**update: object) -> Scenario:
    sc = Scenario.model_validate(
        {
            "layout": STORE,
            "counters": {
                "C01": {"attraction": 0.4, "conversion": 0.2},
                "C07": {"attraction": 0.1, "conversion": 0.5},
            },
        }
    )
    return sc.model_copy(update=update)


PROMO = Promotion(
    counter="C07",
    start=date(2026, 11, 9),
    end=date(2026, 11, 15),
    attraction_uplift=1.0,
    conversion_uplift=0.2,
)
SWAP = LayoutChange(counter="C01", date=date(2026, 11, 9), swap_with="C07")
BOOST = LayoutChange(counter="C07", date=date(2026, 11, 9), attraction_factor=3.0)


@pytest.mark.parametrize(
    ("update", "counter", "day", "expected"),
    [
        ({}, "C01", date(2026, 11, 9), (0.4, 0.2)),
        ({}, "C99", date(2026, 11, 9), (0.0, 0.0)),
        ({"promotion": PROMO}, "C07", date(2026, 11, 8), (0.1, 0.5)),
        ({"promotion": PROMO}, "C07", date(2026, 11, 9), (0.2, 0.6)),
        ({"promotion": PROMO}, "C07", date(2026, 11, 15), (0.2, 0.6)),
        ({"promotion": PROMO}, "C07", date(2026, 11, 16), (0.1, 0.5)),
        ({"promotion": PROMO}, "C01", date(2026, 11, 10), (0.4, 0.2)),
        ({"layout_change": SWAP}, "C01", date(2026, 11, 8), (0.4, 0.2)),
        ({"layout_change": SWAP}, "C01", date(2026, 11, 9), (0.1, 0.2)),
        ({"layout_change": SWAP}, "C07", date(2026, 11, 9), (0.4, 0.5)),
        ({"layout_change": BOOST}, "C07", date(2026, 11, 20), (0.3, 0.5)),
        ({"layout_change": BOOST, "promotion": PROMO}, "C07", date(2026, 11, 10), (0.6, 0.6)),
    ],
)
def test_planted_effects(
    update: dict[str, object], counter: str, day: date, expected: tuple[float, float]
) -> None:
    attraction, conversion = _scenario(**update).behaviour(counter, day)
    assert (attraction, conversion) == pytest.approx(expected)


def test_behaviour_is_capped_at_certainty() -> None:
    promo = PROMO.model_copy(update={"attraction_uplift": 20.0, "conversion_uplift": 5.0})
    assert _scenario(promotion=promo).behaviour("C07", date(2026, 11, 10)) == (1.0, 1.0)
