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
    # the total's interval: its variance law's, counted from the last month trained on
    law = f.horizon_profile.filter(pl.col("kind") == "total")
    assert set(law["shape"]) == {"estimated"}
    trained = credible_through(c.table)
    gap = m.filter(pl.col("incurred_month") > trained)["incurred_month"].n_unique()
    tot = t.filter(pl.col("service_category") == "total").sort("month")
    h = gap + np.arange(1, 19)
    assert np.log(tot["pmpm_hi"] / tot["pmpm"]).to_numpy() == pytest.approx(
        law["horizon_scale"][0] * np.sqrt(law["noise"][0] + law["growth"][0] * h), rel=1e-9
    )
    s = backtest_summary(f.backtest)
    assert set(s.columns) >= {"mape", "baseline_mape", "coverage"}
    with pytest.raises(ParameterError):
        forecast(m, three_year_dataset, options=ForecastOptions(months=0))
    with pytest.raises(ParameterError):
        forecast(m.filter(pl.col("incurred_month") < dt.date(2023, 6, 1)), three_year_dataset)


def test_the_engine_is_chosen_per_series_by_backtest():
    """A seasonal random walk (each month = the same month a year before x noise) is what
    seasonal naive is made for; a smooth trended seasonal series is the model's."""
    from modeling.marts.finance.forecast import BASELINE, backtest

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
    assert engine["walk"] == BASELINE and engine["smooth"] != BASELINE
    # seasonal naive is a candidate: no series' chosen engine lost to it in the backtest
    assert (choice["mape"] <= choice["baseline_mape"]).all()
    assert (choice["interval_scale"] > 0).all()
    for _, part in profile.group_by("kind"):
        assert (np.diff(part.sort("bucket")["horizon_scale"].to_numpy()) >= 0).all()
    covered = (pl.col("actual") >= pl.col("lo")) & (pl.col("actual") <= pl.col("hi"))
    # each category's own scale: about 80% of each series' backtest outcomes
    cover = bt.group_by("service_category").agg(covered.mean().alias("c"))
    assert cover["c"].to_numpy() == pytest.approx(0.8, abs=0.12)
    # one pooled interval for both: about 80% of their outcomes together, not of each
    pooled, _, _ = backtest(series, ForecastOptions(backtest_origins=12, interval_by_series=False))
    assert pooled.select(covered.mean()).item() == pytest.approx(0.8, abs=0.06)
    apart = pooled.group_by("service_category").agg(covered.mean().alias("c"))
    assert apart["c"].max() - apart["c"].min() > 0.3


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


@pytest.mark.parametrize("months", [12, 18, 23])
def test_seasonal_factors_from_one_or_two_years_cover_every_calendar_month(months):
    """Under 24 months the centred 2x12 average exists for few months (none at 12): the ends
    take the nearest 12-month window, so every calendar month gets its own factor."""
    s = seasonal_factors(_series(months, trend=0.0))
    expected = 0.08 * np.cos(2 * np.pi * np.arange(12) / 12)
    assert s.sort("m")["s"].to_numpy() == pytest.approx(expected - expected.mean(), abs=1e-9)
    trended = seasonal_factors(_series(months, trend=0.05)).sort("m")["s"].to_numpy()
    # a 5% yearly trend biases a factor off centre by at most half a year's trend
    assert trended == pytest.approx(expected - expected.mean(), abs=0.03)


def test_the_latest_months_are_neither_trained_on_nor_scored_in_the_backtest():
    from modeling.marts.finance.forecast import backtest

    series = _series(30, noise=0.01, seed=2)
    last = series["ds"].max()
    for unscored in (0, 3):
        bt, _, _ = backtest(series, ForecastOptions(backtest_origins=6, unscored_months=unscored))
        latest = series["ds"].sort()[-1 - unscored]
        assert bt["month"].max() == latest and bt["origin"].max() < latest
        assert (unscored == 0) == (bt["month"].max() == last)
    with pytest.raises(ParameterError):
        ForecastOptions(unscored_months=-1).check()


