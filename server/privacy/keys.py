"""The keys of the keyed hashes: the server secret and the edges' EPC pseudonym key.

The server secret comes from ``STOREFLOW_PRIVACY_SECRET``; without it a random key is made once
and kept in the database (``privacy_key``), which protects less (a warning says so). Keys are
never logged. What each hash is for:

* :func:`untracked_epc` -- the pseudonym a member card's tag is stored under when the member has
  not consented to in-store tracking (or was erased): its visits still count, as nobody's.
* :func:`erased_card_number`, :func:`erased_epc` -- what replaces an erased member's card number
  and tag, so a later scan of the old card is an unknown card.
"""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass
from typing import Any

from psycopg import AsyncConnection
from pydantic import SecretStr

from server.settings import Settings
from storeflow.pseudonym import keyed_hash

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class PrivacyKeys:
    """The configured keys (None: not configured)."""

    secret: bytes | None = None
    edge_epc_key: bytes | None = None


@dataclass(frozen=True, slots=True)
class Hasher:
    """Keyed hashes under the server secret in force."""

    secret: bytes

    def untracked_epc(self, epc: str) -> str:
        return keyed_hash(self.secret, epc, domain="untracked-epc")

    def erased_card_number(self, number: str) -> str:
        return "X" + keyed_hash(self.secret, number, domain="erased-card")

    def erased_epc(self, epc: str) -> str:
        return keyed_hash(self.secret, epc, domain="erased-epc")

    def erased_member_no(self, member_no: str) -> str:
        return "X" + keyed_hash(self.secret, member_no, domain="erased-member")[:16]


_warned = False


async def hasher(conn: AsyncConnection[Any], keys: PrivacyKeys) -> Hasher:
    """The configured secret, else the one kept in the database (made on first use)."""
    global _warned
    if keys.secret:
        return Hasher(keys.secret)
    if not _warned:
        logger.warning(
            "STOREFLOW_PRIVACY_SECRET is not set: keyed hashes use a key kept in the database"
        )
        _warned = True
    cur = await conn.execute("SELECT secret FROM privacy_key")
    row = await cur.fetchone()
    if row is None:
        await conn.execute(
            "INSERT INTO privacy_key (secret) VALUES (%s) ON CONFLICT DO NOTHING",
            (secrets.token_bytes(32),),
        )
        cur = await conn.execute("SELECT secret FROM privacy_key")
        row = await cur.fetchone()
        assert row is not None
    return Hasher(bytes(row[0]))


def keys_from(settings: Settings) -> PrivacyKeys:
    """The keys named by the settings."""

    def raw(value: SecretStr | None) -> bytes | None:
        return value.get_secret_value().encode() if value is not None else None

    return PrivacyKeys(secret=raw(settings.privacy_secret), edge_epc_key=raw(settings.edge_epc_key))
