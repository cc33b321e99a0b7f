"""Held-out evaluation of the risk models against CMS-HCC and prior-cost baselines.

The evaluation is temporal: the models are trained on features of t0 and outcomes of t0+1, and
scored on features of t1 = t0+1 against outcomes of t1+1, a later year the models never saw.
Cost metrics are weighted by months enrolled / 12 (``annual_cost`` is annualized); the
baselines are what an analyst without a model would do: the CMS-HCC V28 raw score and the
prior-year cost, each scaled to next-year cost by one ratio fitted on the training year.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

from modeling.errors import ParameterError
from modeling.validation import require_columns
from risk_stratification.ml.models import MODEL_LABELS, TARGETS, RiskModels


@dataclass(frozen=True)
class Baselines:
    """CMS-HCC V28 raw score scaled to cost, and prior-year cost scaled to next year, both fitted
    on the training year (a single ratio each: what an analyst without a model would do)."""

    hcc_dollars_per_point: float
    prior_cost_ratio: float

    @classmethod
    def fit(cls, train: pl.DataFrame) -> Baselines:
        """Both ratios from the training year (months-weighted means)."""
        w = train["months"] / 12
        weight = float(w.sum())
        mean_cost = float((train["annual_cost"] * w).sum()) / weight
        return cls(
            mean_cost / (float((train["v28_raw_score"] * w).sum()) / weight),
            mean_cost / (float((train["cost_total"] * w).sum()) / weight),
        )

    def predict(self, frame: pl.DataFrame) -> pl.DataFrame:
        """person_id, hcc_baseline, prior_cost_baseline (dollars a year)."""
        return frame.select(
            "person_id",
            (pl.col("v28_raw_score") * self.hcc_dollars_per_point).alias("hcc_baseline"),
            (pl.col("cost_total") * self.prior_cost_ratio).alias("prior_cost_baseline"),
        )


def _weighted_r2(y: np.ndarray, p: np.ndarray, w: np.ndarray) -> float:
    mean = np.average(y, weights=w)
    return float(1 - np.sum(w * (y - p) ** 2) / np.sum(w * (y - mean) ** 2))


def _auc(y: np.ndarray, s: np.ndarray) -> float:
    from sklearn.metrics import roc_auc_score

    return float(roc_auc_score(y, s))


def _pr_auc(y: np.ndarray, s: np.ndarray) -> float:
    from sklearn.metrics import average_precision_score

    return float(average_precision_score(y, s))


def _top_mask(score: np.ndarray, share: float) -> np.ndarray:
    k = max(1, int(round(share * len(score))))
    idx = np.argsort(-score, kind="stable")[:k]
    mask = np.zeros(len(score), dtype=bool)
    mask[idx] = True
    return mask


def cost_metrics(y: np.ndarray, p: np.ndarray, w: np.ndarray) -> dict[str, float]:
    """R-squared, MAE (months-weighted), and for the top 1/5/10% by prediction: lift (their mean
    cost over the panel's) and the share of total cost they account for."""
    out = {"r2": _weighted_r2(y, p, w), "mae": float(np.average(np.abs(y - p), weights=w))}
    cost = y * w
    for share in (0.01, 0.05, 0.10):
        top = _top_mask(p, share)
        out[f"share_of_cost_top_{int(share * 100)}pct"] = float(cost[top].sum() / cost.sum())
        out[f"lift_top_{int(share * 100)}pct"] = float(
            np.average(y[top], weights=w[top]) / np.average(y, weights=w)
        )
    return out


def event_metrics(y: np.ndarray, s: np.ndarray) -> dict[str, float]:
    """ROC-AUC, PR-AUC, and PPV and sensitivity when the top 1% / 5% by score are flagged."""
    out = {"roc_auc": _auc(y, s), "pr_auc": _pr_auc(y, s), "prevalence": float(y.mean())}
    for share in (0.01, 0.05):
        top = _top_mask(s, share)
        out[f"ppv_top_{int(share * 100)}pct"] = float(y[top].mean())
        out[f"sensitivity_top_{int(share * 100)}pct"] = float(y[top].sum() / max(y.sum(), 1))
    return out


def by_decile(
    frame: pl.DataFrame, prediction: str, actual: str, *, weight: str | None = None
) -> pl.DataFrame:
    """decile (1 = lowest prediction), predicted, actual, ratio (predicted / actual)."""
    w = pl.col(weight) if weight else pl.lit(1.0)
    return (
        frame.with_columns(
            (pl.col(prediction).rank("ordinal") * 10 / (pl.len() + 1))
            .floor()
            .cast(pl.Int32)
            .add(1)
            .alias("decile")
        )
        .group_by("decile")
        .agg(
            (pl.col(prediction) * w).sum().alias("predicted"),
            (pl.col(actual) * w).sum().alias("actual"),
            pl.len().alias("people"),
        )
        .with_columns((pl.col("predicted") / pl.col("actual")).alias("ratio"))
        .sort("decile")
    )


def decile_intervals(
    deciles: pl.Series,
    predicted: np.ndarray,
    actual: np.ndarray,
    weight: np.ndarray,
    *,
    reps: int = 400,
    level: float = 0.95,
    seed: int = 0,
) -> pl.DataFrame:
    """decile, ratio_low, ratio_high: the sampling interval of each decile's predictive ratio
    (``level``, 95% by default), by a Poisson bootstrap of its people (each person's weight in a
    replicate is a Poisson(1) draw), the deciles held as assigned.

    A held-out year is one sample of next-year costs; a decile of a few thousand people with
    heavy-tailed costs has a sampling error of several percent, which the interval states
    (``docs/decisions/ml-calibration.md`` measures it on the default panel)."""
    sizes = {len(deciles), len(predicted), len(actual), len(weight)}
    if len(sizes) != 1 or not len(deciles):
        raise ParameterError(
            "decile_intervals needs one decile, prediction, actual cost and weight per person "
            f"(got {len(deciles)}, {len(predicted)}, {len(actual)} and {len(weight)})."
        )
    if reps < 2 or not 0 < level < 1:
        raise ParameterError(
            f"decile_intervals needs at least 2 replicates and a level in (0, 1) (got {reps}, {level})."
        )
    rng = np.random.default_rng(seed)
    present, group = np.unique(deciles.to_numpy(), return_inverse=True)
    k = len(present)
    pw, yw = predicted * weight, actual * weight
    ratios = np.empty((reps, k))
    for r in range(reps):  # a loop over replicates; each is vectorized over people
        draw = rng.poisson(1.0, len(group))
        # a replicate that draws nobody of a decile has no ratio for it and is left out
        with np.errstate(invalid="ignore", divide="ignore"):
            ratios[r] = np.bincount(group, pw * draw, k) / np.bincount(group, yw * draw, k)
    tail = (1 - level) / 2
    low, high = np.nanquantile(ratios, [tail, 1 - tail], axis=0)
    return pl.DataFrame({"decile": present.astype(np.int32), "ratio_low": low, "ratio_high": high})


def cost_deciles(frame: pl.DataFrame, prediction: str) -> pl.DataFrame:
    """``by_decile`` of annualized cost (months-weighted) with each ratio's sampling interval
    (``decile_intervals``) and ``normalized_ratio``: the ratio over the held-out year's overall
    predicted / actual (``level``), so that a level error common to every person (the cost trend
    between the training and the held-out year, which one year pair cannot learn) is told apart
    from the calibration across deciles, as risk scores are normalized to the year they apply to."""
    require_columns(frame, (prediction, "annual_cost", "w"), where="cost_deciles")
    d = by_decile(frame, prediction, "annual_cost", weight="w")
    level = float(d["predicted"].sum() / d["actual"].sum())
    assigned = (frame[prediction].rank("ordinal") * 10 / (frame.height + 1)).floor().cast(
        pl.Int32
    ) + 1
    bounds = decile_intervals(
        assigned,
        frame[prediction].to_numpy(),
        frame["annual_cost"].to_numpy(),
        frame["w"].to_numpy(),
    )
    return d.join(bounds, on="decile", how="left").with_columns(
        (pl.col("ratio") / level).alias("normalized_ratio")
    )


def hcc_count_group() -> pl.Expr:
    """Payment-HCC count in groups: 0, 1, 2-3, 4-5, 6+."""
    n = pl.col("hcc_count")
    return (
        pl.when(n == 0)
        .then(pl.lit("0"))
        .when(n == 1)
        .then(pl.lit("1"))
        .when(n <= 3)
        .then(pl.lit("2-3"))
        .when(n <= 5)
        .then(pl.lit("4-5"))
        .otherwise(pl.lit("6+"))
    )


def subgroup() -> dict[str, pl.Expr]:
    """The groupings the metrics are reported by: age band, sex, dual status, HCC count."""
    age = pl.col("age")
    return {
        "age band": pl.when(age < 65)
        .then(pl.lit("<65"))
        .when(age < 75)
        .then(pl.lit("65-74"))
        .when(age < 85)
        .then(pl.lit("75-84"))
        .otherwise(pl.lit("85+")),
        "sex": pl.when(pl.col("female") == 1).then(pl.lit("female")).otherwise(pl.lit("male")),
        "dual status": pl.when(pl.col("full_dual") == 1)
        .then(pl.lit("full dual"))
        .when(pl.col("partial_dual") == 1)
        .then(pl.lit("partial dual"))
        .otherwise(pl.lit("non-dual")),
        "HCC count": hcc_count_group(),
    }


@dataclass(frozen=True)
class Evaluation:
    """Held-out metrics of the models beside both baselines (rendered as Markdown by
    ``app.reports.risk.evaluation_markdown``)."""

    train_year: int
    test_year: int
    summary: pl.DataFrame  # model, target, metric, value
    # model, target, decile, predicted, actual, ratio; for cost also ratio_low, ratio_high (the
    # ratio's 95% sampling interval) and normalized_ratio (over the year's predictive_ratio)
    deciles: pl.DataFrame
    groups: pl.DataFrame  # model, grouping, group, people, r2, predictive_ratio, roc_auc_admission
    readmission: pl.DataFrame | None = None  # model, metric, value (discharge level, vs LACE)
    residual_ratios: np.ndarray | None = (
        None  # 1,000 quantiles of actual / predicted annual cost, held out (months-weighted)
    )

    def metric(self, model: str, target: str, metric: str) -> float:
        """One value of ``summary``."""
        row = self.summary.filter(
            (pl.col("model") == model) & (pl.col("target") == target) & (pl.col("metric") == metric)
        )
        return float(row["value"][0])


def evaluate(
    models: RiskModels, baselines: Baselines, test: pl.DataFrame, *, train_year: int, test_year: int
) -> Evaluation:
    """Every metric on the held-out year, for the models and both baselines: for cost
    (``cost_metrics``) R-squared, MAE, the share of cost and lift in the top-ranked people; for
    events (``event_metrics``) ROC-AUC, PR-AUC, PPV and sensitivity in the top-ranked people;
    predictive ratios by decile and by group."""
    pred = models.predict(test).join(baselines.predict(test), on="person_id")
    frame = test.join(pred, on="person_id").with_columns((pl.col("months") / 12).alias("w"))
    y, w = frame["annual_cost"].to_numpy(), frame["w"].to_numpy()
    scores = dict(
        zip(MODEL_LABELS, ("pred_cost", "hcc_baseline", "prior_cost_baseline"), strict=True)
    )
    rows: list[tuple[str, str, str, float]] = []
    deciles: list[pl.DataFrame] = []
    for model, col in scores.items():
        for metric, value in cost_metrics(y, frame[col].to_numpy(), w).items():
            rows.append((model, "cost", metric, value))
        d = cost_deciles(frame, col).with_columns(
            pl.lit(model).alias("model"), pl.lit("cost").alias("target")
        )
        deciles.append(d)
        rows.append(
            (model, "cost", "predictive_ratio", float(d["predicted"].sum() / d["actual"].sum()))
        )
        for target in ("admission", "ed_visit", "top5"):
            label = TARGETS[target]["label"]
            s = frame[f"pred_{target}" if model == "model" else col].to_numpy()
            for metric, value in event_metrics(frame[label].to_numpy(), s).items():
                rows.append((model, target, metric, value))
        if model == "model":
            for target in ("admission", "ed_visit", "top5"):
                d = by_decile(frame, f"pred_{target}", TARGETS[target]["label"]).with_columns(
                    pl.lit(model).alias("model"), pl.lit(target).alias("target")
                )
                deciles.append(d)
    groups: list[dict[str, object]] = []
    for grouping, expr in subgroup().items():
        g = frame.with_columns(expr.alias("group"))
        for model, col in scores.items():
            for (name,), part in g.group_by("group"):
                yy, ww, pp = (
                    part["annual_cost"].to_numpy(),
                    part["w"].to_numpy(),
                    part[col].to_numpy(),
                )
                adm = part["admitted"].to_numpy()
                s = part["pred_admission" if model == "model" else col].to_numpy()
                groups.append(
                    {
                        "model": model,
                        "grouping": grouping,
                        "group": name,
                        "people": part.height,
                        "r2": _weighted_r2(yy, pp, ww),
                        "predictive_ratio": float((pp * ww).sum() / (yy * ww).sum()),
                        "roc_auc_admission": _auc(adm, s) if 0 < adm.sum() < len(adm) else None,
                    }
                )
    summary = pl.DataFrame(rows, schema=["model", "target", "metric", "value"], orient="row")
    return Evaluation(
        train_year,
        test_year,
        summary,
        pl.concat(deciles, how="diagonal"),
        pl.DataFrame(groups).sort("grouping", "group", "model"),
        residual_ratios=residual_quantiles(y, frame["pred_cost"].to_numpy(), w),
    )


def residual_quantiles(
    actual: np.ndarray, predicted: np.ndarray, weight: np.ndarray, *, points: int = 1000
) -> np.ndarray:
    """Quantiles of actual / predicted cost on held-out people (months-weighted): the spread of a
    member's realized cost around the model's prediction, as the simulator draws it."""
    ratio = actual / np.maximum(predicted, 1.0)
    order = np.argsort(ratio)
    cum = np.cumsum(weight[order]) / weight.sum()
    return np.interp((np.arange(points) + 0.5) / points, cum, ratio[order])
