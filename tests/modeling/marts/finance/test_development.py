"""The development method, Mack errors and the bootstrap: by hand, by property, and against
``chainladder`` (casact), the field's reference implementation."""

from __future__ import annotations

import datetime as dt
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from modeling.errors import ParameterError
from modeling.marts.finance.development import chain_ladder, develop, odp_bootstrap
from modeling.marts.finance.triangles import Triangle, index_to_month

FIRST = 2023 * 12


def _triangle(paid: np.ndarray, valuation: int | None = None) -> Triangle:
    n = paid.shape[0]
    v = n - 1 if valuation is None else valuation
    i, k = np.indices(paid.shape)
    return Triangle("test", FIRST, v, np.where(i + k <= v, paid, 0.0))


def _health_triangle(rng: np.random.Generator, n: int = 24) -> Triangle:
    """Incremental paid with a health-like lag pattern and noise."""
    pattern = np.array([0.2, 0.55, 0.15, 0.05, 0.03, 0.01, 0.005, 0.005] + [0.001] * max(n - 8, 0))
    ultimate = rng.lognormal(np.log(1e6), 0.1, n)
    paid = ultimate[:, None] * pattern[None, :n] * rng.lognormal(0, 0.15, (n, n))
    return _triangle(paid)


def test_link_factors_by_hand():
    # cumulative: [100, 150, 165], [110, 160, -], [120, -, -]
    paid = np.array([[100.0, 50, 15], [110, 50, 0], [120, 0, 0]])
    dev = develop(_triangle(paid), window=12)
    assert dev.link == pytest.approx([(150 + 160) / (100 + 110), 165 / 150])
    assert dev.cdf == pytest.approx([310 / 210 * 1.1, 1.1, 1.0])
    cl = chain_ladder(_triangle(paid), dev)
    assert cl.ultimate == pytest.approx([165, 160 * 1.1, 120 * 310 / 210 * 1.1])
    # sigma_0^2 = sum C (C'/C - f)^2 / (n - 1)
    f0 = 310 / 210
    s2 = (100 * (1.5 - f0) ** 2 + 110 * (160 / 110 - f0) ** 2) / 1
    assert dev.sigma[0] == pytest.approx(np.sqrt(s2))


def test_window_uses_only_the_latest_diagonals():
    paid = np.array([[100.0, 100, 0], [100, 50, 0], [100, 0, 0]])
    # window 1: only the latest diagonal's link ratio (origin 1, lag 0 -> 1) counts for lag 0
    assert develop(_triangle(paid), window=1).link[0] == pytest.approx(1.5)
    assert develop(_triangle(paid), window=2).link[0] == pytest.approx(350 / 200)
    with pytest.raises(ParameterError):
        develop(_triangle(paid), window=0)


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 10_000), scale=st.floats(0.01, 1e4), n=st.integers(3, 14))
def test_scaling_the_triangle_scales_reserves_and_keeps_factors(seed, scale, n):
    tri = _health_triangle(np.random.default_rng(seed), n)
    big = Triangle("test", FIRST, tri.valuation, tri.paid * scale)
    a, b = develop(tri, window=6), develop(big, window=6)
    assert b.link == pytest.approx(a.link, rel=1e-9)
    ca, cb = chain_ladder(tri, a), chain_ladder(big, b)
    assert cb.ultimate == pytest.approx(ca.ultimate * scale, rel=1e-9)
    assert cb.mack_se == pytest.approx(ca.mack_se * scale, rel=1e-7, abs=1e-9)
    # non-negative payments: completion factors in (0, 1], non-decreasing with lag
    assert ((a.completion > 0) & (a.completion <= 1 + 1e-12)).all()
    assert (np.diff(a.completion) >= -1e-12).all()
    assert (ca.ultimate >= ca.latest - 1e-6).all()


