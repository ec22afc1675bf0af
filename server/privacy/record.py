"""The record of processing (GDPR Art. 30) and the public privacy notice built from it.

Two halves: what the store fills in (controller, contact, purposes, recipients, protection
measures: a YAML file, ``STOREFLOW_PRIVACY_RECORD``, see config/privacy_record.example.yaml,
validated with file/line/key errors) and what the system knows itself: the tables and fields that
hold personal data (checked against the database), the retention periods in force and the
consents it asks for.
"""

from __future__ import annotations

import html
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from psycopg import AsyncConnection
from pydantic import BaseModel, Field

from server.privacy.consent import DEFAULTS, DESCRIPTIONS, Purpose
from server.privacy.retention import Retention
from server.queries import ledger
from storeflow.models import Frozen
from storeflow.yamlconf import load_yaml


class Party(Frozen):
    name: str = Field(min_length=1)
    address: str | None = None
    contact: str = Field(min_length=1, description="e-mail or postal address for requests")
    phone: str | None = None


class Officer(Frozen):
    name: str = Field(min_length=1)
    contact: str = Field(min_length=1)


class ProcessingPurpose(Frozen):
    name: str = Field(min_length=1)
    legal_basis: str = Field(min_length=1)
    data: list[str] = Field(min_length=1)
    consent: Purpose | None = Field(default=None, description="the consent this purpose needs")


class Recipient(Frozen):
    name: str = Field(min_length=1)
    role: str = Field(min_length=1)
    country: str | None = None


class StoreRecord(Frozen):
    """The part of the record the store fills in."""

    controller: Party
    data_protection_officer: Officer | None = None
    purposes: list[ProcessingPurpose] = Field(min_length=1)
    recipients: list[Recipient] = Field(default_factory=list)
    transfers_abroad: list[Recipient] = Field(default_factory=list)
    protection_measures: list[str] = Field(min_length=1)


def load_store_record(path: Path | str) -> StoreRecord:
    """Read and validate the store's YAML (:class:`storeflow.yamlconf.ConfigError` if bad)."""
    return load_yaml(path, StoreRecord)


# What the system holds about people: table -> field -> what it is.
PERSONAL_DATA: dict[str, dict[str, str]] = {
    "member": {
        "member_no": "identifier",
        "name": "name",
        "phone": "contact",
        "email": "contact",
        "birth_date": "date of birth",
        "gender": "gender",
        "joined_at": "membership",
        "referrer_id": "who referred the member",
        "referral_code": "identifier (referral code)",
        "tier": "membership",
    },
    "consent": {"purpose": "consent", "granted": "consent", "recorded_at": "consent"},
    "card": {"card_number": "card identifier", "epc": "RFID tag identifier"},
    "purchase": {
        "member_id": "purchases",
        "card_number": "card identifier",
        "total": "purchases",
        "trip_id": "link of a sale to a trip",
    },
    "purchase_line": {"sku": "purchases", "amount": "purchases"},
    "purchase_return": {"amount": "returns"},
    **ledger.PERSONAL_FIELDS,
    "redemption": {"member_id": "points"},
    "tier_history": {"member_id": "membership", "tier": "membership"},
    "zone_visit": {
        "epc": "whereabouts (RFID tag)",
        "zone": "whereabouts",
        "enter_at": "whereabouts",
    },
    "trip": {"epc": "whereabouts (RFID tag)", "zones": "whereabouts (path)"},
    "card_scan": {"card_number": "card identifier", "scanned_at": "presence at a till"},
    "member_status": {
        "primary_class": "profiling",
        "rfm_segment": "profiling",
        "p_alive": "profiling",
        "age_band": "profile",
        "gender": "profile",
    },
    "complaint": {"member_id": "customer care", "text": "what the member said"},
    "complaint_event": {"text": "customer care notes"},
    "followup": {"member_id": "customer care", "note": "customer care notes"},
    "member_stage": {"member_class": "profiling", "as_of": "profiling"},
    "referral_reward": {"member_id": "referrals", "referrer_id": "referrals"},
    "privacy_access_log": {"member_id": "reads of personal data"},
    "campaign_contact": {"member_id": "marketing contacts", "reason": "why a member was picked"},
    "api_credential": {"name": "staff credential name"},
}


class FieldRecord(BaseModel):
    table: str
    field: str
    category: str
    present: bool


class ConsentAsked(BaseModel):
    purpose: Purpose
    description: str
    default: bool


class SystemRecord(BaseModel):
    personal_data: list[FieldRecord]
    retention_days: dict[str, int]
    consents: list[ConsentAsked]
    edge_pseudonymous_epcs: bool
    privacy_secret_configured: bool


class ProcessingRecord(BaseModel):
    generated_at: datetime
    store: StoreRecord | None
    store_note: str | None
    system: SystemRecord


