"""Cancer screening from claims, named generically (not the licensed HEDIS measures).

- ``breast_cancer_screening``: women 52-74 at December 31, enrolled in December with at least
  11 member months in the year (one month's gap allowed, as HEDIS's 45-day gap); met by a
  mammogram (CPT/HCPCS list curated here) from October 1 two years before through December 31
  (27 months, as the eCQM CMS125). Excluded: bilateral mastectomy (or a left and a right
  unilateral one) any time through the year; hospice in the year.
- ``colorectal_cancer_screening``: members 46-75 at December 31, enrolled as above; met by a
  colonoscopy in the year or the 9 before, a flexible sigmoidoscopy or CT colonography in the
  year or the 4 before, a FIT-DNA test in the year or the 2 before, or an FOBT in the year (as
  the eCQM CMS130). A panel with fewer years of claims looks back only as far as its data go.
  Excluded: colorectal cancer or total colectomy any time through the year; hospice in the year.
"""

from __future__ import annotations

import datetime as dt

import polars as pl

from modeling.core.panel import Panel
from modeling.marts.quality.base import (
    coded_claims,
    hospice_people,
    members_of,
    procedure_claims,
    rows,
)

MIN_MONTHS = 11
COLORECTAL_TESTS = (  # value set, years before the measurement year it still counts
    ("colonoscopy", 9),
    ("flexible_sigmoidoscopy", 4),
    ("ct_colonography", 4),
    ("fit_dna", 2),
    ("fobt", 0),
)


def _eligible(panel: Panel, year: int, low: int, high: int, *, women: bool) -> pl.LazyFrame:
    m = members_of(panel, year).filter(
        pl.col("in_december")
        & (pl.col("months") >= MIN_MONTHS)
        & pl.col("age").is_between(low, high)
    )
    if women:
        m = m.filter(pl.col("gender") == "female")
    return m.select("person_id").join(hospice_people(panel, year), on="person_id", how="anti")


def _ever(
    panel: Panel, value_set: str, through: dt.date, *, procedures: bool = True
) -> pl.LazyFrame:
    parts = [coded_claims(panel, value_set, through=through)]
    if procedures:
        parts.append(procedure_claims(panel, value_set, through=through))
    return pl.concat(parts).select("person_id").unique()


def _met(panel: Panel, value_set: str, start: dt.date, end: dt.date) -> pl.LazyFrame:
    return (
        coded_claims(panel, value_set, through=end)
        .filter(pl.col("service_date") >= start)
        .select("person_id")
        .unique()
    )


def breast_screening_rows(panel: Panel, year: int) -> pl.LazyFrame:
    """Eligible women with ``numerator`` 1 when screened in the 27-month window."""
    end = dt.date(year, 12, 31)
    eligible = _eligible(panel, year, 52, 74, women=True)
    bilateral = _ever(panel, "bilateral_mastectomy", end)
    excluded = pl.concat([bilateral, _unilateral_both(panel, end)]).unique()
    met = _met(panel, "mammography", dt.date(year - 2, 10, 1), end).with_columns(
        pl.lit(1.0).alias("numerator")
    )
    return (
        eligible.join(excluded, on="person_id", how="anti")
        .join(met, on="person_id", how="left")
        .select("person_id", pl.lit(1.0).alias("denominator"), pl.col("numerator").fill_null(0.0))
    )


RIGHT_SIDE = ("Z9011", "0HTT0ZZ")  # acquired absence of right breast; resection of right breast


def _unilateral_both(panel: Panel, end: dt.date) -> pl.LazyFrame:
    """person_id of members with a left and a right unilateral mastectomy on record."""
    codes = pl.concat(
        [
            coded_claims(panel, "unilateral_mastectomy", through=end, with_code=True),
            procedure_claims(panel, "unilateral_mastectomy", through=end, with_code=True),
        ]
    )
    side = pl.when(pl.col("code").is_in(RIGHT_SIDE)).then(pl.lit("right")).otherwise(pl.lit("left"))
    return (
        codes.with_columns(side.alias("side"))
        .group_by("person_id")
        .agg(pl.col("side").n_unique().alias("sides"))
        .filter(pl.col("sides") >= 2)
        .select("person_id")
    )


def colorectal_screening_rows(panel: Panel, year: int) -> pl.LazyFrame:
    """Eligible members with ``numerator`` 1 when any test falls in its window."""
    end = dt.date(year, 12, 31)
    eligible = _eligible(panel, year, 46, 75, women=False)
    excluded = pl.concat(
        [
            _ever(panel, "colorectal_cancer", end, procedures=False),
            _ever(panel, "total_colectomy", end),
        ]
    ).unique()
    met = (
        pl.concat(
            [_met(panel, vs, dt.date(year - back, 1, 1), end) for vs, back in COLORECTAL_TESTS]
        )
        .unique()
        .with_columns(pl.lit(1.0).alias("numerator"))
    )
    return (
        eligible.join(excluded, on="person_id", how="anti")
        .join(met, on="person_id", how="left")
        .select("person_id", pl.lit(1.0).alias("denominator"), pl.col("numerator").fill_null(0.0))
    )


def screening_rows(panel: Panel, year: int) -> pl.LazyFrame:
    return pl.concat(
        [
            rows(breast_screening_rows(panel, year), "breast_cancer_screening", year),
            rows(colorectal_screening_rows(panel, year), "colorectal_cancer_screening", year),
        ]
    )
