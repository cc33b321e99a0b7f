"""Score a dataset's panel for a payment year: every model in the year's blend, then the
payment-year layer (normalized, blended and payment scores)."""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from modeling.core.panel import Panel
from modeling.dataset import Dataset
from modeling.progress import Progress, reporter
from risk_stratification.hcc.engine import HccScores, score
from risk_stratification.hcc.esrd import esrd_payment_parameters, esrd_payment_scores
from risk_stratification.hcc.inputs import hcc_inputs
from risk_stratification.hcc.payment import (
    parameters_for_payment_year,
    payment_scores,
    payment_year_parameters,
)
from risk_stratification.hcc.tables import load_tables


@dataclass(frozen=True)
class PanelScores:
    """A panel's payment-year scores, with each model's ``HccScores`` and the tables used."""

    payment_year: int
    scores: (
        pl.DataFrame
    )  # one row per person: segment, raw/normalized per model, blended, payment, HCCs
    by_model: dict[str, HccScores]
    files: tuple[str, ...]

    def hcc_detail(self) -> pl.DataFrame:
        """One row per person, model and payment HCC: the HCC's term and coefficient and the
        diagnosis codes that map to it (space-separated, sorted)."""
        frames = []
        for model, r in self.by_model.items():
            codes = r.diagnoses.group_by("person_id", "cc").agg(
                pl.col("diagnosis_code").sort().str.join(" ").alias("diagnosis_codes")
            )
            frames.append(
                r.hcc_terms.join(codes, on=["person_id", "cc"], how="left").with_columns(
                    pl.lit(model).alias("model")
                )
            )
        return pl.concat(frames).sort("person_id", "model", "cc")


def score_panel(
    source: Panel | Dataset, payment_year: int, *, progress: Progress | None = None
) -> PanelScores:
    """Every member's payment score for ``payment_year``: the CMS-HCC blend of the year for everyone
    (kept for all members, for comparison), and for members with ESRD the ESRD V24 model, which
    is what CMS pays them with; ``payment_model`` says which model the payment score comes from."""
    say = reporter(progress)
    params = parameters_for_payment_year(payment_year)
    say(f"reading demographics and risk-adjustment-eligible diagnoses from {payment_year - 1}")
    people, diagnoses = hcc_inputs(Panel.of(source, progress=progress), payment_year)
    by_model: dict[str, HccScores] = {}
    for model in params["model"].to_list():
        say(f"scoring {people.height:,} people with CMS-HCC {model}")
        by_model[model] = score(people, diagnoses, model=model, payment_year=payment_year)
    pay = payment_scores({m: r.scores for m, r in by_model.items()}, payment_year).with_columns(
        pl.lit("CMS-HCC").alias("payment_model")
    )
    last = params["model"].to_list()[-1]
    base = by_model[last].scores.select(
        "person_id", "segment", "age", pl.col("hccs").alias(f"hccs_{last}")
    )
    esrd_people = people.filter(pl.col("esrd"))
    if esrd_people.height:
        say(f"scoring {esrd_people.height:,} people with ESRD with the ESRD V24 model")
        by_model["ESRD_V24"] = score(
            esrd_people, diagnoses, model="ESRD_V24", payment_year=payment_year
        )
        esrd = esrd_payment_scores(by_model["ESRD_V24"].scores, payment_year)
        pay = pay.join(
            esrd.select("person_id", "raw_ESRD_V24", "normalized_ESRD_V24"),
            on="person_id",
            how="left",
        ).update(
            esrd.select("person_id", "payment_score", "payment_model"),
            on="person_id",
            include_nulls=True,
        )
        base = base.update(
            by_model["ESRD_V24"].scores.select("person_id", "segment"), on="person_id"
        )
    files = tuple(sorted({f for r in by_model.values() for f in r.files}))
    return PanelScores(payment_year, base.join(pay, on="person_id", how="left"), by_model, files)


def scorable_payment_years(source: Panel | Dataset) -> list[int]:
    """Payment years that can be scored: the year after a year the dataset covers, with parameters."""
    from modeling.core.member_months import years_enrolled

    covered = years_enrolled(source.scan("eligibility"))
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


def top_hccs(result: PanelScores, *, model: str | None = None, n: int = 15) -> pl.DataFrame:
    """The most prevalent payment HCCs of a model (default: the payment year's newest)."""
    model = model or [m for m in result.by_model if not m.startswith("ESRD")][-1]
    terms = result.by_model[model].hcc_terms
    members = result.scores.height
    labels = load_tables(model).labels
    return (
        terms.group_by("cc")
        .agg(pl.len().alias("members"), pl.col("coefficient").mean().alias("mean_coefficient"))
        .join(labels, on="cc", how="left")
        .with_columns(
            (pl.col("members") / members).alias("prevalence"),
            (pl.lit("HCC") + pl.col("cc").cast(pl.String)).alias("hcc"),
        )
        .sort("members", descending=True)
        .head(n)
        .select("hcc", "label", "members", "prevalence", "mean_coefficient")
    )


def explain_member(
    result: PanelScores, person_id: str
) -> dict[str, dict[str, pl.DataFrame] | pl.DataFrame]:
    """Line-by-line explanation of one member's score in every model that scored them, and the
    payment-year arithmetic (normalization, blend, coding adjustment)."""
    row = result.scores.filter(pl.col("person_id") == person_id).row(0, named=True)
    models = sorted(
        result.by_model, key=lambda m: m.startswith("ESRD") != (row["payment_model"] != "CMS-HCC")
    )  # the paying model first
    lines = {
        m: result.by_model[m].explain(person_id)
        for m in models
        if result.by_model[m].scores.filter(pl.col("person_id") == person_id).height
    }
    params = parameters_for_payment_year(result.payment_year)
    steps = []
    for p in params.iter_rows(named=True):
        m = p["model"]
        steps.append({"step": f"{m} raw score (sum of the lines)", "value": row[f"raw_{m}"]})
        steps.append(
            {
                "step": f"{m} normalized: raw / {p['normalization_factor']} (rounded to 3 decimals)",
                "value": row[f"normalized_{m}"],
            }
        )
    steps.append(
        {
            "step": "CMS-HCC blended: "
            + " + ".join(
                f"{p['blend_weight']:.0%} x {p['model']}" for p in params.iter_rows(named=True)
            ),
            "value": row["blended_score"],
        }
    )
    maci = params["ma_coding_adjustment"][0]
    if row["payment_model"] == "CMS-HCC":
        steps.append(
            {
                "step": f"payment score: blended x (1 - {maci:.1%} MA coding adjustment)",
                "value": row["payment_score"],
            }
        )
    else:
        esrd = esrd_payment_parameters().filter(pl.col("payment_year") == result.payment_year)
        series = (
            "dialysis"
            if row["payment_model"].startswith(("ESRD dialysis", "ESRD transplant"))
            else "functioning_graft"
        )
        factor = esrd.filter(pl.col("series") == series)["normalization_factor"]
        steps.append(
            {"step": "ESRD V24 raw score (sum of the lines)", "value": row["raw_ESRD_V24"]}
        )
        steps.append(
            {
                "step": f"ESRD V24 normalized: raw / {factor[0] if factor.len() else 'no factor for this year'} ({series.replace('_', ' ')} series)",
                "value": row["normalized_ESRD_V24"],
            }
        )
        steps.append(
            {
                "step": f"payment score ({row['payment_model']}): normalized x (1 - {maci:.1%} MA coding adjustment)",
                "value": row["payment_score"],
            }
        )
    return {
        "lines": lines,
        "steps": pl.DataFrame(steps, schema={"step": pl.String, "value": pl.Float64}),
    }
