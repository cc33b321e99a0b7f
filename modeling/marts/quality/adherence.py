"""Medication adherence and statin use from Part D fills, by PQA's method; drug classes come
from an NDC-to-class table that is an input (PQA's medication value sets are licensed and not
shipped; the synthetic panel's own table is ``synthetic_ndc_classes.csv``).

Proportion of days covered (PQA):

- the treatment period runs from the first fill of the class in the year (the index date) to
  December 31, or to the death date if earlier;
- the denominator: two or more fills of the class on distinct dates in the year, and an index
  date more than 90 days before the end of the year (a treatment period of at least 91 days);
- overlapping fills of the same drug are shifted: a refill starts the day after the earlier
  supply ends; fills of different drugs of the class cover a day once; supply past the period's
  end is not counted;
- inpatient and SNF days: days inside a stay are removed from the period and from the covered
  days (the facility supplies the drugs; PQA's adjustment). The supply of a fill that runs
  through a stay is not carried beyond it (a simplification: PQA shifts it);
- met when covered days / period days >= 0.80.

Exclusions: ESRD and hospice in the year for all three; insulin users (diabetes), users of
sacubitril/valsartan (RAS). SUPD: members 40-75 at December 31 with two or more fills of
diabetes medication (any class of diabetes drugs) in the year, met by a statin fill in the year;
excluded ESRD and hospice. SPC (received statin therapy): men 21-75 and women 40-75 with an AMI
coded in the prior year or ischemic vascular disease coded in both the year and the prior year;
met by a statin fill in the year; excluded ESRD and hospice.
"""

from __future__ import annotations

import datetime as dt

import polars as pl

from modeling.core.panel import Panel
from modeling.marts.quality.base import (
    diagnosis_hits,
    esrd_people,
    hospice_people,
    members_of,
    memoized,
    rows,
)
from modeling.marts.quality.definitions import (
    check_ndc_classes,
    synthetic_ndc_classes,
)

THRESHOLD = 0.80
MIN_PERIOD_DAYS = 91
PDC_MEASURES = {
    "pdc_diabetes": ("diabetes_noninsulin", "insulin"),
    "pdc_ras": ("ras", "sacubitril_valsartan"),
    "pdc_statins": ("statin", None),
}


def fills_of(panel: Panel, year: int, ndc_classes: pl.DataFrame | None) -> pl.LazyFrame:
    """The year's fills with their class: person_id, drug_class, drug, dispensing_date, days_supply."""
    table = check_ndc_classes(ndc_classes if ndc_classes is not None else synthetic_ndc_classes())
    if not panel.dataset.has("pharmacy_claim"):
        return pl.LazyFrame(
            schema={
                "person_id": pl.String,
                "drug_class": pl.String,
                "drug": pl.String,
                "dispensing_date": pl.Date,
                "days_supply": pl.Int64,
            }
        )
    return memoized(panel, ("fills", year, id(ndc_classes)), lambda: _fills(panel, year, table))


def _fills(panel: Panel, year: int, table: pl.DataFrame) -> pl.LazyFrame:
    return (
        panel.scan("pharmacy_claim")
        .filter(pl.col("dispensing_date").dt.year() == year)
        .join(table.lazy(), on="ndc_code", how="inner")
        .select(
            "person_id",
            "drug_class",
            pl.col("ndc_code").alias("drug"),
            "dispensing_date",
            pl.col("days_supply").fill_null(0).cast(pl.Int64).clip(lower_bound=1),
        )
    )


MAX_SUPPLY_DAYS = 1_000
"""Days supply is capped here before shifting: a treatment period is at most 366 days, so a fill
of more days covers the rest of it either way and every later fill starts past its end."""
_SEGMENT = 2**32  # offset per run of keys: segmented running maxima of values under 2**31


def _runs(keys: list[str]) -> pl.Expr:
    """On a frame sorted by ``keys``: the number (1, 2, ...) of each row's run of equal keys."""
    first = pl.any_horizontal([pl.col(k) != pl.col(k).shift(1) for k in keys]).fill_null(True)
    return first.cast(pl.Int64).cum_sum()


