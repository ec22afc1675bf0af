"""Credentials: random bearer tokens, stored only as SHA-256 hashes, each with one role."""

from __future__ import annotations

import hashlib
import secrets
from enum import StrEnum


class Role(StrEnum):
    EDGE = "edge"  # an edge device: ingest for its own store only
    CASHIER = "cashier"  # a till: look-up, sale, redemption at its own register
    PLANNER = "planner"  # aggregates, never names or contacts
    ADMIN = "admin"  # everything


def new_token() -> str:
    return secrets.token_urlsafe(32)


def token_hash(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()
