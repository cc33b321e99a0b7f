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


# Was a strict xfail (the second cost decile at 0.887-0.929 over seeds 0, 1, 3 after the
# bundle, transitional-care and winter lines joined the generator). It passes at seed 3 since
# the bundle line's spinal-fusion readmissions follow their published rate and the preventive
# screening line joined (2026-12-01, main after the merges: deciles 0.940-1.084). Not at every
# training seed: seeds 7 and 11 pass (0.952-1.059, 0.954-1.062), seeds 0 and 1 miss at decile
# 5 (1.108, 1.134); docs/decisions/ml-calibration.md.
def test_predictive_ratio_is_within_10_percent_in_every_decile(trained_on_default):
    e = trained_on_default.evaluation
    ratios = e.deciles.filter((pl.col("model") == "model") & (pl.col("target") == "cost"))["ratio"]
    assert ratios.len() == 10 and ratios.is_between(0.90, 1.10).all(), ratios.to_list()


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