def _running_max(value: pl.Expr, run: pl.Expr) -> pl.Expr:
    """The running maximum of ``value`` within each run (runs numbered in row order), as one
    running maximum over the frame: each run is lifted above the previous ones by ``_SEGMENT``
    (exact while ``|value| < 2**31``)."""
    lift = run * _SEGMENT
    return (value + lift).cum_max() - lift


def shifted_supply(fills: pl.LazyFrame) -> pl.LazyFrame:
    """Each fill's covered interval [start, end] (day numbers) after shifting overlapping fills of
    the same drug: start_i = max(dispensed_i, end_{i-1} + 1), computed in closed form as
    D_i + max_j<=i(s_j - D_j), D the cumulative supply before fill i (running sums and maxima
    over the fills sorted by person, class, drug and date, restarted at each drug)."""
    keys = ["person_id", "drug_class", "drug"]
    supply = pl.col("days_supply").clip(upper_bound=MAX_SUPPLY_DAYS)
    total = supply.cum_sum() - supply  # supply dispensed before this row, over the whole frame
    first_total = pl.when(pl.col("_run") != pl.col("_run").shift(1).fill_null(0)).then(total)
    return (
        fills.sort([*keys, "dispensing_date"])
        .with_columns(_runs(keys).alias("_run"))
        .with_columns((total - first_total.forward_fill()).alias("_before"))
        .with_columns(
            (
                pl.col("_before")
                + _running_max(
                    pl.col("dispensing_date").cast(pl.Int64) - pl.col("_before"), pl.col("_run")
                )
            ).alias("start")
        )
        .with_columns((pl.col("start") + supply - 1).alias("end"))
        .drop("_run", "_before")
    )


def _merged(intervals: pl.LazyFrame, keys: list[str]) -> pl.LazyFrame:
    """Union of [start, end] intervals per ``keys`` as disjoint intervals: sorted, an interval
    opens a new block when it starts after the running end of its keys' earlier ones + 1; a
    block runs from its first start to the running end at its last row."""
    run = pl.col("_run")
    running_end = _running_max(pl.col("end"), run)
    new = (run != run.shift(1)).fill_null(True) | (pl.col("start") > running_end.shift(1) + 1)
    return (
        intervals.sort([*keys, "start", "end"])
        .with_columns(_runs(keys).alias("_run"))
        .with_columns(new.alias("_new"), running_end.alias("_end"))
        .with_columns(pl.when(pl.col("_new")).then(pl.col("start")).forward_fill().alias("_start"))
        .filter(pl.col("_new").shift(-1).fill_null(True))
        .select(*keys, pl.col("_start").alias("start"), pl.col("_end").alias("end"))
    )


def _facility_days(panel: Panel) -> pl.LazyFrame:
    """person_id, start, end (day numbers) of inpatient and SNF stays, merged."""
    ip = panel.scan("inpatient_stays").select(
        "person_id",
        pl.col("admission_date").cast(pl.Int64).alias("start"),
        pl.col("discharge_date").cast(pl.Int64).alias("end"),
    )
    snf = panel.scan("snf_stays").select(
        "person_id",
        pl.col("start_date").cast(pl.Int64).alias("start"),
        pl.col("end_date").cast(pl.Int64).alias("end"),
    )
    return _merged(pl.concat([ip, snf]), ["person_id"])


def _overlap(a: pl.LazyFrame, b: pl.LazyFrame, keys: list[str]) -> pl.LazyFrame:
    """Days shared by the interval sets ``a`` (keys, start, end) and ``b`` (person_id, start,
    end), both disjoint within their keys, summed per ``keys``."""
    joined = a.join(b.rename({"start": "b_start", "end": "b_end"}), on="person_id")
    days = (pl.min_horizontal("end", "b_end") - pl.max_horizontal("start", "b_start") + 1).clip(
        lower_bound=0
    )
    return joined.group_by(keys).agg(days.sum().alias("days"))


