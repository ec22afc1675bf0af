"""A member's points ledger replayed, for tests that check lots and balances against it."""

from __future__ import annotations

from server.loyalty import LedgerEntry, Lot, lot_changes


def replay(entries: list[LedgerEntry]) -> list[Lot]:
    """A member's whole ledger replayed: every lot it ever created, as it stands now."""
    changes = lot_changes(entries)
    assert changes.taken == {}, "a whole ledger takes from no lot it did not create"
    return changes.created


def owed(entries: list[LedgerEntry]) -> int:
    """The debt: minus the lot-less entries."""
    return -sum(e.points for e in entries if e.lot_id is None)
