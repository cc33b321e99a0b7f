"""Validation of a canonical table in batches: memory is bounded by a batch, not by the file.

The checks, reasons, counts and order of rows are those of ``validate`` (one table at once); what
differs is that the table is never held whole. Two passes over the coerced source, each a
stream of batches of ``batch_rows`` rows (polars' streaming engine):

1. Keys (``duplicate_rows``): only the key columns and the source row are read. A row whose key
   an earlier row of its batch has is a duplicate at once; the first row of each key in the batch
   goes to one of ``buckets`` scratch files by a hash of the key, so rows with equal keys share a
   bucket. Each bucket is then read alone and a row whose key an earlier row of the bucket has
   is a duplicate. The result is exact (hashes only choose the bucket; keys are compared by value),
   and memory holds one batch, then one bucket, plus the duplicates' row numbers.
2. Rows (``validate_in_batches``): every row-local check, the eligibility and enrollment checks
   (against the accepted eligibility, which is held: person and enrollment dates only) and the
   duplicate flag from pass 1 are evaluated batch by batch; accepted rows go to the dataset's
   writer and quarantined rows (with their reasons) to the quarantine file as each batch is done.

A column whose values are mostly of the wrong type (``MISTYPED_SHARE``) is refused once its
counts over the whole file are known, with its first offending rows; the staging folder the
table was written into then goes with the error.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl
import pyarrow.parquet as pq

from modeling.errors import ParameterError, SchemaError
from modeling.ingest.validate import (
    RAW_PREFIX,
    REASONS,
    ROW,
    SERVICE_DATE,
    Check,
    ValidationResult,
    _checks,
    _with_enrollment_flag,
)
from modeling.schema import TableSchema

BATCH_ROWS = 100_000  # rows per batch: about 100-200 MB for a wide claims table with raw text
MAX_BUCKETS = 256
BUCKET_SOURCE_BYTES = 32 << 20  # one key bucket per 32 MiB of source file
MISTYPED_SHARE = 0.5  # more than half of a column's values unparseable: the column is wrong
DUP = "__duplicate"
SAMPLES = 5
HASH_SEED = 15  # the seed of the bucket hash (any fixed value: buckets only group equal keys)


def check_batch_rows(batch_rows: int) -> int:
    """``batch_rows`` when it is a whole number from 1 to 10,000,000; else a ``ParameterError``."""
    if (
        isinstance(batch_rows, bool)
        or not isinstance(batch_rows, int)
        or not 1 <= batch_rows <= 10_000_000
    ):
        raise ParameterError(
            f"batch_rows = {batch_rows!r}: the rows read at a time must be a whole number from 1 "
            "to 10,000,000 (default 100,000)."
        )
    return batch_rows


def key_buckets(source_bytes: int) -> int:
    """How many key buckets a source of ``source_bytes`` is split into (1 to ``MAX_BUCKETS``)."""
    return max(1, min(MAX_BUCKETS, math.ceil(source_bytes / BUCKET_SOURCE_BYTES)))


def duplicate_rows(
    keys: pl.LazyFrame, key: tuple[str, ...], scratch: Path, *, buckets: int, batch_rows: int
) -> tuple[int, pl.Series]:
    """The number of rows of ``keys`` (``ROW`` and the ``key`` columns) and, sorted, the source
    rows that repeat an earlier row's key (nulls equal to nulls, as ``is_first_distinct``)."""
    scratch.mkdir(parents=True, exist_ok=True)
    same = pl.struct(list(key))
    found: list[pl.Series] = []
    writers: dict[int, pq.ParquetWriter] = {}
    rows = 0
    try:
        for batch in keys.collect_batches(chunk_size=batch_rows):
            rows += batch.height
            first = batch.select(same.is_first_distinct()).to_series()
            found.append(batch.filter(~first).get_column(ROW))
            firsts = batch.filter(first).with_columns(
                (same.hash(seed=HASH_SEED) % buckets).alias("__bucket")
            )
            for (bucket,), part in firsts.partition_by(
                "__bucket", as_dict=True, maintain_order=True
            ).items():
                arrow = part.drop("__bucket").to_arrow()
                if bucket not in writers:
                    writers[bucket] = pq.ParquetWriter(
                        scratch / f"keys-{bucket}.parquet", arrow.schema, compression="lz4"
                    )
                writers[bucket].write_table(arrow)
    finally:
        for w in writers.values():
            w.close()
    for bucket in sorted(writers):
        path = scratch / f"keys-{bucket}.parquet"
        part = pl.read_parquet(path, glob=False)  # rows in source order: batches came in order
        found.append(part.filter(~same.is_first_distinct()).get_column(ROW))
        path.unlink()
    dups = pl.concat(found) if found else pl.Series(ROW, [], dtype=pl.UInt32)
    return rows, dups.sort()


