"""Person-year features and next-year outcomes for machine-learned risk stratification.

Features describe year *t* and use nothing dated after December 31 of *t* (every claim is
filtered to that date first, so even readmission flags cannot look into *t+1*); outcomes are
year *t+1*. The panel of year *t* is the members enrolled in its December (the prospective
panel, as for CMS-HCC).

Two feature sets, kept apart:

- ``BENCHMARKING``: demographics and conditions only (age, sex, dual and entitlement status,
  CMS-HCC V28 flags, count and raw score, chronic-condition flags), for fair expected-cost
  comparisons;
- stratification (``feature_names(kind="stratification")``): the above plus cost by service
  category (the year, its second half, the year before and the change), inpatient stays, days
  since the last discharge, readmissions, ED visits, skilled nursing stays, pharmacy fills and
  distinct drugs, months enrolled.
"""

from __future__ import annotations

import datetime as dt
from functools import cache, partial
from importlib.resources import files

import polars as pl

from modeling.codes import FULL_DUAL, PARTIAL_DUAL
from modeling.core.conditions import person_diagnoses_of
from modeling.core.encounters import ed_visits, inpatient_stays, snf_stays
from modeling.core.member_months import december_enrollees
from modeling.core.panel import Panel
from modeling.core.service_categories import CATEGORIES
from modeling.core.spend import money_sum
from modeling.dataset import Dataset
from modeling.errors import DatasetError, ParameterError
from modeling.progress import Progress

LINE_COLUMNS = [
    "person_id",
    "claim_id",
    "claim_line_number",
    "claim_type",
    "claim_start_date",
    "claim_end_date",
    "admission_date",
    "discharge_date",
    "discharge_disposition_code",
    "admit_type_code",
    "drg_code",
    "bill_type_code",
    "revenue_center_code",
    "hcpcs_code",
    "place_of_service_code",
    "paid_amount",
]
COST_CATEGORIES = {c: "cost_" + c.replace("/", "_").replace(" ", "_") for c in CATEGORIES}


@cache
def ccw_conditions() -> pl.DataFrame:
    """condition, prefix (one row per ICD-10 prefix) of the CCW chronic conditions."""
    raw = pl.read_csv(files("modeling").joinpath("data", "ccw_conditions.csv").read_bytes())
    return raw.select("condition", pl.col("icd10_prefixes").str.split(" ").alias("prefix")).explode(
        "prefix"
    )


@cache
def v28_payment_hccs() -> tuple[int, ...]:
    from risk_stratification.hcc.tables import load_tables

    return tuple(sorted(load_tables("V28").hcc_coefficients["cc"].unique().to_list()))


def _demographic_columns() -> list[str]:
    return [
        "age",
        "female",
        "full_dual",
        "partial_dual",
        "disabled",
        "originally_disabled",
        "esrd",
        "long_term_institutional",
        "new_enrollee",
    ]


def feature_names(kind: str = "stratification") -> list[str]:
    """The model's input columns, in order; ``kind`` is "benchmarking" or "stratification"."""
    conditions = [
        "v28_raw_score",
        "hcc_count",
        *[f"hcc_{c}" for c in v28_payment_hccs()],
        "chronic_condition_count",
        *[f"cc_{c}" for c in sorted(ccw_conditions()["condition"].unique())],
    ]
    benchmarking = _demographic_columns() + conditions
    if kind == "benchmarking":
        return benchmarking
    if kind != "stratification":
        raise ParameterError(f"kind must be 'benchmarking' or 'stratification' (got {kind!r})")
    return benchmarking + [
        "months_enrolled",
        "cost_total",
        "cost_medical",
        "cost_pharmacy",
        *COST_CATEGORIES.values(),
        "cost_second_half",
        "cost_prior_year",
        "cost_change",
        "inpatient_stays",
        "inpatient_days",
        "readmissions",
        "days_since_discharge",
        "ed_visits",
        "ed_visits_last_6_months",
        "snf_stays",
        "pharmacy_fills",
        "distinct_drugs",
    ]


def _year_end(year: int) -> dt.date:
    return dt.date(year, 12, 31)


