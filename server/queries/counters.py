"""Counter (专柜) evaluation: traffic, exposure, conversion, sales per visitor and per m².

Definitions (docs/metrics.md): a counter's *visitors* are the trips that dwelt in its zone at least
``min_dwell_s`` (default ``VISITOR_MIN_DWELL_S``); *exposure rate* = visitor trips / store
trips; *conversion* = visitor trips that bought at the counter / visitor trips (identity from
the member card or the cart tag that links a sale to its trip); *sales per visitor* = counter
sales / visitors; *sales per m²* = counter sales / counter area; *ATV* and *UPT* = the counter's
sales and units / its transactions; the store's *take per m²* a month from the counter's terms
(rent, commission) in the layout, over the days from the first to the last with data.
"""

from __future__ import annotations

from typing import Any

from psycopg import AsyncConnection

from server import histogram
from server.analysis.counters import Economics, judge, recommend
from server.queries.analytics import entries
from server.queries.facts import FLOOR_COUNTER_SQL, Selection, histograms, rows
from server.rollup import SHOPPER
from storeflow.api.analytics import VISITOR_MIN_DWELL_S, CounterFigures

_SQL = """
WITH visits AS (
    SELECT c.code AS counter, t.trip_id, v.dwell_s
    FROM zone_visit v
    JOIN counter c ON c.store_id = v.store_id AND c.zone_code = v.zone
    JOIN trip t ON t.store_id = v.store_id AND t.epc = v.epc
         AND v.enter_at >= t.start_at AND v.enter_at <= t.end_at
    WHERE v.store_id = %(store)s AND v.enter_at >= %(start)s AND v.enter_at < %(end)s
      AND v.tag_kind = ANY(%(shopper)s)
),
visitors AS (
    SELECT counter, trip_id, sum(dwell_s) AS dwell_s FROM visits GROUP BY counter, trip_id
    HAVING sum(dwell_s) >= %(min_dwell)s
),
sold AS (
    SELECT pl.counter, p.trip_id, sum(pl.amount - coalesce((
        SELECT sum(x.amount) FROM purchase_return r
        JOIN purchase_return_line x ON x.return_pk = r.id
        WHERE r.purchase_id = p.id AND x.line_no = pl.line_no), 0)) AS amount
    FROM purchase p JOIN purchase_line pl ON pl.purchase_id = p.id
    WHERE p.store_id = %(store)s AND p.at >= %(start)s AND p.at < %(end)s
    GROUP BY pl.counter, p.trip_id
)
SELECT c.code, c.name, c.category, c.area_m2,
       count(vi.trip_id) AS visitors,
       count(vi.trip_id) FILTER (WHERE s.trip_id IS NOT NULL) AS converted,
       coalesce((SELECT sum(amount) FROM sold WHERE sold.counter = c.code), 0) AS sales,
       percentile_cont(0.5) WITHIN GROUP (ORDER BY vi.dwell_s) AS median_dwell_s
FROM counter c
LEFT JOIN visitors vi ON vi.counter = c.code
LEFT JOIN sold s ON s.counter = vi.counter AND s.trip_id = vi.trip_id
WHERE c.store_id = %(store)s
GROUP BY c.code, c.name, c.category, c.area_m2
ORDER BY c.code
"""


async def _live(
    conn: AsyncConnection[Any], sel: Selection, min_dwell_s: float
) -> list[tuple[Any, ...]]:
    """Counter rows straight from the visits, for a visitor threshold the facts do not keep."""
    cur = await conn.execute(
        _SQL,
        {
            "store": sel.store_id,
            "start": sel.start,
            "end": sel.end,
            "shopper": list(SHOPPER),
            "min_dwell": min_dwell_s,
        },
    )
    return list(await cur.fetchall())


async def _from_facts(conn: AsyncConnection[Any], sel: Selection) -> list[tuple[Any, ...]]:
    hists = await histograms(
        conn, "fact_counter_dwell", "counter", sel, floor_sql=FLOOR_COUNTER_SQL
    )
    got = await rows(
        conn,
        "SELECT c.code, c.name, c.category, c.area_m2, coalesce(sum(f.visitors), 0), "
        "coalesce(sum(f.buyers), 0), coalesce(sum(f.sales), 0) FROM counter c "
        "LEFT JOIN fact_counter f ON f.store_id = c.store_id AND f.counter = c.code "
        "AND f.day BETWEEN %(d0)s AND %(d1)s "
        "AND (%(segs)s::text[] IS NULL OR f.segment = ANY(%(segs)s)) "
        f"WHERE c.store_id = %(s)s AND {FLOOR_COUNTER_SQL.format(col='c.code')} "
        "GROUP BY c.code, c.name, c.category, c.area_m2 ORDER BY c.code",
        sel,
    )
    return [(*r, histogram.percentile(hists.get(r[0], {}), 0.5)) for r in got]