def _backtest_frame(apes: dict[str, dict[str, list[float]]]) -> pl.DataFrame:
    """A backtest with one point per origin: ``apes[series][engine]`` the APE at each origin
    (engines not given: 0.5, far worse than any)."""
    from modeling.marts.finance.forecast import ENGINE_COLUMNS

    frames = []
    for sid, by_engine in apes.items():
        n = len(next(iter(by_engine.values())))
        y = np.full(n, 100.0)
        cols = {
            ENGINE_COLUMNS[e][0]: np.log(y * (1 + np.asarray(by_engine.get(e, [0.5] * n))))
            for e in ENGINE_COLUMNS
        }
        frames.append(pl.DataFrame({"unique_id": sid, "origin": np.arange(n), "y": y, **cols}))
    return pl.concat(frames)


def test_a_series_keeps_the_default_engine_unless_another_is_clearly_better():
    """Hand-computed: "steady" gains 0.03 +- 0.001 at every origin from seasonal naive (far
    beyond 1.645 standard errors): it switches. "noisy" gains 0.01 on average (0.05, -0.03,
    0.05, -0.03: standard deviation 0.046, standard error 0.023, so 0.43 standard errors): it
    keeps theta although its backtest MAPE is lower. "single" has one origin: no comparison, theta."""
    from modeling.marts.finance.forecast import _pick

    bt = _backtest_frame(
        {
            "steady": {"theta": [0.05] * 4, "SeasonalNaive": [0.021, 0.019, 0.021, 0.019]},
            "noisy": {"theta": [0.05] * 4, "SeasonalNaive": [0.0, 0.08, 0.0, 0.08]},
            "single": {"theta": [0.05], "SeasonalNaive": [0.01]},
        }
    )
    picked = dict(_pick(bt, "theta", 1.645).iter_rows())
    assert picked == {"steady": "SeasonalNaive", "noisy": "theta", "single": "theta"}
    # with no evidence required, the lowest backtest MAPE wins wherever it is lower
    assert dict(_pick(bt, "theta", 0.0).iter_rows())["noisy"] == "SeasonalNaive"


def test_among_clearly_better_engines_the_lowest_mape_is_taken():
    from modeling.marts.finance.forecast import _pick

    bt = _backtest_frame(
        {
            "s": {
                "theta": [0.06] * 5,
                "model": [0.030, 0.031, 0.029, 0.030, 0.030],
                "combination": [0.020, 0.021, 0.019, 0.020, 0.020],
            }
        }
    )
    assert dict(_pick(bt, "theta", 1.645).iter_rows()) == {"s": "combination"}
    assert dict(_pick(bt, "model", 1.645).iter_rows()) == {"s": "combination"}


@pytest.mark.parametrize(
    "bad", [{"default_engine": "prophet"}, {"switch_z": -1.0}, {"default_engine": ""}]
)
def test_bad_engine_choice_options_are_parameter_errors(bad):
    with pytest.raises(ParameterError):
        ForecastOptions(**bad).check()


def test_the_totals_interval_widens_as_its_engine_says():
    """The total's stated half-width (log scale) at every horizon is one backtest quantile times
    the chosen engine's own half-width there (never narrower than at an earlier horizon), so it
    widens past the horizons the in-history backtest reaches; the categories' stay flat within
    a horizon bucket ("buckets")."""
    from modeling.marts.finance.forecast import _fit, backtest

    n = 30
    total = _series(n, noise=0.01, seed=5)
    cat = _series(n, trend=0.02, noise=0.04, seed=6).with_columns(pl.lit("cat").alias("unique_id"))
    series = pl.concat([total, cat])
    opts = ForecastOptions(backtest_origins=12, total_interval_shape="engine")
    bt, choice, profile = backtest(series, opts)
    engine = dict(zip(choice["service_category"], choice["engine"], strict=True))
    origin = bt["origin"].min()
    train = series.filter(pl.col("ds") <= origin)
    fit = _fit(train, 12, 0.8).filter(pl.col("unique_id") == "total").sort("ds")
    columns = {
        "model": "half",
        "level": "level_half",
        "theta": "theta_half",
        "combination": "combination_half",
        "SeasonalNaive": "baseline_half",
    }
    own = np.maximum.accumulate(fit[columns[engine["total"]]].to_numpy())
    t = bt.filter((pl.col("service_category") == "total") & (pl.col("origin") == origin)).sort(
        "horizon"
    )
    half = np.log(t["hi"].to_numpy() / t["chosen"].to_numpy())
    k = len(half)
    assert k >= 6
    assert half / half[0] == pytest.approx(own[:k] / own[0], rel=1e-9)
    scale = profile.filter(pl.col("kind") == "total")["horizon_scale"].unique()
    assert scale.len() == 1  # one quantile for every horizon: the engine carries the shape
    assert half == pytest.approx(scale[0] * own[:k], rel=1e-9)
    c = bt.filter((pl.col("service_category") == "cat") & (pl.col("origin") == origin)).sort(
        "horizon"
    )
    c_half = np.log(c["hi"].to_numpy() / c["chosen"].to_numpy())
    assert c_half[:3] == pytest.approx(np.full(3, c_half[0]), rel=1e-9)  # bucket 1-3 months
    with pytest.raises(ParameterError, match="interval_shape"):
        ForecastOptions(total_interval_shape="wide").check()


