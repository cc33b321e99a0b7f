"""LightGBM risk models: next-year cost (Tweedie), any admission, any ED visit, top-5% cost,
calibrated, with an honest temporal evaluation against CMS-HCC and prior-cost baselines.

Training uses features of year t0 and outcomes of t0+1; the evaluation scores features of
t1 = t0+1 against outcomes of t1+1 — a later year the models never saw. Cost is the annualized
next-year cost (cost x 12 / months enrolled) weighted by months/12, as CMS calibrates its
models. Binary models are calibrated with isotonic regression on a validation slice (20% of
training people, by a hash of the person id) that the boosting did not train on, fitted to
bins of 50 validation people in score order and interpolated between them (``calibrator``):
isotonic regression on single people ends in plateaus of a few people who all had the event,
and so in predicted probabilities of exactly 1.0. Measured on the default panel's held-out year,
bins of 50 vs single people: admission ROC-AUC 0.6990 vs 0.6983, PR-AUC 0.336 vs 0.328, Brier
0.1205 vs 0.1207, highest probability 0.74 vs 1.00; ED visit 0.6759 vs 0.6750, PR-AUC 0.535 vs
0.530, highest 0.84 vs 1.00; top 5% 0.8654 vs 0.8633, PR-AUC 0.399 vs 0.373, Brier 0.0371 vs
0.0370, highest 0.62 vs 1.00. Bins of 100 or 200 people lost top-5% PR-AUC (0.383, 0.363); a
second panel (seed 1) ranked the choices the same way. The cost model
is trained on every training person and not recalibrated: its Tweedie log-link fit (variance
power 1.1) is already calibrated in level, and isotonic recalibration — on the validation slice
or on 5-fold out-of-fold predictions — pushed held-out deciles outside 0.90-1.10 on the default
panel. Measured on the default panel, seeds 0/3/7, lowest-highest decile ratio: power 1.1
0.93-1.08, power 1.3 0.89-1.06, power 1.5 0.88-1.09, isotonic on top 0.89-1.13.
Trees are small and regularized (7 leaves, 200 people per leaf): with tens of thousands of
people, deeper trees lost ROC-AUC on the held-out year (0.683 at 31 leaves vs 0.700 at 7).
Few trees, learning fast (rate 0.1; 120 rounds for cost, 80 for the events): on the default
panel, seeds 0/3/7, the held-out figures equal those of 600/400 rounds at rate 0.03 (cost
R-squared 0.359-0.361 vs 0.358-0.362, admission ROC-AUC 0.698-0.700 vs 0.698, deciles
0.939-1.091 vs 0.921-1.086; on 100,000 members of the generator before the synthetic tail,
R-squared 0.438 vs 0.442), and predictions and
SHAP drivers cost a fifth as much.
"""

from __future__ import annotations

import hashlib
import io
import pickle
from dataclasses import dataclass, field

import lightgbm as lgb
import numpy as np
import polars as pl
from sklearn.isotonic import IsotonicRegression

from risk_stratification.ml.features import feature_names

TARGETS = {
    "cost": {"label": "annual_cost", "objective": "tweedie"},
    "admission": {"label": "admitted", "objective": "binary"},
    "ed_visit": {"label": "ed_visit", "objective": "binary"},
    "top5": {"label": "top5", "objective": "binary"},
}
PARAMS = {
    "learning_rate": 0.1,
    "num_leaves": 7,
    "min_data_in_leaf": 200,
    "feature_fraction": 0.7,
    "bagging_fraction": 0.8,
    "bagging_freq": 1,
    "lambda_l2": 5.0,
    "verbose": -1,
    "num_threads": 2,
}
ROUNDS = {"cost": 120, "admission": 80, "ed_visit": 80, "top5": 80}
CALIBRATION_PEOPLE_PER_BIN = 50
# the models every metric is reported for, and how people read their names
MODEL_LABELS = {
    "model": "risk model (LightGBM)",
    "cms_hcc": "CMS-HCC V28 scaled to cost",
    "prior_cost": "prior-year cost",
}


def validation_mask(person_ids: pl.Series, share: float = 0.2) -> np.ndarray:
    """A stable person-level split: True for the validation slice."""
    digest = person_ids.map_elements(
        lambda s: int(hashlib.blake2b(s.encode(), digest_size=4).hexdigest(), 16),
        return_dtype=pl.UInt64,
    )
    return (digest.to_numpy() % 1000) < share * 1000