async def _sales(conn: AsyncConnection[Any], sel: Selection) -> dict[str, tuple[int, float]]:
    """Per counter: transactions and units (net of returns) from the daily facts."""
    got = await rows(
        conn,
        "SELECT counter, coalesce(sum(transactions), 0), coalesce(sum(units), 0) "
        "FROM fact_counter WHERE store_id = %(s)s AND day BETWEEN %(d0)s AND %(d1)s "
        "AND (%(segs)s::text[] IS NULL OR segment = ANY(%(segs)s)) GROUP BY counter",
        sel,
    )
    return {str(c): (int(tx), float(u)) for c, tx, u in got}


async def _terms(
    conn: AsyncConnection[Any], sel: Selection
) -> tuple[dict[str, tuple[float | None, float | None]], float | None]:
    """Per counter its rent per m² a month and commission rate; the store's take target."""
    got = await rows(
        conn,
        "SELECT code, rent_per_m2, commission_rate FROM counter WHERE store_id = %(s)s",
        sel,
    )
    (target,), *_ = await rows(
        conn, "SELECT max(take_target_per_m2) FROM store WHERE id = %(s)s", sel
    )
    return {str(c): (r, k) for c, r, k in got}, target


async def trading_days(conn: AsyncConnection[Any], sel: Selection) -> int:
    """Days from the selection's first to its last day with data (at least 1): what monthly
    figures are prorated by (a history that starts inside the selection is not a loss)."""
    (first, last), *_ = await rows(
        conn,
        "SELECT min(day), max(day) FROM fact_hour WHERE store_id = %(s)s "
        "AND day BETWEEN %(d0)s AND %(d1)s AND entries > 0",
        sel,
    )
    return (last - first).days + 1 if first is not None else sel.days


async def counter_figures(
    conn: AsyncConnection[Any], sel: Selection, *, min_dwell_s: float = VISITOR_MIN_DWELL_S
) -> list[CounterFigures]:
    """Counter evaluation for the selection (from the facts at the default 30 s threshold)."""
    store_trips = await entries(conn, sel)
    if min_dwell_s == VISITOR_MIN_DWELL_S:
        got = await _from_facts(conn, sel)
    else:
        got = await _live(conn, sel, min_dwell_s)
    base = []
    for code, name, category, area, visitors, converted, sales, med in got:
        conv = converted / visitors if visitors else 0.0
        base.append(
            (
                code,
                name,
                category,
                float(area),
                int(visitors),
                int(converted),
                conv,
                float(sales),
                med,
            )
        )
    if not base:
        return []
    terms, target = await _terms(conn, sel)
    sold = await _sales(conn, sel)
    days = await trading_days(conn, sel)
    economics = {
        code: Economics(
            code=code,
            visitors=visitors,
            conversion=conv,
            sales=sales,
            sales_per_m2=sales / area,
            basket_value=sales / buyers if buyers else None,
            rent_per_m2=terms.get(code, (None, None))[0],
            commission_rate=terms.get(code, (None, None))[1],
            days=days,
        )
        for code, _, _, area, visitors, buyers, conv, sales, _ in base
    }
    judged = judge(list(economics.values()), take_target_per_m2=target)
    out = []
    for code, name, category, area, visitors, buyers, conv, sales, med in base:
        exposure = visitors / store_trips if store_trips else 0.0
        j = judged[code]
        e = economics[code]
        tx, units = sold.get(code, (0, 0.0))
        out.append(
            CounterFigures(
                code=code,
                name=name,
                category=category,
                area_m2=area,
                visitors=visitors,
                exposure_rate=exposure,
                conversion=conv,
                sales=sales,
                sales_per_visitor=sales / visitors if visitors else 0.0,
                sales_per_m2=sales / area,
                median_dwell_s=med,
                rank=j.rank,
                quadrant=j.quadrant,
                recommendation=recommend(
                    j.verdict, j.reason, visitors=visitors, exposure=exposure, conversion=conv
                ),
                buyers=buyers,
                basket_value=sales / buyers if buyers else None,
                verdict=j.verdict,
                transactions=tx,
                units=units,
                average_sale=sales / tx if tx else None,
                units_per_sale=units / tx if tx else None,
                rent_per_m2=e.rent_per_m2,
                commission_rate=e.commission_rate,
                take_per_m2=e.take_per_m2,
                take_target_per_m2=target,
            )
        )
    return sorted(out, key=lambda c: c.rank)
