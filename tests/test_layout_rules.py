"""Layout rules the linters do not know: shared vocabulary has one home, tests share helpers only
through tests/helpers and the fixture plugins, and tests wait on conditions, not on the clock."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("storeflow", "edge", "server", "dashboard", "firmware_sim", "orchestration")
TESTS = ROOT / "tests"
THIS = Path(__file__).resolve()


def _py(*dirs: str) -> list[Path]:
    return sorted(p for d in dirs for p in (ROOT / d).rglob("*.py") if ".venv" not in p.parts)


def _rel(path: Path) -> str:
    return path.relative_to(ROOT).as_posix()


SOURCES = _py(*PACKAGES)
TEST_MODULES = [p for p in _py("tests") if p.name.startswith("test_")]

# (what, pattern, where it may appear)
ONE_HOME = [
    ("the GID-96 header", r"\b0x35\b", {"storeflow/epc.py"}),
    ("GID-96 bit shifts", r"(<<|>>)\s*(36|60|88)\b", {"storeflow/epc.py"}),
    ("GID-96 field widths", r"1\s*<<\s*(24|28|36)\b", {"storeflow/epc.py"}),
    ("the GID-96 layout in SQL", r"to_hex\(31231\)", set()),
    ("object classes", r"\bCLASS_(MEMBER|CART|BASKET|STAFF)\s*=", {"storeflow/epc.py"}),
    ("the shopper tag kinds", r"""["']member_card["'],\s*["']cart["']""", set()),
    ("free_port", r"def free_port\b", {"storeflow/net.py"}),
    ("the reconnect back-off", r"def next_backoff\b|BACKOFF_MAX_S\s*=", {"storeflow/backoff.py"}),
    (
        "zone_visit columns",
        r"enter_at, exit_at, reads, mean_rssi_dbm, ",
        {"server/queries/ingest.py"},
    ),
    (
        "the visitor threshold",
        r"MIN_DWELL_S\s*=\s*30|\b30 s\)|least 30 s",
        {"storeflow/api/analytics.py"},
    ),
    ("VISIT_COLUMNS", r"(?<![A-Z_])VISIT_COLUMNS\s*=", {"server/queries/ingest.py"}),
]


@pytest.mark.parametrize(("what", "pattern", "home"), ONE_HOME, ids=[w for w, _, _ in ONE_HOME])
def test_shared_vocabulary_has_one_home(what: str, pattern: str, home: set[str]) -> None:
    rx = re.compile(pattern)
    found = {_rel(p) for p in SOURCES + _py("tests") if p != THIS and rx.search(p.read_text())}
    assert found <= home, f"{what} outside its home {sorted(home)}: {sorted(found - home)}"


def _frozen_forbid_configs(path: Path) -> list[int]:
    """Lines of ``ConfigDict(frozen=True, extra="forbid")`` calls, whatever the keyword order."""
    lines = []
    for node in ast.walk(ast.parse(path.read_text())):
        if not isinstance(node, ast.Call):
            continue
        name = node.func.id if isinstance(node.func, ast.Name) else getattr(node.func, "attr", "")
        kwargs = {k.arg: k.value.value for k in node.keywords if isinstance(k.value, ast.Constant)}
        if (
            name == "ConfigDict"
            and kwargs.get("frozen") is True
            and kwargs.get("extra") == "forbid"
        ):
            lines.append(node.lineno)
    return lines


def test_frozen_strict_models_derive_from_the_one_base() -> None:
    found = {_rel(p): lines for p in SOURCES if (lines := _frozen_forbid_configs(p))}
    assert set(found) == {"storeflow/models.py"}, (
        f"use storeflow.models.Frozen instead of a ConfigDict of your own: {found}"
    )


def _imported_modules(path: Path) -> list[str]:
    out = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module:
            out.append(node.module)
        elif isinstance(node, ast.Import):
            out.extend(a.name for a in node.names)
    return out


@pytest.mark.parametrize("path", TEST_MODULES, ids=[_rel(p) for p in TEST_MODULES])
def test_test_modules_do_not_import_each_other(path: Path) -> None:
    """Shared helpers live in tests/helpers/ or a fixture plugin (tests/fix_*.py), never in a test
    module or a conftest (importing one runs its tests' module code twice and couples them)."""
    bad = [
        m
        for m in _imported_modules(path)
        if m.startswith("tests.") and m.rsplit(".", 1)[-1].startswith(("test_", "conftest"))
    ]
    assert not bad, f"{_rel(path)} imports {bad}"


# Timing figures belong in benchmarks (storeflow bench ...); a fixed pause is not a wait.
NO_CLOCK_IN_TESTS = [
    ("a timing figure", r"perf_counter\("),
    ("a fixed pause", r"\btime\.sleep\("),
    ("a fixed pause in the browser", r"wait_for_timeout\("),
]


@pytest.mark.parametrize(
    ("what", "pattern"), NO_CLOCK_IN_TESTS, ids=[w for w, _ in NO_CLOCK_IN_TESTS]
)
def test_test_modules_wait_on_conditions(what: str, pattern: str) -> None:
    """Polling with a deadline lives in tests/helpers/waiting.py (``wait_until``)."""
    rx = re.compile(pattern)
    found = [_rel(p) for p in TEST_MODULES if rx.search(p.read_text())]
    assert not found, f"{what} in {found}"


def test_the_rules_see_the_tree() -> None:
    assert len(SOURCES) > 50 and len(TEST_MODULES) > 30
    assert (TESTS / "helpers" / "waiting.py").is_file()
