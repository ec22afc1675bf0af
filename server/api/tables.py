"""Answers as JSON or, with ``?format=csv``, as a CSV file (one table of the answer)."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from typing import Annotated, Any, Literal

from fastapi import HTTPException, Query
from fastapi.responses import Response
from pydantic import BaseModel

Format = Literal["json", "csv"]
FormatQ = Annotated[Format, Query(description="json (default) or csv")]
TableQ = Annotated[
    str | None, Query(description="with format=csv: which list of the answer (default: the first)")
]


def _flat(row: Any) -> dict[str, Any]:
    data = row.model_dump(mode="json") if isinstance(row, BaseModel) else dict(row)
    out: dict[str, Any] = {}
    for k, v in data.items():
        if isinstance(v, dict):
            for k2, v2 in v.items():
                out[f"{k}_{k2}"] = v2
        elif isinstance(v, list):
            out[k] = " > ".join(str(x) for x in v)
        else:
            out[k] = v
    return out


def csv_text(rows: Sequence[Any]) -> str:
    flat = [_flat(r) for r in rows]
    columns: list[str] = []
    for r in flat:
        columns.extend(k for k in r if k not in columns)
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=columns, lineterminator="\n")
    w.writeheader()
    w.writerows(flat)
    return buf.getvalue()


def respond(answer: Any, fmt: Format, *, name: str, table: str | None = None) -> Any:
    """``answer`` unchanged for JSON; for CSV a list of rows, or the list field ``table`` of a
    model (e.g. ``transitions`` of the paths answer)."""
    if fmt == "json":
        return answer
    rows: Sequence[Any]
    if isinstance(answer, list):
        rows = answer
    else:
        lists = {
            k: v
            for k, v in answer.model_dump().items()
            if isinstance(v, list) and (not v or isinstance(v[0], dict))
        }
        if not lists:
            rows = [answer]
        else:
            key = table or next(iter(lists))
            if key not in lists:
                raise HTTPException(422, f"table must be one of {sorted(lists)}, not {key!r}")
            rows = lists[key]
            name = f"{name}-{key}"
    return Response(
        csv_text(rows),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}.csv"'},
    )
