"""Markdown reports of the risk models (``vbc train``'s report file, the Risk stratification
page's download)."""

from __future__ import annotations

import polars as pl

from risk_stratification.ml.evaluation import Evaluation


def evaluation_markdown(evaluation: Evaluation) -> str:
    """The held-out evaluation as Markdown: every metric by model, the cost predictive ratio by
    decile, the metrics by group and, when present, the readmission comparison with LACE."""
    e = evaluation
    lines = [
        f"# Risk model evaluation: trained on {e.train_year} -> {e.train_year + 1}, tested on {e.test_year} -> {e.test_year + 1}",
        "",
    ]
    wide = e.summary.pivot(on="model", index=["target", "metric"], values="value")
    lines.append("| target | metric | " + " | ".join(wide.columns[2:]) + " |")
    lines.append("|---|---|" + "---|" * (len(wide.columns) - 2))
    for values in wide.iter_rows():
        lines.append(
            f"| {values[0]} | {values[1]} | "
            + " | ".join("" if v is None else f"{v:.4f}" for v in values[2:])
            + " |"
        )
    lines += [
        "",
        "## Predictive ratio by decile of predicted cost",
        "",
        "| model | " + " | ".join(str(d) for d in range(1, 11)) + " |",
        "|---|" + "---|" * 10,
    ]
    for model, g in e.deciles.filter(pl.col("target") == "cost").group_by(
        "model", maintain_order=True
    ):
        lines.append(
            f"| {model[0]} | " + " | ".join(f"{v:.3f}" for v in g.sort("decile")["ratio"]) + " |"
        )
    model_cost = e.deciles.filter((pl.col("target") == "cost") & (pl.col("model") == "model"))
    if "ratio_low" in model_cost.columns:  # evaluations made before the intervals have none
        lines += _decile_intervals_table(model_cost)
    lines += [
        "",
        "## By group (cost R-squared, predictive ratio; admission ROC-AUC)",
        "",
        "| model | grouping | group | people | R-squared | predictive ratio | admission ROC-AUC |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in e.groups.iter_rows(named=True):
        auc = "" if r["roc_auc_admission"] is None else f"{r['roc_auc_admission']:.3f}"
        lines.append(
            f"| {r['model']} | {r['grouping']} | {r['group']} | {r['people']:,} | {r['r2']:.3f} | {r['predictive_ratio']:.3f} | {auc} |"
        )
    if e.readmission is not None:
        lines += [
            "",
            "## 30-day readmission at discharge level (vs LACE)",
            "",
            "| model | metric | value |",
            "|---|---|---|",
        ]
        lines += [
            f"| {r['model']} | {r['metric']} | {r['value']:.4f} |"
            for r in e.readmission.iter_rows(named=True)
        ]
    return "\n".join(lines) + "\n"


def _decile_intervals_table(model_cost: pl.DataFrame) -> list[str]:
    """The model's cost deciles with their sampling intervals and normalized ratios."""
    return [
        "",
        "The model's ratios with their 95% sampling interval (a bootstrap of the held-out people),",
        "and over the held-out year's overall ratio (the level every decile shares):",
        "",
        "| decile | ratio | 95% interval | over the year's level |",
        "|---|---|---|---|",
    ] + [
        f"| {r['decile']} | {r['ratio']:.3f} | {r['ratio_low']:.3f} - {r['ratio_high']:.3f} "
        f"| {r['normalized_ratio']:.3f} |"
        for r in model_cost.sort("decile").iter_rows(named=True)
    ]
