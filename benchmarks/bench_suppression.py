"""Small-cell suppression on table shapes the app shows: seconds per call of
``modeling.suppression.suppress_small_cells``, and how many cells it hides (primary and
complementary). Run: PYTHONPATH=. python benchmarks/bench_suppression.py"""

from __future__ import annotations

import time

import numpy as np
import polars as pl

from modeling.suppression import suppress_small_cells


def _table(rows: int, cols: int, small_share: float, seed: int) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    counts = rng.integers(11, 2_000, size=rows * cols)
    small = rng.random(rows * cols) < small_share
    counts[small] = rng.integers(1, 11, size=int(small.sum()))
    return pl.DataFrame(
        {
            "r": np.repeat(np.arange(rows), cols),
            "c": np.tile(np.arange(cols), rows),
            "members": counts,
            "pmpm": rng.random(rows * cols) * 1_000,
        }
    )


CASES = [
    ("providers of a measure, total shown (1-D)", 500, 1, 0.2, [()]),
    ("categories x years, both margins (2-D)", 20, 5, 0.1, [["r"], ["c"]]),
    ("providers x measures, both margins (2-D)", 100, 12, 0.1, [["r"], ["c"]]),
    ("providers x measures, margins + grand total", 200, 12, 0.05, [["r"], ["c"], ()]),
]


def main() -> None:
    for name, rows, cols, share, partitions in CASES:
        frame = _table(rows, cols, share, seed=rows + cols)
        primary = int(((frame["members"] >= 1) & (frame["members"] <= 10)).sum())
        started = time.perf_counter()
        out = suppress_small_cells(
            frame, people=["members"], partitions=partitions, keep=["r", "c"]
        )
        seconds = time.perf_counter() - started
        hidden = int(out["suppressed"].sum())
        print(
            f"{name}: {frame.height:,} cells, {primary} primary, {hidden - primary} complementary, "
            f"{seconds:.3f} s"
        )


if __name__ == "__main__":
    main()
