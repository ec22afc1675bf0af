"""Shared pytest configuration. Fixture plugins (tests/fix_*.py) are loaded from pyproject."""