async def system_record(
    conn: AsyncConnection[Any], retention: Retention, *, edge_key: bool, secret: bool
) -> SystemRecord:
    cur = await conn.execute(
        "SELECT table_name, column_name FROM information_schema.columns "
        "WHERE table_schema = current_schema() AND table_name = ANY(%s)",
        (list(PERSONAL_DATA),),
    )
    present = {(t, c) for t, c in await cur.fetchall()}
    return SystemRecord(
        personal_data=[
            FieldRecord(table=t, field=f, category=cat, present=(t, f) in present)
            for t, fields in PERSONAL_DATA.items()
            for f, cat in fields.items()
        ],
        retention_days=retention.as_days(),
        consents=[
            ConsentAsked(purpose=p, description=DESCRIPTIONS[p], default=DEFAULTS[p])
            for p in Purpose
        ],
        edge_pseudonymous_epcs=edge_key,
        privacy_secret_configured=secret,
    )


def build_record(store: StoreRecord | None, system: SystemRecord) -> ProcessingRecord:
    return ProcessingRecord(
        generated_at=datetime.now(UTC),
        store=store,
        store_note=None
        if store is not None
        else "the store has not filled in its record (STOREFLOW_PRIVACY_RECORD)",
        system=system,
    )


def _list(items: list[str]) -> str:
    return "<ul>" + "".join(f"<li>{html.escape(i)}</li>" for i in items) + "</ul>"


_STYLE = (
    "body{font-family:system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;"
    "line-height:1.5;color:#222}h1{font-size:1.7rem}h2{font-size:1.2rem;margin-top:2rem;"
    "border-bottom:1px solid #ddd}table{border-collapse:collapse;width:100%}"
    "th,td{border:1px solid #ccc;padding:.35rem .5rem;text-align:left;vertical-align:top}"
    "th{background:#f4f4f4}"
)


def render_html(record: ProcessingRecord) -> str:
    """The public privacy notice: the record as a plain HTML page."""
    e = html.escape
    parts = [
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>",
        "<meta name='viewport' content='width=device-width, initial-scale=1'>",
        "<title>Privacy: how this store uses member data</title>",
        f"<style>{_STYLE}</style></head><body>",
        "<h1>How this store uses member data</h1>",
    ]
    s = record.store
    if s is None:
        parts.append(f"<p>{e(record.store_note or '')}</p>")
    else:
        c = s.controller
        parts.append(
            f"<h2>Who is responsible</h2><p>{e(c.name)}<br>{e(c.address or '')}<br>"
            f"Contact: {e(c.contact)} {e(c.phone or '')}</p>"
        )
        if s.data_protection_officer:
            o = s.data_protection_officer
            parts.append(f"<p>Data protection officer: {e(o.name)}, {e(o.contact)}</p>")
        parts.append(
            "<h2>What we use your data for</h2><table><tr><th>Purpose</th>"
            "<th>Legal basis</th><th>Data</th><th>Your consent</th></tr>"
        )
        for p in s.purposes:
            parts.append(
                f"<tr><td>{e(p.name)}</td><td>{e(p.legal_basis)}</td>"
                f"<td>{e(', '.join(p.data))}</td>"
                f"<td>{e(p.consent.value if p.consent else 'not needed')}</td></tr>"
            )
        parts.append("</table><h2>Who receives it</h2>")
        parts.append(
            _list(
                [
                    f"{r.name} ({r.role}{', ' + r.country if r.country else ''})"
                    for r in [*s.recipients, *s.transfers_abroad]
                ]
            )
        )
        parts.append("<h2>How we protect it</h2>" + _list(s.protection_measures))
    sysr = record.system
    parts.append(
        "<h2>Consents we ask for</h2>"
        + _list(
            [
                f"{c.purpose.value}: {c.description} (without a choice: "
                f"{'yes, you may object' if c.default else 'no'})"
                for c in sysr.consents
            ]
        )
    )
    parts.append(
        "<h2>How long we keep it</h2>"
        + _list([f"{k.replace('_', ' ')}: {v} days" for k, v in sysr.retention_days.items()])
    )
    parts.append(
        "<h2>Where it is held</h2>"
        + _list(
            [
                f"{t}: "
                + ", ".join(f.field for f in sysr.personal_data if f.table == t and f.present)
                for t in dict.fromkeys(f.table for f in sysr.personal_data)
            ]
        )
    )
    parts.append(
        "<h2>Your rights</h2><p>You may ask for a copy of your data, have it corrected "
        "or erased, and withdraw any consent at any time, at the service desk or by "
        "writing to the contact above. A withdrawal takes effect at once.</p>"
    )
    parts.append(f"<p><small>Generated {e(record.generated_at.isoformat())}</small></p>")
    parts.append("</body></html>")
    return "\n".join(parts)
