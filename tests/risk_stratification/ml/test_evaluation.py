"""Held-out metrics and baselines on numbers small enough to check by hand."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from risk_stratification.ml.evaluation import Baselines, Evaluation, by_decile, event_metrics


def test_by_decile_puts_equal_numbers_of_people_in_each_decile():
    frame = pl.DataFrame({"p": np.arange(1.0, 21.0), "a": np.arange(1.0, 21.0) * 2})
    d = by_decile(frame, "p", "a")
    assert d["decile"].to_list() == list(range(1, 11))
    assert d["people"].to_list() == [2] * 10
    assert d["ratio"].to_list() == pytest.approx([0.5] * 10)


def test_event_metrics_when_the_only_event_has_the_highest_score():
    y = np.zeros(100)
    y[0] = 1
    m = event_metrics(y, np.linspace(1.0, 0.0, 100))
    assert m["roc_auc"] == 1.0 and m["pr_auc"] == 1.0 and m["prevalence"] == 0.01
    assert m["ppv_top_1pct"] == 1.0 and m["sensitivity_top_1pct"] == 1.0
    assert m["ppv_top_5pct"] == 0.2 and m["sensitivity_top_5pct"] == 1.0


def test_baselines_are_one_ratio_each_fitted_on_the_training_year():
    train = pl.DataFrame(
        {
            "person_id": ["a", "b"],
            "months": [12, 12],
            "annual_cost": [100.0, 300.0],
            "v28_raw_score": [1.0, 1.0],
            "cost_total": [50.0, 150.0],
        }
    )
    b = Baselines.fit(train)
    assert (b.hcc_dollars_per_point, b.prior_cost_ratio) == (200.0, 2.0)
    out = b.predict(train)
    assert out["hcc_baseline"].to_list() == [200.0, 200.0]
    assert out["prior_cost_baseline"].to_list() == [100.0, 300.0]


def test_evaluation_metric_reads_one_value_of_the_summary():
    summary = pl.DataFrame(
        {
            "model": ["model", "cms_hcc"],
            "target": ["cost", "cost"],
            "metric": ["r2", "r2"],
            "value": [0.36, 0.2],
        }
    )
    e = Evaluation(2023, 2024, summary, pl.DataFrame(), pl.DataFrame())
    assert e.metric("cms_hcc", "cost", "r2") == 0.2


def test_decile_intervals_collapse_when_every_replicate_gives_the_same_ratio():
    """Predicted exactly twice actual in decile 0 and equal in decile 1: every bootstrap
    replicate gives 2.0 and 1.0, so the intervals are those points."""
    import numpy as np

    from risk_stratification.ml.evaluation import decile_intervals

    actual = np.array([100.0, 200.0, 300.0, 50.0, 80.0])
    predicted = np.array([200.0, 400.0, 600.0, 50.0, 80.0])
    out = decile_intervals(pl.Series([0, 0, 0, 1, 1]), predicted, actual, np.ones(5), reps=50)
    assert out["ratio_low"].to_list() == pytest.approx([2.0, 1.0])
    assert out["ratio_high"].to_list() == pytest.approx([2.0, 1.0])


def test_decile_intervals_widen_with_noise_and_cover_the_ratio():
    """People whose actual cost is noisy around the prediction: the 95% interval covers the
    decile's observed ratio and is wider for the decile with fewer people."""
    import numpy as np

    from risk_stratification.ml.evaluation import decile_intervals

    rng = np.random.default_rng(5)
    n = np.array([200, 5_000])
    d = np.repeat([0, 1], n)
    predicted = np.full(d.size, 1_000.0)
    actual = rng.gamma(0.5, 2_000.0, d.size)
    out = decile_intervals(pl.Series(d), predicted, actual, np.ones(d.size), reps=300)
    ratio = [predicted[d == k].sum() / actual[d == k].sum() for k in (0, 1)]
    width = (out["ratio_high"] - out["ratio_low"]).to_list()
    assert all(
        lo <= r <= hi for lo, r, hi in zip(out["ratio_low"], ratio, out["ratio_high"], strict=True)
    )
    assert width[0] > 3 * width[1]
