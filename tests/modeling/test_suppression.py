"""Small-cell suppression: hand-computed tables and properties (no cell of 1-10 survives; no
suppressed cell can be solved for from the totals shown), checked with an independent
rank test rather than the module's own leverage (SVD) test."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from modeling.errors import ParameterError, SchemaError
from modeling.suppression import cell_size_policy, derivable, suppress_small_cells


def test_the_threshold_is_cms_policy_data_with_its_source():
    policy = cell_size_policy()
    assert policy.min_cell == 11 and policy.zero_shown
    assert "1 to 10" in policy.source and "confirmed" in policy.status
    with pytest.raises(ParameterError, match="cell_suppression.csv"):
        cell_size_policy("nowhere")


def test_primary_suppression_blanks_the_row_and_keeps_labels_and_zero():
    f = pl.DataFrame(
        {"year": [2024, 2024, 2024], "members": [0, 10, 11], "pmpm": [0.0, 812.5, 700.0]}
    )
    out = suppress_small_cells(f, people=["members"], keep=["year"])
    assert out["suppressed"].to_list() == [False, True, False]
    assert out["members"].to_list() == [0, None, 11]
    assert out["pmpm"].to_list() == [0.0, None, 700.0]
    assert out["year"].to_list() == [2024, 2024, 2024]


def test_a_numerator_below_eleven_blanks_its_rate_too():
    f = pl.DataFrame({"numerator": [3, 40], "denominator": [500, 500], "rate": [0.6, 8.0]})
    out = suppress_small_cells(f, people=["denominator", "numerator"])
    assert out["suppressed"].to_list() == [True, False]
    assert out["rate"].to_list() == [None, 8.0]


def test_a_rate_that_gives_back_a_small_count_is_blanked_in_its_cell():
    # 2,000 person-years and 5 joint replacements: 2.5 per 1,000 x 2,000 = 5 people, so the
    # rate is blanked; the admissions rate (40 admissions) stays, and so does the row.
    f = pl.DataFrame(
        {
            "year": [2024],
            "members": [2100],
            "person_years": [2000.0],
            "joints": [5],
            "joints_per_1000": [2.5],
            "admits": [40],
            "admits_per_1000": [20.0],
            "readmit_rate": [0.2],
        }
    )
    out = suppress_small_cells(
        f,
        people=["members"],
        keep=["year"],
        cells={
            "joints_per_1000": "joints",
            "admits_per_1000": "admits",
            "readmit_rate": pl.col("readmit_rate") * pl.col("admits"),  # 8 readmissions
        },
    ).row(0, named=True)
    assert out["suppressed"] is False and out["members"] == 2100
    assert out["joints"] is None and out["joints_per_1000"] is None
    assert out["admits"] == 40 and out["admits_per_1000"] == 20.0
    assert out["readmit_rate"] is None


def test_complement_is_the_smallest_other_row_under_a_shown_total():
    # providers a..d of one measure; the measure's total (67) is shown on the page: a alone
    # blanked would be 67 - 62 = 5, so the smallest other provider (d, 12) is blanked too.
    f = pl.DataFrame({"prov": list("abcd"), "members": [5, 20, 30, 12]})
    alone = suppress_small_cells(f, people=["members"])
    assert alone["suppressed"].to_list() == [True, False, False, False]
    with_total = suppress_small_cells(f, people=["members"], partitions=[()])
    assert with_total["suppressed"].to_list() == [True, False, False, True]


def test_two_way_table_with_both_margins_needs_a_rectangle():
    # 2 x 3 cross-tab (region x year) with row and column totals shown; (r1, y1) = 4.
    f = pl.DataFrame(
        {
            "region": ["r1", "r1", "r1", "r2", "r2", "r2"],
            "year": [1, 2, 3, 1, 2, 3],
            "members": [4, 50, 60, 30, 20, 70],
        }
    )
    out = suppress_small_cells(
        f, people=["members"], partitions=[["region"], ["year"]], keep=["year"]
    )
    hidden = out["suppressed"].to_list()
    # the least the greedy can do is a 2 x 2 rectangle: (r1,1), (r1,2), (r2,1), (r2,2)
    assert hidden == [True, True, False, True, True, False]
    assert not _derivable(
        f["members"].to_numpy(), _constraints(f, [["region"], ["year"]]), np.array(hidden)
    ).any()


def test_bad_input_is_a_clear_error():
    f = pl.DataFrame({"members": ["a"]})
    with pytest.raises(SchemaError, match="not a number"):
        suppress_small_cells(f, people=["members"])
    with pytest.raises(SchemaError, match="members_x"):
        suppress_small_cells(f, people=["members_x"])
    with pytest.raises(ParameterError):
        suppress_small_cells(pl.DataFrame({"m": [1]}), people=[])


# --- properties -----------------------------------------------------------------------------


def _constraints(frame: pl.DataFrame, partitions) -> np.ndarray:
    """One row per shown total of two or more table rows (written here independently)."""
    rows = []
    for keys in partitions:
        labels = [tuple(r) for r in frame.select(keys).rows()] if keys else [()] * frame.height
        for label in set(labels):
            members = [i for i, lab in enumerate(labels) if lab == label]
            if len(members) > 1:
                row = np.zeros(frame.height)
                row[members] = 1
                rows.append(row)
    return np.array(rows).reshape(len(rows), frame.height)


def _derivable(counts, constraints, hidden) -> np.ndarray:
    """Hidden cell i is solvable iff its column of A_H is not a combination of the other hidden
    columns (dropping it lowers the rank): written independently of the module's leverage test."""
    out = np.zeros(hidden.size, dtype=bool)
    idx = np.flatnonzero(hidden)
    if idx.size == 0 or constraints.shape[0] == 0:
        return out
    sub = constraints[:, idx]
    full = np.linalg.matrix_rank(sub)
    for k, i in enumerate(idx):
        if not sub[:, k].any():
            continue
        rest = np.delete(sub, k, axis=1)
        out[i] = rest.shape[1] == 0 or np.linalg.matrix_rank(rest) < full
    return out


