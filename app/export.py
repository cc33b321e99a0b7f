"""CSV exports: every CSV the app offers or the CLI writes goes through ``csv_text`` /
``write_csv``, which neutralize spreadsheet formulas.

A text cell that begins with ``=``, ``+``, ``-`` or ``@`` (or a tab or carriage return, which
some spreadsheets skip before one) is run as a formula when the file is opened in Excel, Calc or
Sheets (OWASP, "CSV Injection"). Such cells are written with a leading apostrophe, which
spreadsheets show as text. Numbers are never text cells, so negative amounts stay numbers.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

FORMULA_START = r"^[=+\-@\t\r]"


def neutralized(frame: pl.DataFrame) -> pl.DataFrame:
    """``frame`` with every text cell that a spreadsheet would run as a formula prefixed by ``'``."""
    text = [c for c, t in frame.schema.items() if t == pl.String or t == pl.Categorical]
    return frame.with_columns(
        pl.when(pl.col(c).cast(pl.String).str.contains(FORMULA_START))
        .then(pl.lit("'") + pl.col(c).cast(pl.String))
        .otherwise(pl.col(c).cast(pl.String))
        .alias(c)
        for c in text
    )


def csv_text(frame: pl.DataFrame) -> str:
    """The frame as CSV text, formulas neutralized (for download buttons)."""
    return neutralized(frame).write_csv()


def write_csv(frame: pl.DataFrame, path: str | Path) -> None:
    """Write the frame as a CSV file, formulas neutralized."""
    neutralized(frame).write_csv(Path(path))