def test_the_total_keeps_its_engines_own_interval_without_enough_backtest():
    """("engine" shape) With fewer than MIN_SCALE_POINTS backtest points (18 months of history: origins at 13
    and 14 months, 3 points) the total's stated interval is its engine's own, uncalibrated."""
    from modeling.marts.finance.forecast import MIN_SCALE_POINTS, _fit, backtest

    series = _series(18, noise=0.01, seed=5)
    bt, choice, profile = backtest(
        series, ForecastOptions(backtest_origins=12, total_interval_shape="engine")
    )
    assert 0 < bt.height < MIN_SCALE_POINTS
    assert profile["horizon_scale"].to_list() == [1.0] * profile.height
    engine = choice["engine"][0]
    origin = bt["origin"].min()
    fit = _fit(series.filter(pl.col("ds") <= origin), 12, 0.8).sort("ds")
    columns = {
        "model": "half",
        "level": "level_half",
        "theta": "theta_half",
        "combination": "combination_half",
        "SeasonalNaive": "baseline_half",
    }
    own = np.maximum.accumulate(fit[columns[engine]].to_numpy())
    t = bt.filter(pl.col("origin") == origin).sort("horizon")
    half = np.log(t["hi"].to_numpy() / t["chosen"].to_numpy())
    assert half == pytest.approx(own[: len(half)], rel=1e-9)


def _total_backtest(errors: dict[str, list[float]], horizons: list[int], origins: list[dt.date]):
    """A hand-built in-history backtest of the total: one row per origin and horizon, every
    engine's log forecast = log(actual) - its error (``errors``: engine -> one error per row)."""
    from modeling.marts.finance.forecast import ENGINE_COLUMNS

    ds = [pl.Series([o]).dt.offset_by(f"{h}mo")[0] for o, h in zip(origins, horizons, strict=True)]
    y = np.full(len(ds), 1000.0)
    frame = {
        "unique_id": "total",
        "origin": origins,
        "ds": ds,
        "horizon": horizons,
        "y": y,
        "train_months": 20,
    }
    for engine, (column, _) in ENGINE_COLUMNS.items():
        frame[column] = np.log(y) - np.asarray(errors.get(engine, errors["theta"]))
    return pl.DataFrame(frame)


