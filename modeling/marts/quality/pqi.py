"""AHRQ Prevention Quality Indicators (PQI 01-16 and the composites 90-93), area-level, per
100,000 adult person-years of the panel.

Rules (AHRQ QI SAS v2025, ``PQI_AREA_MEASURES.SAS``; code lists in ``value_sets.csv``):

- the numerator counts acute inpatient stays by principal diagnosis (PQI 16: an amputation
  procedure with a diabetes diagnosis in any position), with each PQI's exclusions;
- shared exclusions: transfers in (UB-04 point of origin 4, 5 or 6), MS-DRG 999 (ungroupable);
- ages: 18+ (PQI 05: 40+; PQI 15: 18-39), the age at admission;
- a composite counts a stay once when it meets any of its components;
- the denominator is exposure, member months / 12 at the age of each month (AHRQ uses the
  census population; Tuva counts persons, which overstates partial-year members);
- expected events are AHRQ's age-group x sex logistic model (``pqi_covariates.csv``, HCUP 2022
  reference population) applied to each month's age and sex, summed over person-years.
"""

from __future__ import annotations

import polars as pl

from modeling.core.panel import Panel
from modeling.marts.quality.base import age_at, any_code, member_months_of, people, stays
from modeling.marts.quality.definitions import matches, pqi_covariates

TRANSFER_SOURCES = ("4", "5", "6")
UNGROUPABLE_DRG = "999"
COMPONENTS = (
    "pqi_01",
    "pqi_03",
    "pqi_05",
    "pqi_07",
    "pqi_08",
    "pqi_11",
    "pqi_12",
    "pqi_14",
    "pqi_15",
    "pqi_16",
)
COMPOSITES = {
    "pqi_90": COMPONENTS,
    "pqi_91": ("pqi_11", "pqi_12"),
    "pqi_92": ("pqi_01", "pqi_03", "pqi_05", "pqi_07", "pqi_08", "pqi_14", "pqi_15", "pqi_16"),
    "pqi_93": ("pqi_01", "pqi_03", "pqi_14", "pqi_16"),
}
AGES = {"pqi_05": (40, None), "pqi_15": (18, 39)}
AGE_BANDS = (
    18,
    25,
    30,
    35,
    40,
    45,
    50,
    55,
    60,
    65,
    70,
    75,
    80,
    85,
)  # AHRQ AGECAT1..13, 85+ reference


def _pdx(value_set: str) -> pl.Expr:
    return matches(pl.col("principal_diagnosis"), value_set)


def component_flags() -> dict[str, pl.Expr]:
    """Each component PQI as a flag over a stay (before age and shared exclusions)."""
    immuno = any_code("diagnoses", "IMMUNID") | any_code("procedures", "IMMUNIP")
    cardiac = any_code("procedures", "ACSCARP")
    respan = any_code("diagnoses", "RESPAN")
    return {
        "pqi_01": _pdx("ACDIASD"),
        "pqi_03": _pdx("ACDIALD"),
        "pqi_05": (_pdx("ACCOPDD") | _pdx("ACSASTD")) & ~respan,
        "pqi_07": _pdx("ACSHYPD")
        & ~cardiac
        & ~(any_code("diagnoses", "ACSHY2D") & any_code("procedures", "DIALY2P")),
        "pqi_08": _pdx("MRTCHFD") & ~cardiac,
        "pqi_11": _pdx("ACSBACD") & ~any_code("diagnoses", "ACSBA2D") & ~immuno,
        "pqi_12": _pdx("ACSUTID") & ~any_code("diagnoses", "KIDNEY") & ~immuno,
        "pqi_14": _pdx("ACDIAUD"),
        "pqi_15": _pdx("ACSASTD") & ~respan,
        "pqi_16": any_code("procedures", "ACSLEAP")
        & any_code("diagnoses", "ACSLEAD")
        & ~_pdx("MDC14PRINDX")
        & ~any_code("diagnoses", "ACLEA2D"),
    }


def _in_age(measure_id: str, age: pl.Expr) -> pl.Expr:
    low, high = AGES.get(measure_id, (18, None))
    ok = age >= low
    return ok & (age <= high) if high is not None else ok


def pqi_stays(panel: Panel, year: int) -> pl.LazyFrame:
    """One row per acute stay admitted in ``year`` with a boolean column per PQI (components and
    composites), the age, and ``excluded`` for the shared exclusions."""
    s = stays(panel).filter(pl.col("admission_date").dt.year() == year)
    s = s.join(
        people(panel).select("person_id", "birth_date", "gender"), on="person_id", how="left"
    ).with_columns(age_at(pl.col("birth_date"), pl.col("admission_date")).alias("age"))
    shared = (
        pl.col("admit_source_code").fill_null("").is_in(TRANSFER_SOURCES)
        | (pl.col("drg_code").fill_null("") == UNGROUPABLE_DRG)
        | pl.col("principal_diagnosis").is_null()
        | pl.col("birth_date").is_null()
    )
    flags = component_flags()
    s = s.with_columns(shared.alias("excluded")).with_columns(
        [
            (flag & _in_age(m, pl.col("age")) & ~pl.col("excluded")).alias(m)
            for m, flag in flags.items()
        ]
    )
    return s.with_columns([pl.any_horizontal(parts).alias(m) for m, parts in COMPOSITES.items()])


