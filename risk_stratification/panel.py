"""Score a dataset's panel for a payment year: every model in the year's blend, then the
payment-year layer (normalized, blended and payment scores)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import polars as pl

from modeling.dataset import Dataset
from risk_stratification.hcc import HccScores, payment_scores, payment_year, score
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
