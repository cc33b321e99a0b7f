"""CCLF record layouts as versioned data, and parsing of fixed-width records with them.

A layout is one file of ``modeling/data/cclf/cclf_layouts_<version>.csv`` (CMS CCLF Information
Packet field table: file, element, field, start, end, length, format). A later packet version is a
new CSV beside it, not new code. Records are fixed-width ASCII with no header and no delimiter;
a file's record length is its last field's end position.

Field kinds follow the packet's formats: ``X(n)`` text (left-justified, space-padded; blank is
null), ``9(n)`` digits, ``-9(n).99`` signed decimal, ``YYYY-MM-DD`` date. Two exceptions the
packet itself carries: CCLF5's ``CLM_LINE_CVRD_PD_AMT`` and ``CLM_LINE_ALOWD_CHRG_AMT`` are typed
``X(15)``/``X(17)`` yet hold signed amounts, so every ``*_AMT`` field is read as an amount. CMS
fills absent dates with ``1000-01-01`` or ``9999-12-31`` in some deliveries; both read as null.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from functools import cache
from importlib import resources

import polars as pl

from modeling.errors import SchemaError

DEFAULT_VERSION = "v36"
PLACEHOLDER_DATES = ("1000-01-01", "9999-12-31")


@dataclass(frozen=True)
class Field:
    """One field of a record: CMS name, 1-based inclusive positions and its kind."""

    name: str
    start: int
    end: int
    kind: str  # text | digits | amount | date
    description: str = ""
    fmt: str = ""

    @property
    def decimals(self) -> int:
        """Digits after the point of an amount field (``-9(13).99`` -> 2; text-typed amounts -> 2)."""
        return len(self.fmt.split(".", 1)[1]) if "." in self.fmt else 2

    @property
    def width(self) -> int:
        return self.end - self.start + 1


@dataclass(frozen=True)
class Layout:
    """The fields of one CCLF file type in one packet version."""

    file_type: str
    version: str
    fields: tuple[Field, ...]

    @property
    def record_length(self) -> int:
        return self.fields[-1].end

    @property
    def names(self) -> list[str]:
        return [f.name for f in self.fields]


def _kind(name: str, fmt: str) -> str:
    fmt = fmt.strip().upper()
    if name.endswith("_AMT") or re.fullmatch(r"-9\(\d+\)\.9+", fmt):
        return "amount"
    if fmt == "YYYY-MM-DD":
        return "date"
    if re.fullmatch(r"9\(\d+\)", fmt):
        return "digits"
    return "text"


@cache
def load_layouts(version: str = DEFAULT_VERSION) -> dict[str, Layout]:
    """Every file type's layout in a packet version (``v36``), or a clear error naming those shipped."""
    package = resources.files("modeling") / "data" / "cclf"
    source = package / f"cclf_layouts_{version}.csv"
    if not source.is_file():
        shipped = sorted(
            p.name.removeprefix("cclf_layouts_").removesuffix(".csv")
            for p in package.iterdir()
            if p.name.startswith("cclf_layouts_")
        )
        raise SchemaError(
            f"No CCLF layout for packet version '{version}'. Shipped versions: {', '.join(shipped)}."
        )
    rows: dict[str, list[Field]] = {}
    with source.open() as fh:
        for r in csv.DictReader(fh):
            rows.setdefault(r["file"], []).append(
                Field(
                    r["field"],
                    int(r["start"]),
                    int(r["end"]),
                    _kind(r["field"], r["format"]),
                    r["description"],
                    r["format"].strip(),
                )
            )
    layouts = {}
    for file_type, fields in rows.items():
        fields.sort(key=lambda f: f.start)
        for a, b in zip(fields, fields[1:], strict=False):
            if b.start != a.end + 1:
                raise SchemaError(
                    f"{source.name}: {file_type} fields {a.name} and {b.name} leave a gap or overlap ({a.end} -> {b.start})."
                )
        layouts[file_type] = Layout(file_type, version, tuple(fields))
    return layouts


def layout_for_length(length: int, version: str = DEFAULT_VERSION) -> list[str]:
    """File types whose records are ``length`` characters (to say what a misnamed file looks like)."""
    return [t for t, lay in load_layouts(version).items() if lay.record_length == length]


RAW = "__raw__"


def field_exprs(
    layout: Layout, line: str = "line"
) -> tuple[list[pl.Expr], list[pl.Expr], list[tuple[pl.Expr, pl.Expr]]]:
    """Three steps of expressions over a column of record text, to apply in order:

    1. ``raws``: each field's text (``__raw__<name>``), stripped, blank as null;
    2. ``values``: each field typed (text, digits kept as text, amounts as Float64, dates);
    3. per checked field a pair (failed, message): ``failed`` is true when a non-blank value does
       not parse; ``message`` says which field, where and what was found (evaluate it only on
       failing rows: it is the slow part).
    """
    raws: list[pl.Expr] = []
    values: list[pl.Expr] = []
    problems: list[tuple[pl.Expr, pl.Expr]] = []
    for f in layout.fields:
        text = pl.col(line).str.slice(f.start - 1, f.width).str.strip_chars()
        raws.append(pl.when(text == "").then(None).otherwise(text).alias(RAW + f.name))
        raw = pl.col(RAW + f.name)
        where = f"{layout.file_type} {f.name} (positions {f.start}-{f.end})"
        if f.kind == "text":
            values.append(raw.alias(f.name))
            continue
        if f.kind == "amount":
            values.append(raw.cast(pl.Float64, strict=False).alias(f.name))
            failed = raw.is_not_null() & (pl.col(f.name).is_null() | ~pl.col(f.name).is_finite())
            what = "a signed amount"
        elif f.kind == "digits":
            values.append(raw.alias(f.name))
            failed = raw.is_not_null() & raw.cast(pl.UInt64, strict=False).is_null()
            what = "digits"
        else:
            values.append(
                pl.when(raw.is_in(list(PLACEHOLDER_DATES)))
                .then(None)
                .otherwise(raw.str.strptime(pl.Date, "%Y-%m-%d", strict=False))
                .alias(f.name)
            )
            failed = (
                raw.is_not_null() & pl.col(f.name).is_null() & ~raw.is_in(list(PLACEHOLDER_DATES))
            )
            what = "a YYYY-MM-DD date"
        problems.append((failed, pl.format(f"{where}: '{{}}' is not {what}", raw)))
    return raws, values, problems