def _chainladder_fit(tri: Triangle, window: int):
    pd = pytest.importorskip("pandas")
    cl = pytest.importorskip("chainladder")
    rows = [
        (
            pd.Timestamp(index_to_month(tri.first + i)),
            pd.Timestamp(index_to_month(tri.first + i + k)),
            tri.paid[i, k],
        )
        for i in range(tri.origins)
        for k in range(tri.valuation - i + 1)
    ]
    frame = pd.DataFrame(rows, columns=["origin", "development", "paid"])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        t = cl.Triangle(
            frame, origin="origin", development="development", columns="paid", cumulative=False
        ).incr_to_cum()
        assert t.origin_grain == "M" and t.development_grain == "M"
        d = cl.Development(average="volume", n_periods=window).fit(t)
        mack = cl.MackChainladder().fit(d.transform(t))
    return d, mack


@pytest.mark.parametrize("window", [6, 12, 36])
def test_factors_and_mack_errors_equal_chainladder(window):
    """Tolerance: relative 1e-9 (both compute in float64; differences are rounding)."""
    tri = _health_triangle(np.random.default_rng(window), 24)
    ours = develop(tri, window=window)
    cl = chain_ladder(tri, ours)
    d, mack = _chainladder_fit(tri, window)
    assert ours.link == pytest.approx(d.ldf_.values[0, 0, 0], rel=1e-9)
    assert ours.sigma == pytest.approx(d.sigma_.values[0, 0, 0], rel=1e-9)
    assert ours.link_se == pytest.approx(d.std_err_.values[0, 0, 0], rel=1e-9)
    assert cl.mack_se == pytest.approx(
        np.nan_to_num(mack.mack_std_err_.values[0, 0, :, -1]), rel=1e-9
    )
    ibnr = np.nan_to_num(mack.ibnr_.values[0, 0, :, 0])
    assert cl.ultimate - cl.latest == pytest.approx(ibnr, rel=1e-9, abs=1e-6)
    assert cl.total_mack_se == pytest.approx(
        float(mack.total_mack_std_err_.values.ravel()[0]), rel=1e-9
    )


def test_factors_equal_chainladder_on_a_synthetic_panel_triangle(three_year_dataset):
    from modeling.core.panel import Panel
    from modeling.marts.finance.triangles import Valuation, paid_cells, triangles

    v = Valuation.at(dt.date(2025, 6, 30))
    tris = triangles(paid_cells(Panel(three_year_dataset), v), v, FIRST)
    for category in ("acute inpatient", "office/professional", "pharmacy"):
        tri = tris[category]
        ours = develop(tri, window=12)
        d, mack = _chainladder_fit(tri, 12)
        assert ours.link == pytest.approx(d.ldf_.values[0, 0, 0], rel=1e-9)
        assert chain_ladder(tri, ours).mack_se == pytest.approx(
            np.nan_to_num(mack.mack_std_err_.values[0, 0, :, -1]), rel=1e-8, abs=1e-6
        )


def test_bootstrap_centres_near_the_chain_ladder_reserve():
    tri = _health_triangle(np.random.default_rng(3), 18)
    dev = develop(tri, window=12)
    cl = chain_ladder(tri, dev)
    boot = odp_bootstrap(tri, dev, window=12, draws=2000, rng=np.random.default_rng(1))
    reserve = (cl.ultimate - cl.latest).sum()
    total = boot.reserves.sum(axis=1)
    assert abs(total.mean() / reserve - 1) < 0.05
    # the spread is of the order of Mack's (different models, same order)
    assert 0.3 < total.std() / cl.total_mack_se < 3


def test_a_month_with_nothing_paid_at_a_lag_still_develops():
    # month 0 paid nothing at lag 0 and 100 at lag 1; month 1 paid 10 then 20
    paid = np.array([[0.0, 100, 0], [10, 20, 0], [10, 0, 0]])
    dev = develop(_triangle(paid), window=12)
    assert dev.link[0] == pytest.approx((100 + 30) / (0 + 10))
