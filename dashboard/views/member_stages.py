"""Members page, class transitions: how many members moved from which class to which in a month,
as a from x to matrix (a heatmap), with the definition the server gives under it.

:func:`render_transitions` is the section; :func:`transitions_matrix`, :func:`moves_summary` and
:func:`transitions_figure` are pure (frame in, frame or chart spec out)."""

from __future__ import annotations

from datetime import date
from typing import Any

import pandas as pd
import streamlit as st

from dashboard import context, vega
from dashboard.api import ApiError
from dashboard.context import Selection
from dashboard.vega import Spec

NEW = "new"
UNPROFILED = "unprofiled"
MONTHS = 12
COLUMNS = ["month", "from_class", "to_class", "members"]


def transitions_matrix(frame: pd.DataFrame, classes: list[str], month: date | str) -> pd.DataFrame:
    """Members per (from, to) in ``month``: rows are the classes members came from (``new``
    first), columns the classes they reached; every class of ``classes`` is shown, 0 if none."""
    rows = list(classes)
    cols = [c for c in classes if c != NEW]
    got = frame[frame["month"].astype(str) == str(month)]
    grid = got.pivot_table(
        index="from_class", columns="to_class", values="members", aggfunc="sum", fill_value=0
    )
    return grid.reindex(index=rows, columns=cols, fill_value=0).astype(int)


def moves_summary(matrix: pd.DataFrame) -> dict[str, int]:
    """Members who moved up a stage, stayed, moved down, or were new, in one month's matrix.
    Stages rise in the order of the matrix's columns; ``unprofiled`` is neither up nor down."""
    order = [c for c in matrix.columns if c != UNPROFILED]
    out = {"up": 0, "stayed": 0, "down": 0, "new": 0}
    for src, row in matrix.iterrows():
        for dst, n in row.items():
            if not n:
                continue
            if src == NEW:
                out["new"] += int(n)
            elif src == dst:
                out["stayed"] += int(n)
            elif src in order and dst in order:
                out["up" if order.index(str(dst)) > order.index(str(src)) else "down"] += int(n)
    return out


def transitions_figure(matrix: pd.DataFrame, month_label: str) -> Spec:
    """The matrix as a heatmap: rows from, columns to, the count in each cell; the tooltip adds
    the share of the row (where the members of a class went)."""
    data = vega.rows(
        {
            "from_class": src,
            "to_class": dst,
            "members": int(n),
            "row_share": n / max(int(row.sum()), 1) * 100,
        }
        for src, row in matrix.iterrows()
        for dst, n in row.items()
    )
    top = max((d["members"] for d in data), default=0)
    x = {
        "field": "to_class",
        "type": "nominal",
        "sort": [str(c) for c in matrix.columns],
        "axis": vega.axis("to class (last snapshot in the month)", labelAngle=0, grid=False),
    }
    y = {
        "field": "from_class",
        "type": "nominal",
        "sort": [str(c) for c in matrix.index],  # as the matrix: "new" on top
        "axis": vega.axis("from class", grid=False),
    }
    tip = vega.tooltip(
        ("from_class", "From"),
        ("to_class", "To"),
        ("members", "Members", ",d"),
        ("row_share", "% of the row", ".0f"),
    )
    return vega.chart(
        f"Class transitions, {month_label}: from (rows) to (columns)",
        height=110 + 36 * len(matrix.index),  # the whole chart, title and axes included
        data=data,
        layers=vega.heat_cells(
            x,
            y,
            field="members",
            top=top,
            scale={"domain": [0, top or 1], "range": ["#f7fbff", "#08519c"]},
            legend="members",
            text_format=",d",
            tip=tip,
            font_size=12,
        ),
        config={"view": {"stroke": None}},
    )


def render_transitions(sel: Selection) -> None:
    """The Members page's class-transitions section (the months up to the period's end)."""
    st.subheader("Class transitions per month")
    try:
        data: dict[str, Any] = context.analytics(
            sel.store.id, "members/transitions", sel.period, months=MONTHS
        )
    except ApiError as exc:
        context.problem(exc)
        return
    frame = pd.DataFrame(data["transitions"], columns=COLUMNS)
    months = [str(m) for m in data["months"]]
    if frame.empty or not months:
        st.info(
            "No class changes to show yet: transitions need class snapshots in two different "
            "months (one is kept whenever the member figures are computed)."
        )
        st.caption(data["definition"])
        return
    labels = {m: pd.Timestamp(m).strftime("%B %Y") for m in months}
    month = (
        st.select_slider(
            "Month", options=months, value=months[-1], format_func=labels.__getitem__, key="stages"
        )
        if len(months) > 1
        else months[0]
    )
    matrix = transitions_matrix(frame, list(data["classes"]), month)
    moves = moves_summary(matrix)
    tile = context.tiles(210)
    tile("Moved up", f"{moves['up']:,}")
    tile("Stayed", f"{moves['stayed']:,}")
    tile("Moved down", f"{moves['down']:,}")
    tile("New", f"{moves['new']:,}")
    context.chart(transitions_figure(matrix, labels[month]), key="member-stages")
    st.caption(data["definition"])
    context.download(frame, f"class-transitions-{sel.store.id}", key="dl-transitions")
