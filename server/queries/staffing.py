"""Shoppers per staff member (docs/metrics.md#shoppers-per-staff-member).

Staff present in an hour = distinct staff badges (tags of kind ``staff``) with a zone visit
overlapping the hour; shoppers = the hour's occupancy (mean shoppers in the store, from the
daily facts); shoppers per staff member = shoppers ÷ staff present, per hour, and over the
period Σ shoppers ÷ Σ staff over the open hours with staff seen (shoppers and staff both there:
staff restocking a closed store do not dilute it).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from psycopg import AsyncConnection

from server.queries.analytics import occupancy
from server.queries.facts import Bound, Selection, rows
from storeflow.api.analytics import StaffHour, Staffing
from storeflow.wire import TagKind

# every hour a staff visit overlaps; visits are minutes long, a day's look-back covers them
_STAFF_SQL = """
SELECT g, count(DISTINCT v.epc)::int
FROM zone_visit v,
     generate_series(date_bin('1 hour', v.enter_at, %(lo)s::timestamptz), v.exit_at,
                     interval '1 hour') AS g
WHERE v.store_id = %(s)s AND v.tag_kind = %(staff)s
  AND v.enter_at >= %(lo)s::timestamptz - interval '1 day' AND v.enter_at < %(hi)s
  AND g < v.exit_at AND g >= %(lo)s AND g < %(hi)s
GROUP BY g
"""


async def staff_present(conn: AsyncConnection[Any], sel: Selection) -> dict[datetime, int]:
    """Hour start (store time) -> distinct staff badges seen in that hour."""
    tz = ZoneInfo(sel.tz)
    got = await rows(conn, _STAFF_SQL, Bound(sel, staff=TagKind.STAFF.value))
    return {g.astimezone(tz): n for g, n in got}


def ratio(shoppers: float, staff: int) -> float | None:
    return shoppers / staff if staff else None


async def staffing(conn: AsyncConnection[Any], sel: Selection) -> Staffing:
    staff = await staff_present(conn, sel)
    shoppers = {o.hour_start: o.occupancy for o in await occupancy(conn, sel)}
    hours = [
        StaffHour(
            hour_start=t,
            shoppers=shoppers.get(t, 0.0),
            staff=staff.get(t, 0),
            shoppers_per_staff=ratio(shoppers.get(t, 0.0), staff.get(t, 0)),
        )
        for t in sorted(set(staff) | {t for t, s in shoppers.items() if s > 0})
    ]
    staffed = [h for h in hours if h.staff > 0 and h.shoppers > 0]
    total_staff = sum(h.staff for h in staffed)
    return Staffing(
        shoppers_per_staff=(
            sum(h.shoppers for h in staffed) / total_staff if total_staff else None
        ),
        busiest=max(staffed, key=lambda h: h.shoppers_per_staff or 0.0) if staffed else None,
        hours_without_staff=sum(1 for h in hours if h.staff == 0 and h.shoppers > 0),
        hours=hours,
    )
