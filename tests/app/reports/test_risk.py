"""The risk model evaluation rendered as Markdown."""

from __future__ import annotations

import polars as pl

from app.reports.risk import evaluation_markdown
from risk_stratification.ml.evaluation import Evaluation


def evaluation(readmission: pl.DataFrame | None) -> Evaluation:
    return Evaluation(
        2023,
        2024,
        pl.DataFrame(
            {
                "model": ["model", "cms_hcc", "model"],
                "target": ["cost", "cost", "admission"],
                "metric": ["r2", "r2", "roc_auc"],
                "value": [0.36, 0.2, 0.7],
            }
        ),
        pl.DataFrame(
            {
                "model": ["model"] * 10,
                "target": ["cost"] * 10,
                "decile": list(range(10, 0, -1)),
                "ratio": [1.0 + d / 100 for d in range(10, 0, -1)],
            }
        ),
        pl.DataFrame(
            {
                "model": ["model"],
                "grouping": ["sex"],
                "group": ["female"],
                "people": [1234],
                "r2": [0.3],
                "predictive_ratio": [1.01],
                "roc_auc_admission": [None],
            }
        ),
        readmission,
    )


def test_evaluation_markdown_tables():
    md = evaluation_markdown(evaluation(None))
    lines = md.splitlines()
    assert lines[0] == ("# Risk model evaluation: trained on 2023 -> 2024, tested on 2024 -> 2025")
    assert "| target | metric | model | cms_hcc |" in lines
    assert "| cost | r2 | 0.3600 | 0.2000 |" in lines
    assert "| admission | roc_auc | 0.7000 |  |" in lines
    assert (
        "| model | 1.010 | 1.020 | 1.030 | 1.040 | 1.050 | 1.060 | 1.070 | 1.080 | 1.090 | 1.100 |"
        in lines
    )
    assert "| model | sex | female | 1,234 | 0.300 | 1.010 |  |" in lines
    assert "readmission" not in md and md.endswith("|\n")


def test_evaluation_markdown_with_readmission():
    readmission = pl.DataFrame(
        {"model": ["model", "lace"], "metric": ["roc_auc"] * 2, "value": [0.6, 0.59]}
    )
    md = evaluation_markdown(evaluation(readmission))
    assert "## 30-day readmission at discharge level (vs LACE)" in md
    assert "| lace | roc_auc | 0.5900 |" in md.splitlines()


def test_evaluation_markdown_gives_each_cost_decile_its_sampling_interval():
    from dataclasses import replace

    e = evaluation(None)
    deciles = e.deciles.with_columns(
        (pl.col("ratio") - 0.05).alias("ratio_low"),
        (pl.col("ratio") + 0.05).alias("ratio_high"),
        (pl.col("ratio") / 1.05).alias("normalized_ratio"),
    )
    lines = evaluation_markdown(replace(e, deciles=deciles)).splitlines()
    assert "| decile | ratio | 95% interval | over the year's level |" in lines
    assert "| 1 | 1.010 | 0.960 - 1.060 | 0.962 |" in lines
    assert "| 10 | 1.100 | 1.050 - 1.150 | 1.048 |" in lines
