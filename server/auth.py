"""Credentials: random bearer tokens, stored only as SHA-256 hashes, each with one role."""

from __future__ import annotations

import hashlib
import secrets

from storeflow.api.credentials import Role

__all__ = ["Role", "new_token", "token_hash"]


def new_token() -> str:
    return secrets.token_urlsafe(32)


def token_hash(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()
