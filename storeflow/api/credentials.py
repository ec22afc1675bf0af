"""``/credentials``: the roles a bearer token can have, and minting one."""

from __future__ import annotations

from enum import StrEnum

from pydantic import Field

from storeflow.api.base import ApiModel


class Role(StrEnum):
    EDGE = "edge"  # an edge device: ingest for its own store only (a store is required)
    CASHIER = "cashier"  # a till: look-up, sale, return, redemption at its own register
    REGISTER = "register"  # a till's card scanner: card scans at its own register only
    PLANNER = "planner"  # aggregates, never names or contacts (a store, or the whole chain)
    CRM = "crm"  # customer care staff: members' personal data, complaints, follow-ups
    ADMIN = "admin"  # everything


class CredentialIn(ApiModel):
    name: str = Field(min_length=1, max_length=200)
    role: Role
    store_id: str | None = Field(default=None, min_length=1, max_length=64)
    register_id: str | None = Field(default=None, min_length=1, max_length=64)
    chain: bool = Field(
        default=False, description="a planner for every store (then no store_id is given)"
    )


class CredentialOut(ApiModel):
    id: int | None = None
    token: str


class CredentialRevoked(ApiModel):
    id: int
    revoked: bool = Field(description="false: it was revoked before")
