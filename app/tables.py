"""Tables on the pages: a hint under a table too wide for its column."""

from __future__ import annotations

import polars as pl
import streamlit as st

# Columns that fit across a full-width column of the wide layout at 1440 px (measured on the
# screenshots of tests/browser); a half-width column fits about half as many.
FITS_FULL_WIDTH = 9


def scroll_hint(frame: pl.DataFrame, *, fits: int = FITS_FULL_WIDTH, where=st) -> None:
    """Say under a table that it scrolls sideways when it has more columns than fit."""
    if frame.width > fits:
        where.caption(
            f"{frame.width} columns: scroll the table sideways to see them all, or enlarge it "
            "with the full-screen button at its top right."
        )
