from __future__ import annotations

import datetime as dt

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from modeling.marts.finance.completion import _a_priori_pmpm
from modeling.marts.finance.forecast import seasonal_factors
from modeling.marts.finance.seasonality import centred_moving_average, log_seasonal_index


def test_the_centred_average_of_a_straight_line_is_the_line():
    """The 2x12 average is centred: on a linear series it returns the series itself (one
    month off centre, it would return the next month's value)."""
    y = 100 + 3.0 * np.arange(30)
    ma = centred_moving_average(y)
    assert np.isnan(ma[:6]).all() and np.isnan(ma[-6:]).all()
    assert ma[6:-6] == pytest.approx(y[6:-6], abs=1e-9)


def test_a_hand_computed_centred_average():
    y = np.arange(1.0, 14.0)  # 13 months: the average exists for the seventh only
    ma = centred_moving_average(y)
    assert ma[6] == pytest.approx((np.mean(y[0:12]) + np.mean(y[1:13])) / 2)
    assert np.isnan(np.delete(ma, 6)).all()


@settings(max_examples=40, deadline=None)
@given(
    n=st.integers(min_value=12, max_value=40),
    start=st.integers(min_value=1, max_value=12),
    seed=st.integers(min_value=0, max_value=10_000),
)
def test_the_numpy_and_polars_forms_agree(n, start, seed):
    """Differential: the completion's single-series index equals the forecast's frame form."""
    rng = np.random.default_rng(seed)
    y = np.exp(rng.normal(5, 0.3, n))
    months = [(start - 1 + i) % 12 + 1 for i in range(n)]
    years = [2023 + (start - 1 + i) // 12 for i in range(n)]
    ds = [dt.date(yr, m, 1) for yr, m in zip(years, months, strict=True)]
    frame = pl.DataFrame({"unique_id": "x", "ds": ds, "y": y})
    polars_form = seasonal_factors(frame).sort("m")["s"].to_numpy()
    assert log_seasonal_index(y, np.array(months)) == pytest.approx(polars_form, abs=1e-9)


@pytest.mark.parametrize("history", [12, 15, 18, 23])
def test_the_a_priori_is_seasonal_from_twelve_months(history):
    """With 12-23 development months the a-priori follows the yearly cycle (classical
    decomposition); a level and trend alone would miss a 25% swing by up to that much. From one
    year the trend cannot be told from the season: the error is then up to a year's trend."""
    t = np.arange(history + 3)
    index = 2023 * 12 + t  # January 2023 on
    pmpm = 500 * 1.05 ** (t / 12) * np.exp(0.25 * np.cos(2 * np.pi * t / 12))
    use = t < history
    prior = _a_priori_pmpm(index, pmpm, use, index, 24)
    err = np.abs(prior[history:] / pmpm[history:] - 1)
    bound = 0.04 if history > 12 else 0.05 + 1e-9
    assert err.max() < bound, err
    flat = 500 * 1.05 ** (t / 12)
    assert _a_priori_pmpm(index, flat, use, index, 24)[history:] == pytest.approx(
        flat[history:], rel=bound
    )
