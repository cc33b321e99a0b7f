"""Small-cell suppression of aggregate outputs, with complementary suppression.

The rule (CMS Cell Size Suppression Policy, version of 05/08/2017, the row of
``modeling/data/cell_suppression.csv``): no cell describing 1 to 10 people (beneficiaries,
admissions, discharges, services...) is reported, and no cell may be reported that lets such a
value be derived from other reported cells; a zero may be shown.

Primary suppression blanks every row of an aggregate table in which a people count is from 1 to
``min_cell - 1``: its counts and every figure computed from them (a rate with its denominator
gives back the numerator). Complementary suppression then blanks further rows until no blanked
row can be solved for from the totals that are shown: the caller names the *partitions* of the
table, each a set of key columns whose rows add up to a total that is published (on the page,
in another table or as the table's own total row). A blanked row is derivable when its count is
fixed by those sums and the shown rows, i.e. when, in the linear system "each shown total = the
sum of its rows", the blanked row's column is not in the span of the other blanked rows'
columns (its unit vector lies in the row space). The greedy protection blanks, for each
derivable row, the smallest other row that shares one of its totals, until no blanked row is
derivable. It is not the optimal (least information lost) pattern that a statistical agency's
solver finds; it is a valid one, checked by the same rank test.

Limits, stated: the check is exact derivation from sums. Bounds (a blanked cell known to lie in
1..10 because the total is 12 and the other blanked cell is at least 2) are not protected
against; totals themselves go through this function where they are shown as rows.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from importlib.resources import files

import numpy as np
import polars as pl

from modeling.errors import ParameterError, SchemaError
from modeling.validation import require_columns

SUPPRESSED = "suppressed"


@dataclass(frozen=True)
class CellSizePolicy:
    """A cell-size policy: counts from 1 to ``min_cell - 1`` are not shown."""

    policy: str
    version_date: str
    min_cell: int
    zero_shown: bool
    source: str
    status: str


@cache
def _policies() -> pl.DataFrame:
    data = files("modeling").joinpath("data", "cell_suppression.csv").read_bytes()
    return pl.read_csv(data, infer_schema=False)


def cell_size_policy(policy: str = "cms") -> CellSizePolicy:
    """The cell-size policy ``policy`` (latest version) from ``modeling/data/cell_suppression.csv``."""
    rows = _policies().filter(pl.col("policy") == policy).sort("version_date")
    if rows.is_empty():
        known = ", ".join(sorted(set(_policies()["policy"].to_list())))
        raise ParameterError(
            f"No cell-size policy {policy!r} (modeling/data/cell_suppression.csv has {known}). "
            "Add its row with its source."
        )
    r = rows.row(-1, named=True)
    return CellSizePolicy(
        policy=r["policy"],
        version_date=r["version_date"],
        min_cell=int(r["min_cell"]),
        zero_shown=r["zero_shown"].lower() == "true",
        source=r["source"],
        status=r["status"],
    )


def totals_matrix(groups: Sequence[np.ndarray]) -> np.ndarray:
    """The constraint matrix of the shown totals: one row per (partition, group), one column per
    table row, 1 where the table row adds into that total. ``groups[k][i]`` is the group id of
    table row ``i`` in partition ``k``. A group of one row is left out: its total is that row,
    whose own display is suppressed or not by the same rule."""
    blocks = []
    for ids in groups:
        ids = np.asarray(ids)
        if ids.size == 0:
            continue
        _, codes, sizes = np.unique(ids, return_inverse=True, return_counts=True)
        block = np.zeros((codes.max() + 1, ids.size))
        block[codes, np.arange(ids.size)] = 1.0
        # a total of one row is that row: it is suppressed where it is shown, not through it
        blocks.append(block[sizes > 1])
    if not blocks:
        return np.zeros((0, len(groups[0]) if groups else 0))
    return np.vstack(blocks)


def derivable(constraints: np.ndarray, hidden: np.ndarray) -> np.ndarray:
    """Which hidden cells a reader can solve for, exactly, from the shown totals and cells.

    With the shown cells moved to the right-hand side, the hidden cells satisfy
    ``A_H x_H = b``. Hidden cell ``i`` is fixed by that system exactly when the unit vector
    ``e_i`` lies in the row space of ``A_H``, i.e. when its leverage (the squared norm of its
    coordinates in an orthonormal basis of the row space, from the SVD) is 1.
    """
    hidden = np.asarray(hidden, dtype=bool)
    out = np.zeros(hidden.size, dtype=bool)
    idx = np.flatnonzero(hidden)
    if constraints.shape[0] == 0 or idx.size == 0:
        return out
    sub = constraints[:, idx]
    sub = sub[sub.any(axis=1)]
    if sub.shape[0] == 0:
        return out
    _, sv, vt = np.linalg.svd(sub, full_matrices=False)
    rank = int((sv > sv.max() * max(sub.shape) * np.finfo(float).eps).sum())
    leverage = (vt[:rank] ** 2).sum(axis=0)
    out[idx] = leverage > 1 - 1e-8
    return out


def _pair_singletons(counts: np.ndarray, constraints: np.ndarray, hidden: np.ndarray) -> None:
    """The classic first pass: every shown total with exactly one hidden cell gets its
    smallest other cell hidden too (in place). It settles most tables in one sweep; the exact
    test in ``protect`` then repairs what it leaves (cells fixed through several totals)."""
    for row in constraints:
        members = np.flatnonzero(row > 0)
        if members.size < 2 or hidden[members].sum() != 1:
            continue
        others = members[~hidden[members]]
        size = np.where(counts[others] > 0, counts[others], np.inf)
        hidden[others[int(np.argmin(size))]] = True


def protect(counts: np.ndarray, constraints: np.ndarray, *, min_cell: int) -> np.ndarray:
    """The hidden cells: every count from 1 to ``min_cell - 1`` (primary), then complementary
    cells until none of the hidden ones is derivable from the shown totals.

    ``counts``: one people count per cell; ``constraints``: ``totals_matrix`` of the totals
    shown. Each step hides one shown cell that shares a total with a derivable one: the one
    that leaves the fewest derivable cells, the smallest count on a tie (zeros last).
    """
    counts = np.asarray(counts, dtype=float)
    hidden = (counts > 0) & (counts < min_cell)  # exposures (person-years) compared as they are
    _pair_singletons(counts, constraints, hidden)
    while True:
        exposed = derivable(constraints, hidden)
        if not exposed.any():
            return hidden
        touched = constraints[(constraints[:, exposed] > 0).any(axis=1)]
        candidates = np.flatnonzero(touched.any(axis=0) & ~hidden)
        if candidates.size == 0:
            raise ParameterError(
                "A suppressed cell stays derivable from the shown totals with every cell they add "
                "up from hidden: such a total must not be shown (suppress it where it is shown)."
            )
        hidden[_best_complement(counts, constraints, hidden, candidates)] = True


def _best_complement(
    counts: np.ndarray, constraints: np.ndarray, hidden: np.ndarray, candidates: np.ndarray
) -> int:
    """Of the (at most 4 smallest) candidates, the one that leaves the fewest hidden cells
    derivable; ties go to the smallest count, non-zero counts before zeros."""
    size = np.where(counts[candidates] > 0, counts[candidates], np.inf)
    order = candidates[np.lexsort((candidates, counts[candidates], size))][:4]
    best, best_key = int(order[0]), (np.inf, np.inf)
    for c in order:
        trial = hidden.copy()
        trial[c] = True
        key = (int(derivable(constraints, trial).sum()), 0 if counts[c] > 0 else 1)
        if key < best_key:
            best, best_key = int(c), key
    return best


def suppress_small_cells(
    frame: pl.DataFrame,
    *,
    people: Sequence[str],
    partitions: Sequence[Sequence[str]] = (),
    keep: Sequence[str] = (),
    cells: Mapping[str, str | pl.Expr] | None = None,
    min_cell: int | None = None,
) -> pl.DataFrame:
    """``frame`` with every row that describes fewer than ``min_cell`` people blanked, plus the
    complementary rows, and a boolean ``suppressed`` column (CMS cell-size policy).

    ``people``: the columns that count people (members, numerator, denominator, episodes...);
    a row is primary-suppressed when any of them is from 1 to ``min_cell - 1``.
    ``partitions``: for each total that is shown anywhere, the key columns whose rows add up to
    it (``()`` for the whole table's total); complementary suppression is computed over the
    first ``people`` column. Every numeric column other than ``keep`` (labels such as the year)
    is blanked in a suppressed row. ``cells``: figures that reveal a count of their own (a rate
    per 1,000 with the person-years beside it gives back the admissions): figure column -> the
    count (a column or an expression); the figure, and the count column when shown, are blanked
    wherever that count is from 1 to ``min_cell - 1``. ``min_cell`` defaults to the CMS
    policy's (11).
    """
    if not people:
        raise ParameterError("suppress_small_cells: name at least one people-count column.")
    require_columns(
        frame,
        [
            *people,
            *{c for p in partitions for c in p},
            *keep,
            *(cells or {}),
            *(v for v in (cells or {}).values() if isinstance(v, str)),
        ],
        where="suppress_small_cells",
    )
    for c in people:
        if not frame.schema[c].is_numeric():
            raise SchemaError(
                f"suppress_small_cells: the people count {c!r} is {frame.schema[c]}, not a number."
            )
    threshold = cell_size_policy().min_cell if min_cell is None else int(min_cell)
    if threshold < 1:
        raise ParameterError(
            f"suppress_small_cells: min_cell must be at least 1 (got {threshold})."
        )
    small = np.zeros(frame.height, dtype=bool)
    for c in people:
        v = frame[c].cast(pl.Float64).fill_null(0).to_numpy()
        small |= (v > 0) & (v < threshold)
    primary_counts = frame[people[0]].cast(pl.Float64).fill_null(0).to_numpy().copy()
    # rows flagged by another count column are forced below the threshold for the protection
    primary_counts = np.where(small & (primary_counts >= threshold), 0.5, primary_counts)
    groups = [
        (
            np.zeros(frame.height, dtype=np.int64)
            if not keys
            else frame.select(pl.struct(list(keys)).rank("dense")).to_series().to_numpy()
        )
        for keys in partitions
    ]
    constraints = totals_matrix(groups) if groups else np.zeros((0, frame.height))
    hidden = protect(primary_counts, constraints, min_cell=threshold) | small
    figures = [c for c, t in frame.schema.items() if t.is_numeric() and c not in keep]
    blank: dict[str, pl.Expr] = {c: pl.col(SUPPRESSED) for c in figures}
    for figure, revealed in (cells or {}).items():
        count = pl.col(revealed) if isinstance(revealed, str) else revealed
        small_count = ((count > 0) & (count < threshold)).fill_null(False)
        for c in (figure, revealed) if isinstance(revealed, str) else (figure,):
            if c in blank:
                blank[c] = blank[c] | small_count
    flagged = frame.with_columns(pl.Series(SUPPRESSED, hidden, dtype=pl.Boolean))
    return flagged.with_columns(
        pl.when(rule).then(None).otherwise(pl.col(c)).alias(c) for c, rule in blank.items()
    )