@dataclass
class _Mistyped:
    """Per parsed column: values given, values that did not parse, the first offending rows."""

    given: dict[str, int] = field(default_factory=dict)
    offending: dict[str, int] = field(default_factory=dict)
    samples: dict[str, list[tuple[int, str]]] = field(default_factory=dict)

    def add(self, batch: pl.DataFrame, raws: list[str]) -> None:
        for raw in raws:
            name = raw[len(RAW_PREFIX) :]
            bad = pl.col(raw).is_not_null() & pl.col(name).is_null()
            given, off = batch.select(
                pl.col(raw).is_not_null().sum().alias("given"), bad.sum().alias("bad")
            ).row(0)
            self.given[name] = self.given.get(name, 0) + given
            self.offending[name] = self.offending.get(name, 0) + off
            kept = self.samples.setdefault(name, [])
            if off and len(kept) < SAMPLES:
                kept += batch.filter(bad).select(ROW, raw).head(SAMPLES - len(kept)).rows()

    def refuse(self, schema: TableSchema, path: Path) -> None:
        """A ``SchemaError`` for the first column most of whose values are not of its type."""
        for name, given in self.given.items():
            off = self.offending[name]
            if given and off > MISTYPED_SHARE * given:
                sample = ", ".join(f"row {r}: '{v}'" for r, v in self.samples[name])
                kind = "YYYY-MM-DD" if schema.column(name).kind == "date" else "a number"
                raise SchemaError(
                    f"{path}: column '{name}' should be {schema.column(name).dtype} ({kind}), "
                    f"but {off:,} of {given:,} values are not; first offending rows: {sample}. "
                    "Fix the column's format and load again."
                )


@dataclass(frozen=True)
class StreamedTable:
    """A table validated in batches: its counts (the frames of ``result`` are empty; its counts
    are set) and, for eligibility, the accepted rows' person and enrollment dates."""

    result: ValidationResult
    enrolled: pl.DataFrame | None


def _row_checks(checks: list[Check]) -> list[Check]:
    """``checks`` with the duplicate-key flag read from the first pass (column ``DUP``)."""
    return [
        Check(c.name, pl.col(DUP), c.message) if c.name == "duplicate_key" else c for c in checks
    ]


def validate_in_batches(
    coerced: pl.LazyFrame,
    schema: TableSchema,
    *,
    path: Path,
    source: str,
    scratch: Path,
    accept: Callable[[pl.DataFrame], None],
    quarantine: Path,
    eligible_ids: pl.Series | None = None,
    enrollment: pl.DataFrame | None = None,
    batch_rows: int = BATCH_ROWS,
    buckets: int = 1,
) -> StreamedTable:
    """Validate a coerced table (``canonical.coerce``) batch by batch: accepted rows go to
    ``accept`` in source order, quarantined rows with their reasons to the Parquet file
    ``quarantine`` (written only when a row is quarantined). Same checks and reasons as
    ``validate``; ``rows_in == rows_accepted + rows_quarantined``."""
    check_batch_rows(batch_rows)
    names = coerced.collect_schema().names()
    rows_in, dups = duplicate_rows(
        coerced.select(ROW, *schema.key),
        schema.key,
        scratch,
        buckets=buckets,
        batch_rows=batch_rows,
    )
    raws = [n for n in names if n.startswith(RAW_PREFIX)]
    enrollment_checked = (
        enrollment is not None
        and eligible_ids is not None
        and schema.name in SERVICE_DATE
        and SERVICE_DATE[schema.name] in names
    )
    checks = _row_checks(
        _checks(schema, set(raws), eligible_ids, enrollment_checked=enrollment_checked)
    )
    groups: dict[str, list[Check]] = {}
    for chk in checks:
        groups.setdefault(chk.name, []).append(chk)
    flags = [
        pl.any_horizontal([c.failed.fill_null(False) for c in group]).alias(f"__flag_{name}")
        for name, group in groups.items()
    ]
    reasons = (
        pl.concat_list(
            [
                pl.when(c.failed.fill_null(False)).then(
                    pl.format("{}: {}", pl.lit(c.name), c.message)
                )
                for c in checks
            ]
        )
        .list.drop_nulls()
        .list.join("; ")
    )
    canonical = [n for n in schema.names if n in names]
    counts = dict.fromkeys(groups, 0)
    mistyped = _Mistyped()
    enrolled: list[pl.DataFrame] = []
    writer: pq.ParquetWriter | None = None
    quarantined = 0
    try:
        for batch in coerced.collect_batches(chunk_size=batch_rows):
            mistyped.add(batch, raws)
            lo, hi = batch.get_column(ROW).min(), batch.get_column(ROW).max()
            in_batch = dups.filter((dups >= lo) & (dups <= hi))
            lf = batch.lazy().with_columns(pl.col(ROW).is_in(in_batch.implode()).alias(DUP))
            if enrollment_checked:
                assert enrollment is not None
                lf = _with_enrollment_flag(lf, schema, enrollment)
            flagged = lf.with_columns(flags).collect()
            for name in groups:
                counts[name] += int(flagged.get_column(f"__flag_{name}").sum())
            bad = pl.any_horizontal([f"__flag_{name}" for name in groups])
            failing = flagged.filter(bad).select([*canonical, ROW, reasons.alias(REASONS)])
            if failing.height:
                arrow = failing.to_arrow()
                if writer is None:
                    quarantine.parent.mkdir(parents=True, exist_ok=True)
                    writer = pq.ParquetWriter(quarantine, arrow.schema, compression="zstd")
                writer.write_table(arrow)
                quarantined += failing.height
            kept = flagged.filter(~bad).select(canonical)
            accept(kept)
            if schema.name == "eligibility":
                enrolled.append(
                    kept.select("person_id", "enrollment_start_date", "enrollment_end_date")
                )
            del batch, flagged, failing, kept
    finally:
        if writer is not None:
            writer.close()
    mistyped.refuse(schema, path)
    empty = pl.DataFrame(schema={c: coerced.collect_schema()[c] for c in canonical})
    result = ValidationResult(
        schema.name,
        source,
        rows_in,
        empty,
        empty.with_columns(pl.lit(None, dtype=pl.UInt32).alias(ROW), pl.lit("").alias(REASONS)),
        counts,
        accepted_count=rows_in - quarantined,
        quarantined_count=quarantined,
    )
    return StreamedTable(result, pl.concat(enrolled) if enrolled else None)
