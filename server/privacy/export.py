"""The member's copy (GDPR Art. 15 and 20, PIPL Art. 45): everything held about the person.

:func:`member_export` gathers it as named tables (lists of rows) from the member's record and
every record merged into it; :func:`to_zip` writes the same tables as CSV files in a zip. An
erased member has nothing left to give: only the fact and time of the erasure.
"""

from __future__ import annotations

import csv
import io
import json
import zipfile
from datetime import UTC, datetime
from typing import Any

from psycopg import AsyncConnection
from psycopg.rows import dict_row

from server.privacy.consent import history, states
from server.privacy.tracking import member_group
from server.queries import ledger

Row = dict[str, Any]

# (name, SQL over %(g)s: the member's records; %(epcs)s: the tags of their cards)
_TABLES: tuple[tuple[str, str], ...] = (
    (
        "merged_records",
        "SELECT id, member_no, name, phone, email, birth_date, gender, joined_at FROM member "
        "WHERE id = ANY(%(g)s) AND merged_into IS NOT NULL ORDER BY id",
    ),
    (
        "cards",
        "SELECT card_number, epc, status, issued_at, ended_at, replaced_by FROM card "
        "WHERE member_id = ANY(%(g)s) ORDER BY issued_at",
    ),
    ("tags", "SELECT epc, kind, label, created_at FROM tag WHERE epc = ANY(%(epcs)s)"),
    (
        "purchases",
        "SELECT id, store_id, register_id, pos_id, at, card_number, total, points_earned, "
        "trip_id FROM purchase WHERE member_id = ANY(%(g)s) ORDER BY at, id",
    ),
    (
        "purchase_lines",
        "SELECT l.purchase_id, l.line_no, l.sku, l.counter, l.category, l.quantity, l.amount, "
        "l.points FROM purchase_line l JOIN purchase p ON p.id = l.purchase_id "
        "WHERE p.member_id = ANY(%(g)s) ORDER BY l.purchase_id, l.line_no",
    ),
    (
        "returns",
        "SELECT r.id, r.purchase_id, r.return_id, r.at, r.amount, r.points_reversed, r.shortfall "
        "FROM purchase_return r JOIN purchase p ON p.id = r.purchase_id "
        "WHERE p.member_id = ANY(%(g)s) ORDER BY r.at, r.id",
    ),
    (
        "return_lines",
        "SELECT rl.return_pk AS return_id, rl.line_no, rl.amount FROM purchase_return_line rl "
        "JOIN purchase_return r ON r.id = rl.return_pk JOIN purchase p ON p.id = r.purchase_id "
        "WHERE p.member_id = ANY(%(g)s) ORDER BY rl.return_pk, rl.line_no",
    ),
    (
        "redemptions",
        "SELECT idempotency_key, points, store_id, register_id, at FROM redemption "
        "WHERE member_id = ANY(%(g)s) ORDER BY at",
    ),
    (
        "tier_history",
        "SELECT tier, since, reason FROM tier_history WHERE member_id = ANY(%(g)s) ORDER BY since",
    ),
    (
        "trips",
        "SELECT t.trip_id, t.store_id, t.epc, t.start_at, t.end_at, t.zones, t.visit_count "
        "FROM trip t JOIN card c ON c.epc = t.epc AND c.member_id = ANY(%(g)s) "
        "AND (c.ended_at IS NULL OR t.start_at < c.ended_at) ORDER BY t.start_at",
    ),
    (
        "visits",
        "SELECT v.store_id, v.zone, v.epc, v.enter_at, v.exit_at, v.dwell_s, v.reader_id "
        "FROM zone_visit v JOIN card c ON c.epc = v.epc AND c.member_id = ANY(%(g)s) "
        "AND (c.ended_at IS NULL OR v.enter_at < c.ended_at) ORDER BY v.enter_at",
    ),
    (
        "card_scans",
        "SELECT s.store_id, s.register_id, s.card_number, s.scanned_at FROM card_scan s "
        "JOIN card c ON c.card_number = s.card_number AND c.member_id = ANY(%(g)s) "
        "ORDER BY s.scanned_at",
    ),
    (
        "member_figures",
        "SELECT store_id, as_of, tier, age_band, gender, primary_class, is_core, is_referrer, "
        "purchases_window, sales_window, last_purchase_at, days_since, median_interval_days, "
        "p_alive, rfm_segment FROM member_status WHERE member_id = ANY(%(g)s) "
        "ORDER BY store_id, as_of",
    ),
    (
        "complaints",
        "SELECT id, store_id, channel, category, counter, severity, text, created_at, "
        "first_response_at, resolved_at, resolution, on_the_spot FROM complaint "
        "WHERE member_id = ANY(%(g)s) ORDER BY created_at, id",
    ),
    (
        "complaint_events",
        "SELECT e.complaint_id, e.at, e.kind, e.text FROM complaint_event e "
        "JOIN complaint c ON c.id = e.complaint_id WHERE c.member_id = ANY(%(g)s) "
        "ORDER BY e.complaint_id, e.at, e.id",
    ),
    (
        "followups",
        "SELECT id, source, title, note, due_on, created_at, done_at, outcome, outcome_note "
        "FROM followup WHERE member_id = ANY(%(g)s) ORDER BY created_at, id",
    ),
    (
        "class_history",
        "SELECT store_id, as_of, member_class, is_referrer FROM member_stage "
        "WHERE member_id = ANY(%(g)s) ORDER BY store_id, as_of",
    ),
    (
        "referrals_made",
        "SELECT m.member_no AS referred_member, m.joined_at, w.at AS rewarded_at, "
        "w.referrer_points, w.reversed_at AS reward_reversed_at FROM member m "
        "LEFT JOIN referral_reward w ON w.member_id = m.id "
        "WHERE m.referrer_id = ANY(%(g)s) ORDER BY m.joined_at, w.at",
    ),
    (
        "referral_rewards_received",
        "SELECT at, purchase_id, member_points, reversed_at FROM referral_reward "
        "WHERE member_id = ANY(%(g)s) ORDER BY at",
    ),
    (
        "campaign_contacts",
        "SELECT r.as_of, cr.name AS rule, c.held_out, c.reason, o.status AS delivery, "
        "o.delivered_at FROM campaign_contact c JOIN campaign_run r ON r.id = c.run_id "
        "JOIN campaign_rule cr ON cr.id = r.rule_id LEFT JOIN campaign_outbox o "
        "ON o.run_id = c.run_id AND o.member_id = c.member_id "
        "WHERE c.member_id = ANY(%(g)s) ORDER BY r.as_of, cr.name",
    ),
    (
        "reads_of_this_data",
        "SELECT at, credential_name, role, endpoint FROM privacy_access_log "
        "WHERE member_id = ANY(%(g)s) ORDER BY at",
    ),
    (
        "privacy_requests",
        "SELECT kind, requested_at, requested_by, completed_at FROM privacy_request "
        "WHERE member_id = ANY(%(g)s) ORDER BY requested_at",
    ),
)


