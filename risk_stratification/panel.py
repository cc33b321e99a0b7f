"""Score a dataset's panel for a payment year: every model in the year's blend, then the
payment-year layer (normalized, blended and payment scores)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import polars as pl

from modeling.dataset import Dataset
from risk_stratification.hcc import HccScores, load_tables, payment_scores, payment_year, score
from risk_stratification.inputs import hcc_inputs


@dataclass
class PanelScores:
    payment_year: int
    scores: pl.DataFrame  # one row per person: segment, raw/normalized per model, blended, payment, HCCs
    by_model: dict[str, HccScores]
    files: tuple[str, ...]


def score_panel(dataset: Dataset, year: int, *, progress: Callable[[str], None] | None = None) -> PanelScores:
    say = progress or (lambda _m: None)
    params = payment_year(year)
    say(f"reading demographics and risk-adjustment-eligible diagnoses from {year - 1}")
    people, diagnoses = hcc_inputs(dataset, year)
    by_model: dict[str, HccScores] = {}
    for model in params["model"].to_list():
        say(f"scoring {people.height:,} people with CMS-HCC {model}")
        by_model[model] = score(people, diagnoses, model=model, payment_year=year)
    pay = payment_scores({m: r.scores for m, r in by_model.items()}, year)
    last = params["model"].to_list()[-1]
    base = by_model[last].scores.select("person_id", "segment", "age", pl.col("hccs").alias(f"hccs_{last}"))
    files = tuple(sorted({f for r in by_model.values() for f in r.files}))
    return PanelScores(year, base.join(pay, on="person_id", how="left"), by_model, files)


def scorable_payment_years(dataset: Dataset) -> list[int]:
    """Payment years that can be scored: the year after a year the dataset covers, with parameters."""
    from modeling.member_months import member_months
    from risk_stratification.hcc import payment_year_parameters

    covered = member_months(dataset.scan("eligibility")).select(pl.col("year").unique()).collect()["year"].to_list()
    with_parameters = set(payment_year_parameters()["payment_year"].to_list())
    return sorted(y + 1 for y in covered if y + 1 in with_parameters)


def segment_mix(result: PanelScores) -> pl.DataFrame:
    """Members and mean payment score by segment."""
    return (
        result.scores.group_by("segment")
        .agg(pl.len().alias("members"), pl.col("payment_score").mean().alias("mean_payment_score"))
        .with_columns((pl.col("members") / pl.col("members").sum()).alias("share"))
        .sort("members", descending=True)
    )


def top_hccs(result: PanelScores, model: str | None = None, n: int = 15) -> pl.DataFrame:
    """The most prevalent payment HCCs of a model (default: the payment year's newest)."""
    model = model or list(result.by_model)[-1]
    terms = result.by_model[model].hcc_terms
    members = result.scores.height
    labels = load_tables(model).labels
    return (
        terms.group_by("cc").agg(pl.len().alias("members"), pl.col("coefficient").mean().alias("mean_coefficient"))
        .join(labels, on="cc", how="left")
        .with_columns((pl.col("members") / members).alias("prevalence"), (pl.lit("HCC") + pl.col("cc").cast(pl.String)).alias("hcc"))
        .sort("members", descending=True)
        .head(n)
        .select("hcc", "label", "members", "prevalence", "mean_coefficient")
    )


def explain_member(result: PanelScores, person_id: str) -> dict[str, pl.DataFrame]:
    """Line-by-line explanation of one member's score in every model of the payment year, and the
    payment-year arithmetic (normalization, blend, coding adjustment)."""
    lines = {model: r.explain(person_id) for model, r in result.by_model.items()}
    params = payment_year(result.payment_year)
    row = result.scores.filter(pl.col("person_id") == person_id)
    steps = []
    for p in params.iter_rows(named=True):
        m = p["model"]
        steps.append({"step": f"{m} raw score (sum of the lines)", "value": row[f"raw_{m}"].item()})
        steps.append({"step": f"{m} normalized: raw / {p['normalization_factor']} (rounded to 3 decimals)", "value": row[f"normalized_{m}"].item()})
    steps.append({"step": "blended: " + " + ".join(f"{p['blend_weight']:.0%} x {p['model']}" for p in params.iter_rows(named=True)), "value": row["blended_score"].item()})
    steps.append({"step": f"payment score: blended x (1 - {params['ma_coding_adjustment'][0]:.1%} MA coding adjustment)", "value": row["payment_score"].item()})
    return {"lines": lines, "steps": pl.DataFrame(steps)}
