"""The payment-year layer of CMS-HCC: from each model's raw scores to the payment score.

For each payment year CMS's Rate Announcement publishes the models blended and their weights
(e.g. CY 2025: 33% V24 + 67% V28), each model's normalization factor, and the MA coding pattern
adjustment (5.9% in every year of the table). The parameters, with the Rate
Announcement behind each row, are in ``risk_stratification/data/hcc_payment_years.csv``.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache

import polars as pl

from modeling.errors import ParameterError
from risk_stratification.hcc.tables import package_csv


@cache
def payment_year_parameters() -> pl.DataFrame:
    """Every payment year's rows of ``hcc_payment_years.csv``: payment_year, model, blend_weight,
    normalization_factor, ma_coding_adjustment, source."""
    return package_csv("risk_stratification", "data/hcc_payment_years.csv").with_columns(
        pl.col("payment_year").cast(pl.Int32),
        pl.col("blend_weight").cast(pl.Float64),
        pl.col("normalization_factor").cast(pl.Float64),
        pl.col("ma_coding_adjustment").cast(pl.Float64),
    )


def parameters_for_payment_year(year: int) -> pl.DataFrame:
    """The models, blend weights, normalization factors and MA coding adjustment of a payment year."""
    rows = payment_year_parameters().filter(pl.col("payment_year") == year)
    if rows.is_empty():
        have = sorted(set(payment_year_parameters()["payment_year"].to_list()))
        raise ParameterError(
            f"No CMS-HCC parameters for payment year {year} (have {have[0]}-{have[-1]}). "
            "Add its rows, with the Rate Announcement as source, to risk_stratification/data/hcc_payment_years.csv."
        )
    return rows


def payment_scores(raw: Mapping[str, pl.DataFrame], year: int) -> pl.DataFrame:
    """Normalized, blended and payment scores from each model's raw scores (person_id, raw_score).

    Rounding (stated, following CMS's practice of three decimals at each published step): each
    model's normalized score is rounded to three decimals, the blend is rounded to three
    decimals, and the payment score (blend x (1 - MA coding adjustment)) is rounded to three.
    """
    params = parameters_for_payment_year(year)
    out: pl.DataFrame | None = None
    for row in params.iter_rows(named=True):
        m = row["model"]
        if m not in raw:
            raise ParameterError(
                f"Payment year {year} blends {', '.join(params['model'])}; raw scores for {m} are missing."
            )
        part = (
            raw[m]
            .select("person_id", pl.col("raw_score").alias(f"raw_{m}"))
            .with_columns(
                (pl.col(f"raw_{m}") / row["normalization_factor"]).round(3).alias(f"normalized_{m}")
            )
            .with_columns((pl.col(f"normalized_{m}") * row["blend_weight"]).alias(f"_w_{m}"))
        )
        out = part if out is None else out.join(part, on="person_id", how="full", coalesce=True)
    assert out is not None  # parameters_for_payment_year returns at least one row
    weighted = [c for c in out.columns if c.startswith("_w_")]
    maci = float(params["ma_coding_adjustment"][0])
    return (
        out.with_columns(pl.sum_horizontal(weighted).round(3).alias("blended_score"))
        .with_columns((pl.col("blended_score") * (1 - maci)).round(3).alias("payment_score"))
        .drop(weighted)
    )
