"""The Members page's class-transitions matrix: built from the API's rows, summarised as moves
up and down, drawn as a heatmap with counts."""

from __future__ import annotations

import pandas as pd

from dashboard import vega
from dashboard.views.member_stages import (
    COLUMNS,
    moves_summary,
    transitions_figure,
    transitions_matrix,
)

CLASSES = ["new", "potential", "occasional", "loyal", "core", "unprofiled"]
ROWS = pd.DataFrame(
    [
        ("2026-02-01", "potential", "occasional", 4),
        ("2026-02-01", "occasional", "occasional", 10),
        ("2026-02-01", "loyal", "occasional", 2),
        ("2026-02-01", "new", "potential", 3),
        ("2026-02-01", "core", "unprofiled", 1),
        ("2026-03-01", "occasional", "loyal", 5),
    ],
    columns=COLUMNS,
)


def test_the_matrix_has_every_class_and_only_the_chosen_month() -> None:
    m = transitions_matrix(ROWS, CLASSES, "2026-02-01")
    assert list(m.index) == CLASSES
    assert list(m.columns) == CLASSES[1:]  # nobody moves to "new"
    assert m.loc["potential", "occasional"] == 4 and m.loc["new", "potential"] == 3
    assert int(m.to_numpy().sum()) == 20  # March's 5 are not in February
    assert m.loc["occasional", "loyal"] == 0


def test_moves_up_down_stayed_and_new() -> None:
    m = transitions_matrix(ROWS, CLASSES, "2026-02-01")
    # core -> unprofiled is neither up nor down
    assert moves_summary(m) == {"up": 4, "stayed": 10, "down": 2, "new": 3}
    assert moves_summary(transitions_matrix(ROWS, CLASSES, "2026-03-01"))["up"] == 5


def test_the_heatmap_shows_counts_and_row_shares() -> None:
    m = transitions_matrix(ROWS, CLASSES, "2026-02-01")
    spec = transitions_figure(m, "February 2026")
    rect, text = spec["layer"]
    assert rect["encoding"]["y"]["sort"] == CLASSES  # "new" on top
    assert rect["encoding"]["x"]["sort"] == CLASSES[1:]
    assert text["encoding"]["text"]["field"] == "members"  # the count written in each cell
    cells = {(c["from_class"], c["to_class"]): c for c in vega.values_of(spec)}
    assert len(cells) == len(CLASSES) * len(CLASSES[1:])  # every cell, 0 where nobody moved
    assert cells["occasional", "occasional"]["members"] == 10
    assert cells["potential", "occasional"]["row_share"] == 100
    assert cells["loyal", "core"]["members"] == 0
    assert "February 2026" in spec["title"]["text"]
