"""Fixed-width CCLF records from frames whose columns carry CMS field names, and their files.

Each field is written as the CCLF Information Packet lays it out: text left-justified and
space-padded, digits zero-filled, amounts signed with their decimals, dates YYYY-MM-DD, and an
absent value as spaces.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

from modeling.ingest.cclf.layouts import Layout


def _amount(name: str, width: int, decimals: int) -> pl.Expr:
    scaled = (pl.col(name).cast(pl.Float64) * 10**decimals).round(0).cast(pl.Int64)
    digits = scaled.abs().cast(pl.String).str.zfill(decimals + 1)
    text = (
        digits.str.slice(0, digits.str.len_chars() - decimals) + "." + digits.str.slice(-decimals)
    )
    signed = (
        pl.when(scaled < 0).then("-" + text.str.zfill(width - 1)).otherwise(text.str.zfill(width))
    )
    return signed.fill_null(" " * width)


def format_records(frame: pl.DataFrame, layout: Layout) -> pl.Series:
    """Fixed-width records of a layout from a frame whose columns carry CMS field names."""
    parts = []
    for f in layout.fields:
        w = f.width
        if f.name not in frame.columns:
            parts.append(pl.lit(" " * w))
        elif f.kind == "amount":
            parts.append(_amount(f.name, w, f.decimals))
        elif f.kind == "date":
            parts.append(pl.col(f.name).dt.strftime("%Y-%m-%d").fill_null(" " * w))
        elif f.kind == "digits":
            parts.append(pl.col(f.name).cast(pl.String).str.zfill(w).fill_null(" " * w))
        else:
            parts.append(
                pl.col(f.name).cast(pl.String).fill_null("").str.slice(0, w).str.pad_end(w)
            )
    records = frame.select(pl.concat_str(parts).alias("record")).get_column("record")
    if (records.str.len_chars() != layout.record_length).any():
        _raise_overflow(frame, layout)
    return records


def _raise_overflow(frame: pl.DataFrame, layout: Layout) -> None:
    """A value wider than its field shifts every field after it (and CCLF ingest would
    quarantine the record): name the field, an error here rather than a malformed file."""
    for f in layout.fields:
        if f.name in frame.columns and f.kind in ("digits", "amount"):
            widest = frame.get_column(f.name).cast(pl.String).str.len_chars().max()
            digits = 0 if widest is None else int(widest)  # type: ignore[arg-type]
            if digits > f.width:
                raise ValueError(
                    f"{layout.file_type} {f.name}: a value has {digits} digits, the field {f.width}"
                )
    raise ValueError(f"{layout.file_type}: records are not {layout.record_length} characters")


def write_lines(path: Path, rows: pl.Series) -> None:
    """Write records one a line (ASCII, each line ending in a newline; nothing for no records)."""
    with path.open("wb") as fh:
        if rows.len():
            fh.write(("\n".join(rows.to_list()) + "\n").encode("ascii"))