def _demographics(
    panel: Panel,
    year: int,
    diagnoses: pl.DataFrame,
    december: pl.DataFrame,
    institutional: pl.DataFrame | None,
) -> pl.DataFrame:
    """Members enrolled in December of ``year`` and their HCC-model demographics and V28 HCCs
    (the payment year ``year + 1`` scored from ``year``'s diagnoses).

    ``diagnoses``: the year's ``person_diagnoses_of`` the panel's conditions; ``december``: the
    panel's ``december_enrollees`` of ``year``; ``institutional``: its
    ``long_term_institutional`` rows of ``year`` when the caller holds them."""
    from risk_stratification.hcc.engine import score
    from risk_stratification.hcc.inputs import hcc_people

    people = hcc_people(panel, year + 1, december=december, long_term_institutional=institutional)
    scored = score(
        people,
        diagnoses.filter(pl.col("risk_adjustment")).select("person_id", "diagnosis_code"),
        model="V28",
        payment_year=year + 1,
    )
    hccs = scored.hcc_terms.select("person_id", pl.col("cc").cast(pl.Int32))
    flags = hccs.with_columns(
        pl.lit(1, dtype=pl.Int8).alias("v"), ("hcc_" + pl.col("cc").cast(pl.String)).alias("name")
    ).pivot(on="name", index="person_id", values="v")
    status = people.select(
        "person_id",
        pl.col("months").alias("months_enrolled"),
        pl.col("new_enrollee").cast(pl.Int8),
        pl.col("lti").cast(pl.Int8).alias("long_term_institutional"),
        pl.col("esrd").cast(pl.Int8),
    )
    demo = scored.scores.select(
        "person_id",
        "age",
        pl.col("raw_score").alias("v28_raw_score"),
        pl.col("hccs").list.len().alias("hcc_count"),
    )
    extra = people.select(
        "person_id",
        (pl.col("gender") == "female").cast(pl.Int8).alias("female"),
        pl.col("dual_status_code").is_in(FULL_DUAL).cast(pl.Int8).alias("full_dual"),
        pl.col("dual_status_code").is_in(PARTIAL_DUAL).cast(pl.Int8).alias("partial_dual"),
        pl.col("orec").fill_null("0").alias("_orec"),
    )
    out = (
        demo.join(extra, on="person_id")
        .join(status, on="person_id")
        .with_columns(
            ((pl.col("age") < 65) & (pl.col("_orec") != "0")).cast(pl.Int8).alias("disabled"),
            ((pl.col("age") >= 65) & (pl.col("_orec") == "1"))
            .cast(pl.Int8)
            .alias("originally_disabled"),
        )
        .drop("_orec")
    )
    out = out.join(flags, on="person_id", how="left")
    missing = [f"hcc_{c}" for c in v28_payment_hccs() if f"hcc_{c}" not in out.columns]
    return out.with_columns(*[pl.lit(0, dtype=pl.Int8).alias(c) for c in missing]).with_columns(
        pl.col(f"hcc_{c}").fill_null(0).cast(pl.Int8) for c in v28_payment_hccs()
    )


def _chronic_conditions(diagnoses: pl.DataFrame) -> pl.DataFrame:
    """person_id, condition, v: the CCW chronic conditions of any diagnosis (on any claim) of
    ``diagnoses`` (person_id, diagnosis_code), matched on 3- and 4-character ICD-10 prefixes."""
    cond = ccw_conditions()
    code = pl.col("diagnosis_code").str.replace(".", "", literal=True)
    dx = diagnoses.lazy().select(
        "person_id", code.str.slice(0, 3).alias("p3"), code.str.slice(0, 4).alias("p4")
    )
    hits = (
        pl.concat(
            [
                dx.join(cond.lazy(), left_on="p3", right_on="prefix"),
                dx.join(cond.lazy(), left_on="p4", right_on="prefix"),
            ]
        )
        .select("person_id", "condition")
        .unique()
    )
    return hits.with_columns(pl.lit(1, dtype=pl.Int8).alias("v")).collect()


# the core tables kept by year that the features read of the feature year
FEATURE_YEAR_TABLES = ("medical_spend", "person_diagnoses", "long_term_institutional")


