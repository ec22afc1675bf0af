"""Store health, for store IT: edges and readers with their status and decode statistics, the
alerts to act on, and whether each recent hour's data looks complete. Read fresh on each run."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pandas as pd
import streamlit as st

from dashboard import context
from dashboard.api import ApiError
from dashboard.context import Selection
from storeflow.api.devices import CompletenessHour, StoreAlerts, StoreDevices
from storeflow.api.tags import UnknownPattern, UnknownTags

UNKNOWN_DAYS = 7  # the unknown tags shown: those seen in the last week

MARK = {
    "ok": "ok",
    "late": "LATE",
    "silent": "SILENT",
    "errors": "DECODE ERRORS",
    "disconnected": "DISCONNECTED",
}
SEVERITY = {"critical": "CRITICAL", "warning": "warning", "info": "info"}


def devices_frame(d: StoreDevices) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {
                "edge": e.device_id,
                "status": MARK[e.status],
                "last heartbeat": e.last_seen,
                "says": e.reported_status,
                "outbox": e.outbox_depth,
                "held": e.outbox_held,
                "refused writes": e.outbox_refused_writes,
                "dead letters": e.dead_letters,
                "problems": "; ".join(e.problems),
            }
            for e in d.devices
        ],
        columns=[
            "edge",
            "status",
            "last heartbeat",
            "says",
            "outbox",
            "held",
            "refused writes",
            "dead letters",
            "problems",
        ],
    )


def readers_frame(d: StoreDevices) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {
                "reader": r.reader_id,
                "edge": r.device_id,
                "state": MARK[r.state],
                "last reported": r.last_seen,
                "reads": r.reads_total,
                "frames ok": r.frames_ok,
                "bad frames": r.frames_bad,
                "error rate": f"{r.error_rate:.1%}",
                "errors": ", ".join(f"{k}: {v}" for k, v in sorted(r.errors.items())),
                "bytes skipped": r.bytes_skipped,
                "goods reads": r.goods_reads,
                "clock offset s": r.clock_offset_s,
            }
            for r in d.readers
        ],
        columns=[
            "reader",
            "edge",
            "state",
            "last reported",
            "reads",
            "frames ok",
            "bad frames",
            "error rate",
            "errors",
            "bytes skipped",
            "goods reads",
            "clock offset s",
        ],
    )


def alerts_frame(a: StoreAlerts) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {
                "severity": SEVERITY[x.severity],
                "since": x.since,
                "subject": x.subject,
                "what": x.text,
            }
            for x in a.alerts
        ],
        columns=["severity", "since", "subject", "what"],
    )


def completeness_frame(hours: list[CompletenessHour]) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {
                "hour": h.hour,
                "readers up": f"{h.readers_up}/{h.readers_known}",
                "visits": h.visits,
                "usual visits": h.usual_visits,
                "reads": h.reads,
                "usual reads": h.usual_reads,
                "complete": "yes" if h.complete else "no",
                "note": h.note,
            }
            for h in hours
        ],
        columns=[
            "hour",
            "readers up",
            "visits",
            "usual visits",
            "reads",
            "usual reads",
            "complete",
            "note",
        ],
    )


def pattern_text(p: UnknownPattern) -> str:
    """An EPC pattern as store IT would type it into a tag rule."""
    parts = [f"{p.scheme} ({p.bits} bit)"]
    if p.company is not None:
        parts.append(f"company {p.company}")
    if p.object_class is not None:
        parts.append(f"object class {p.object_class}")
    if p.hex_prefix is not None:
        parts.append(f"EPC starting {p.hex_prefix}")
    return ", ".join(parts)


def patterns_frame(u: UnknownTags) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {
                "pattern": pattern_text(p),
                "tags": p.tags,
                "visits": p.visits,
                "first seen": p.first_seen,
                "last seen": p.last_seen,
            }
            for p in u.patterns
        ],
        columns=["pattern", "tags", "visits", "first seen", "last seen"],
    )


def places_frame(u: UnknownTags) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {"reader": p.reader_id, "zone": p.zone, "visits": p.visits, "tags": p.tags}
            for p in u.places
        ],
        columns=["reader", "zone", "visits", "tags"],
    )


def render_unknown(u: UnknownTags) -> None:
    """Tags neither the registry nor the edge's rules know, so store IT can map them."""
    st.subheader(f"Unknown tags, last {UNKNOWN_DAYS} days")
    goods = sum(g.reads for g in u.goods)
    if not u.tags:
        st.success(f"Every tag seen is known. Goods reads dropped at the edge: {goods:,}.")
        return
    st.warning(
        f"{u.tags:,} unknown tags made {u.visits:,} visits: they count in footfall under a "
        "pseudonym but belong to no shopper kind. Register them (Tags API or CSV import) or add "
        "an edge tag rule for their pattern."
    )
    st.markdown("**EPC patterns seen most**")
    st.dataframe(patterns_frame(u), hide_index=True, width="stretch")
    for p in u.patterns[:5]:  # plain lines, readable without the table
        st.markdown(f"Unknown pattern: {pattern_text(p)}: {p.tags} tags, {p.visits} visits")
    st.markdown("**Where they were read**")
    st.dataframe(places_frame(u), hide_index=True, width="stretch")
    st.caption(f"Goods (SGTIN) reads dropped at the edge, as last reported: {goods:,}.")


def render(selection: Selection) -> None:
    store = selection.store.id
    st.title("Store health")
    try:
        client = context.client()
        devices = client.devices(store)
        alerts = client.alerts(store)
        hours = client.completeness(store)
        unknown = client.unknown_tags(store, since=datetime.now(UTC) - timedelta(days=UNKNOWN_DAYS))
    except ApiError as exc:
        st.error(str(exc))
        return
    st.caption(
        f"As of {devices.at:%Y-%m-%d %H:%M:%S} UTC. Edges beat every "
        f"{devices.heartbeat_interval_s:g} s; silent after {devices.missed_beats} missed beats."
    )
    st.subheader("Alerts")
    if alerts.alerts:
        st.dataframe(alerts_frame(alerts), hide_index=True, width="stretch")
    else:
        st.success("No alerts: every edge and reader reports in.")
    st.subheader("Edges")
    if devices.devices:
        st.dataframe(devices_frame(devices), hide_index=True, width="stretch")
    else:
        st.info("No edge has sent a heartbeat yet.")
    st.subheader("Readers")
    st.dataframe(readers_frame(devices), hide_index=True, width="stretch")
    for r in devices.readers:  # a plain line per reader, readable without the table
        st.markdown(f"**Reader {r.reader_id}** ({r.device_id}): {MARK[r.state]}")
    st.subheader("Data completeness, last 24 hours")
    st.dataframe(completeness_frame(hours), hide_index=True, width="stretch")
    render_unknown(unknown)
