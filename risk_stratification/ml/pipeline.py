"""Train, evaluate, register and score the risk models on a dataset.

``train(dataset)`` needs three years of data t0, t1, t2: it fits on features t0 -> outcomes t1,
evaluates on features t1 -> outcomes t2 (the honest, temporal test), then refits the same
configuration on t1 -> t2 so that scoring the newest year uses the newest relationships; the
model card records the held-out metrics of the first fit. ``register`` stores the card and the
artifact in the workspace store; ``score(dataset, trained)`` predicts the year after the data,
assigns tiers and writes each person's top drivers.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, fields, replace
from datetime import UTC, datetime

import lightgbm as lgb
import numpy as np
import polars as pl

from modeling.core.member_months import years_enrolled
from modeling.core.panel import Panel
from modeling.dataset import Dataset
from modeling.errors import DatasetError, RecordNotFoundError, StoreError
from modeling.progress import Progress, reporter
from risk_stratification.ml.artifact import RETRAIN, dump_artifact, load_artifact
from risk_stratification.ml.drivers import driver_words, global_importance, top_drivers
from risk_stratification.ml.evaluation import Baselines, Evaluation, evaluate
from risk_stratification.ml.features import december_members, features, modeling_frame
from risk_stratification.ml.models import RiskModels, fit
from risk_stratification.ml.readmission import FEATURES as READMISSION_FEATURES
from risk_stratification.ml.readmission import discharges, evaluate_readmission, fit_readmission
from risk_stratification.ml.tiers import TierPolicy, assign_tiers

MODEL_NAME = "risk_stratification"


@dataclass
class TrainedRisk:
    models: RiskModels  # refit on the latest year pair, used for scoring
    readmission: lgb.Booster
    baselines: Baselines
    evaluation: Evaluation
    card: dict

    def to_bytes(self) -> bytes:
        """The artifact the registry keeps: LightGBM model text, plain arrays, Parquet frames and
        JSON, nothing that runs code when read (``risk_stratification.ml.artifact``)."""
        return dump_artifact(
            {
                "models": self.models.to_tree(),
                "readmission": self.readmission,
                "baselines": self.baselines,
                "evaluation": self.evaluation,
                "card": self.card,
            }
        )

    @classmethod
    def from_bytes(cls, data: bytes) -> TrainedRisk:
        """The trained models of ``to_bytes``; a ``StoreError`` for any other bytes (an earlier
        version's pickle included: retrain)."""
        tree = load_artifact(data)
        try:
            evaluation = tree["evaluation"]
            return cls(
                RiskModels.from_tree(tree["models"]),
                tree["readmission"],
                Baselines(**tree["baselines"]),
                Evaluation(
                    **{
                        f.name: evaluation[f.name]
                        for f in fields(Evaluation)
                        if f.name in evaluation
                    }
                ),
                tree["card"],
            )
        except (KeyError, TypeError) as exc:
            raise StoreError(f"This model artifact lacks a part ({exc}). {RETRAIN}") from None


def data_years(source: Panel | Dataset) -> list[int]:
    return years_enrolled(source.scan("eligibility"))


def train(
    source: Panel | Dataset, *, seed: int = 0, progress: Progress | None = None
) -> TrainedRisk:
    say = reporter(progress)
    dataset = Panel.of(source, progress=progress)
    years = data_years(dataset)
    if len(years) < 3:
        raise DatasetError(
            f"Training needs three years of data (features, outcomes, and a later year to test on); {dataset.path} covers "
            f"{', '.join(map(str, years)) or 'none'}."
        )
    t0, t1 = years[-3], years[-2]
    started = time.perf_counter()
    say(f"building features {t0} -> outcomes {t1}")
    train_frame = modeling_frame(dataset, t0)
    say(f"building features {t1} -> outcomes {t1 + 1}")
    test_frame = modeling_frame(dataset, t1)
    say("fitting cost, admission, ED and top-5% models")
    held_out = fit(train_frame, seed=seed)
    baselines = Baselines.fit(train_frame)
    say(f"evaluating on {t1} -> {t1 + 1} against the CMS-HCC and prior-cost baselines")
    evaluation = evaluate(held_out, baselines, test_frame, train_year=t0, test_year=t1)
    say("fitting the readmission model and its LACE comparison")
    train_stays, test_stays = discharges(dataset, t0), discharges(dataset, t1)
    evaluation = replace(
        evaluation,
        readmission=evaluate_readmission(fit_readmission(train_stays, seed=seed), test_stays),
    )
    say(f"refitting on {t1} -> {t1 + 1} for scoring")
    final = fit(test_frame, seed=seed)
    readmission = fit_readmission(test_stays, seed=seed)
    final_baselines = Baselines.fit(test_frame)
    seconds = time.perf_counter() - started
    card = {
        "name": MODEL_NAME,
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "dataset": str(dataset.path),
        "data_hash": dataset.manifest.get("content_hash"),
        "evaluation": {
            "train": f"{t0} -> {t0 + 1}",
            "test": f"{t1} -> {t1 + 1}",
            "rows_train": train_frame.height,
            "rows_test": test_frame.height,
        },
        "scoring_fit": f"{t1} -> {t1 + 1}",
        "features": final.features,
        "readmission_features": READMISSION_FEATURES,
        "parameters": final.params,
        "seed": seed,
        "training_seconds": round(seconds, 1),
        "metrics": {
            f"{r['model']}.{r['target']}.{r['metric']}": r["value"]
            for r in evaluation.summary.iter_rows(named=True)
        },
        "readmission_metrics": {
            f"{r['model']}.{r['metric']}": r["value"]
            for r in evaluation.readmission.iter_rows(named=True)
        },
    }
    return TrainedRisk(final, readmission, final_baselines, evaluation, card)


def register(trained: TrainedRisk, store) -> int:
    """Store the model card and artifact; returns the registry version."""
    return store.register_model(MODEL_NAME, trained.card, trained.to_bytes()).version


def load_registered(store, version: int | None = None) -> tuple[TrainedRisk, int]:
    """The registered models (the latest version when ``version`` is None), their artifact's
    checksum checked by the store. No registration is a ``DatasetError`` saying to train; a
    tampered, damaged or pickled artifact is the store's ``StoreError`` saying to retrain."""
    try:
        entry = store.get_model(MODEL_NAME, version)
    except RecordNotFoundError:
        if version is not None:
            raise DatasetError(
                f"This workspace has no risk model version {version}: leave the version out for "
                "the latest, or run `vbc train DATASET`."
            ) from None
        raise DatasetError(
            "No risk model is registered in this workspace yet: run `vbc train DATASET` (or Train on the Risk stratification page)."
        ) from None
    if entry.artifact is None:
        raise StoreError(f"Risk model version {entry.version} has no artifact. {RETRAIN}")
    return TrainedRisk.from_bytes(entry.artifact), entry.version


ACTIONABLE_TIERS = ("highest", "high", "rising")


def _describe(frame: pl.DataFrame) -> pl.DataFrame:
    listed = lambda prefix, name: pl.concat_str(  # noqa: E731
        [
            pl.when(pl.col(c) == 1).then(pl.lit(name(c)))
            for c in frame.columns
            if c.startswith(prefix) and c != "hcc_count"
        ],
        separator=", ",
        ignore_nulls=True,
    )
    shown = [
        "age",
        "female",
        "full_dual",
        "partial_dual",
        "hcc_count",
        "v28_raw_score",
        "cost_total",
        "months_enrolled",
        "inpatient_stays",
        "ed_visits",
        "chronic_condition_count",
    ]
    # model inputs are floats; the list shows counts and flags as whole numbers, the score as CMS rounds it
    as_shown = {
        "v28_raw_score": pl.col("v28_raw_score").round(3),
        "cost_total": pl.col("cost_total"),
    }
    return frame.select(
        "person_id",
        *[as_shown.get(c, pl.col(c).cast(pl.Int32)) for c in shown],
        listed("cc_", lambda c: c[3:].replace("_", " ")).alias("conditions"),
        listed("hcc_", lambda c: "HCC" + c[4:]).alias("hccs"),
    )


def score(
    source: Panel | Dataset,
    trained: TrainedRisk,
    *,
    policy: TierPolicy | None = None,
    feature_year: int | None = None,
    drivers: int = 3,
    drivers_for: tuple[str, ...] | None = ACTIONABLE_TIERS,
    slice_people: int = 150_000,
    progress: Progress | None = None,
) -> pl.DataFrame:
    """One row per member enrolled in December of the last data year (or ``year``): predictions
    for the next year, the CMS-HCC and prior-cost baselines, tier, and plain-words drivers for
    the members of ``drivers_for`` tiers (None: everyone; the others can be explained one at a
    time with ``explain``). Big panels are read in slices of ``slice_people`` people."""
    from risk_stratification.hcc.tables import load_tables

    say = reporter(progress)
    dataset = Panel.of(source, progress=say)
    year = feature_year or data_years(dataset)[-1]
    frame = features(dataset, year, slice_people=slice_people, progress=say)
    say("predicting")
    predictions = trained.models.predict(frame).join(
        trained.baselines.predict(frame), on="person_id"
    )
    attribution = (
        dataset.scan("provider_attribution")
        .filter(pl.col("year") == year)
        .select("person_id", "provider_npi", "provider_name")
        .unique("person_id", keep="first")
        .collect()
    )
    scored = assign_tiers(
        _describe(frame).join(predictions, on="person_id"), policy or TierPolicy()
    )
    explain_rows = (
        frame
        if drivers_for is None
        else frame.join(
            scored.filter(pl.col("tier").is_in(drivers_for)).select("person_id"),
            on="person_id",
            how="semi",
        )
    )
    say(f"explaining {explain_rows.height:,} members")
    labels = dict(load_tables("V28").labels.iter_rows())
    if explain_rows.height:
        why = top_drivers(
            trained.models.contributions(explain_rows, "cost"),
            explain_rows,
            trained.models.features,
            n=drivers,
            labels=labels,
        )
    else:
        why = pl.DataFrame(
            {"person_id": pl.Series([], dtype=pl.String)}
            | {
                f"driver_{k}{s}": pl.Series([], dtype=pl.String)
                for k in range(1, drivers + 1)
                for s in ("", "_feature")
            }
        )
    return (
        scored.join(why, on="person_id", how="left")
        .join(attribution, on="person_id", how="left")
        .with_columns(
            pl.col("pred_cost", "hcc_baseline", "prior_cost_baseline").round(2),
            pl.lit(year + 1).alias("prediction_year"),
        )
        .sort("pred_cost", descending=True)
    )


def explain(
    source: Panel | Dataset,
    trained: TrainedRisk,
    person_id: str,
    *,
    feature_year: int | None = None,
    drivers: int = 5,
) -> pl.DataFrame:
    """One member's top drivers (plain words and SHAP contribution to log predicted cost)."""
    from risk_stratification.hcc.tables import load_tables

    panel = Panel.of(source)
    year = feature_year or data_years(panel)[-1]
    frame = features(panel.for_people(person_id, person_id), year)
    if frame.is_empty():
        raise DatasetError(f"{person_id} is not enrolled in December {year}.")
    contrib = trained.models.contributions(frame, "cost")[0, : len(trained.models.features)]
    labels = dict(load_tables("V28").labels.iter_rows())
    values = frame.row(0, named=True)
    order = sorted(range(len(contrib)), key=lambda i: -contrib[i])[:drivers]
    return pl.DataFrame(
        {
            "driver": [
                driver_words(trained.models.features[i], values[trained.models.features[i]], labels)
                for i in order
            ],
            "feature": [trained.models.features[i] for i in order],
            "contribution": [float(contrib[i]) for i in order],
        }
    ).filter(pl.col("contribution") > 0)


def importance(
    source: Panel | Dataset,
    trained: TrainedRisk,
    *,
    feature_year: int | None = None,
    sample: int = 5000,
) -> pl.DataFrame:
    """Global importance of the cost model's features (mean |SHAP|) on ``sample`` members: the
    whole panel when it is no larger, else a block of consecutive ids at a seeded random place
    (ids carry no meaning, and a block lets Parquet read only that block)."""
    dataset = Panel.of(source)
    year = feature_year or data_years(dataset)[-1]
    ids = december_members(dataset, year)
    if ids.len() > sample:
        start = int(np.random.default_rng(0).integers(0, ids.len() - sample + 1))
        dataset = dataset.for_people(ids[start], ids[start + sample - 1])
    frame = features(dataset, year)
    return global_importance(trained.models.contributions(frame, "cost"), trained.models.features)