@dataclass
class RiskModels:
    """The fitted boosters, their calibrators and what they were trained on."""

    features: list[str]
    boosters: dict[str, lgb.Booster]
    calibrators: dict[str, IsotonicRegression]
    seed: int
    params: dict
    trained_on: dict = field(default_factory=dict)

    def predict(self, frame: pl.DataFrame) -> pl.DataFrame:
        """person_id and, per target, the calibrated prediction (cost in dollars a year; the
        binary targets as probabilities)."""
        x = frame.select(self.features).to_numpy(
            order="c"
        )  # row-major once: LightGBM would copy a column-major matrix for every model
        out = {"person_id": frame["person_id"]}
        for name, booster in self.boosters.items():
            raw = booster.predict(x, num_threads=PARAMS["num_threads"])
            out[f"pred_{name}"] = (
                self.calibrators[name].predict(raw) if name in self.calibrators else raw
            )
        return pl.DataFrame(out)

    def contributions(self, frame: pl.DataFrame, target: str = "cost") -> np.ndarray:
        """LightGBM's SHAP contributions (n x (features + 1), last column the expected value)."""
        return self.boosters[target].predict(
            frame.select(self.features).to_numpy(order="c"),
            pred_contrib=True,
            num_threads=PARAMS["num_threads"],
        )

    def to_bytes(self) -> bytes:
        payload = {
            "features": self.features,
            "boosters": {k: b.model_to_string() for k, b in self.boosters.items()},
            "calibrators": self.calibrators,
            "seed": self.seed,
            "params": self.params,
            "trained_on": self.trained_on,
        }
        buffer = io.BytesIO()
        pickle.dump(payload, buffer)
        return buffer.getvalue()

    @classmethod
    def from_bytes(cls, data: bytes) -> RiskModels:
        p = pickle.loads(data)  # noqa: S301 - artifacts come from the workspace's own registry
        return cls(
            p["features"],
            {k: lgb.Booster(model_str=s) for k, s in p["boosters"].items()},
            p["calibrators"],
            p["seed"],
            p["params"],
            p["trained_on"],
        )


def fit(
    frame: pl.DataFrame,
    *,
    seed: int = 0,
    kind: str = "stratification",
    rounds: dict[str, int] | None = None,
) -> RiskModels:
    """Fit every target on ``frame`` (``features.modeling_frame``), holding out a validation
    slice for calibration."""
    names = feature_names(kind)
    valid = validation_mask(frame["person_id"])
    x = frame.select(names).to_numpy()
    weight = (frame["months"] / 12).to_numpy()
    boosters, calibrators = {}, {}
    for target, spec in TARGETS.items():
        y = frame[spec["label"]].to_numpy()
        params = {**PARAMS, "objective": spec["objective"], "seed": seed, "deterministic": True}
        if spec["objective"] == "tweedie":
            params["tweedie_variance_power"] = 1.1
        if spec["objective"] == "tweedie":
            data = lgb.Dataset(x, y, weight=weight, feature_name=names, free_raw_data=True)
            boosters[target] = lgb.train(params, data, num_boost_round=(rounds or ROUNDS)[target])
            continue
        data = lgb.Dataset(x[~valid], y[~valid], feature_name=names, free_raw_data=True)
        booster = lgb.train(params, data, num_boost_round=(rounds or ROUNDS)[target])
        raw = booster.predict(x[valid], num_threads=PARAMS["num_threads"])
        boosters[target], calibrators[target] = booster, calibrator(raw, y[valid])
    return RiskModels(
        names,
        boosters,
        calibrators,
        seed,
        {
            **PARAMS,
            "rounds": rounds or ROUNDS,
            "calibration_people_per_bin": CALIBRATION_PEOPLE_PER_BIN,
        },
        {"rows": frame.height, "validation_rows": int(valid.sum())},
    )


