"""A dataset: a folder with one Parquet file per canonical table and a ``manifest.json``.

The manifest records the schema version, where the data came from, each table's row count and
the SHA-256 of each file, so a dataset can be checked against what was written. Tables are
written in row groups, so a dataset larger than memory can be streamed out chunk by chunk.

A dataset is written whole or not at all (``staged_dataset``): everything (tables, manifest,
data-quality report, quarantine) goes into a hidden staging folder beside the target, which is
renamed into place only once complete. Writers of one target hold a lock on it, so two cannot
interleave; an existing dataset is replaced only when asked (``overwrite=True``), and a folder
that is not a dataset is never replaced. Paths are handed to polars literally (``glob=False``),
so ``[1]``, ``?`` or ``*`` in a folder name never select other folders.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import re
import shutil
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
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
STAGING_MARK = ".staging-"  # hidden sibling folders: .<name>.staging-<token>
REPLACED_MARK = ".replaced-"  # the previous dataset, between the two renames of a swap
DATASET_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,63}")


def check_dataset_name(name: str) -> str:
    """``name`` when it can name a dataset folder in a workspace (letters, digits, ``-``, ``_``;
    up to 64, not starting with ``-`` or ``_``); else a ``DatasetError``. Nothing else can name a
    folder, so a name can never reach outside the workspace's ``datasets/``."""
    if not isinstance(name, str) or not DATASET_NAME.fullmatch(name):
        raise DatasetError(
            f"Dataset name {name!r} is not allowed: use 1 to 64 letters, digits, '-' or '_', "
            "starting with a letter or digit."
        )
    return name


def _lock_path(out: Path) -> Path:
    return out.parent / f".{out.name}.lock"