def _features_of(
    panel: Panel,
    year: int,
    december: pl.DataFrame,
    *,
    lines: pl.LazyFrame | None = None,
    tables: dict[str, pl.DataFrame] | None = None,
    has_prior_year: bool | None = None,
) -> pl.DataFrame:
    """The features of every member of ``panel`` (a whole panel or a range of its people) whose
    ``december_enrollees`` of ``year`` are ``december``. ``lines`` and ``tables``: the
    people's ``claim_lines`` of ``year`` and their ``FEATURE_YEAR_TABLES`` of it, when the
    caller holds them (read from the panel otherwise)."""
    end, start = _year_end(year), dt.date(year, 1, 1)
    # spend by category comes from the core's ``medical_spend``; of the lines themselves the
    # encounters below need the institutional ones only (stays, ED visits and SNF stays are
    # institutional claims), read once and reused
    if lines is None:
        lines = panel.scan("claim_lines").filter(pl.col("claim_start_date").is_between(start, end))
    claims = (
        lines.filter(pl.col("claim_type") == "institutional")
        .select(*LINE_COLUMNS, "service_category")
        .collect()
        .lazy()
    )
    if tables is None:
        tables = {
            table: panel.scan(table, years=[year]).filter(pl.col("year") == year).collect()
            for table in FEATURE_YEAR_TABLES
        }
    spend = tables["medical_spend"]
    diagnoses = person_diagnoses_of(tables["person_diagnoses"].lazy(), year).collect()
    demo = _demographics(panel, year, diagnoses, december, tables["long_term_institutional"])
    ids = demo.select("person_id").lazy()

    by_category = (
        spend.select("person_id", "service_category", "paid_amount")
        .with_columns(pl.col("service_category").replace(COST_CATEGORIES))
        .pivot(
            on="service_category", index="person_id", values="paid_amount", aggregate_function="sum"
        )
    )
    second_half = (  # the exact sum of the categories' exact sums: the lines' exact sum
        spend.lazy()
        .group_by("person_id")
        .agg(money_sum("paid_second_half").alias("cost_second_half"))
    )
    prior = _medical_paid(panel, year - 1).collect()
    # computed from the fills when the core has not derived them (storing both years would
    # cost the first reader more than it saves)
    pharmacy = panel.scan("pharmacy_use", years=[year - 1, year], derive=False)
    rx = pharmacy.filter(pl.col("year") == year).select(
        "person_id",
        pl.col("paid_amount").alias("cost_pharmacy"),
        pl.col("fills").alias("pharmacy_fills"),
        "distinct_drugs",
    )
    rx_prior = (
        pharmacy.filter(pl.col("year") == year - 1)
        .select("person_id", pl.col("paid_amount").alias("_rx_prior"))
        .collect()
    )
    if has_prior_year is None:
        has_prior_year = prior.height > 0 or rx_prior.height > 0

    stays = inpatient_stays(claims, data_end=pl.lit(end)).filter(pl.col("year") == year)
    stay_features = stays.group_by("person_id").agg(
        pl.len().alias("inpatient_stays"),
        pl.col("length_of_stay").sum().alias("inpatient_days"),
        pl.col("readmitted_30d").sum().alias("readmissions"),
        (pl.lit(end) - pl.col("discharge_date").max())
        .dt.total_days()
        .alias("days_since_discharge"),
    )
    ed = (
        ed_visits(claims)
        .filter(pl.col("year") == year)
        .group_by("person_id")
        .agg(
            pl.len().alias("ed_visits"),
            (pl.col("visit_date") >= dt.date(year, 7, 1)).sum().alias("ed_visits_last_6_months"),
        )
    )
    snf = (
        snf_stays(claims)
        .filter(pl.col("year") == year)
        .group_by("person_id")
        .agg(pl.len().alias("snf_stays"))
    )
    chronic = _chronic_conditions(diagnoses)
    chronic_wide = chronic.with_columns(("cc_" + pl.col("condition")).alias("name")).pivot(
        on="name", index="person_id", values="v"
    )

    out = demo.join(by_category, on="person_id", how="left")
    for frame in (second_half, rx, rx_prior.lazy(), stay_features, ed, snf):
        out = out.join(
            frame.join(ids, on="person_id", how="semi").collect(), on="person_id", how="left"
        )
    out = out.join(prior, on="person_id", how="left").join(chronic_wide, on="person_id", how="left")
    names = feature_names()
    zero_fill = [
        c
        for c in names
        if c
        not in ("days_since_discharge", "cost_prior_year", "cost_change", "age", "v28_raw_score")
    ]
    for c in names:
        if c not in out.columns and c not in (
            "cost_total",
            "cost_medical",
            "cost_prior_year",
            "cost_change",
            "chronic_condition_count",
        ):
            out = out.with_columns(pl.lit(0).alias(c))
    out = out.with_columns(pl.col(c).fill_null(0) for c in zero_fill if c in out.columns)
    medical = pl.sum_horizontal(list(COST_CATEGORIES.values()))
    prior_total = (
        (pl.col("_med_prior").fill_null(0) + pl.col("_rx_prior").fill_null(0))
        if has_prior_year
        else pl.lit(None, dtype=pl.Float64)
    )
    out = (
        out.with_columns(medical.alias("cost_medical"))
        .with_columns(
            (pl.col("cost_medical") + pl.col("cost_pharmacy")).alias("cost_total"),
            prior_total.alias("cost_prior_year"),
            pl.sum_horizontal([c for c in names if c.startswith("cc_")]).alias(
                "chronic_condition_count"
            ),
        )
        .with_columns((pl.col("cost_total") - pl.col("cost_prior_year")).alias("cost_change"))
    )
    casts = {c: pl.Float64 for c in names}
    # a fixed row order: models trained with row bagging are then the same, run after run
    return out.select(
        "person_id", pl.lit(year).alias("year"), *[pl.col(c).cast(casts[c]) for c in names]
    ).sort("person_id")


