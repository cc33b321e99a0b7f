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
AMOUNT = r"^[+-]?\d+(\.\d+)?$"
DIGITS = r"^\d+$"
DATE = r"^\d{4}-\d{2}-\d{2}$"


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
        shipped = sorted(p.name.removeprefix("cclf_layouts_").removesuffix(".csv") for p in package.iterdir() if p.name.startswith("cclf_layouts_"))
        raise SchemaError(f"No CCLF layout for packet version '{version}'. Shipped versions: {', '.join(shipped)}.")
    rows: dict[str, list[Field]] = {}
    with source.open() as fh:
        for r in csv.DictReader(fh):
            rows.setdefault(r["file"], []).append(
                Field(r["field"], int(r["start"]), int(r["end"]), _kind(r["field"], r["format"]), r["description"], r["format"].strip())
            )
    layouts = {}
    for file_type, fields in rows.items():
        fields.sort(key=lambda f: f.start)
        for a, b in zip(fields, fields[1:], strict=False):
            if b.start != a.end + 1:
                raise SchemaError(f"{source.name}: {file_type} fields {a.name} and {b.name} leave a gap or overlap ({a.end} -> {b.start}).")
        layouts[file_type] = Layout(file_type, version, tuple(fields))
    return layouts


def layout_for_length(length: int, version: str = DEFAULT_VERSION) -> list[str]:
    """File types whose records are ``length`` characters (to say what a misnamed file looks like)."""
    return [t for t, lay in load_layouts(version).items() if lay.record_length == length]


def field_exprs(layout: Layout, line: str = "line") -> tuple[list[pl.Expr], list[pl.Expr]]:
    """Typed field expressions over a column of record text, and one failure message per field.

    Each message expression is null when the field parsed (or was blank) and otherwise says which
    field, where, and what was found.
    """
    values: list[pl.Expr] = []
    problems: list[pl.Expr] = []
    for f in layout.fields:
        raw = pl.col(line).str.slice(f.start - 1, f.width).str.strip_chars()
        raw = pl.when(raw == "").then(None).otherwise(raw)
        where = f"{layout.file_type} {f.name} (positions {f.start}-{f.end})"
        if f.kind == "text":
            values.append(raw.alias(f.name))
            continue
        if f.kind == "amount":
            ok = raw.str.contains(AMOUNT)
            parsed = pl.when(ok).then(raw.str.replace(r"^\+", "")).cast(pl.Float64, strict=False)
            what = "a signed amount"
        elif f.kind == "digits":
            ok = raw.str.contains(DIGITS)
            parsed = pl.when(ok).then(raw)
            what = "digits"
        else:
            placeholder = raw.is_in(list(PLACEHOLDER_DATES))
            parsed_date = raw.str.strptime(pl.Date, "%Y-%m-%d", strict=False)
            ok = placeholder | (raw.str.contains(DATE) & parsed_date.is_not_null())
            parsed = pl.when(placeholder).then(None).otherwise(parsed_date)
            what = "a YYYY-MM-DD date"
        values.append(parsed.alias(f.name))
        problems.append(pl.when(raw.is_not_null() & ~ok.fill_null(False)).then(pl.format(f"{where}: '{{}}' is not {what}", raw)))
    return values, problems
