"""One way to write money, rates and counts, shared by the CLI, the pages and the reports.

Frames keep full precision; these functions only turn a number into the text a person reads.
A missing value (None or NaN) reads "-" everywhere.
"""

from __future__ import annotations

import math

MISSING = "-"


def _missing(value: float | None) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def money(value: float | None, *, cents: bool = False) -> str:
    """Dollars with thousands separators and the sign before the dollar sign: ``-$1,234``
    (``cents=True`` keeps two decimals). Negative zero reads as ``$0``."""
    if value is None or _missing(value):
        return MISSING
    digits = 2 if cents else 0
    text = f"{abs(value):,.{digits}f}"
    negative = value < 0 and text.strip("0.,") != ""
    return f"-${text}" if negative else f"${text}"


def loss(value: float | None, *, short: bool = False) -> str:
    """A loss measure (value at risk, CVaR; positive = a loss) as a person reads it: ``$12,345``;
    at or below zero, when even the worst years are not losses, ``none`` (with the gain they
    still make: ``none (a gain of $2,224)``; ``short``: ``none`` alone, for a metric tile)
    rather than a negative loss."""
    if value is None or _missing(value):
        return MISSING
    if money(value).startswith("-"):
        return "none" if short else f"none (a gain of {money(-value)})"
    return "none" if money(value) == "$0" else money(value)


def pct(value: float | None, *, digits: int = 1) -> str:
    """A share as a percentage: 0.123 -> ``12.3%``."""
    if value is None or _missing(value):
        return MISSING
    return f"{value:.{digits}%}"


def signed_pct(value: float | None, *, digits: int = 2) -> str:
    """A change as a signed percentage: -0.0123 -> ``-1.23%``."""
    if value is None or _missing(value):
        return MISSING
    return f"{value:+.{digits}%}"


def count(value: int | float | None) -> str:
    """A count with thousands separators: ``12,345``."""
    if value is None or _missing(value):
        return MISSING
    return f"{value:,.0f}"


def number(value: float | None, *, digits: int = 3) -> str:
    """A score or ratio with fixed decimals: ``1.042``."""
    if value is None or _missing(value):
        return MISSING
    return f"{value:,.{digits}f}"
