"""Credentials (admin): mint a token for an edge device, a till, a card scanner, a planner or an
admin; revoke one."""

from __future__ import annotations

from fastapi import APIRouter

from server.api.deps import AdminDep, ConnDep
from server.errors import InvalidRequest, NotFound
from server.queries.credentials import create_credential_with_id, revoke_credential
from storeflow.api.credentials import CredentialIn, CredentialOut, CredentialRevoked

router = APIRouter(prefix="/credentials", tags=["credentials"])


@router.post("", status_code=201)
async def create(body: CredentialIn, conn: ConnDep, _: AdminDep) -> CredentialOut:
    """A new credential; the token is shown this once and stored only as a hash.

    Edge devices need a ``store_id``; tills (``cashier``) and card scanners (``register``) a
    ``store_id`` and a ``register_id``; planners a ``store_id`` or ``chain: true``."""
    try:
        credential_id, token = await create_credential_with_id(
            conn,
            name=body.name,
            role=body.role.value,
            store_id=body.store_id,
            register_id=body.register_id,
            chain=body.chain,
        )
    except ValueError as exc:
        raise InvalidRequest(str(exc)) from exc
    return CredentialOut(id=credential_id, token=token)


@router.delete("/{credential_id}")
async def revoke(credential_id: int, conn: ConnDep, _: AdminDep) -> CredentialRevoked:
    """Revoke a credential: its token gets 401 from the next request on (idempotent)."""
    found = await revoke_credential(conn, credential_id=credential_id)
    if not found:
        raise NotFound("credential not found")
    return CredentialRevoked(id=found[0][0], revoked=found[0][1])
