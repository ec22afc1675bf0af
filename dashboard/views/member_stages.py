"""Members page, class transitions: how many members moved from which class to which in a month,
as a from x to matrix (a heatmap), with the definition the server gives under it.

:func:`render_transitions` is the section; :func:`transitions_matrix`, :func:`moves_summary` and
:func:`transitions_figure` are pure (frame in, frame or figure out)."""

from __future__ import annotations

from datetime import date
from typing import Any

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from dashboard import context
from dashboard.api import ApiError
from dashboard.context import Selection

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


def transitions_figure(matrix: pd.DataFrame, month_label: str) -> go.Figure:
    """The matrix as a heatmap: rows from, columns to, the count in each cell; the hover adds
    the share of the row (where the members of a class went)."""
    counts = matrix.to_numpy()
    totals = counts.sum(axis=1, keepdims=True)
    shares = counts / totals.clip(min=1) * 100
    fig = go.Figure(
        go.Heatmap(
            z=counts,
            x=list(matrix.columns),
            y=list(matrix.index),
            customdata=shares,
            colorscale="Blues",
            texttemplate="%{z}",
            hovertemplate="from %{y} to %{x}: %{z} members (%{customdata:.0f} % of the row)"
            "<extra></extra>",
            colorbar={"title": "members"},
        )
    )
    fig.update_layout(
        title=f"Class transitions, {month_label}: from (rows) to (columns)",
        height=380,
        margin={"t": 50},
        xaxis_title="to class (last snapshot in the month)",
        yaxis_title="from class",
    )
    fig.update_yaxes(autorange="reversed")
    return fig


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
    c = st.columns(4)
    c[0].metric("Moved up", f"{moves['up']:,}")
    c[1].metric("Stayed", f"{moves['stayed']:,}")
    c[2].metric("Moved down", f"{moves['down']:,}")
    c[3].metric("New", f"{moves['new']:,}")
    st.plotly_chart(transitions_figure(matrix, labels[month]), width="stretch")
    st.caption(data["definition"])
    context.download(frame, f"class-transitions-{sel.store.id}", key="dl-transitions")