def pdc(panel: Panel, year: int, *, ndc_classes: pl.DataFrame | None = None) -> pl.LazyFrame:
    """``proportion_of_days_covered`` of the panel's fills, members and facility stays."""
    return proportion_of_days_covered(
        fills_of(panel, year, ndc_classes),
        members_of(panel, year).select("person_id", "death_date"),
        _facility_days(panel),
        year,
    )


def proportion_of_days_covered(
    fills: pl.LazyFrame, members: pl.LazyFrame, facility: pl.LazyFrame, year: int
) -> pl.LazyFrame:
    """person_id, drug_class, index_date, period_days, covered_days, pdc for every member and
    class with two or more fills on distinct dates in ``year`` and a period of 91+ days.

    ``fills``: person_id, drug_class, drug, dispensing_date, days_supply (the year's fills);
    ``members``: person_id, death_date; ``facility``: person_id, start, end (day numbers of
    inpatient and SNF days, disjoint per person)."""
    year_last = dt.date(year, 12, 31)
    keys = ["person_id", "drug_class"]
    periods = (
        fills.group_by(keys)
        .agg(
            pl.col("dispensing_date").min().alias("index_date"),
            pl.col("dispensing_date").n_unique().alias("fill_dates"),
        )
        .join(members, on="person_id", how="inner")
        .with_columns(
            pl.min_horizontal(
                pl.lit(year_last), pl.col("death_date").fill_null(pl.lit(year_last))
            ).alias("period_end")
        )
        .with_columns(
            ((pl.col("period_end") - pl.col("index_date")).dt.total_days() + 1).alias("span")
        )
        .filter((pl.col("fill_dates") >= 2) & (pl.col("span") >= MIN_PERIOD_DAYS))
        .with_columns(
            pl.col("index_date").cast(pl.Int64).alias("p_start"),
            pl.col("period_end").cast(pl.Int64).alias("p_end"),
        )
    )
    covered = (
        shifted_supply(fills)
        .join(periods.select(*keys, "p_start", "p_end"), on=keys, how="inner")
        .with_columns(
            pl.max_horizontal("start", "p_start").alias("start"),
            pl.min_horizontal("end", "p_end").alias("end"),
        )
        .filter(pl.col("end") >= pl.col("start"))
        .select(*keys, "start", "end")
    )
    coverage = _merged(covered, keys)
    in_period = periods.select(
        *keys, pl.col("p_start").alias("start"), pl.col("p_end").alias("end")
    )
    facility_in_period = _overlap(in_period, facility, keys).rename({"days": "facility_days"})
    covered_in_facility = _overlap(coverage, facility, keys).rename({"days": "covered_facility"})
    covered_days = coverage.group_by(keys).agg(
        (pl.col("end") - pl.col("start") + 1).sum().alias("covered")
    )
    return (
        periods.join(covered_days, on=keys, how="left")
        .join(facility_in_period, on=keys, how="left")
        .join(covered_in_facility, on=keys, how="left")
        .with_columns(pl.col("covered", "facility_days", "covered_facility").fill_null(0))
        .with_columns(
            (pl.col("span") - pl.col("facility_days")).alias("period_days"),
            (pl.col("covered") - pl.col("covered_facility")).alias("covered_days"),
        )
        .with_columns(
            pl.when(pl.col("period_days") > 0)
            .then(pl.col("covered_days") / pl.col("period_days"))
            .otherwise(None)
            .alias("pdc")
        )
        .select(*keys, "index_date", "period_days", "covered_days", "pdc")
    )


