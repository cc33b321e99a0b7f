"""Checks at the boundary of public functions, so a wrong input fails with a message that names
what is wrong instead of deep inside a query plan (scikit-learn's ``check_array``, for frames)."""

from __future__ import annotations

from collections.abc import Iterable

import polars as pl

from modeling.errors import SchemaError


def require_columns(
    frame: pl.DataFrame | pl.LazyFrame, columns: Iterable[str], *, where: str
) -> None:
    """Raise ``SchemaError`` naming every column of ``columns`` that ``frame`` lacks.

    ``where`` names the function or table the frame was given to, for the message.
    """
    names = frame.collect_schema().names() if isinstance(frame, pl.LazyFrame) else frame.columns
    missing = [c for c in columns if c not in names]
    if missing:
        raise SchemaError(
            f"{where} needs the column{'s' if len(missing) > 1 else ''} {', '.join(missing)}, "
            f"which the frame given lacks (it has {', '.join(names) or 'no columns'})."
        )
