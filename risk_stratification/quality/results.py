"""The quality results with the outcome measures' risk adjustment filled in."""

from __future__ import annotations

import polars as pl

from modeling.core.panel import Panel
from modeling.dataset import Dataset
from modeling.errors import ParameterError
from modeling.marts.quality import quality_results
from risk_stratification.quality.risk_adjustment import (
    OUTCOME_MEASURES,
    RiskAdjusted,
    risk_adjust,
    risk_factors,
)


def adjusted_results(
    source: Panel | Dataset,
    year: int,
    *,
    by: str = "panel",
    ndc_classes: pl.DataFrame | None = None,
    measure_frame: pl.DataFrame | None = None,
    draws: int = 200,
) -> tuple[pl.DataFrame, dict[str, RiskAdjusted]]:
    """``quality_results`` whose readmission, mortality and MCC-admission rows carry the risk
    model's expected rate, O/E and the O/E's bootstrap interval (``ci_low``/``ci_high`` stay the
    rate's interval); and each measure's ``RiskAdjusted``. A measure with too few events to fit
    keeps its unadjusted row."""
    panel = Panel.of(source)
    results = quality_results(
        panel, year, by=by, ndc_classes=ndc_classes, measure_frame=measure_frame
    ).with_columns(
        pl.lit(None, pl.Float64).alias("oe_ci_low"),
        pl.lit(None, pl.Float64).alias("oe_ci_high"),
        pl.lit(None, pl.Float64).alias("risk_standardized_rate"),
    )
    fitted: dict[str, RiskAdjusted] = {}
    factors = risk_factors(panel, year)
    for m in OUTCOME_MEASURES:
        try:
            fitted[m] = risk_adjust(panel, year, m, draws=draws, factors=factors)
        except ParameterError:
            continue
        table = fitted[m].panel if by == "panel" else fitted[m].by_provider
        scale = 100.0
        adj = table.select(
            pl.lit(m).alias("measure_id"),
            (pl.lit(None, pl.String) if by == "panel" else pl.col("provider_npi")).alias("_npi"),
            (pl.col("expected") / pl.col("exposure") * scale).alias("_expected"),
            pl.col("observed_to_expected").alias("_oe"),
            pl.col("oe_ci_low").alias("_lo"),
            pl.col("oe_ci_high").alias("_hi"),
            (pl.col("risk_standardized_rate") * scale).alias("_rsr"),
        )
        keys = ["measure_id"] if by == "panel" else ["measure_id", "provider_npi"]
        right = adj.rename({"_npi": "provider_npi"}) if by != "panel" else adj.drop("_npi")
        results = (
            results.join(right, on=keys, how="left")
            .with_columns(
                pl.coalesce("_expected", "expected").alias("expected"),
                pl.coalesce("_oe", "observed_to_expected").alias("observed_to_expected"),
                pl.coalesce("_lo", "oe_ci_low").alias("oe_ci_low"),
                pl.coalesce("_hi", "oe_ci_high").alias("oe_ci_high"),
                pl.coalesce("_rsr", "risk_standardized_rate").alias("risk_standardized_rate"),
            )
            .drop("_expected", "_oe", "_lo", "_hi", "_rsr")
        )
    return results, fitted
