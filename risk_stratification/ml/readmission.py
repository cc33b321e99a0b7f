"""30-day readmission risk at discharge, with the LACE index as the baseline.

Index stays and the readmission flag are ``modeling.core.encounters.inpatient_stays``'s. At each
index discharge the features are what is known then: length of stay, emergency admission,
Charlson comorbidity index (Quan's ICD-10 coding, diagnoses of the 12 months up to discharge),
ED visits in the 6 months before admission, inpatient stays in the 12 months before, discharge
destination, age, sex and dual status. The LACE index (van Walraven et al., CMAJ 2010) is
computed from the same L, A, C and E; its point table is ``data/lace.csv``.
"""

from __future__ import annotations

import datetime as dt
from functools import cache
from importlib.resources import files

import lightgbm as lgb
import polars as pl

from modeling.codes import FULL_OR_PARTIAL_DUAL
from modeling.core.panel import Panel
from modeling.dataset import Dataset

FEATURES = [
    "length_of_stay",
    "emergency_admission",
    "charlson_index",
    "ed_visits_6_months",
    "prior_stays_12_months",
    "to_skilled_nursing",
    "to_home_health",
    "age",
    "female",
    "dual",
    "lace",
]


@cache
def charlson_table() -> pl.DataFrame:
    raw = pl.read_csv(
        files("risk_stratification").joinpath("data", "charlson_quan_icd10.csv").read_bytes()
    )
    return raw.select(
        "condition",
        "weight",
        "superseded_by",
        pl.col("icd10_prefixes").str.split(" ").alias("prefix"),
    ).explode("prefix")


def charlson_index(diagnoses: pl.LazyFrame, keys: list[str]) -> pl.LazyFrame:
    """keys + charlson_index from (keys, diagnosis_code): the sum of the weights of the Charlson
    conditions present, a milder form counting only when its severe form is absent (Quan 2005)."""
    table = charlson_table()
    code = pl.col("diagnosis_code").str.replace(".", "", literal=True)
    hits = (
        pl.concat(
            [
                diagnoses.with_columns(code.str.slice(0, n).alias("prefix")).join(
                    table.filter(pl.col("prefix").str.len_chars() == n).lazy(), on="prefix"
                )
                for n in (3, 4)
            ]
        )
        .select(*keys, "condition", "weight", "superseded_by")
        .unique()
    )
    present = hits.select(*keys, pl.col("condition").alias("severe"))
    mild_dropped = hits.join(
        present, left_on=[*keys, "superseded_by"], right_on=[*keys, "severe"], how="anti"
    )
    return mild_dropped.group_by(keys).agg(pl.col("weight").sum().alias("charlson_index"))


@cache
def lace_points() -> pl.DataFrame:
    return pl.read_csv(files("risk_stratification").joinpath("data", "lace.csv").read_bytes())


def _points(column: str, component: str) -> pl.Expr:
    table = lace_points().filter(pl.col("component") == component)
    expr = None
    for r in table.iter_rows(named=True):
        cond = pl.col(column) >= r["low"]
        if r["high"] is not None:
            cond = cond & (pl.col(column) <= r["high"])
        expr = (
            pl.when(cond).then(pl.lit(r["points"]))
            if expr is None
            else expr.when(cond).then(pl.lit(r["points"]))
        )
    return expr.otherwise(pl.lit(0))


def lace_score() -> pl.Expr:
    """LACE from length_of_stay, emergency_admission, charlson_index and ed_visits_6_months."""
    acuity = lace_points().filter(pl.col("component") == "acuity")["points"][0]
    return (
        _points("length_of_stay", "length_of_stay")
        + pl.col("emergency_admission") * acuity
        + _points("charlson_index", "charlson")
        + _points("ed_visits_6_months", "ed_visits_6m")
    )