def _logit_parameters(measure_id: str) -> dict[str, float] | None:
    rows_ = pqi_covariates().filter(pl.col("measure_id") == measure_id)
    if rows_.is_empty():
        return None
    return dict(zip(rows_["variable"].to_list(), rows_["estimate"].to_list(), strict=True))


def expected_probability(measure_id: str, age: pl.Expr, female: pl.Expr) -> pl.Expr | None:
    """AHRQ's expected annual probability for an adult of ``age`` and sex (None when the
    parameters of ``measure_id`` are not shipped): logit = intercept + female + AGECATk +
    female x FAGECATk, the 85+ male cell being the reference (PQI 15: ages 35-39)."""
    b = _logit_parameters(measure_id)
    if b is None:
        return None
    band = pl.lit(0, pl.Int32)
    for k, low in enumerate(AGE_BANDS[1:], start=1):
        band = pl.when(age >= low).then(pl.lit(k, pl.Int32)).otherwise(band)
    # band k-1 covers AGE_BANDS[k-1]..AGE_BANDS[k]-1 -> AGECATk; band 13 is 85+
    age_term = pl.lit(0.0)
    sex_term = pl.lit(0.0)
    for k in range(13):
        # a category AHRQ does not list is the model's reference (PQI 05: under 40 are out of
        # scope; PQI 15: 35-39 is the reference)
        age_term = pl.when(band == k).then(pl.lit(b.get(f"AGECAT{k + 1}", 0.0))).otherwise(age_term)
        sex_term = (
            pl.when(band == k).then(pl.lit(b.get(f"FAGECAT{k + 1}", 0.0))).otherwise(sex_term)
        )
    logit = (
        pl.lit(b["Intercept"])
        + female.cast(pl.Float64) * (pl.lit(b["FEMALE"]) + sex_term)
        + age_term
    )
    return 1.0 / (1.0 + (-logit).exp())


PQI_IDS = (*COMPONENTS, *COMPOSITES)


def _band(age: pl.Expr) -> pl.Expr:
    """AHRQ's age category index (0 for 18-24 ... 13 for 85+), -1 under 18."""
    band = pl.lit(-1, pl.Int32)
    for k, low in enumerate(AGE_BANDS):
        band = pl.when(age >= low).then(pl.lit(k, pl.Int32)).otherwise(band)
    return band


def _cells() -> pl.DataFrame:
    """measure_id, band, female, p: every PQI's age categories inside its ages (the ages' bounds
    are category bounds) for both sexes, with AHRQ's expected annual probability at that age
    and sex (null where the measure's parameters are not shipped)."""
    n = len(AGE_BANDS)
    grid = pl.DataFrame(
        {
            "band": list(range(n)) * 3,
            "age": list(AGE_BANDS) * 3,
            "top": [*(b - 1 for b in AGE_BANDS[1:]), None] * 3,
            "female": [False] * n
            + [True] * n
            + [None] * n,  # sex unknown: exposure, no expectation
        },
        schema={"band": pl.Int32, "age": pl.Int32, "top": pl.Int32, "female": pl.Boolean},
    )
    parts = []
    for m in PQI_IDS:
        low, high = AGES.get(m, (18, None))
        in_age = grid.filter(pl.col("age") >= low)
        if high is not None:
            in_age = in_age.filter(pl.col("top") <= high)
        p = expected_probability(m, pl.col("age"), pl.col("female"))
        parts.append(
            in_age.select(
                pl.lit(m).alias("measure_id"),
                "band",
                "female",
                (p if p is not None else pl.lit(None, pl.Float64)).alias("p"),
            )
        )
    return pl.concat(parts)


def pqi_rows(panel: Panel, year: int) -> pl.LazyFrame:
    """Measure rows for every PQI of ``year``: per member, person-years in the PQI's ages
    (denominator), qualifying stays (numerator) and AHRQ-expected stays; one pass over the
    year's member months (months by person, age category and sex, then every PQI's cells)."""
    months = (
        member_months_of(panel, year)
        .select("person_id", _band(pl.col("age")).alias("band"), pl.col("gender") == "female")
        .rename({"gender": "female"})
        .filter(pl.col("band") >= 0)
        .group_by("person_id", "band", "female")
        .agg(pl.len().alias("months"))
    )
    exposure = (
        months.join(_cells().lazy(), on=["band", "female"], how="inner", nulls_equal=True)
        .group_by("person_id", "measure_id")
        .agg(
            (pl.col("months").sum() / 12.0).alias("denominator"),
            pl.when(pl.col("p").is_not_null().any())
            .then((pl.col("p") * pl.col("months")).sum() / 12.0)
            .otherwise(None)
            .alias("expected"),
        )
    )
    counted = pqi_stays(panel, year).join(months.select("person_id"), on="person_id", how="semi")
    numerators = (
        counted.group_by("person_id")
        .agg([pl.col(m).sum().alias(m) for m in PQI_IDS])
        .unpivot(index="person_id", variable_name="measure_id", value_name="numerator")
    )
    joined = exposure.join(numerators, on=["person_id", "measure_id"], how="left").with_columns(
        pl.col("numerator").fill_null(0)
    )
    return joined.select(
        "person_id",
        pl.lit(year, pl.Int32).alias("year"),
        "measure_id",
        pl.col("denominator").cast(pl.Float64),
        pl.col("numerator").cast(pl.Float64),
        pl.col("expected").cast(pl.Float64),
    )