def test_the_totals_variance_law_is_fitted_to_the_procedures_errors():
    """Errors whose squares are exactly 0.0004 + 0.0001 h: non-negative least squares gives
    those two terms back, every standardized error is 1, so the 80% scale is 1 and the stated
    half-width at h is sqrt(0.0004 + 0.0001 h)."""
    from modeling.marts.finance.forecast import procedure_errors, total_variance_law

    def law_of(errors):
        bt = _total_backtest({"theta": errors}, horizons, origins)
        return total_variance_law(procedure_errors(bt, ForecastOptions()), ForecastOptions())

    horizons = [1, 2, 3, 4, 1, 2, 3, 1, 2, 1]
    origins = [dt.date(2024, m, 1) for m in (1, 1, 1, 1, 2, 2, 2, 3, 3, 4)]
    signs = [1, -1, 1, -1, -1, 1, 1, -1, 1, 1]
    e = [s * np.sqrt(0.0004 + 0.0001 * h) for s, h in zip(signs, horizons, strict=True)]
    law = law_of(e)
    assert law["noise"][0] == pytest.approx(0.0004, rel=1e-9)
    assert law["growth"][0] == pytest.approx(0.0001, rel=1e-9)
    assert law["scale"][0] == pytest.approx(1.0, rel=1e-9)
    # flat errors: no growth term, the scale their 80% quantile over sqrt(noise)
    flat = [0.01, -0.02, 0.03, -0.01, 0.02, -0.03, 0.01, 0.02, -0.01, 0.04]
    law = law_of(flat)
    # least squares passes through the mean: noise + growth x mean(h) = mean(e^2)
    fitted = law["noise"][0] + law["growth"][0] * np.mean(horizons)
    assert fitted == pytest.approx(np.mean(np.square(flat)), rel=1e-6)


def test_the_procedures_errors_choose_the_engine_from_what_was_known_at_each_origin():
    """Seasonal naive errs 0.1% and Theta (the default) 5% at every origin: at each origin the
    procedure's engine is the one its backtest then shows clearly better, from the earlier
    origins' forecasts of months at least ``unscored_months`` before it; the first origins,
    with fewer than two such, keep Theta. Its errors, not the finally chosen engine's (all
    0.1%), calibrate the interval."""
    from modeling.marts.finance.forecast import procedure_errors

    origins, horizons = [], []
    for k in range(8):
        for h in (1, 2):
            origins.append(dt.date(2023, 1 + k, 1))
            horizons.append(h)
    rng = np.random.default_rng(3)
    theta = list(0.05 + 0.002 * rng.standard_normal(len(origins)))
    naive = list(0.001 + 0.0001 * rng.standard_normal(len(origins)))
    bt = _total_backtest({"theta": theta, "SeasonalNaive": naive}, horizons, origins)
    out = procedure_errors(bt, ForecastOptions(unscored_months=3)).sort("origin", "horizon")
    by_origin = dict(zip(out["origin"], out["engine"], strict=False))
    # the origin of month k sees the forecasts of origins up to k - 1 for months <= k - 3:
    # origin k - 4 (its 2-month forecast lands at k - 2 > k - 3: only its first) and before
    assert [by_origin[dt.date(2023, 1 + k, 1)] for k in range(8)] == ["theta"] * 5 + [
        "SeasonalNaive"
    ] * 3
    first = out.filter(pl.col("engine") == "theta")["error"].to_numpy()
    assert first == pytest.approx(np.asarray(theta[:10]), rel=1e-9)


def test_the_totals_estimated_interval_is_the_laws_at_every_horizon():
    """The default (``total_interval_shape`` "estimated"): the total's stated half-width in
    the backtest and in the forecast is scale x sqrt(noise + growth x h) of its variance law."""
    from modeling.marts.finance.forecast import backtest

    n = 30
    series = _series(n, noise=0.02, seed=5)
    opts = ForecastOptions(backtest_origins=12)
    bt, choice, profile = backtest(series, opts)
    total = profile.filter(pl.col("kind") == "total")
    noise, growth = total["noise"][0], total["growth"][0]
    scale = total["horizon_scale"].unique()
    assert scale.len() == 1
    t = bt.sort("origin", "horizon")
    half = np.log(t["hi"].to_numpy() / t["chosen"].to_numpy())
    assert half == pytest.approx(
        scale[0] * np.sqrt(noise + growth * t["horizon"].to_numpy()), rel=1e-9
    )


def test_the_procedure_has_no_points_where_its_errors_are_not_finite():
    """A backtest whose errors are not finite (a month without cost: log 0) gives the estimated
    interval no points (``backtest`` counts these, so it falls back to the engine's own
    interval instead of fitting a law to nothing)."""
    from modeling.marts.finance.forecast import procedure_errors

    origins = [dt.date(2024, 1, 1)] * 3
    bt = _total_backtest({"theta": [0.01, 0.02, 0.03]}, [1, 2, 3], origins).with_columns(
        pl.lit(0.0).alias("y")
    )
    assert procedure_errors(bt, ForecastOptions()).height == 0
