"""A dataset: a folder with one Parquet file per canonical table and a ``manifest.json``.

The manifest records the schema version, where the data came from, each table's row count and
the SHA-256 of each file, so a dataset can be checked against what was written. Tables are
written in row groups, so a dataset larger than memory can be streamed out chunk by chunk.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq

from modeling.errors import DatasetError
from modeling.schema import REQUIRED_TABLES, SCHEMA_VERSION, TABLES, table_schema

MANIFEST = "manifest.json"
QUALITY_REPORT = "data_quality.json"
QUARANTINE_DIR = "quarantine"


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _arrow_schema(table: str) -> pa.Schema:
    return pl.DataFrame(schema=table_schema(table).polars_schema).to_arrow().schema


def _conformed(names: list[str], table: str) -> list[pl.Expr]:
    """The table's canonical columns, in order and cast to their dtypes, from columns ``names``
    (a canonical column not among them is a typed null)."""
    return [
        (pl.col(c.name) if c.name in names else pl.lit(None)).cast(c.dtype).alias(c.name)
        for c in table_schema(table).columns
    ]


def conform(frame: pl.DataFrame, table: str) -> pl.DataFrame:
    """The frame with exactly the table's canonical columns, order and dtypes (missing -> null)."""
    return frame.select(_conformed(frame.columns, table))


def conform_lazy(frame: pl.LazyFrame, table: str) -> pl.LazyFrame:
    """``conform`` for a lazy frame: the same columns, order and dtypes, nothing collected."""
    return frame.select(_conformed(frame.collect_schema().names(), table))


class DatasetWriter:
    """Streams canonical tables into a dataset folder, then writes its manifest.

    >>> with DatasetWriter(out, source={"kind": "synthetic"}) as w:   # doctest: +SKIP
    ...     w.write("eligibility", frame)
    """

    def __init__(
        self, path: str | Path, source: Mapping[str, Any], *, row_group_size: int = 1_000_000
    ):
        self.path = Path(path)
        self.source = dict(source)
        self.row_group_size = row_group_size
        self._writers: dict[str, pq.ParquetWriter] = {}
        self._rows: dict[str, int] = {}

    def __enter__(self) -> DatasetWriter:
        self.path.mkdir(parents=True, exist_ok=True)
        stale = self.path / MANIFEST
        if stale.exists():
            stale.unlink()
        return self

    def write(self, table: str, frame: pl.DataFrame) -> None:
        """Append rows to a table (conformed to its canonical schema)."""
        arrow = conform(frame, table).to_arrow().cast(_arrow_schema(table))
        if table not in self._writers:
            self._writers[table] = pq.ParquetWriter(
                self.path / f"{table}.parquet",
                arrow.schema,
                compression="zstd",
                write_statistics=True,
            )
            self._rows[table] = 0
        self._writers[table].write_table(arrow, row_group_size=self.row_group_size)
        self._rows[table] += arrow.num_rows

    def __exit__(self, exc_type, exc, tb) -> None:
        for w in self._writers.values():
            w.close()
        if exc_type is None:
            for table in REQUIRED_TABLES:
                if table not in self._writers:
                    self.write(table, pl.DataFrame(schema=table_schema(table).polars_schema))
                    self._writers[table].close()
            write_manifest(self.path, self.source, self._rows)


def write_manifest(path: Path, source: Mapping[str, Any], rows: Mapping[str, int]) -> dict:
    tables = {
        t: {
            "file": f"{t}.parquet",
            "rows": int(rows[t]),
            "sha256": file_sha256(path / f"{t}.parquet"),
        }
        for t in sorted(rows)
    }
    content = hashlib.sha256("".join(str(tables[t]["sha256"]) for t in tables).encode()).hexdigest()
    manifest = {
        "schema_version": SCHEMA_VERSION,
        "source": dict(source),
        "tables": tables,
        "content_hash": content,
    }
    (path / MANIFEST).write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    return manifest


def write_dataset(
    path: str | Path, tables: Mapping[str, pl.DataFrame], source: Mapping[str, Any]
) -> Dataset:
    with DatasetWriter(path, source) as w:
        for name, frame in tables.items():
            w.write(name, frame)
    return Dataset(path)