@contextmanager
def dataset_lock(out: Path) -> Iterator[None]:
    """Hold the write lock of dataset folder ``out`` (a ``DatasetError`` at once when another
    process or thread holds it)."""
    out.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(_lock_path(out), os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise DatasetError(
                f"{out}: another ingest or generation is writing this dataset right now. Wait for "
                "it to finish, or write to another folder."
            ) from None
        yield
    finally:
        os.close(fd)  # closing the descriptor releases the lock


def _check_target(out: Path, *, overwrite: bool) -> None:
    if out.is_symlink() or (out.exists() and not out.is_dir()):
        raise DatasetError(
            f"{out} exists and is not a folder; a dataset is a folder. Give a new folder name."
        )
    if not out.is_dir() or not any(out.iterdir()):
        return
    if not (out / MANIFEST).exists():
        raise DatasetError(
            f"{out} is a folder with files that is not a dataset (it has no {MANIFEST}); it is "
            "never replaced. Give a new or empty folder for the dataset."
        )
    if not overwrite:
        raise DatasetError(
            f"{out} already holds a dataset. Replace it explicitly (`--overwrite` on the command "
            "line, the 'Replace' box in the app, overwrite=True in Python) or choose another name."
        )


def _recover_and_sweep(out: Path) -> None:
    """Under the lock: finish a swap a killed writer left half done (the previous dataset is put
    back) and remove staging folders left by killed writers."""
    prefix = f".{out.name}"
    for p in out.parent.iterdir():
        if not p.name.startswith(prefix):
            continue
        rest = p.name[len(prefix) :]
        if rest.startswith(REPLACED_MARK):
            if not out.exists() and (p / MANIFEST).is_file():
                os.rename(p, out)
            else:
                shutil.rmtree(p, ignore_errors=True)
        elif rest.startswith(STAGING_MARK):
            shutil.rmtree(p, ignore_errors=True)


@contextmanager
def staged_dataset(out: str | Path, *, overwrite: bool = False) -> Iterator[Path]:
    """A staging folder to write a whole dataset into; renamed to ``out`` when the block ends
    without an exception (the previous dataset there, if any, is removed only after), removed
    otherwise. A kill at any moment leaves either the previous dataset or the new one at
    ``out``, never a mixture; leftovers are cleaned up by the next writer of ``out``."""
    out = Path(out)
    if out.is_symlink() or (out.exists() and not out.is_dir()):
        _check_target(out, overwrite=overwrite)  # refused before any lock file is made beside it
    with dataset_lock(out):
        _recover_and_sweep(out)
        _check_target(out, overwrite=overwrite)
        token = uuid.uuid4().hex[:12]
        stage = out.parent / f".{out.name}{STAGING_MARK}{token}"
        stage.mkdir()
        try:
            yield stage
            if not (stage / MANIFEST).is_file():
                raise DatasetError(f"{out}: the writer finished without a manifest; not loaded.")
            _swap(stage, out, token)
        finally:
            shutil.rmtree(stage, ignore_errors=True)


def _swap(stage: Path, out: Path, token: str) -> None:
    if out.is_dir():
        old = out.parent / f".{out.name}{REPLACED_MARK}{token}"
        os.rename(out, old)
        os.rename(stage, out)
        shutil.rmtree(old, ignore_errors=True)
    else:
        os.rename(stage, out)


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

    With ``atomic=True`` (the default) the dataset is staged beside ``path`` and renamed into
    place on success (``staged_dataset``; ``overwrite`` says whether an existing dataset there
    may be replaced). ``atomic=False`` writes into ``path`` itself: for a caller that already
    holds a ``staged_dataset`` and writes more files into it.
    """

    def __init__(
        self,
        path: str | Path,
        source: Mapping[str, Any],
        *,
        row_group_size: int = 1_000_000,
        atomic: bool = True,
        overwrite: bool = True,
    ):
        self.target = Path(path)
        self.path = self.target
        self.source = dict(source)
        self.row_group_size = row_group_size
        self.atomic = atomic
        self.overwrite = overwrite
        self._stage: Any = None
        self._writers: dict[str, pq.ParquetWriter] = {}
        self._rows: dict[str, int] = {}

    def __enter__(self) -> DatasetWriter:
        if self.atomic:
            self._stage = staged_dataset(self.target, overwrite=self.overwrite)
            self.path = self._stage.__enter__()
            return self
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
        stage, self._stage = self._stage, None
        try:
            self._finish(complete=exc_type is None)
        except BaseException as err:
            if stage is not None:
                stage.__exit__(type(err), err, err.__traceback__)
            raise
        if stage is not None:
            stage.__exit__(exc_type, exc, tb)  # renamed into place when complete
            self.path = self.target

    def _finish(self, *, complete: bool) -> None:
        for w in self._writers.values():
            w.close()
        if complete:
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
    tmp = path / f".{MANIFEST}.tmp"
    tmp.write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    os.replace(tmp, path / MANIFEST)  # never a half-written manifest
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
    frame = pl.scan_parquet(path, glob=False)
    empty = empty_columns(path)
    if not empty:
        return frame
    schema = frame.collect_schema()
    return frame.with_columns(pl.lit(None, dtype=schema[c]).alias(c) for c in empty)


def read_manifest(path: Path) -> dict:
    """The manifest of dataset folder ``path``, checked for the shape every reader relies on (a
    ``DatasetError`` naming the folder and the fix when it is missing, empty or damaged)."""
    f = path / MANIFEST
    if not f.is_file():
        raise DatasetError(
            f"{path} is not a dataset: it has no {MANIFEST}. Create one with "
            "`vbc synth --out DIR` or `vbc ingest canonical SRC --out DIR`."
        )
    fix = "Write the dataset again (`vbc ingest ... --overwrite`, or regenerate it)."
    try:
        manifest = json.loads(f.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise DatasetError(f"{f} is empty or damaged ({exc.__class__.__name__}). {fix}") from None
    tables = manifest.get("tables") if isinstance(manifest, dict) else None
    well_formed = (
        isinstance(tables, dict)
        and isinstance(manifest.get("content_hash"), str)
        and all(
            isinstance(e, dict)
            and isinstance(e.get("file"), str)
            and Path(e["file"]).name == e["file"]  # a file of this folder, nothing else
            and isinstance(e.get("rows"), int)
            and isinstance(e.get("sha256"), str)
            for e in tables.values()
        )
    )
    if not well_formed:
        raise DatasetError(
            f"{f} is not a valid manifest (it needs 'tables' with file, rows and sha256 of each, "
            f"and 'content_hash'). {fix}"
        )
    missing = [t for t in REQUIRED_TABLES if t not in (tables or {})]
    if missing:
        raise DatasetError(f"{f} lists no table {', '.join(missing)}, which is required. {fix}")
    return manifest


@dataclass(frozen=True)
class Dataset:
    """A dataset folder, opened read-only. ``scan`` gives lazy frames; nothing loads until asked."""

    path: Path
    manifest: dict = field(compare=False, repr=False)  # read once, when the dataset is opened

    def __init__(self, path: str | Path):
        object.__setattr__(self, "path", Path(path))
        object.__setattr__(self, "manifest", read_manifest(self.path))

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
        return pl.read_parquet(p, glob=False) if p.exists() else None

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
