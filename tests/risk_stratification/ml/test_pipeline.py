"""Train, evaluate, register and score on a dataset: models against baselines on a held-out
year, registry round trip, December members."""

from __future__ import annotations

import polars as pl
import pytest


@pytest.fixture(scope="module")
def default_panel(tmp_path_factory):
    from modeling.synth import generate
    from modeling.synth.defaults import DEFAULT_PANEL

    return generate(DEFAULT_PANEL, tmp_path_factory.mktemp("panel") / "default")


@pytest.fixture(scope="module")
def trained_on_default(default_panel):
    from risk_stratification.ml.pipeline import train

    return train(default_panel, seed=3)


@pytest.fixture(scope="module")
def held_out_at_scale(tmp_path_factory):
    """The held-out evaluation on 100,000 members (the default spec with another seed): trained on
    2023 -> 2024 at the pipeline test's seed, evaluated on 2024 -> 2025."""
    import dataclasses

    from modeling.synth import generate
    from modeling.synth.defaults import DEFAULT_PANEL
    from risk_stratification.ml.evaluation import Baselines, evaluate
    from risk_stratification.ml.features import modeling_frame
    from risk_stratification.ml.models import fit

    spec = dataclasses.replace(DEFAULT_PANEL, members=100_000, seed=2)
    panel = generate(spec, tmp_path_factory.mktemp("panel") / "p100k")
    train, test = modeling_frame(panel, 2023), modeling_frame(panel, 2024)
    return evaluate(fit(train, seed=3), Baselines.fit(train), test, train_year=2023, test_year=2024)


# The 0.90-1.10 target is measured on 100,000 members. On the 20,000-member default panel a
# decile's ratio has a sampling error of 4-6% (bootstrap, deciles 1-5), so a 10% band there is a
# 2-SD band that a calibrated model misses about one time in four, and any change to the
# generator is a new draw; the default panel keeps the 0.85-1.15 band of the test below. On the
# held-out year every person is over-predicted by about the same few percent (the synthetic cost
# trend slows from one year pair to the next), so the deciles are compared after that level,
# which is checked on its own. docs/decisions/ml-calibration.md has the measurements.
def test_predictive_ratio_is_within_10_percent_in_every_decile(held_out_at_scale):
    e = held_out_at_scale
    cost = e.deciles.filter((pl.col("model") == "model") & (pl.col("target") == "cost"))
    assert cost.height == 10
    assert cost["normalized_ratio"].is_between(0.90, 1.10).all(), cost["normalized_ratio"].to_list()
    assert 0.90 <= e.metric("model", "cost", "predictive_ratio") <= 1.10
    assert (cost["ratio_low"] <= cost["ratio"]).all() and (
        cost["ratio"] <= cost["ratio_high"]
    ).all()
    # the sampling interval at 100,000 members is narrow enough for the band to mean something
    assert ((cost["ratio_high"] - cost["ratio_low"]) / cost["ratio"]).max() < 0.15


def test_models_beat_both_baselines_on_a_held_out_year(default_panel, trained_on_default, tmp_path):
    """Trained on 2023 -> 2024, tested on 2024 -> 2025 of the default panel: cost R-squared at least
    1.3x CMS-HCC's and above prior cost's, predictive ratio within 0.85-1.15 by decile (the
    0.90-1.10 target is the test above), admission ROC-AUC above both baselines, readmission no
    worse than LACE; the registry round-trips the model."""
    from modeling.store import WorkspaceStore
    from risk_stratification.ml.pipeline import load_registered, register, score

    trained = trained_on_default
    e = trained.evaluation
    assert (e.train_year, e.test_year) == (2023, 2024)
    assert e.metric("model", "cost", "r2") >= 1.3 * e.metric("cms_hcc", "cost", "r2")
    assert e.metric("model", "cost", "r2") > e.metric("prior_cost", "cost", "r2")
    ratios = e.deciles.filter((pl.col("model") == "model") & (pl.col("target") == "cost"))["ratio"]
    assert ratios.len() == 10 and ratios.is_between(0.85, 1.15).all(), ratios.to_list()
    for baseline in ("cms_hcc", "prior_cost"):
        assert e.metric("model", "admission", "roc_auc") > e.metric(
            baseline, "admission", "roc_auc"
        )
    r = e.readmission
    auc = lambda m: r.filter((pl.col("model") == m) & (pl.col("metric") == "roc_auc"))["value"][0]  # noqa: E731
    # readmission is close to LACE on synthetic claims (0.59 vs 0.59 on the default panel): the model
    # must be better than chance and not materially worse than LACE
    assert auc("model") > 0.55 and auc("model") > auc("lace") - 0.02
    with WorkspaceStore.open(tmp_path / "ws.duckdb") as store:
        version = register(trained, store)
        loaded, used = load_registered(store)
    assert (
        used == version
        and loaded.card["seed"] == 3
        and loaded.card["data_hash"] == default_panel.manifest["content_hash"]
    )
    scored = score(default_panel, loaded)
    assert (
        scored["prediction_year"][0] == 2026
        and scored["tier"].is_in(["highest", "high", "rising", "moderate", "low"]).all()
    )
    assert scored.filter(pl.col("tier") == "highest")["driver_1"].null_count() == 0
    sliced = score(
        default_panel, trained, slice_people=7_000
    )  # a big panel is read in person slices: same answer
    assert sliced.height == scored.height
    assert sliced.sort("person_id")["pred_cost"].to_list() == pytest.approx(
        scored.sort("person_id")["pred_cost"].to_list(), rel=1e-9
    )
    assert sliced.sort("person_id")["tier"].to_list() == scored.sort("person_id")["tier"].to_list()


def test_december_members_match_member_months(small_dataset):
    from modeling.core.member_months import member_months
    from risk_stratification.ml.pipeline import december_members

    for year in (2023, 2024):
        expected = (
            member_months(small_dataset.scan("eligibility"))
            .filter((pl.col("year") == year) & (pl.col("month") == 12))
            .select(pl.col("person_id").unique().sort())
            .collect()["person_id"]
        )
        assert december_members(small_dataset, year).to_list() == expected.to_list()
