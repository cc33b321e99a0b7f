"""All quality measures of a year, by panel or by attributed provider, with confidence
intervals and the published benchmark each result sits at; and the care gaps behind them.

Rates: per 100,000 person-years (PQIs), per 100 person-years (MCC admissions), percent
(readmission, mortality, follow-up, reconciliation, screening, adherence), days (ALOS).
Confidence intervals (95%): Wilson's score interval for percentages; Garwood's exact Poisson
interval for events per exposure; a normal interval of the mean for days. Observed-to-expected
is shown where the measure has an expectation: AHRQ's age/sex model (PQIs) and the reference
population's MS-DRG mean (ALOS); the risk-adjusted outcome measures (readmission, mortality,
MCC admissions) are expected by the logistic models of ``risk_stratification.quality``.

Benchmarks (``benchmarks.csv``): the 2026 Star cut points give a star level (1-5), the MIPS
administrative-claims percentiles give a performance percentile (linear between the published
points; for inverse measures, lower rates are higher percentiles), AHRQ's reference rates are
shown beside the PQIs.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache

import numpy as np
import polars as pl
from scipy import stats

from modeling.core.panel import Panel
from modeling.errors import ParameterError
from modeling.marts.quality.adherence import adherence_rows
from modeling.marts.quality.base import QualityPanel, attributed_provider
from modeling.marts.quality.definitions import MEASURE_IDS, benchmarks, measure, measure_table
from modeling.marts.quality.hospital import data_end, drg_mean_stay, hospital_rows
from modeling.marts.quality.pqi import pqi_rows
from modeling.marts.quality.screening import screening_rows
from modeling.suppression import cell_size_policy
from modeling.suppression import suppress_small_cells as suppress_table
from modeling.validation import require_columns

SCALE = {
    "per_100k_person_years": 100_000.0,
    "per_100_person_years": 100.0,
    "percent": 100.0,
    "days": 1.0,
}
UNATTRIBUTED = "unattributed"
RESULT_COLUMNS = (
    "measure_id",
    "measure",
    "year",
    "provider_npi",
    "numerator",
    "denominator",
    "rate",
    "expected",
    "observed_to_expected",
    "ci_low",
    "ci_high",
    "benchmark_percentile",
    "star_level",
    "benchmark",
    "unit",
)


SLICE_PEOPLE = 100_000
"""The measures of a bigger panel run by ranges of this many people (memory holds one range)."""


def measure_rows(
    panel: Panel | object,
    year: int,
    *,
    ndc_classes: pl.DataFrame | None = None,
    slice_people: int = SLICE_PEOPLE,
) -> pl.LazyFrame:
    """Every measure's rows for ``year`` (person_id, year, measure_id, denominator, numerator,
    expected) with the member's attributed ``provider_npi``.

    Every measure is person-local but for two facts of the whole panel, computed first: the
    end of the observed data (follow-up run-out) and each MS-DRG's mean length of stay (ALOS's
    expectation). A panel of more than ``slice_people`` people is therefore measured a range of
    ``slice_people`` person ids at a time (Parquet skips the other people's row groups), the
    ranges' rows concatenated: the same rows as at once, with one range in memory."""
    whole = Panel.of(panel)  # type: ignore[arg-type]
    if slice_people < 1:
        raise ParameterError(f"slice_people must be at least 1 (got {slice_people}).")
    if year not in whole.years():
        raise ParameterError(
            f"The dataset has no enrollment in {year}; its years are "
            f"{', '.join(str(y) for y in whole.years())}."
        )
    ranges = person_ranges(whole, slice_people) if whole.people is None else []
    if len(ranges) <= 1:
        return _rows_of(QualityPanel.wrap(whole), year, ndc_classes)
    reference, end = drg_mean_stay(whole, year), data_end(whole)
    parts = [
        _rows_of(
            QualityPanel.wrap(whole.for_people(first, last)),
            year,
            ndc_classes,
            reference=reference,
            end=end,
        ).collect()
        for first, last in ranges
    ]
    return pl.concat(parts, how="vertical_relaxed").lazy()


def _rows_of(
    panel: QualityPanel,
    year: int,
    ndc_classes: pl.DataFrame | None,
    *,
    reference: pl.DataFrame | None = None,
    end: dt.date | None = None,
) -> pl.LazyFrame:
    parts = pl.concat(
        [
            pqi_rows(panel, year),
            hospital_rows(panel, year, reference=reference, end=end),
            screening_rows(panel, year),
            adherence_rows(panel, year, ndc_classes=ndc_classes),
        ]
    )
    return parts.join(attributed_provider(panel, year), on="person_id", how="left").with_columns(
        pl.col("provider_npi").fill_null(UNATTRIBUTED)
    )


def person_ranges(panel: Panel, size: int) -> list[tuple[str, str]]:
    """Ranges of person ids (first, last), inclusive, of ``size`` people each, covering every
    person id of the enrollment and of the medical and pharmacy claims: consecutive ranges of
    the sorted ids, so that no id of any table falls between two ranges."""
    ids = (
        pl.concat(
            [
                panel.dataset.scan(t).select("person_id")
                for t in ("eligibility", "medical_claim", "pharmacy_claim")
            ]
        )
        .unique()
        .drop_nulls()
        .sort("person_id")
        .collect()["person_id"]
    )
    return [(ids[i], ids[min(i + size, ids.len()) - 1]) for i in range(0, ids.len(), size)]


def _wilson(k: np.ndarray, n: np.ndarray, z: float = 1.959964) -> tuple[np.ndarray, np.ndarray]:
    with np.errstate(invalid="ignore", divide="ignore"):
        p = k / n
        centre = (p + z * z / (2 * n)) / (1 + z * z / n)
        half = z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return centre - half, centre + half


def _garwood(k: np.ndarray, exposure: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    with np.errstate(invalid="ignore", divide="ignore"):
        low = np.where(k > 0, stats.chi2.ppf(0.025, 2 * k) / 2, 0.0) / exposure
        high = stats.chi2.ppf(0.975, 2 * k + 2) / 2 / exposure
    return low, high


def _intervals(unit: str, agg: pl.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    k = agg["numerator"].to_numpy().astype(float)
    n = agg["denominator"].to_numpy().astype(float)
    if unit == "percent":
        return _wilson(k, n)
    if unit == "days":
        sq = agg["numerator_sq"].to_numpy().astype(float)
        with np.errstate(invalid="ignore", divide="ignore"):
            mean = k / n
            sd = np.sqrt(np.maximum(sq / n - mean * mean, 0.0) * n / np.maximum(n - 1, 1))
            half = 1.959964 * sd / np.sqrt(n)
        return mean - half, mean + half
    return _garwood(k, n)


@dataclass(frozen=True)
class BenchmarkPosition:
    percentile: float | None
    star: int | None
    text: str


@dataclass(frozen=True)
class _Benchmarks:
    """One measure's published benchmarks, read once: Star cut points (level, value) in value
    order, MIPS rate percentiles (values, percentiles) in value order, AHRQ's reference rate."""

    stars: tuple[tuple[int, float], ...]
    star_year: str
    rates: tuple[float, ...]
    percentiles: tuple[float, ...]
    mips_year: str
    reference: str


@cache
def _benchmarks_of(measure_id: str) -> _Benchmarks:
    table = benchmarks().filter(pl.col("measure_id") == measure_id)
    cuts = table.filter(pl.col("basis") == "star").sort("value")
    pts = table.filter(pl.col("basis") == "rate_percentile").sort("value")
    refs = table.filter(~pl.col("basis").is_in(["star", "rate_percentile"]))
    reference = (
        f"AHRQ ref. {float(refs['value'][0]):,.1f} (v{refs['benchmark_year'][0]})"
        if not refs.is_empty()
        else ""
    )
    return _Benchmarks(
        stars=tuple(
            (int(level), float(value))
            for level, value in zip(cuts["level"].to_list(), cuts["value"].to_list(), strict=True)
        ),
        star_year=str(cuts["benchmark_year"][0]) if not cuts.is_empty() else "",
        rates=tuple(float(v) for v in pts["value"].to_list()),
        percentiles=tuple(float(x) for x in pts["level"].to_list()),
        mips_year=str(pts["benchmark_year"][0]) if not pts.is_empty() else "",
        reference=reference,
    )


def benchmark_position(measure_id: str, rate: float | None) -> BenchmarkPosition:
    """Where ``rate`` (in the measure's unit) sits among the measure's published benchmarks:
    its star level among Star cut points, its performance percentile among MIPS rate
    percentiles (linear between the published points; both when both are published, e.g. the
    screening measures), or AHRQ's reference rate beside it."""
    if rate is None or (isinstance(rate, float) and math.isnan(rate)):
        return BenchmarkPosition(None, None, "")
    b = _benchmarks_of(measure_id)
    star: int | None = None
    percentile: float | None = None
    texts = []
    if b.stars:
        star = 1
        for level, value in b.stars:
            if rate >= value:
                star = level
        texts.append(f"{star} stars (Stars {b.star_year})")
    if b.rates:
        rate_pct = float(np.interp(rate, b.rates, b.percentiles))
        perf = rate_pct if measure(measure_id).higher_is_better else 100.0 - rate_pct
        percentile = round(perf, 1)
        texts.append(f"P{perf:.0f} (MIPS {b.mips_year})")
    if b.reference:
        texts.append(b.reference)
    return BenchmarkPosition(percentile, star, "; ".join(texts))


def quality_results(
    panel: Panel | object,
    year: int,
    *,
    by: str = "panel",
    ndc_classes: pl.DataFrame | None = None,
    measure_frame: pl.DataFrame | None = None,
) -> pl.DataFrame:
    """One row per measure (per measure and provider with ``by="provider"``) with the columns of
    ``RESULT_COLUMNS``. ``measure_frame`` reuses rows already computed by ``measure_rows``."""
    if by not in ("panel", "provider"):
        raise ParameterError(f"by must be 'panel' or 'provider' (got {by!r}).")
    frame = (
        measure_frame
        if measure_frame is not None
        else measure_rows(panel, year, ndc_classes=ndc_classes).collect()
    )
    keys = ["measure_id"] if by == "panel" else ["measure_id", "provider_npi"]
    agg = frame.group_by(keys).agg(
        pl.col("numerator").sum(),
        pl.col("denominator").sum(),
        (pl.col("numerator") ** 2).sum().alias("numerator_sq"),
        pl.when(pl.col("expected").is_not_null().any())
        .then(pl.col("expected").sum())
        .otherwise(None)
        .alias("expected"),
    )
    defs = measure_table().select("measure_id", "measure", "unit")
    agg = defs.join(agg, on="measure_id", how="inner")
    if by == "panel":
        agg = agg.with_columns(pl.lit(None, pl.String).alias("provider_npi"))
    out = []
    for unit, part in agg.group_by("unit", maintain_order=True):
        scale = SCALE[str(unit[0])]
        low, high = _intervals(str(unit[0]), part)
        out.append(
            part.with_columns(
                (pl.col("numerator") / pl.col("denominator") * scale).alias("rate"),
                pl.Series("ci_low", low * scale),
                pl.Series("ci_high", high * scale),
                (pl.col("numerator") / pl.col("expected")).alias("observed_to_expected"),
                (pl.col("expected") / pl.col("denominator") * scale).alias("expected_rate")
                if str(unit[0]) != "days"
                else (pl.col("expected") / pl.col("denominator")).alias("expected_rate"),
            )
        )
    result = pl.concat(out, how="diagonal_relaxed")
    positions = [
        benchmark_position(m, r)
        for m, r in zip(result["measure_id"].to_list(), result["rate"].to_list(), strict=True)
    ]
    result = result.with_columns(
        pl.Series("benchmark_percentile", [p.percentile for p in positions], dtype=pl.Float64),
        pl.Series("star_level", [p.star for p in positions], dtype=pl.Int32),
        pl.Series("benchmark", [p.text for p in positions], dtype=pl.String),
        pl.lit(year, pl.Int32).alias("year"),
        pl.col("expected_rate").alias("expected"),
    )
    order = {m: i for i, m in enumerate(MEASURE_IDS)}
    return (
        result.with_columns(pl.col("measure_id").replace_strict(order).alias("_o"))
        .sort("_o", "provider_npi", nulls_last=False)
        .select(RESULT_COLUMNS)
    )


PROCESS_MEASURES = tuple(m for m in MEASURE_IDS if measure(m).kind == "process")


def care_gaps(
    panel: Panel | object,
    year: int,
    measure_id: str,
    *,
    ndc_classes: pl.DataFrame | None = None,
    risk_tiers: pl.DataFrame | None = None,
    measure_frame: pl.DataFrame | None = None,
) -> pl.DataFrame:
    """The members in the denominator of process measure ``measure_id`` who have not met it:
    person_id, measure_id, year, provider_npi and, when ``risk_tiers`` (person_id, risk_tier)
    is given, their risk tier (and any other column of it); one row per member (a member with several open events, e.g.
    discharges without follow-up, appears once with their count in ``open_events``)."""
    if measure_id not in PROCESS_MEASURES:
        raise ParameterError(
            f"{measure_id!r} is not a process measure with care gaps; choose one of "
            f"{', '.join(PROCESS_MEASURES)}."
        )
    frame = (
        measure_frame
        if measure_frame is not None
        else measure_rows(panel, year, ndc_classes=ndc_classes).collect()
    )
    gaps = (
        frame.filter(
            (pl.col("measure_id") == measure_id)
            & (pl.col("denominator") > 0)
            & (pl.col("numerator") == 0)
        )
        .group_by("person_id", "measure_id", "year", "provider_npi")
        .agg(pl.len().alias("open_events"))
        .with_columns(pl.lit(measure(measure_id).measure).alias("measure"))
    )
    if risk_tiers is not None:
        require_columns(risk_tiers, ("person_id", "risk_tier"), where="care_gaps risk_tiers")
        gaps = gaps.join(risk_tiers, on="person_id", how="left").with_columns(
            pl.col("risk_tier").fill_null("unscored")
        )
    return gaps.sort("provider_npi", "person_id")


SMALL_CELL = cell_size_policy().min_cell
"""CMS's cell-size rule for released aggregates: no cell (count) from 1 to 10 is shown
(``modeling/data/cell_suppression.csv``)."""


def suppress_small_cells(
    results: pl.DataFrame,
    *,
    min_cell: int = SMALL_CELL,
    partitions: Sequence[Sequence[str]] = (),
) -> pl.DataFrame:
    """``results`` with every figure of a row (its numeric columns but the year) blanked when
    its numerator or denominator counts from 1 to ``min_cell - 1`` (person-year exposures are
    compared as they are), and a ``suppressed`` flag; what a published or shared table shows.
    ``partitions``: the key columns of totals shown elsewhere (``()``: the table's own total),
    for complementary suppression (``modeling.suppression.suppress_small_cells``, the one rule)."""
    return suppress_table(
        results,
        people=["denominator", "numerator"],
        partitions=partitions,
        keep=[c for c in ("year",) if c in results.columns],
        min_cell=min_cell,
    )
