"""Credentials: random bearer tokens, stored only as SHA-256 hashes, each with one role and the
scope the role needs (a store, a register, or the whole chain for a planner who says so)."""

from __future__ import annotations

import hashlib
import secrets

from storeflow.api.credentials import Role

__all__ = ["Role", "check_scope", "new_token", "token_hash"]

# the roles that act at one register of one store
REGISTER_SCOPED = frozenset({Role.CASHIER, Role.REGISTER})


def new_token() -> str:
    """A random bearer token that never starts with "-": pasted after ``--token`` on a command
    line, such a token would be read as an option."""
    while True:
        token = secrets.token_urlsafe(32)
        if not token.startswith("-"):
            return token


def token_hash(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


def check_scope(
    role: Role, *, store_id: str | None, register_id: str | None, chain: bool = False
) -> None:
    """Raise ``ValueError`` unless the scope fits the role (the database checks the same):
    edge devices need a store; tills and card scanners a store and a register; planners a store
    or ``chain``; only admins need neither."""
    if chain and role is not Role.PLANNER:
        raise ValueError("only a planner credential can be for the whole chain")
    if role is Role.PLANNER and (store_id is None) != chain:
        raise ValueError("a planner credential needs a store, or chain for every store")
    if role is Role.EDGE and store_id is None:
        raise ValueError("an edge credential needs a store")
    if role in REGISTER_SCOPED and (store_id is None or register_id is None):
        raise ValueError(f"a {role.value} credential needs a store and a register")
