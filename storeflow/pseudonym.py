"""Keyed hashes (HMAC-SHA256) that stand in for identifiers: EPCs and card numbers.

Shared by the edge (pseudonymous EPCs before anything leaves the store) and the server (visits
of members without tracking consent, erased cards), so both compute the same value. The output
looks like an EPC (upper-case hex, 128 bits), so it passes the wire schema unchanged. Each use
has its own ``domain``, so the same input never gives the same pseudonym in two roles.
"""

from __future__ import annotations

import hashlib
import hmac

EDGE_EPC = "edge-epc"


def keyed_hash(key: bytes, value: str, *, domain: str) -> str:
    """32 upper-case hex digits: HMAC-SHA256 of ``domain|value`` under ``key``, truncated."""
    if not key:
        raise ValueError("a keyed hash needs a non-empty key")
    digest = hmac.new(key, f"{domain}|{value}".encode(), hashlib.sha256).hexdigest()
    return digest[:32].upper()


def edge_epc(key: bytes, epc: str) -> str:
    """The pseudonym the edge sends instead of ``epc``."""
    return keyed_hash(key, epc.upper(), domain=EDGE_EPC)


def key_id(key: bytes) -> str:
    """A short name for a key (to tell keys apart) that reveals nothing usable about it."""
    return hashlib.sha256(b"storeflow-key-id|" + key).hexdigest()[:12]
