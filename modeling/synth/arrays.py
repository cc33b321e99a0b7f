"""Array helpers shared by the generator's modules: day numbers to dates, ranks within groups."""

from __future__ import annotations

import numpy as np
import polars as pl


def days_to_date(days: np.ndarray) -> pl.Series:
    """Days since 1970-01-01 as a polars ``Date`` series."""
    return pl.Series(days.astype(np.int32)).cast(pl.Date)


def ranks_within(counts: np.ndarray) -> np.ndarray:
    """0..count-1 for each group, concatenated: ranks_within([2, 0, 3]) -> [0, 1, 0, 1, 2]."""
    counts = np.asarray(counts, dtype=np.int64)
    total = int(counts.sum())
    starts = np.repeat(np.cumsum(counts) - counts, counts)
    return np.arange(total, dtype=np.int64) - starts
