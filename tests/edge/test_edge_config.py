"""``storeflow edge --validate-config``: the token variable and duplicate readers are checked,
and every error names the file, the line and the key; the example stays off the network."""

from __future__ import annotations

import argparse
import re
from pathlib import Path

import pytest
import yaml

from edge.cli import run_edge
from edge.config import load_edge_config
from storeflow.yamlconf import ConfigError

LAYOUT = Path("firmware_sim/stores/demo.yaml").resolve()
HEAD = f"device_id: x\nstore_id: demo\nlayout: {LAYOUT}\n"
R1 = "  - id: R1\n    protocol: r2000\n    serial: {url: 'loop://'}\n"


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "cfg.yaml"
    path.write_text(text)
    return path


def _validate(path: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    rc = run_edge(argparse.Namespace(config=str(path), validate_config=True))
    return rc, capsys.readouterr().out


def test_two_readers_with_one_id_are_refused_at_the_second(tmp_path: Path) -> None:
    path = _write(tmp_path, HEAD + "readers:\n" + R1 + R1)
    with pytest.raises(ConfigError) as err:
        load_edge_config(path)
    assert str(err.value) == f"{path}:8: readers[1].id: reader 'R1' is listed twice"


def test_validate_config_fails_when_the_token_variable_is_unset(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    path = _write(tmp_path, HEAD + "server:\n  token_env: TILL_TEST_EDGE_TOKEN\nreaders:\n" + R1)
    monkeypatch.delenv("TILL_TEST_EDGE_TOKEN", raising=False)
    rc, out = _validate(path, capsys)
    assert rc == 2
    assert f"{path}:5: server.token_env: no edge token" in out
    assert "TILL_TEST_EDGE_TOKEN" in out
    monkeypatch.setenv("TILL_TEST_EDGE_TOKEN", "secret")
    rc, out = _validate(path, capsys)
    assert (rc, out.strip()) == (0, f"{path}: OK (1 readers, store demo)")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            HEAD.replace("store_id: demo", "store_id: north") + "readers:\n" + R1,
            ":2: store_id: 'north' but the layout",
        ),
        (HEAD + "readers:\n" + R1.replace("R1", "R9"), ":5: readers[0].id: reader 'R9' is not in"),
        (
            HEAD.replace(str(LAYOUT), "missing.yaml") + "readers:\n" + R1,
            ":3: layout: the layout does not load",
        ),
    ],
)
def test_cross_check_errors_name_file_line_and_key(
    tmp_path: Path, text: str, expected: str
) -> None:
    path = _write(tmp_path, text)
    with pytest.raises(ConfigError) as err:
        load_edge_config(path)
    assert str(err.value).startswith(f"{path}{expected}")


def test_the_example_points_no_reader_at_a_network_address() -> None:
    cfg = yaml.safe_load(Path("edge/examples/store.yaml").read_text())
    for reader in cfg["readers"]:
        for transport in ("serial", "mqtt", "llrp"):
            if transport not in reader:
                continue
            where = reader[transport].get("url") or reader[transport]["host"]
            assert re.match(
                r"^(loop://|socket://127\.0\.0\.1:|mqtts?://127\.0\.0\.1:|127\.0\.0\.1$)", where
            ), (
                reader["id"],
                where,
            )