def discharges(source: Panel | Dataset, year: int) -> pl.DataFrame:
    """One row per index stay discharged in ``year``: features, LACE and ``readmitted_30d``.

    Stays, ED visits and diagnoses are the core's (``modeling.core.panel``); the Charlson index
    reads every diagnosis of the claims that started in the 365 days up to the discharge."""
    panel = Panel.of(source)
    stays = panel.scan("inpatient_stays").with_row_index("stay_id").collect().lazy()
    index = (
        stays.filter(pl.col("is_index") & (pl.col("discharge_date").dt.year() == year))
        .collect()
        .lazy()
    )
    keys = ["stay_id"]
    dx = (
        panel.scan("conditions", years=[year - 1, year])
        .filter(
            pl.col("claim_start_date").is_between(dt.date(year - 1, 1, 1), dt.date(year, 12, 31))
        )
        .join(index.select("person_id").unique(), on="person_id", how="semi")
        .select("person_id", "claim_id", "claim_start_date", "diagnosis_code")
        .join(index.select("stay_id", "person_id", "discharge_date"), on="person_id")
        .filter(
            (pl.col("claim_start_date") <= pl.col("discharge_date"))
            & (pl.col("claim_start_date") > pl.col("discharge_date") - pl.duration(days=365))
        )
        .select("stay_id", "diagnosis_code")
    )
    charlson = charlson_index(dx, keys)
    ed = (
        panel.scan("ed_visits")
        .join(index.select("stay_id", "person_id", "admission_date"), on="person_id")
        .filter(
            (pl.col("visit_date") < pl.col("admission_date"))
            & (pl.col("visit_date") >= pl.col("admission_date") - pl.duration(days=182))
        )
        .group_by("stay_id")
        .agg(pl.len().alias("ed_visits_6_months"))
    )
    prior = (
        stays.select("person_id", pl.col("admission_date").alias("prior_admit"))
        .join(index.select("stay_id", "person_id", "admission_date"), on="person_id")
        .filter(
            (pl.col("prior_admit") < pl.col("admission_date"))
            & (pl.col("prior_admit") >= pl.col("admission_date") - pl.duration(days=365))
        )
        .group_by("stay_id")
        .agg(pl.len().alias("prior_stays_12_months"))
    )
    people = (
        panel.scan("eligibility")
        .sort("enrollment_start_date")
        .group_by("person_id")
        .agg(
            pl.col("birth_date").last(), pl.col("gender").last(), pl.col("dual_status_code").last()
        )
    )
    frame = (
        index.join(charlson, on="stay_id", how="left")
        .join(ed, on="stay_id", how="left")
        .join(prior, on="stay_id", how="left")
        .join(people, on="person_id", how="left")
        .with_columns(
            pl.col("charlson_index").fill_null(0),
            pl.col("ed_visits_6_months").fill_null(0),
            pl.col("prior_stays_12_months").fill_null(0),
            (pl.col("admit_type_code") == "1").cast(pl.Int32).alias("emergency_admission"),
            pl.col("discharge_disposition_code")
            .is_in(["03", "61", "64"])
            .cast(pl.Int32)
            .alias("to_skilled_nursing"),
            (pl.col("discharge_disposition_code") == "06").cast(pl.Int32).alias("to_home_health"),
            ((pl.col("discharge_date") - pl.col("birth_date")).dt.total_days() // 365.25).alias(
                "age"
            ),
            (pl.col("gender") == "female").cast(pl.Int32).alias("female"),
            pl.col("dual_status_code").is_in(FULL_OR_PARTIAL_DUAL).cast(pl.Int32).alias("dual"),
        )
        .with_columns(lace_score().alias("lace"))
        .select(
            "stay_id",
            "person_id",
            "admission_date",
            "discharge_date",
            *FEATURES,
            pl.col("readmitted_30d").cast(pl.Int32),
        )
        .collect()
    )
    # a fixed row order (joins do not keep one): the bagged model is then the same, run after run
    return frame.with_columns(pl.col(c).cast(pl.Float64) for c in FEATURES).sort(
        "person_id", "admission_date", "discharge_date"
    )


def fit_readmission(train: pl.DataFrame, *, seed: int = 0) -> lgb.Booster:
    params = {
        "objective": "binary",
        "learning_rate": 0.03,
        "num_leaves": 7,
        "min_data_in_leaf": 100,
        "feature_fraction": 0.8,
        "bagging_fraction": 0.8,
        "bagging_freq": 1,
        "lambda_l2": 5.0,
        "verbose": -1,
        "num_threads": 2,
        "seed": seed,
        "deterministic": True,
    }
    return lgb.train(
        params,
        lgb.Dataset(
            train.select(FEATURES).to_numpy(),
            train["readmitted_30d"].to_numpy(),
            feature_name=FEATURES,
        ),
        300,
    )


def evaluate_readmission(booster: lgb.Booster, test: pl.DataFrame) -> pl.DataFrame:
    """model, metric, value: ROC-AUC and PR-AUC of the model and of LACE on held-out discharges."""
    from risk_stratification.ml.evaluation import event_metrics

    y = test["readmitted_30d"].to_numpy()
    rows = []
    for model, score in (
        ("model", booster.predict(test.select(FEATURES).to_numpy())),
        ("lace", test["lace"].to_numpy()),
    ):
        for metric, value in event_metrics(y, score).items():
            rows.append((model, metric, value))
    rows.append(("both", "index_discharges", float(test.height)))
    return pl.DataFrame(rows, schema=["model", "metric", "value"], orient="row")