def pdc_rows(panel: Panel, year: int, *, ndc_classes: pl.DataFrame | None = None) -> pl.LazyFrame:
    """Measure rows of the three PDC measures."""
    table = pdc(panel, year, ndc_classes=ndc_classes).collect().lazy()  # read by three measures
    fills = fills_of(panel, year, ndc_classes)
    excluded = pl.concat([esrd_people(panel, year), hospice_people(panel, year)]).unique()
    out = []
    for measure_id, (target, excluding) in PDC_MEASURES.items():
        m = table.filter((pl.col("drug_class") == target) & pl.col("pdc").is_not_null())
        m = m.join(excluded, on="person_id", how="anti")
        if excluding is not None:
            users = fills.filter(pl.col("drug_class") == excluding).select("person_id").unique()
            m = m.join(users, on="person_id", how="anti")
        out.append(
            rows(
                m.select(
                    "person_id",
                    pl.lit(1.0).alias("denominator"),
                    (pl.col("pdc") >= THRESHOLD).cast(pl.Float64).alias("numerator"),
                ),
                measure_id,
                year,
            )
        )
    return pl.concat(out)


def _statin_users(fills: pl.LazyFrame) -> pl.LazyFrame:
    return (
        fills.filter(pl.col("drug_class") == "statin")
        .select("person_id")
        .unique()
        .with_columns(pl.lit(1.0).alias("numerator"))
    )


def supd_rows(panel: Panel, year: int, *, ndc_classes: pl.DataFrame | None = None) -> pl.LazyFrame:
    fills = fills_of(panel, year, ndc_classes)
    diabetic = (
        fills.filter(pl.col("drug_class").is_in(["diabetes_noninsulin", "insulin"]))
        .group_by("person_id")
        .agg(pl.len().alias("fills"))
        .filter(pl.col("fills") >= 2)
        .select("person_id")
    )
    excluded = pl.concat([esrd_people(panel, year), hospice_people(panel, year)]).unique()
    eligible = (
        members_of(panel, year)
        .filter(pl.col("age").is_between(40, 75))
        .select("person_id")
        .join(diabetic, on="person_id", how="semi")
        .join(excluded, on="person_id", how="anti")
    )
    return eligible.join(_statin_users(fills), on="person_id", how="left").select(
        "person_id", pl.lit(1.0).alias("denominator"), pl.col("numerator").fill_null(0.0)
    )


def spc_rows(panel: Panel, year: int, *, ndc_classes: pl.DataFrame | None = None) -> pl.LazyFrame:
    fills = fills_of(panel, year, ndc_classes)
    ami = diagnosis_hits(panel, "ascvd_event")
    ivd = diagnosis_hits(panel, "ivd")
    prior_ami = ami.filter(pl.col("year") == year - 1).select("person_id")
    ivd_this = ivd.filter(pl.col("year") == year).select("person_id")
    ivd_prior = ivd.filter(pl.col("year") == year - 1).select("person_id")
    ascvd = pl.concat(
        [prior_ami, ivd_this.unique().join(ivd_prior.unique(), on="person_id", how="semi")]
    ).unique()
    excluded = pl.concat([esrd_people(panel, year), hospice_people(panel, year)]).unique()
    ages = (
        pl.when(pl.col("gender") == "female")
        .then(pl.col("age").is_between(40, 75))
        .otherwise(pl.col("age").is_between(21, 75))
    )
    eligible = (
        members_of(panel, year)
        .filter(ages)
        .select("person_id")
        .join(ascvd, on="person_id", how="semi")
        .join(excluded, on="person_id", how="anti")
    )
    return eligible.join(_statin_users(fills), on="person_id", how="left").select(
        "person_id", pl.lit(1.0).alias("denominator"), pl.col("numerator").fill_null(0.0)
    )


def adherence_rows(
    panel: Panel, year: int, *, ndc_classes: pl.DataFrame | None = None
) -> pl.LazyFrame:
    return pl.concat(
        [
            pdc_rows(panel, year, ndc_classes=ndc_classes),
            rows(supd_rows(panel, year, ndc_classes=ndc_classes), "supd", year),
            rows(spc_rows(panel, year, ndc_classes=ndc_classes), "spc_statin", year),
        ]
    )
