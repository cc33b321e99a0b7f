"""Lag triangles: paid amounts by incurred month and development lag, from the claims' own dates.

A medical claim line's incurred month is the month of its ``claim_start_date``, a fill's the
month of its ``dispensing_date``; its paid month is the month of its ``paid_date``; the lag is
paid month - incurred month (0 = paid in the month it was incurred). Only claims paid on or
before the valuation (as-of) date count.

A valuation in the middle of a month is handled by measuring paid months on a calendar that ends
on the as-of date: every paid date is shifted by the days from the as-of date to its month's end,
so the last paid "month" is whole and ends on the as-of date; incurred months are calendar months,
and the last incurred month is the last whole calendar month on or before the as-of date (a
month-end as-of date needs no shift). Every cell of the triangle then means the same thing for
every incurred month, which the development method needs.

The triangle is held as numpy arrays: ``paid[i, k]`` is the incremental amount of incurred month
``i`` at lag ``k`` (a cell is observed when ``i + k <= valuation``).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import polars as pl

from modeling.core.panel import Panel
from modeling.core.service_categories import CATEGORIES, PHARMACY
from modeling.errors import DatasetError, ParameterError

LAG_CATEGORIES = (*CATEGORIES, PHARMACY)


def month_index(column: str | pl.Expr) -> pl.Expr:
    """Months since January of year 0 of a date column: consecutive months differ by one."""
    c = pl.col(column) if isinstance(column, str) else column
    return c.dt.year().cast(pl.Int32) * 12 + c.dt.month().cast(pl.Int32) - 1


def month_of_index(column: str) -> pl.Expr:
    """The first day of the month of a month-index column (``month_index``'s inverse)."""
    return pl.date(pl.col(column) // 12, pl.col(column) % 12 + 1, 1)


def index_to_month(index: int) -> dt.date:
    return dt.date(index // 12, index % 12 + 1, 1)


def month_end(day: dt.date) -> dt.date:
    nxt = dt.date(day.year + day.month // 12, day.month % 12 + 1, 1)
    return nxt - dt.timedelta(days=1)


@dataclass(frozen=True)
class Valuation:
    """An as-of date and the calendar its triangles are read on.

    ``shift_days`` moves paid dates so that the paid month containing the as-of date ends on it;
    ``last_incurred`` is the month index of the last whole incurred month; ``paid_through`` the
    month index of the last (shifted) paid month.
    """

    as_of: dt.date
    shift_days: int
    last_incurred: int
    paid_through: int

    @classmethod
    def at(cls, as_of: dt.date) -> Valuation:
        if not isinstance(as_of, dt.date):
            raise ParameterError(f"as_of must be a date (got {as_of!r}); e.g. 2025-06-30.")
        end = month_end(as_of)
        paid_through = as_of.year * 12 + as_of.month - 1
        last = paid_through if as_of == end else paid_through - 1
        return cls(as_of, (end - as_of).days, last, paid_through)


MEASURES = ("paid", "claims")


SLICE_LINES = 3_000_000  # medical claim lines read at a time by ``paid_cells`` (about 0.75 GB)


def person_ranges(panel: Panel, *, lines: int | None = None) -> list[tuple[str, str]] | None:
    """Ranges of person ids (first, last) covering everyone in eligibility and the claims, each
    holding about ``lines`` medical claim lines (from the manifest's row count, people taken to
    have as many lines on average); None when one range would hold them all, or when the panel
    is already narrowed to a range of people."""
    size_lines = SLICE_LINES if lines is None else lines
    if size_lines < 1:
        raise ParameterError(f"lines per range of people must be 1 or more (got {size_lines}).")
    if panel.people is not None:
        return None
    rows = int(panel.manifest["tables"].get("medical_claim", {}).get("rows", 0))
    count = -(-rows // size_lines)
    if count <= 1:
        return None
    ids = (
        pl.concat(
            [
                panel.dataset.scan(t).select("person_id")
                for t in ("eligibility", "medical_claim", "pharmacy_claim")
                if panel.dataset.has(t)
            ]
        )
        .unique()
        .sort("person_id")
        .collect()["person_id"]
    )
    size = -(-ids.len() // count)
    return [(ids[i], ids[min(i + size, ids.len()) - 1]) for i in range(0, ids.len(), size)]


def paid_cells(
    panel: Panel, valuation: Valuation, *, slice_lines: int | None = None
) -> pl.DataFrame:
    """service_category, incurred (month index), lag, paid, claims: every claim paid by the as-of
    date, in one read of the claim lines.

    ``paid`` is dollars (summed in cents); ``claims`` the number of distinct claims (fills for
    pharmacy) with a line in the cell, so services can be completed with triangles of their own.
    Claims are counted as distinct 64-bit hashes of their ids: a collision between two ids in the
    same cell (probability about n^2 / 2^65, 3e-10 for 100,000 claims) would count them once.
    Counting the string ids themselves cost 134 s at 1,000,000 members (the measured reason).

    A big panel is read a range of people at a time (``person_ranges``, about ``slice_lines``
    lines each, ``SLICE_LINES`` by default) and the ranges' cells added: a claim belongs to one person, so its lines are in
    one range and the distinct counts add exactly. Memory then holds one range's lines (measured
    at 1,000,000 members: 18.3 GB peak read whole, see benchmarks/RESULTS.md)."""
    ranges = person_ranges(panel, lines=slice_lines)
    if ranges is None:
        return _cells_of(panel, valuation).collect().pipe(_dollars)
    parts = [_cells_of(panel.for_people(a, b), valuation).collect() for a, b in ranges]
    return (
        pl.concat(parts)
        .group_by("service_category", "incurred", "lag")
        .agg(pl.col("cents").sum(), pl.col("claims").sum())
        .pipe(_dollars)
    )


def _dollars(cells: pl.DataFrame) -> pl.DataFrame:
    return cells.with_columns((pl.col("cents") / 100).alias("paid")).drop("cents")


def _cells_of(panel: Panel, valuation: Valuation) -> pl.LazyFrame:
    """The cells of ``panel``'s people, paid still in whole cents (``cents``)."""
    shift = pl.duration(days=valuation.shift_days)
    medical = panel.scan("claim_lines").select(
        "claim_id",
        "service_category",
        month_index("claim_start_date").alias("incurred"),
        month_index(pl.col("paid_date") + shift).alias("paid_month"),
        pl.col("paid_date"),
        pl.col("paid_amount"),
    )
    pharmacy = panel.scan("pharmacy_claim").select(
        pl.col("claim_id"),
        pl.lit(PHARMACY).alias("service_category"),
        month_index("dispensing_date").alias("incurred"),
        month_index(pl.col("paid_date") + shift).alias("paid_month"),
        pl.col("paid_date"),
        pl.col("paid_amount"),
    )
    return (
        pl.concat([medical, pharmacy])
        .filter(
            pl.col("paid_date") <= valuation.as_of,
            pl.col("incurred") <= valuation.last_incurred,
            pl.col("paid_amount").is_not_null(),
        )
        .group_by(
            "service_category", "incurred", (pl.col("paid_month") - pl.col("incurred")).alias("lag")
        )
        .agg(
            (pl.col("paid_amount") * 100).round().cast(pl.Int64).sum().alias("cents"),
            pl.col("claim_id").hash().n_unique().cast(pl.Float64).alias("claims"),
        )
    )


def measure_cells(cells: pl.DataFrame, measure: str) -> pl.DataFrame:
    """``cells`` with the ``measure`` column (``paid`` or ``claims``) as ``paid``, the column the
    triangles are built from."""
    if measure not in MEASURES:
        raise ParameterError(f"measure must be one of {', '.join(MEASURES)} (got {measure!r}).")
    return cells if measure == "paid" else cells.with_columns(pl.col("claims").alias("paid"))


def monthly_member_months(panel: Panel) -> pl.DataFrame:
    """incurred (month index), member_months."""
    return (
        panel.scan("member_months")
        .group_by(month_index("year_month").alias("incurred"))
        .agg(pl.len().cast(pl.Float64).alias("member_months"))
        .sort("incurred")
        .collect()
    )


@dataclass(frozen=True)
class Triangle:
    """One category's incremental paid triangle: ``paid[i, k]`` for incurred month
    ``first + i`` at lag ``k``; cells with ``i + k > valuation`` are unobserved (0 here)."""

    service_category: str
    first: int  # month index of incurred month 0
    valuation: int  # paid-month index - first: the latest observed diagonal
    paid: np.ndarray  # (origins, lags) incremental

    @property
    def origins(self) -> int:
        return self.paid.shape[0]

    @property
    def observed(self) -> np.ndarray:
        i, k = np.indices(self.paid.shape)
        return np.asarray(i + k <= self.valuation)

    def cumulative(self) -> np.ndarray:
        """Cumulative paid, NaN where unobserved."""
        return np.where(self.observed, np.cumsum(self.paid, axis=1), np.nan)

    def latest(self) -> np.ndarray:
        """Paid to date of each incurred month (its latest diagonal)."""
        return np.cumsum(self.paid, axis=1)[np.arange(self.origins), self.latest_lag()]

    def latest_lag(self) -> np.ndarray:
        return np.minimum(self.valuation - np.arange(self.origins), self.paid.shape[1] - 1)

    def at(self, valuation: int) -> Triangle:
        """The triangle as it was at an earlier valuation (fewer diagonals and origins)."""
        if valuation > self.valuation:
            raise ParameterError("a triangle cannot be valued later than its own valuation")
        n = min(self.origins, valuation + 1)
        i, k = np.indices((n, valuation + 1))
        paid = np.where(i + k <= valuation, self.paid[:n, : valuation + 1], 0.0)
        return Triangle(self.service_category, self.first, valuation, paid)


def triangles(cells: pl.DataFrame, valuation: Valuation, first: int) -> dict[str, Triangle]:
    """One triangle per category with any paid amount, incurred months ``first`` ..
    ``valuation.last_incurred`` by lags 0 .. (paid-through - first)."""
    origins = valuation.last_incurred - first + 1
    if origins < 1:
        raise DatasetError(
            f"No whole incurred month on or before {valuation.as_of}: choose a later as-of date."
        )
    v = valuation.paid_through - first
    out = {}
    for category in LAG_CATEGORIES:
        c = cells.filter((pl.col("service_category") == category) & (pl.col("incurred") >= first))
        if c.height == 0 or float(c["paid"].abs().sum()) == 0.0:
            continue
        paid = np.zeros((origins, v + 1))
        np.add.at(
            paid,
            ((c["incurred"] - first).to_numpy(), c["lag"].to_numpy().clip(0, v)),
            c["paid"].to_numpy(),
        )
        out[category] = Triangle(category, first, v, paid)
    return out
