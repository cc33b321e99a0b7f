"""Seasonal index of one monthly series by classical multiplicative decomposition.

The rule (Makridakis, Wheelwright & Hyndman, *Forecasting: Methods and Applications*, 3rd ed.,
1998, section 4/2, ratio-to-moving-average; the M4 competition's statistical benchmarks
deseasonalize the same way, Makridakis, Spiliotis & Assimakopoulos 2020, section 3.2):

- each month's ratio is to the centred 2x12 moving average (the mean of the two 12-month means
  that straddle it, ``(mean(y[t-6..t+5]) + mean(y[t-5..t+6])) / 2``) where the series has six
  months on both sides; within six months of either end, to the mean of the series' first or
  last 12 months (the nearest 12-month window holding it), so that 12 months or more give every
  calendar month a ratio;
- the ratios are averaged by calendar month and the log indices centred on 0.

``modeling.marts.finance.forecast.seasonal_factors`` applies the same rule to many series at
once in polars; this is the single-series numpy form the completion's a-priori uses, and the
two are tested equal.
"""

from __future__ import annotations

import numpy as np

from modeling.errors import ParameterError

MIN_MONTHS = 12


def log_seasonal_index(y: np.ndarray, calendar_month: np.ndarray) -> np.ndarray:
    """The 12 log seasonal indices (January first) of the consecutive monthly values ``y``
    (positive), ``calendar_month`` their months 1..12; 0 for a calendar month without a ratio.
    Needs ``MIN_MONTHS`` values (fewer: all 0); a value that is not positive or a month outside
    1..12 is a ``ParameterError``."""
    y = np.asarray(y, dtype=float)
    months = np.asarray(calendar_month, dtype=int)
    n = len(y)
    if months.shape != y.shape or ((months < 1) | (months > 12)).any():
        raise ParameterError(
            "a seasonal index needs one calendar month (1-12) per value "
            f"(got {months.shape[0] if months.ndim else 0} months for {n} values)."
        )
    if not np.isfinite(y).all() or (y <= 0).any():
        raise ParameterError(
            "a multiplicative seasonal index needs positive values; leave out months without "
            "cost, or use a level and trend alone."
        )
    out = np.zeros(12)
    if n < MIN_MONTHS:
        return out
    centred = centred_moving_average(y)
    ends = np.where(np.arange(n) < n // 2, y[:12].mean(), y[-12:].mean())
    ratio = y / np.where(np.isnan(centred), ends, centred)
    raw = np.ones(12)
    for m in range(1, 13):
        sel = months == m
        if sel.any():
            raw[m - 1] = ratio[sel].mean()
    logs = np.log(raw)
    out[:] = logs - logs.mean()
    return out


def centred_moving_average(y: np.ndarray) -> np.ndarray:
    """The centred 2x12 moving average ``(mean(y[t-6..t+5]) + mean(y[t-5..t+6])) / 2`` at every
    month with six months on both sides, NaN elsewhere."""
    y = np.asarray(y, dtype=float)
    out = np.full(len(y), np.nan)
    if len(y) >= 13:
        roll = np.convolve(y, np.ones(12) / 12, mode="valid")  # roll[j] = mean(y[j..j+11])
        out[6 : len(y) - 6] = (roll[:-1] + roll[1:]) / 2  # the pair j, j+1 is centred on j+6
    return out