def calibrator(
    raw: np.ndarray, outcome: np.ndarray, people_per_bin: int = CALIBRATION_PEOPLE_PER_BIN
) -> IsotonicRegression:
    """Isotonic map from raw scores to probabilities, fitted to the event rates of consecutive
    bins of ``people_per_bin`` people in score order (weighted by their size) and interpolated
    linearly between the bins' mean scores; scores beyond the first or last bin get its rate."""
    order = np.argsort(raw, kind="stable")
    bins = np.array_split(order, max(1, len(raw) // people_per_bin))
    iso = IsotonicRegression(out_of_bounds="clip", y_min=0.0, y_max=1.0)
    iso.fit(
        [raw[b].mean() for b in bins],
        [outcome[b].mean() for b in bins],
        sample_weight=[len(b) for b in bins],
    )
    return iso


# ------------------------------------------------------------------------------ baselines


@dataclass(frozen=True)
class Baselines:
    """CMS-HCC V28 raw score scaled to cost, and prior-year cost scaled to next year, both fitted
    on the training year (a single ratio each: what an analyst without a model would do)."""

    hcc_dollars_per_point: float
    prior_cost_ratio: float

    @classmethod
    def fit(cls, train: pl.DataFrame) -> Baselines:
        w = train["months"] / 12
        mean_cost = float((train["annual_cost"] * w).sum() / w.sum())
        return cls(
            mean_cost / float((train["v28_raw_score"] * w).sum() / w.sum()),
            mean_cost / float((train["cost_total"] * w).sum() / w.sum()),
        )

    def predict(self, frame: pl.DataFrame) -> pl.DataFrame:
        return frame.select(
            "person_id",
            (pl.col("v28_raw_score") * self.hcc_dollars_per_point).alias("hcc_baseline"),
            (pl.col("cost_total") * self.prior_cost_ratio).alias("prior_cost_baseline"),
        )


# ----------------------------------------------------------------------------- evaluation


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
    frame: pl.DataFrame, prediction: str, actual: str, weight: str | None = None
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


def hcc_count_group() -> pl.Expr:
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


@dataclass
class Evaluation:
    """Held-out metrics of the models beside both baselines."""

    train_year: int
    test_year: int
    summary: pl.DataFrame  # model, target, metric, value
    deciles: pl.DataFrame  # model, target, decile, predicted, actual, ratio
    groups: pl.DataFrame  # model, grouping, group, people, r2, predictive_ratio, roc_auc_admission
    readmission: pl.DataFrame | None = None  # model, metric, value (discharge level, vs LACE)
    residual_ratios: np.ndarray | None = (
        None  # 1,000 quantiles of actual / predicted annual cost, held out (months-weighted)
    )

    def metric(self, model: str, target: str, metric: str) -> float:
        row = self.summary.filter(
            (pl.col("model") == model) & (pl.col("target") == target) & (pl.col("metric") == metric)
        )
        return float(row["value"][0])

    def to_markdown(self) -> str:
        lines = [
            f"# Risk model evaluation: trained on {self.train_year} -> {self.train_year + 1}, tested on {self.test_year} -> {self.test_year + 1}",
            "",
        ]
        wide = self.summary.pivot(on="model", index=["target", "metric"], values="value")
        lines.append("| target | metric | " + " | ".join(wide.columns[2:]) + " |")
        lines.append("|---|---|" + "---|" * (len(wide.columns) - 2))
        for r in wide.iter_rows():
            lines.append(
                f"| {r[0]} | {r[1]} | "
                + " | ".join("" if v is None else f"{v:.4f}" for v in r[2:])
                + " |"
            )
        lines += [
            "",
            "## Predictive ratio by decile of predicted cost",
            "",
            "| model | " + " | ".join(str(d) for d in range(1, 11)) + " |",
            "|---|" + "---|" * 10,
        ]
        for model, g in self.deciles.filter(pl.col("target") == "cost").group_by(
            "model", maintain_order=True
        ):
            lines.append(
                f"| {model[0]} | "
                + " | ".join(f"{v:.3f}" for v in g.sort("decile")["ratio"])
                + " |"
            )
        lines += [
            "",
            "## By group (cost R-squared, predictive ratio; admission ROC-AUC)",
            "",
            "| model | grouping | group | people | R-squared | predictive ratio | admission ROC-AUC |",
            "|---|---|---|---|---|---|---|",
        ]
        for r in self.groups.iter_rows(named=True):
            auc = "" if r["roc_auc_admission"] is None else f"{r['roc_auc_admission']:.3f}"
            lines.append(
                f"| {r['model']} | {r['grouping']} | {r['group']} | {r['people']:,} | {r['r2']:.3f} | {r['predictive_ratio']:.3f} | {auc} |"
            )
        if self.readmission is not None:
            lines += [
                "",
                "## 30-day readmission at discharge level (vs LACE)",
                "",
                "| model | metric | value |",
                "|---|---|---|",
            ]
            lines += [
                f"| {r['model']} | {r['metric']} | {r['value']:.4f} |"
                for r in self.readmission.iter_rows(named=True)
            ]
        return "\n".join(lines) + "\n"


def evaluate(
    models: RiskModels, baselines: Baselines, test: pl.DataFrame, *, train_year: int, test_year: int
) -> Evaluation:
    """Every metric of issue 5 on the held-out year, for the models and both baselines."""
    pred = models.predict(test).join(baselines.predict(test), on="person_id")
    frame = test.join(pred, on="person_id").with_columns((pl.col("months") / 12).alias("w"))
    y, w = frame["annual_cost"].to_numpy(), frame["w"].to_numpy()
    scores = dict(
        zip(MODEL_LABELS, ("pred_cost", "hcc_baseline", "prior_cost_baseline"), strict=True)
    )
    rows, deciles = [], []
    for model, col in scores.items():
        for metric, value in cost_metrics(y, frame[col].to_numpy(), w).items():
            rows.append((model, "cost", metric, value))
        d = by_decile(frame, col, "annual_cost", "w").with_columns(
            pl.lit(model).alias("model"), pl.lit("cost").alias("target")
        )
        deciles.append(d)
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
    groups = []
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
    actual: np.ndarray, predicted: np.ndarray, weight: np.ndarray, points: int = 1000
) -> np.ndarray:
    """Quantiles of actual / predicted cost on held-out people (months-weighted): the spread of a
    member's realized cost around the model's prediction, as the simulator draws it."""
    ratio = actual / np.maximum(predicted, 1.0)
    order = np.argsort(ratio)
    cum = np.cumsum(weight[order]) / weight.sum()
    return np.interp((np.arange(points) + 0.5) / points, cum, ratio[order])
