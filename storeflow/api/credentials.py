"""``/credentials``: the roles a bearer token can have, and minting one."""

from __future__ import annotations

from enum import StrEnum

from storeflow.api.base import ApiModel


class Role(StrEnum):
    EDGE = "edge"  # an edge device: ingest for its own store only
    CASHIER = "cashier"  # a till: look-up, sale, redemption at its own register
    PLANNER = "planner"  # aggregates, never names or contacts
    CRM = "crm"  # customer care staff: members' personal data, complaints, follow-ups
    ADMIN = "admin"  # everything


class CredentialIn(ApiModel):
    name: str
    role: Role
    store_id: str | None = None
    register_id: str | None = None


class CredentialOut(ApiModel):
    token: str
