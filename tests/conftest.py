"""Shared pytest configuration. Fixture plugins (tests/fix_*.py) are loaded from pyproject."""

import os

# Tests read what they just wrote: dashboard facts are re-computed on every read of a dirty day.
os.environ.setdefault("STOREFLOW_ROLLUP_STALENESS_S", "0")
