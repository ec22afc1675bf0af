"""Vega-Lite chart specs for the planner dashboard: plain dicts, data inline, nothing drawn here.

The dashboard draws its charts with Vega-Lite (``st.vega_lite_chart``, see
:func:`dashboard.context.chart`): the browser's Vega bundle is a sixth of Plotly's and starts in
a tenth of the time, which is most of a page's time to charts. Every builder is pure — a frame
in, a spec out — so a unit test reads a chart's data from ``spec["data"]["values"]`` (or each
layer's) and its encodings, without a browser.

Conventions: a spec has a left-anchored title, a fixed height and the container's width; data
go inline as records (:func:`records`: timestamps as ISO strings, NaN as null); a chart with
nothing to show is :func:`empty`, a grey message where the marks would be.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime
from typing import Any

import pandas as pd

Spec = dict[str, Any]

SCHEMA = "https://vega.github.io/schema/vega-lite/v6.json"
GRID = "#eeeeee"
AXIS_LINE = "#999999"
MUTED = "#666666"


def _json_value(value: Any) -> Any:
    """One cell as JSON: timestamps as ISO text, NaN/NaT as null, numpy scalars as Python."""
    if value is None or value is pd.NaT:
        return None
    if isinstance(value, pd.Timestamp | datetime | date):
        return value.isoformat()
    if isinstance(value, float) and math.isnan(value):
        return None
    item = getattr(value, "item", None)  # numpy scalar
    if callable(item):
        return _json_value(item())
    return value


def records(frame: pd.DataFrame, columns: Sequence[str] | None = None) -> list[dict[str, Any]]:
    """A frame's rows as JSON records (only ``columns`` when given), for inline chart data."""
    cols = list(columns) if columns is not None else [str(c) for c in frame.columns]
    return [
        {c: _json_value(v) for c, v in zip(cols, row, strict=True)}
        for row in frame[cols].itertuples(index=False, name=None)
    ]