def _medical_paid(panel: Panel, year: int) -> pl.LazyFrame:
    """person_id, _med_prior: each person's medical paid total of ``year`` (the exact sum of the
    lines), from the core's ``medical_spend`` when that year is derived, else from the lines
    (their paid total needs no category, so they are read, not categorized: deriving the
    year's spend would cost more than it saves the first time)."""
    if panel.is_derived("medical_spend", year):
        lines = panel.scan("medical_spend", years=[year]).filter(pl.col("year") == year)
    else:
        lines = panel.scan("claim_lines").filter(pl.col("claim_start_date").dt.year() == year)
    return lines.group_by("person_id").agg(money_sum("paid_amount").alias("_med_prior"))


def december_members(source: Panel | Dataset, year: int) -> pl.Series:
    """Sorted ids of the members enrolled in December of ``year`` (``december_enrollees``)."""
    return (
        december_enrollees(source.scan("eligibility"), year)
        .select(pl.col("person_id").sort())
        .collect()["person_id"]
    )


def features(
    source: Panel | Dataset,
    feature_year: int,
    *,
    slice_people: int = 150_000,
    progress: Progress | None = None,
) -> pl.DataFrame:
    """One row per member enrolled in December of ``feature_year``: person_id, year and every feature of
    ``feature_names()`` (stratification set; the benchmarking set is a subset).

    A panel of more than ``slice_people`` members is read in slices of that many people (a
    range of ids each, so Parquet skips the other people's row groups): memory stays bounded
    and the time grows linearly with the panel.
    """
    panel = Panel.of(source, progress=progress)
    december = (
        december_enrollees(panel.scan("eligibility"), feature_year).sort("person_id").collect()
    )
    ids = december["person_id"]
    if ids.is_empty():
        raise DatasetError(f"No members enrolled in December {feature_year} in {panel.path}.")
    if not all(panel.is_derived(table, feature_year) for table in FEATURE_YEAR_TABLES):
        # the core tables every slice reads, derived in the core's own slices of people, and
        # each slice's features computed from the same read of its lines
        parts = panel.derive_reading(
            FEATURE_YEAR_TABLES,
            year=feature_year,
            columns=LINE_COLUMNS,
            read=partial(
                _features_of_slice, feature_year, december, panel.has_year(feature_year - 1)
            ),
        )
        return pl.concat(parts)
    if ids.len() <= slice_people:
        return _features_of(panel, feature_year, december)
    parts = []
    has_prior = panel.has_year(feature_year - 1)  # the panel's, not a slice's
    for start in range(0, ids.len(), slice_people):
        part = december.slice(start, slice_people)
        if progress:
            progress(f"features for members {start + 1:,}-{start + part.height:,} of {ids.len():,}")
        first, last = part["person_id"][0], part["person_id"][-1]
        parts.append(
            _features_of(
                panel.for_people(first, last), feature_year, part, has_prior_year=has_prior
            )
        )
    return pl.concat(parts)


