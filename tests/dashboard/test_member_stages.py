"""The Members page's class-transitions matrix: built from the API's rows, summarised as moves
up and down, drawn as a heatmap with counts."""

from __future__ import annotations

import pandas as pd

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
    fig = transitions_figure(m, "February 2026")
    heat = fig.data[0]
    assert list(heat.y) == CLASSES and list(heat.x) == CLASSES[1:]
    row = CLASSES.index("occasional")
    assert heat.z[row][CLASSES[1:].index("occasional")] == 10
    assert heat.customdata[CLASSES.index("potential")][CLASSES[1:].index("occasional")] == 100
    assert "February 2026" in fig.layout.title.text