async def _rows(conn: AsyncConnection[Any], sql: str, params: dict[str, Any]) -> list[Row]:
    async with conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(sql, params)
        return list(await cur.fetchall())


async def member_export(conn: AsyncConnection[Any], member_id: int) -> dict[str, Any] | None:
    """The member's data as ``{"profile": {...}, table name: [rows]}``; None: no such member."""
    profile = await _rows(
        conn,
        "SELECT m.id AS member_id, m.member_no, m.name, m.phone, m.email, m.birth_date, "
        "m.gender, m.joined_at, m.tier, m.tier_since, m.referral_code, "
        "r.member_no AS referred_by, m.erased_at "
        "FROM member m LEFT JOIN member r ON r.id = m.referrer_id "
        "WHERE m.id = (SELECT coalesce(merged_into, id) FROM member WHERE id = %(id)s)",
        {"id": member_id},
    )
    if not profile:
        return None
    me = profile[0]
    out: dict[str, Any] = {"generated_at": datetime.now(UTC), "member_id": me["member_id"]}
    if me["erased_at"] is not None:
        out["erased_at"] = me["erased_at"]
        out["note"] = "this member's personal data was erased; nothing personal is held"
        return out
    group = await member_group(conn, me["member_id"])
    cur = await conn.execute(
        "SELECT DISTINCT epc FROM card WHERE member_id = ANY(%s) AND epc IS NOT NULL", (group,)
    )
    params = {"g": group, "epcs": [r[0] for r in await cur.fetchall()]}
    out["profile"] = me
    out["consents"] = [s.model_dump() for s in await states(conn, me["member_id"])]
    out["consent_history"] = [e.model_dump() for e in await history(conn, me["member_id"])]
    for name, sql in _TABLES:
        out[name] = await _rows(conn, sql, params)
    out["points_entries"] = await ledger.member_entries(conn, group)
    out["points_lots"] = await ledger.member_lots(conn, group)
    return out


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, list | dict):
        return json.dumps(value, default=str)
    return str(value)


def to_zip(export: dict[str, Any]) -> bytes:
    """One CSV file per table (``profile.csv`` has one row), plus ``about.csv``."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        scalars = {k: v for k, v in export.items() if not isinstance(v, list | dict)}
        tables: dict[str, list[Row]] = {"about": [scalars]}
        for key, value in export.items():
            if isinstance(value, dict):
                tables[key] = [value]
            elif isinstance(value, list):
                tables[key] = value
        for name, rows in tables.items():
            text = io.StringIO()
            columns = list(rows[0]) if rows else []
            writer = csv.writer(text)
            writer.writerow(columns)
            for row in rows:
                writer.writerow([_cell(row.get(c)) for c in columns])
            zf.writestr(f"{name}.csv", text.getvalue())
    return buf.getvalue()
