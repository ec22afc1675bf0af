"""What the server's rules refuse, as plain exceptions; the API layer maps them to HTTP statuses
once (``server.api.errors``). The message is what the caller is told."""

from __future__ import annotations


class DomainError(Exception):
    """A request the rules refuse; ``str(error)`` says why, in the caller's terms."""


class NotFound(DomainError):
    """The member, card, purchase or store named does not exist."""


class Conflict(DomainError):
    """The request clashes with what is stored (a duplicate, a card already lost or replaced)."""


class InsufficientPoints(Conflict):
    """A redemption the member's spendable points do not cover."""

    def __init__(self, available: int, requested: int) -> None:
        super().__init__(f"insufficient points: {available} available, {requested} requested")
        self.available = available
        self.requested = requested


class InvalidRequest(DomainError, ValueError):
    """The request cannot be answered as asked (a missing field, a line that does not exist, a
    period that ends before it starts). A ``ValueError``, so pure code may catch it as one."""


class Forbidden(DomainError):
    """The caller's credential may not act on this (another store's purchase)."""