def empty_columns(path: Path) -> tuple[str, ...]:
    """Top-level columns of a Parquet file that are null in every row, from the row groups'
    statistics (a column chunk without a null count counts as filled)."""
    stat = path.stat()
    return _empty_columns(str(path), stat.st_mtime_ns, stat.st_size)


@lru_cache(maxsize=64)
def _empty_columns(path: str, _mtime_ns: int, _size: int) -> tuple[str, ...]:
    metadata = pq.ParquetFile(path).metadata
    if metadata.num_rows == 0:
        return ()
    schema = metadata.schema
    groups = [metadata.row_group(g) for g in range(metadata.num_row_groups)]

    def all_null(i: int) -> bool:
        stats = [(g.num_rows, g.column(i).statistics) for g in groups]
        return all(s is not None and s.has_null_count and s.null_count == n for n, s in stats)

    return tuple(
        schema.column(i).name
        for i in range(metadata.num_columns)
        if "." not in schema.column(i).path and all_null(i)
    )


def scan_parquet(path: Path) -> pl.LazyFrame:
    """A lazy frame over a Parquet file whose columns with no value in any row are served as typed
    nulls, so no query decodes them (most claims fill few of the 25 diagnosis and procedure
    columns)."""
    frame = pl.scan_parquet(path)
    empty = empty_columns(path)
    if not empty:
        return frame
    schema = frame.collect_schema()
    return frame.with_columns(pl.lit(None, dtype=schema[c]).alias(c) for c in empty)


@dataclass(frozen=True)
class Dataset:
    """A dataset folder, opened read-only. ``scan`` gives lazy frames; nothing loads until asked."""

    path: Path
    manifest: dict = field(compare=False, repr=False)  # read once, when the dataset is opened

    def __init__(self, path: str | Path):
        object.__setattr__(self, "path", Path(path))
        if not (self.path / MANIFEST).is_file():
            raise DatasetError(
                f"{self.path} is not a dataset: it has no {MANIFEST}. Create one with "
                "`vbc synth --out DIR` or `vbc ingest canonical SRC --out DIR`."
            )
        object.__setattr__(self, "manifest", json.loads((self.path / MANIFEST).read_text()))

    @property
    def tables(self) -> list[str]:
        return list(self.manifest["tables"])

    def has(self, table: str) -> bool:
        return table in self.manifest["tables"]

    def scan(self, table: str) -> pl.LazyFrame:
        """A lazy frame over a table; an empty frame of the right schema if the table is absent."""
        if table not in TABLES:
            table_schema(table)
        if not self.has(table):
            return pl.LazyFrame(schema=table_schema(table).polars_schema)
        return scan_parquet(self.path / self.manifest["tables"][table]["file"])

    def read(self, table: str) -> pl.DataFrame:
        return self.scan(table).collect()

    def quality_report(self) -> dict | None:
        p = self.path / QUALITY_REPORT
        return json.loads(p.read_text()) if p.exists() else None

    def quarantine(self, table: str) -> pl.DataFrame | None:
        p = self.path / QUARANTINE_DIR / f"{table}.parquet"
        return pl.read_parquet(p) if p.exists() else None

    def verify(self) -> list[str]:
        """Problems found comparing files with the manifest (empty when the dataset is intact)."""
        problems = []
        for t, entry in self.manifest["tables"].items():
            f = self.path / entry["file"]
            if not f.exists():
                problems.append(f"{t}: file {f} is missing")
                continue
            if file_sha256(f) != entry["sha256"]:
                problems.append(
                    f"{t}: {f} has changed since the manifest was written (sha256 differs)"
                )
            try:
                n = pq.ParquetFile(f).metadata.num_rows
            except Exception as exc:  # pyarrow raises several types for damaged files
                problems.append(f"{t}: {f} is not a readable Parquet file ({exc})")
                continue
            if n != entry["rows"]:
                problems.append(f"{t}: {n} rows in the file, {entry['rows']} in the manifest")
        return problems
