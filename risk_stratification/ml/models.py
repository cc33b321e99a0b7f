"""LightGBM risk models: next-year cost (Tweedie), any admission, any ED visit and top-5% cost,
calibrated.

Training uses features of year t0 and outcomes of t0+1 (``features.modeling_frame``). Cost is the
annualized next-year cost (cost x 12 / months enrolled) weighted by months/12, as CMS calibrates
its models. Binary models are calibrated with isotonic regression on a validation slice (20% of
training people, by a hash of the person id) that the boosting did not train on, fitted to bins
of 50 validation people in score order and interpolated between them (``calibrator``): isotonic
regression on single people ends in plateaus of a few people who all had the event, and so in
predicted probabilities of exactly 1.0. The cost model is trained on every training person and
not recalibrated: its Tweedie log-link fit (variance power 1.1) is already calibrated in level.
Trees are small and regularized (7 leaves, 200 people per leaf), and few, learning fast (rate
0.1; 120 rounds for cost, 80 for the events).

The measurements behind the bin size, the variance power, the tree size and the number of
rounds are in ``docs/decisions/ml-calibration.md``. The held-out evaluation is
``risk_stratification.ml.evaluation``.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

import lightgbm as lgb
import numpy as np
import polars as pl
from sklearn.isotonic import IsotonicRegression

from risk_stratification.ml.artifact import dump_artifact, load_artifact
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


def validation_mask(person_ids: pl.Series, *, share: float = 0.2) -> np.ndarray:
    """A stable person-level split: True for the validation slice."""
    digest = person_ids.map_elements(
        lambda s: int(hashlib.blake2b(s.encode(), digest_size=4).hexdigest(), 16),
        return_dtype=pl.UInt64,
    )
    return (digest.to_numpy() % 1000) < share * 1000


@dataclass(frozen=True)
class RiskModels:
    """The fitted boosters, their calibrators and what they were trained on."""

    features: list[str]
    boosters: dict[str, lgb.Booster]
    calibrators: dict[str, IsotonicRegression]
    seed: int
    params: dict[str, Any]
    trained_on: dict[str, Any] = field(default_factory=dict)

    def predict(self, frame: pl.DataFrame) -> pl.DataFrame:
        """person_id and, per target, the calibrated prediction (cost in dollars a year; the
        binary targets as probabilities)."""
        x = frame.select(self.features).to_numpy(
            order="c"
        )  # row-major once: LightGBM would copy a column-major matrix for every model
        out: dict[str, pl.Series | np.ndarray] = {"person_id": frame["person_id"]}
        for name, booster in self.boosters.items():
            raw = np.asarray(booster.predict(x, num_threads=PARAMS["num_threads"]))
            out[f"pred_{name}"] = (
                self.calibrators[name].predict(raw) if name in self.calibrators else raw
            )
        return pl.DataFrame(out)

    def contributions(self, frame: pl.DataFrame, target: str = "cost") -> np.ndarray:
        """LightGBM's SHAP contributions (n x (features + 1), last column the expected value)."""
        return np.asarray(
            self.boosters[target].predict(
                frame.select(self.features).to_numpy(order="c"),
                pred_contrib=True,
                num_threads=PARAMS["num_threads"],
            )
        )

    def to_tree(self) -> dict[str, Any]:
        """The models as artifact parts (``artifact.dump_artifact``): boosters as LightGBM model
        text, calibrators as their fitted arrays, the rest as JSON."""
        return {
            "features": self.features,
            "boosters": self.boosters,
            "calibrators": self.calibrators,
            "seed": self.seed,
            "params": self.params,
            "trained_on": self.trained_on,
        }

    @classmethod
    def from_tree(cls, tree: dict[str, Any]) -> RiskModels:
        """The models of ``to_tree``, as ``artifact.load_artifact`` returns them."""
        return cls(
            list(tree["features"]),
            dict(tree["boosters"]),
            dict(tree["calibrators"]),
            int(tree["seed"]),
            dict(tree["params"]),
            dict(tree["trained_on"]),
        )

    def to_bytes(self) -> bytes:
        """A stand-alone artifact of the models (no pickle: ``risk_stratification.ml.artifact``)."""
        return dump_artifact({"risk_models": self.to_tree()})

    @classmethod
    def from_bytes(cls, data: bytes) -> RiskModels:
        """The models written by ``to_bytes`` (a ``StoreError`` for any other bytes)."""
        return cls.from_tree(load_artifact(data)["risk_models"])


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
    boosters: dict[str, lgb.Booster] = {}
    calibrators: dict[str, IsotonicRegression] = {}
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
        raw = np.asarray(booster.predict(x[valid], num_threads=PARAMS["num_threads"]))
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
    raw: np.ndarray, outcome: np.ndarray, *, people_per_bin: int = CALIBRATION_PEOPLE_PER_BIN
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
