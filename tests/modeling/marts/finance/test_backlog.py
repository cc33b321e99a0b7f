"""The processing-backlog (slow-down month) adjustment on hand-built triangles.

Every incurred month has the same ultimate and the same payment pattern; a slow-down month
pays only 75% of what was due that month and the rest one month later. The development
method's truth is then known exactly: each month's ultimate is ``ULTIMATE``."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from modeling.marts.finance.completion import CompletionOptions, complete_cells
from modeling.marts.finance.triangles import Valuation

PATTERN = np.array([0.20, 0.45, 0.20, 0.08, 0.04, 0.02, 0.01])
ULTIMATE = 1_000_000.0
FIRST = 2023 * 12  # January 2023
MONTHS = 30


def _cells(slow: tuple[int, ...], valuation: int, share: float = 0.25) -> pl.DataFrame:
    """Incremental paid cells of one category observed at ``valuation`` (month offsets from
    FIRST), the paid months in ``slow`` paying ``1 - share`` of their due and the rest a
    month later."""
    paid = np.zeros((MONTHS, len(PATTERN) + 1))
    for i in range(MONTHS):
        for k, p in enumerate(PATTERN):
            late = share * ULTIMATE * p if i + k in slow else 0.0
            paid[i, k] += ULTIMATE * p - late
            paid[i, k + 1] += late
    rows = [
        (
            "acute inpatient",
            FIRST + i,
            k,
            float(paid[i, k]),
            float(paid[i, k]) / 1000,
        )
        for i in range(valuation + 1)
        for k in range(paid.shape[1])
        if i + k <= valuation and paid[i, k] != 0
    ]
    return pl.DataFrame(
        rows,
        schema={
            "service_category": pl.String,
            "incurred": pl.Int32,
            "lag": pl.Int32,
            "paid": pl.Float64,
            "claims": pl.Float64,
        },
        orient="row",
    )


def _complete(slow: tuple[int, ...], v: int, **options):
    mm = pl.DataFrame(
        {"incurred": np.arange(FIRST, FIRST + MONTHS, dtype=np.int32), "member_months": 1000.0}
    )
    month = FIRST + v
    valuation = Valuation.at(
        __import__("datetime").date(
            month // 12 + (month % 12 + 1) // 12, (month % 12 + 1) % 12 + 1, 1
        )
        - __import__("datetime").timedelta(days=1)
    )
    assert valuation.paid_through == month
    opts = CompletionOptions(draws=0, **options)
    return complete_cells(_cells(slow, v), mm, valuation, first=FIRST, options=opts)


def _errors(done) -> np.ndarray:
    t = done.table.filter(pl.col("service_category") == "acute inpatient")
    return t["estimated_incurred"].to_numpy() / ULTIMATE - 1


def test_no_slow_down_develops_exactly():
    done = _complete((), 24)
    assert not done.speed_adjusted and done.backlog == 0
    assert np.abs(_errors(done)).max() < 1e-9


def test_a_slow_latest_month_is_restated_and_completed():
    done = _complete((24,), 24)
    assert done.speed_adjusted
    assert done.payment_speed == pytest.approx(0.75, abs=0.01)
    # the backlog is the quarter of the latest month's due payments still unpaid
    due = ULTIMATE * PATTERN[:7].sum()  # every incurred month still paying, lags 0..6
    assert done.backlog == pytest.approx(0.25 * due, rel=1e-4)
    assert np.abs(_errors(done)).max() < 1e-4
    # without the adjustment every month is read low, the recent ones by far the most
    plain = _complete((24,), 24, speed_tolerance=10.0, distorted_month=0.0)
    assert _errors(plain).min() < -0.05


def test_a_catch_up_month_closes_the_backlog():
    done = _complete((23,), 24)
    assert not done.speed_adjusted and done.backlog == 0
    assert done.payment_speed > 1.1  # the catch-up month paid more than its own due
    # the slow month and its catch-up are left out of the factors: exact again
    assert np.abs(_errors(done)).max() < 1e-6


def test_two_slow_months_in_a_row_count_both_shortfalls():
    done = _complete((23, 24), 24)
    assert done.speed_adjusted
    assert np.abs(_errors(done)).max() < 0.005
