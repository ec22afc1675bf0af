"""Credentials (admin): mint a token for an edge device, a till, a planner or an admin."""

from __future__ import annotations

from fastapi import APIRouter

from server.api.deps import AdminDep, ConnDep
from server.queries.credentials import create_credential
from storeflow.api.credentials import CredentialIn, CredentialOut

router = APIRouter(prefix="/credentials", tags=["credentials"])


@router.post("", status_code=201)
async def create(body: CredentialIn, conn: ConnDep, _: AdminDep) -> CredentialOut:
    """A new credential; the token is shown this once and stored only as a hash."""
    token = await create_credential(
        conn,
        name=body.name,
        role=body.role.value,
        store_id=body.store_id,
        register_id=body.register_id,
    )
    return CredentialOut(token=token)