def _features_of_slice(
    year: int,
    december: pl.DataFrame,
    has_prior_year: bool,
    part: Panel,
    lines: pl.LazyFrame,
    tables: dict[str, pl.DataFrame],
) -> pl.DataFrame | None:
    """The features of the members of ``december`` in ``part``, from its lines and tables of
    ``year`` (``Panel.derive_reading``); None when none of them is in it."""
    members = part.of_people(december.lazy()).collect()
    if members.is_empty():
        return None
    return _features_of(
        part, year, members, lines=lines, tables=tables, has_prior_year=has_prior_year
    )


def outcomes(source: Panel | Dataset, outcome_year: int) -> pl.DataFrame:
    """person_id, months (enrolled in ``outcome_year``), cost (medical + pharmacy paid), annual_cost
    (cost x 12 / months), admitted (any acute inpatient stay), ed_visit (any ED visit)."""
    panel = Panel.of(source)
    mm = (
        panel.scan("member_months")
        .filter(pl.col("year") == outcome_year)
        .group_by("person_id")
        .agg(pl.len().alias("months"))
    )
    med = (  # the exact sum of the categories' exact sums: the lines' exact sum
        panel.scan("medical_spend", years=[outcome_year])
        .filter(pl.col("year") == outcome_year)
        .group_by("person_id")
        .agg(money_sum("paid_amount").alias("_med"))
    )
    rx = (
        panel.scan("pharmacy_use", years=[outcome_year])
        .filter(pl.col("year") == outcome_year)
        .select("person_id", pl.col("paid_amount").alias("_rx"))
    )
    admitted = (
        panel.scan("inpatient_stays")
        .filter(pl.col("year") == outcome_year)
        .select("person_id")
        .unique()
        .with_columns(pl.lit(1.0).alias("admitted"))
    )
    ed = (
        panel.scan("ed_visits")
        .filter(pl.col("year") == outcome_year)
        .select("person_id")
        .unique()
        .with_columns(pl.lit(1.0).alias("ed_visit"))
    )
    return (
        mm.join(med, on="person_id", how="left")
        .join(rx, on="person_id", how="left")
        .join(admitted, on="person_id", how="left")
        .join(ed, on="person_id", how="left")
        .with_columns(
            (pl.col("_med").fill_null(0) + pl.col("_rx").fill_null(0)).alias("cost"),
            pl.col("admitted").fill_null(0.0),
            pl.col("ed_visit").fill_null(0.0),
        )
        .with_columns((pl.col("cost") * 12 / pl.col("months")).alias("annual_cost"))
        .select("person_id", "months", "cost", "annual_cost", "admitted", "ed_visit")
        .collect()
    )


def modeling_frame(source: Panel | Dataset, feature_year: int) -> pl.DataFrame:
    """Features of ``feature_year`` joined to outcomes of the next year, for members enrolled at
    least one month of it; ``top5`` flags the top 5% of annualized cost in the outcome year."""
    panel = Panel.of(source)
    frame = (
        features(panel, feature_year)
        .join(outcomes(panel, feature_year + 1), on="person_id", how="inner")
        .sort("person_id")
    )
    threshold = frame["annual_cost"].quantile(0.95, interpolation="linear")
    return frame.with_columns((pl.col("annual_cost") >= threshold).cast(pl.Float64).alias("top5"))
