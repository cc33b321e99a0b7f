from __future__ import annotations

import datetime as dt

import numpy as np
import polars as pl
import pytest

from modeling.errors import ParameterError
from modeling.marts.finance.completion import CompletionOptions, complete
from modeling.marts.finance.forecast import (
    ForecastOptions,
    backtest_summary,
    credible_through,
    forecast,
    membership_flows,
    project_members,
    seasonal_factors,
)
from modeling.marts.finance.trend import monthly_cost


def _series(n=36, trend=0.05, amplitude=0.08, noise=0.0, seed=0):
    rng = np.random.default_rng(seed)
    t = np.arange(n)
    y = (
        1000
        * (1 + trend) ** (t / 12)
        * np.exp(amplitude * np.cos(2 * np.pi * t / 12))
        * np.exp(rng.normal(0, noise, n))
    )
    ds = pl.date_range(dt.date(2023, 1, 1), dt.date(2023, 1, 1), "1mo", eager=True)
    ds = [dt.date(2023 + (i // 12), i % 12 + 1, 1) for i in range(n)]
    return pl.DataFrame({"unique_id": "total", "ds": ds, "y": y})


def test_seasonal_factors_recover_a_known_pattern():
    s = seasonal_factors(_series())
    expected = 0.08 * np.cos(2 * np.pi * np.arange(12) / 12)
    assert s.sort("m")["s"].to_numpy() == pytest.approx(expected - expected.mean(), abs=0.01)


def test_forecast_beats_seasonal_naive_on_a_trended_seasonal_series(three_year_dataset):
    from modeling.marts.finance.forecast import _fit

    train = _series(24, noise=0.005, seed=1)
    truth = _series(36, noise=0.0).slice(24)
    fc = _fit(train, 12, 0.8).with_columns(pl.col("point").exp(), pl.col("baseline").exp())
    j = fc.join(truth, on=["unique_id", "ds"])
    mape = float(((j["point"] / j["y"]) - 1).abs().mean())
    naive = float(((j["baseline"] / j["y"]) - 1).abs().mean())
    assert mape < 0.8 * naive


def test_membership_flows_and_projection(three_year_dataset):
    from modeling.core.panel import Panel

    panel = Panel(three_year_dataset)
    flows = membership_flows(panel.scan("member_months"))
    mm = panel.scan("member_months").group_by("year_month").len().collect().sort("year_month")
    assert flows["members"].to_list() == mm["len"].to_list()
    # members(t) = members(t-1) - leaving(t) + new(t)
    f = flows.slice(1)
    prev = flows["members"].to_numpy()[:-1]
    assert (prev - f["leaving"].to_numpy() + f["new"].to_numpy() == f["members"].to_numpy()).all()
    proj = project_members(flows, last=dt.date(2025, 6, 1), months=6)
    assert proj.height == 6 and proj["month"][0] == dt.date(2025, 7, 1)
    actual = flows.filter(pl.col("month").is_between(dt.date(2025, 7, 1), dt.date(2025, 12, 1)))[
        "members"
    ]
    assert np.abs(proj["member_months"].to_numpy() / actual.to_numpy() - 1).max() < 0.05


def test_forecast_on_the_panel(three_year_dataset):
    c = complete(three_year_dataset, as_of=dt.date(2025, 6, 30), options=CompletionOptions(draws=0))
    m = monthly_cost(three_year_dataset, completion=c)
    f = forecast(
        m,
        three_year_dataset,
        options=ForecastOptions(months=18, backtest_origins=3),
        train_through=credible_through(c.table),
    )
    t = f.table
    assert t["month"].min() == dt.date(2025, 7, 1)
    assert t.filter(pl.col("service_category") == "total").height == 18
    assert (t["pmpm_lo"] <= t["pmpm"]).all() and (t["pmpm"] <= t["pmpm_hi"]).all()
    assert t["total_cost"].to_numpy() == pytest.approx((t["pmpm"] * t["member_months"]).to_numpy())
    assert f.interval_scale > 0
    s = backtest_summary(f.backtest)
    assert set(s.columns) >= {"mape", "baseline_mape", "coverage"}
    with pytest.raises(ParameterError):
        forecast(m, three_year_dataset, options=ForecastOptions(months=0))
    with pytest.raises(ParameterError):
        forecast(m.filter(pl.col("incurred_month") < dt.date(2023, 6, 1)), three_year_dataset)


def test_the_engine_is_chosen_per_series_by_backtest():
    """A seasonal random walk (each month = the same month a year before x noise) is what
    seasonal naive is made for; a smooth trended seasonal series is the model's."""
    from modeling.marts.finance.forecast import BASELINE, MODEL, backtest

    rng = np.random.default_rng(7)
    n = 36
    walk = np.empty(n)
    walk[:12] = 1000 * np.exp(rng.normal(0, 0.3, 12))
    for t in range(12, n):
        walk[t] = walk[t - 12] * np.exp(rng.normal(0.0, 0.15))
    ds = [dt.date(2023 + i // 12, i % 12 + 1, 1) for i in range(n)]
    series = pl.concat(
        [
            _series(n, noise=0.003, seed=3).with_columns(pl.lit("smooth").alias("unique_id")),
            pl.DataFrame({"unique_id": "walk", "ds": ds, "y": walk}),
        ]
    )
    bt, choice, profile = backtest(series, ForecastOptions(backtest_origins=12))
    engine = dict(zip(choice["service_category"], choice["engine"], strict=True))
    assert engine == {"smooth": MODEL, "walk": BASELINE}
    assert (choice["interval_scale"] > 0).all()
    scales = profile.sort("bucket")["horizon_scale"].to_numpy()
    assert (np.diff(scales) >= 0).all()
    # the backtest's calibrated interval holds about 80% of its own outcomes per series
    cover = bt.group_by("service_category").agg(
        ((pl.col("actual") >= pl.col("lo")) & (pl.col("actual") <= pl.col("hi"))).mean()
    )
    assert cover["actual"].to_numpy() == pytest.approx(0.8, abs=0.12)


def test_membership_flows_count_a_gap_as_leaving_and_returning():
    frame = pl.LazyFrame(
        {
            "person_id": ["A", "A", "A", "B", "B"],
            "year_month": [
                dt.date(2024, 1, 1),
                dt.date(2024, 2, 1),
                dt.date(2024, 4, 1),
                dt.date(2024, 2, 1),
                dt.date(2024, 3, 1),
            ],
        }
    )
    f = membership_flows(frame)
    assert f["members"].to_list() == [1, 2, 1, 1]
    assert f["new"].to_list() == [1, 1, 0, 1]  # A in January, B in February, A again in April
    assert f["leaving"].to_list()[1:] == [0, 1, 1]  # A after February, B after March