def rows(items: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Records built in Python, cleaned as :func:`records` cleans a frame's."""
    return [{k: _json_value(v) for k, v in item.items()} for item in items]


def chart(
    title: str,
    *,
    height: int,
    data: list[dict[str, Any]] | None = None,
    layers: list[Spec] | None = None,
    subtitle: str | None = None,
    **top: Any,
) -> Spec:
    """A spec: title, height, the container's width, optional inline data shared by the layers,
    and either ``layers`` or the single view's keys in ``top`` (``mark``, ``encoding``, ...)."""
    heading: Spec = {"text": title, "anchor": "start"}
    if subtitle:
        heading["subtitle"] = subtitle
    spec: Spec = {"$schema": SCHEMA, "title": heading, "height": height, "width": "container"}
    if data is not None:
        spec["data"] = {"values": data}
    if layers is not None:
        spec["layer"] = layers
    spec.update(top)
    return spec


def empty(title: str, message: str, *, height: int = 300) -> Spec:
    """A chart frame with ``message`` in the middle instead of marks."""
    return chart(
        title,
        height=height,
        data=[{"message": message}],
        mark={"type": "text", "fontSize": 16, "color": MUTED},
        encoding={"text": {"field": "message", "type": "nominal"}},
        config={"view": {"stroke": None}},
    )


def is_empty(spec: Spec) -> bool:
    """True for a spec made by :func:`empty`."""
    values = spec.get("data", {}).get("values", [])
    return len(values) == 1 and set(values[0]) == {"message"}


def axis(title: str | None, **extra: Any) -> Spec:
    """An axis with the dashboard's grid and line colours."""
    out: Spec = {"title": title, "gridColor": GRID, "domainColor": AXIS_LINE}
    out.update(extra)
    return out


def tooltip(*fields: tuple[str, str] | tuple[str, str, str]) -> list[Spec]:
    """Tooltip entries from (field, title) or (field, title, format) tuples; a field named
    ``*_text`` is shown as it is (pre-formatted text)."""
    out: list[Spec] = []
    for f in fields:
        entry: Spec = {"field": f[0], "title": f[1]}
        if len(f) == 3:
            entry["type"] = "quantitative"
            entry["format"] = f[2]
        out.append(entry)
    return out


def values_of(spec: Spec, layer: int | None = None) -> list[dict[str, Any]]:
    """The inline data of a spec, or of one of its layers (for tests and downloads)."""
    part = spec if layer is None else spec["layer"][layer]
    data: list[dict[str, Any]] = part.get("data", {}).get("values", [])
    return data


# --- time on the x axis ------------------------------------------------------------------------

DAY_LABEL = "%a %d %b"  # Mon 02 Nov
HOUR_LABEL = "%H:%M"


def wall_time(value: Any) -> str | None:
    """A time as the store's clock reads it, for a :func:`time_x` axis: its wall-clock reading
    marked UTC (``2026-11-02T11:00:00Z``) and drawn on a UTC scale, so the browser's own time
    zone never shifts it. An aware timestamp keeps its own reading (convert it to the store's
    zone first); None/NaT is null."""
    if value is None or value is pd.NaT:
        return None
    ts = pd.Timestamp(value)
    if pd.isna(ts):
        return None
    if ts.tzinfo is not None:
        ts = ts.tz_localize(None)
    return ts.strftime("%Y-%m-%dT%H:%M:%SZ")


def time_x(title: str | None, *, field: str = "at", unit: str | None = None) -> Spec:
    """An x encoding of wall times (:func:`wall_time`): days labelled "Mon 02 Nov", hours
    "13:00" with each midnight named by its day; labels horizontal. ``unit`` (a Vega-Lite UTC
    time unit, e.g. ``utcyearmonthdatehours``) makes bars a bucket wide."""
    label = (
        f"utchours(datum.value) == 0 && utcminutes(datum.value) == 0"
        f" ? utcFormat(datum.value, '{DAY_LABEL}') : utcFormat(datum.value, '{HOUR_LABEL}')"
    )
    out: Spec = {
        "field": field,
        "type": "temporal",
        "scale": {"type": "utc"},
        "axis": axis(title, labelExpr=label, labelAngle=0, labelOverlap=True),
    }
    if unit is not None:
        out["timeUnit"] = unit
    return out


def layered(spec: Spec) -> Spec:
    """The same chart with its single view moved into ``layer`` (a no-op on a layered spec), so
    more layers can be added on top."""
    if "layer" in spec:
        return spec
    out = {k: v for k, v in spec.items() if k not in VIEW_KEYS}
    out["layer"] = [{k: spec[k] for k in VIEW_KEYS if k in spec}]
    return out


VIEW_KEYS = ("mark", "encoding", "transform", "params", "projection")


def heat_cells(
    x: Spec,
    y: Spec,
    *,
    field: str,
    top: float,
    scale: Spec,
    legend: str,
    text_format: str,
    tip: list[Spec],
    font_size: int = 11,
) -> list[Spec]:
    """A heatmap's two layers: cells coloured by ``field`` on ``scale``, and the value written in
    each cell, white on the darker cells (above 55 % of ``top``)."""
    return [
        {
            "mark": {"type": "rect", "tooltip": True},
            "encoding": {
                "x": x,
                "y": y,
                "color": {
                    "field": field,
                    "type": "quantitative",
                    "scale": scale,
                    "legend": {"title": legend},
                },
                "tooltip": tip,
            },
        },
        {
            "mark": {"type": "text", "fontSize": font_size},
            "encoding": {
                "x": x,
                "y": y,
                "text": {"field": field, "type": "quantitative", "format": text_format},
                "color": {
                    "condition": {"test": f"datum.{field} > {top * 0.55}", "value": "white"},
                    "value": "#333333",
                },
                "tooltip": tip,
            },
        },
    ]


def labelled_bars(
    y: Spec, x: Spec, *, text: Spec, color: str, tip: list[Spec], label_x: Spec | None = None
) -> list[Spec]:
    """Horizontal bars and their figures written just past each bar's end (at ``label_x``,
    by default the bar's own ``x``)."""
    return [
        {
            "mark": {"type": "bar", "color": color, "tooltip": True},
            "encoding": {"y": y, "x": x, "tooltip": tip},
        },
        {
            "mark": {"type": "text", "align": "left", "dx": 4, "color": MUTED},
            "encoding": {"y": y, "x": label_x or x, "text": text, "tooltip": tip},
        },
    ]