def test_the_two_derivability_tests_agree_on_random_patterns():
    rng = np.random.default_rng(7)
    for _ in range(200):
        a = (rng.random((rng.integers(1, 8), 12)) < 0.4).astype(float)
        h = rng.random(12) < 0.5
        assert (derivable(a, h) == _derivable(None, a, h)).all(), (a, h)


@st.composite
def cross_tabs(draw):
    n_rows = draw(st.integers(1, 5))
    n_cols = draw(st.integers(1, 5))
    cells = draw(
        st.lists(
            st.one_of(st.integers(0, 12), st.integers(11, 500)),
            min_size=n_rows * n_cols,
            max_size=n_rows * n_cols,
        )
    )
    partitions = draw(
        st.sampled_from([[], [()], [["r"]], [["c"]], [["r"], ["c"]], [["r"], ["c"], ()]])
    )
    frame = pl.DataFrame(
        {
            "r": [i // n_cols for i in range(n_rows * n_cols)],
            "c": [i % n_cols for i in range(n_rows * n_cols)],
            "members": cells,
        }
    )
    return frame, partitions


@settings(max_examples=300, deadline=None)
@given(cross_tabs())
def test_no_small_cell_survives_and_none_can_be_solved_for(case):
    frame, partitions = case
    out = suppress_small_cells(frame, people=["members"], partitions=partitions, keep=["r", "c"])
    shown = out.filter(~pl.col("suppressed"))["members"].to_numpy()
    assert not ((shown >= 1) & (shown <= 10)).any()
    hidden = out["suppressed"].to_numpy()
    counts = frame["members"].to_numpy()
    assert (hidden >= ((counts >= 1) & (counts <= 10))).all()  # every small cell hidden
    exposed = _derivable(counts, _constraints(frame, partitions), hidden)
    assert not exposed.any(), (frame, partitions, hidden)
    # and the value of each hidden cell really is not pinned: another table fits the totals
    assert out.filter(pl.col("suppressed"))["members"].null_count() == int(hidden.sum())
