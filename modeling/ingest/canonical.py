"""Load Tuva-style canonical files (CSV or Parquet) into a validated dataset.

Every row of every source file ends up either in the dataset or in its quarantine file with
reasons; the data-quality report states rows in, accepted and quarantined per table and the
count of rows failing each check. A file that cannot be a canonical table at all (a required
column missing, a column whose values are mostly of the wrong type) is refused with an error
naming the file, the column, the expected type and the first offending rows.
"""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import polars as pl

from modeling.dataset import (
    QUALITY_REPORT,
    QUARANTINE_DIR,
    Dataset,
    DatasetWriter,
    staged_dataset,
)
from modeling.errors import DatasetError, SchemaError
from modeling.ingest.batches import (
    BATCH_ROWS,
    StreamedTable,
    check_batch_rows,
    key_buckets,
    validate_in_batches,
)
from modeling.ingest.sources import check_member, csv_problem, inside, text_source
from modeling.ingest.validate import (
    DATE_FORMATS,
    RAW_PREFIX,
    REASONS,
    ROW,
    ValidationResult,
    enrollment_months,
    reconcile,
    validate,
)
from modeling.progress import Progress, reporter
from modeling.schema import REQUIRED_TABLES, TABLES, TableSchema

SUFFIXES = (".parquet", ".csv", ".csv.gz", ".txt")
SCRATCH = "_scratch"  # transcoded copies of sources, inside the staging folder, removed after
# An amount as text: optional sign and dollar sign, digits with optional US thousands
# separators (groups of three after a comma), an optional decimal point and exponent; or
# NaN/inf (refused later as non-finite). Anything else, a decimal comma included
# ('1.234,56', '12,5'), is not a number.
AMOUNT_TEXT = (
    r"^[-+]?\$?[-+]?(?:(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?$"
    r"|^(?i:[-+]?(?:nan|inf|infinity))$"
)


@dataclass(frozen=True)
class IngestReport:
    """Per-table validation results and the dataset they were written to."""

    dataset: Dataset
    results: dict[str, ValidationResult]

    @property
    def reconciled(self) -> bool:
        return reconcile(self.results.values())

    def to_dict(self) -> dict:
        return {
            "reconciled": self.reconciled,
            "tables": {t: r.report() for t, r in self.results.items()},
        }

    def accepted(self, table: str) -> pl.DataFrame:
        """The rows of ``table`` that reached the dataset (read from it: the ingest keeps none)."""
        return self.dataset.read(table)

    def quarantined(self, table: str) -> pl.DataFrame:
        """The quarantined rows of ``table`` with their source row and reasons (from the
        dataset's quarantine; an empty frame when none was quarantined)."""
        found = self.dataset.quarantine(table)
        if found is not None:
            return found
        return pl.DataFrame(schema=TABLES[table].polars_schema).with_columns(
            pl.lit(None, dtype=pl.UInt32).alias(ROW), pl.lit(None, dtype=pl.String).alias(REASONS)
        )


def find_table_files(src: Path) -> dict[str, Path]:
    """Map canonical table names to files in ``src`` (``eligibility.csv``, ``medical_claim.parquet``...).

    A file that is a symbolic link out of ``src`` (or to nothing) or a folder is refused; a
    missing table's error names the files that nearly match (other case, other extension)."""
    if src.is_file():
        stem = src.name.split(".")[0]
        if stem not in TABLES:
            raise SchemaError(
                f"{src}: file name must be a canonical table name ({', '.join(TABLES)})."
            )
        check_member(src, src.parent)
        return {stem: src}
    if not src.is_dir():
        raise SchemaError(f"{src} does not exist. Give a folder of canonical files or one file.")
    found: dict[str, Path] = {}
    near: list[str] = []
    for f in sorted(src.iterdir()):
        stem = f.name.split(".")[0]
        if stem in TABLES and any(f.name.endswith(s) for s in SUFFIXES):
            check_member(f, src)
            if stem in found:
                raise SchemaError(
                    f"{src}: both {found[stem].name} and {f.name} claim table '{stem}'; keep one."
                )
            found[stem] = f
        elif stem.lower() in TABLES and not f.name.startswith("."):
            near.append(f.name)
    missing = [t for t in REQUIRED_TABLES if t not in found]
    if missing:
        hint = (
            f" Files that nearly match: {', '.join(near)} (names are lower case and end in "
            f"{', '.join(SUFFIXES)})."
            if near
            else ""
        )
        raise SchemaError(
            f"{src}: no file for required table(s) {', '.join(missing)}. "
            f"Expected files named like {missing[0]}.csv or {missing[0]}.parquet.{hint}"
        )
    return found


def read_source(
    path: Path, *, scratch: Path | None = None, encoding: str | None = None
) -> pl.LazyFrame:
    """Scan a CSV (every column as text, its text checked: ``text_source``) or Parquet file,
    the path taken literally (no glob expansion)."""
    if path.name.endswith(".parquet"):
        try:
            return pl.scan_parquet(path, glob=False)
        except Exception as exc:  # polars raises several types for unreadable files
            raise SchemaError(f"{path}: cannot be read as Parquet: {exc}") from exc
    text = text_source(path, scratch or path.parent / SCRATCH, encoding=encoding)
    try:
        return pl.scan_csv(text, infer_schema=False, encoding="utf8", glob=False)
    except Exception as exc:  # polars raises several types for unreadable files
        raise SchemaError(f"{path}: cannot be read as CSV: {_csv_error(text, exc)}") from exc


def _csv_error(path: Path, exc: Exception) -> str:
    """What is wrong with a CSV polars could not read, without echoing its rows."""
    return f"{csv_problem(path)} ({exc.__class__.__name__}). Fix the file and load again."


def _clean_text(name: str) -> pl.Expr:
    t = pl.col(name).cast(pl.String).str.strip_chars()
    return pl.when(t == "").then(None).otherwise(t)


def _parse_date(raw: pl.Expr) -> pl.Expr:
    return pl.coalesce([raw.str.strptime(pl.Date, fmt, strict=False) for fmt in DATE_FORMATS])


def _normalize_ndc(raw: pl.Expr) -> pl.Expr:
    return (
        raw.str.replace(r"^(\d{4})-(\d{4})-(\d{2})$", "0${1}${2}${3}")
        .str.replace(r"^(\d{5})-(\d{3})-(\d{2})$", "${1}0${2}${3}")
        .str.replace(r"^(\d{5})-(\d{4})-(\d)$", "${1}${2}0${3}")
        .str.replace_all("-", "")
    )


_ENUM_SYNONYMS = {
    "gender": {
        "M": "male",
        "F": "female",
        "U": "unknown",
        "MALE": "male",
        "FEMALE": "female",
        "UNKNOWN": "unknown",
    }
}


def _coerce_column(schema: TableSchema, name: str, dtype: pl.DataType, path: Path) -> list[pl.Expr]:
    col = schema.column(name)
    if dtype.is_nested() or dtype == pl.Object:
        raise SchemaError(
            f"{path}: column '{name}' holds {dtype} values; expected one {col.dtype} per row."
        )
    if col.kind == "date":
        return _coerce_date(name, dtype, path)
    if col.dtype in (pl.Float64, pl.Int32):
        return _coerce_number(col.dtype, name, dtype, path)
    if dtype.is_numeric() and col.kind != "enum":
        raise SchemaError(
            f"{path}: column '{name}' is stored as {dtype}; it must be text ({col.kind}): a number "
            "type drops leading zeros ('0000012' becomes 12) and writes 12.0. Store the column as "
            "a string in the Parquet file (or give a CSV)."
        )
    return [_normalized_text(col.kind, name).alias(name)]


def _is_text(dtype: pl.DataType) -> bool:
    return dtype in (pl.String, pl.Categorical) or dtype == pl.Null


def _coerce_date(name: str, dtype: pl.DataType, path: Path) -> list[pl.Expr]:
    if dtype == pl.Date:
        return [pl.col(name)]
    if isinstance(dtype, pl.Datetime):
        return [pl.col(name).dt.date()]
    if _is_text(dtype):
        raw = _clean_text(name)
        return [_parse_date(raw).alias(name), raw.alias(RAW_PREFIX + name)]
    raise SchemaError(
        f"{path}: column '{name}' has type {dtype}; expected a date (Date or YYYY-MM-DD text)."
    )


def _coerce_number(target: pl.DataType, name: str, dtype: pl.DataType, path: Path) -> list[pl.Expr]:
    """An amount (Float64) or count (Int32). A count must be a whole number that fits; a value
    that is not is null here with its text kept, so it is quarantined (CSV and Parquet alike)."""
    if dtype.is_numeric():
        if target == pl.Float64:
            return [pl.col(name).cast(pl.Float64, strict=False)]
        value = pl.col(name).cast(pl.Float64)
        whole = (value == value.round(0)) & (value.abs() <= 2_147_483_647)
        return [
            pl.when(whole).then(value).otherwise(None).cast(pl.Int32, strict=False).alias(name),
            pl.col(name).cast(pl.String).alias(RAW_PREFIX + name),
        ]
    if not _is_text(dtype):
        raise SchemaError(
            f"{path}: column '{name}' has type {dtype}; expected {target} (a number)."
        )
    raw = _clean_text(name)
    parsed = (
        pl.when(raw.str.contains(AMOUNT_TEXT))
        .then(raw.str.replace_all(r"[$,]", ""))
        .otherwise(None)
        .cast(pl.Float64, strict=False)
    )
    if target == pl.Int32:
        whole = (parsed == parsed.round(0)) & (parsed.abs() <= 2_147_483_647)
        parsed = pl.when(whole).then(parsed).otherwise(None).cast(pl.Int32, strict=False)
    return [parsed.alias(name), raw.alias(RAW_PREFIX + name)]


def _normalized_text(kind: str, name: str) -> pl.Expr:
    text = _clean_text(name)
    if kind in ("icd10_dx", "icd10_pcs"):
        # the one decimal point ICD-10-CM allows comes after the category (3 characters); any other stays and fails the check
        text = text.str.to_uppercase()
        return (
            pl.when(text.str.contains(r"^[^.]{3}\.[^.]+$"))
            .then(text.str.replace(".", "", literal=True))
            .otherwise(text)
        )
    if kind == "hcpcs":
        return text.str.to_uppercase()
    if kind == "ndc":
        return _normalize_ndc(text)
    if kind == "enum":
        if name in _ENUM_SYNONYMS:
            return text.str.to_uppercase().replace(_ENUM_SYNONYMS[name])
        if name in ("claim_type", "payer_type"):
            return text.str.to_lowercase()
        if name in ("dual_status_code", "medicare_status_code"):
            return pl.when(text.str.contains(r"^\d$")).then(pl.lit("0") + text).otherwise(text)
    return text


def _preview(names: list[str], limit: int = 12) -> str:
    if not names:
        return "(none)"
    more = f" ... ({len(names) - limit} more)" if len(names) > limit else ""
    return ", ".join(names[:limit]) + more


def coerce(lf: pl.LazyFrame, schema: TableSchema, path: Path) -> pl.LazyFrame:
    """Typed canonical columns (plus raw text of parsed columns); a clear error if a column is unusable."""
    source = lf.collect_schema()
    doubled = sorted(
        {m.group(1) for n in source.names() if (m := re.fullmatch(r"(.+)_duplicated_\d+", n))}
        & set(schema.names)
    )
    if doubled:
        raise SchemaError(
            f"{path}: column(s) {', '.join(doubled)} appear more than once in the header; keep one."
        )
    missing = [c for c in schema.required if c not in source]
    if missing:
        expected = ", ".join(f"'{c}' ({schema.column(c).dtype})" for c in missing)
        raise SchemaError(
            f"{path}: missing required column(s) {expected} for table '{schema.name}'. "
            f"Columns found: {_preview(source.names())}. "
            "Rename or add the column (Tuva input-layer names) and load again."
        )
    exprs: list[pl.Expr] = []
    for col in schema.columns:
        if col.name in source:
            exprs += _coerce_column(schema, col.name, source[col.name], path)
        else:
            exprs.append(pl.lit(None, dtype=col.dtype).alias(col.name))
    return lf.with_row_index(ROW, offset=1).select([pl.col(ROW), *exprs])


def ingest_canonical(
    src: str | Path,
    out: str | Path,
    *,
    progress: Progress | None = None,
    overwrite: bool = False,
    encoding: str | None = None,
    batch_rows: int = BATCH_ROWS,
) -> IngestReport:
    """Validate canonical files in ``src`` and write accepted rows, quarantine and report to ``out``.

    The dataset is written whole or not at all (``staged_dataset``): an existing dataset at
    ``out`` is replaced only with ``overwrite=True``, and a source inside ``out`` is refused
    (replacing ``out`` would delete it). CSV text must be UTF-8 unless ``encoding`` (or a
    byte-order mark) declares another. Each table is read, validated and written in batches of
    ``batch_rows`` rows (``batches``), so memory is bounded by a batch, not by the file. A
    required table with no data rows, or none that passes the checks, is refused (naming the
    table and the checks that quarantined its rows): the previous dataset at ``out`` stays."""
    src, out = Path(src), Path(out)
    check_batch_rows(batch_rows)
    say = reporter(progress)
    refuse_source_in_target(src, out)
    files = find_table_files(src)
    order = [t for t in TABLES if t in files]  # eligibility first: claims are checked against it
    source = {"kind": "canonical", "path": str(src.resolve())}
    with staged_dataset(out, overwrite=overwrite) as stage:
        results: dict[str, ValidationResult] = {}
        eligible: pl.Series | None = None
        months: pl.DataFrame | None = None
        with DatasetWriter(stage, source=source, atomic=False) as writer:
            for table in order:
                say(f"reading and validating {files[table].name}")
                streamed = _stream_table(
                    files[table],
                    table,
                    stage,
                    encoding,
                    partial(writer.write, table),
                    eligible_ids=eligible,
                    enrollment=months,
                    batch_rows=batch_rows,
                )
                if table in REQUIRED_TABLES:
                    refuse_unloadable(files[table], streamed.result)
                if table == "eligibility" and streamed.enrolled is not None:
                    eligible = streamed.enrolled.get_column("person_id").unique()
                    months = enrollment_months(streamed.enrolled)
                results[table] = streamed.result
            say(f"writing dataset to {out}")
        shutil.rmtree(stage / SCRATCH, ignore_errors=True)
        write_quality_report(stage, results)
    return IngestReport(Dataset(out), results)


def refuse_unloadable(path: Path | str, result: ValidationResult) -> None:
    """A ``SchemaError`` for a required table with no data rows (a header only), a
    ``DatasetError`` for one whose every row was quarantined (naming the checks that failed
    most rows): a dataset without a loadable required table is never written."""
    if result.rows_in == 0:
        raise SchemaError(
            f"{path}: has no data rows (a header only); table '{result.table}' is required to "
            "make a dataset. Give the file with its rows."
        )
    if result.rows_accepted == 0:
        raise DatasetError(
            f"{path}: none of the {result.rows_in:,} rows of table '{result.table}' passed the "
            f"checks, so no dataset was written (a previous one at the target is kept). Top "
            f"reasons: {result.top_reasons()}. Fix the file and load again."
        )


def _stream_table(
    path: Path,
    table: str,
    stage: Path,
    encoding: str | None,
    accept: Callable[[pl.DataFrame], None],
    *,
    eligible_ids: pl.Series | None,
    enrollment: pl.DataFrame | None,
    batch_rows: int,
) -> StreamedTable:
    scratch = stage / SCRATCH
    lf = read_source(path, scratch=scratch, encoding=encoding)
    stored = path.stat().st_size * (4 if path.name.endswith(".parquet") else 1)
    try:
        coerced = coerce(lf, TABLES[table], path)
        return validate_in_batches(
            coerced,
            TABLES[table],
            path=path,
            source=str(path),
            scratch=scratch / f"keys-{table}",
            accept=accept,
            quarantine=stage / QUARANTINE_DIR / f"{table}.parquet",
            eligible_ids=eligible_ids,
            enrollment=enrollment,
            batch_rows=batch_rows,
            buckets=key_buckets(stored),
        )
    except SchemaError:
        raise
    except pl.exceptions.PolarsError as exc:
        if path.name.endswith(".parquet"):
            raise SchemaError(f"{path}: cannot be read as Parquet ({exc}).") from exc
        csv_path = scratch / f"{path.name.split('.')[0]}.csv"
        text = csv_path if csv_path.exists() else path
        raise SchemaError(f"{path}: cannot be read as CSV: {_csv_error(text, exc)}") from exc


def refuse_source_in_target(src: Path, out: Path) -> None:
    """A ``DatasetError`` when the source lies in the dataset folder to be written (writing
    replaces the folder as a whole, so the source would be lost)."""
    if src.exists() and out.exists() and (inside(src, out) or src.resolve() == out.resolve()):
        raise DatasetError(
            f"{src} is inside the dataset folder {out}, which loading replaces as a whole. Write "
            "the dataset to another folder (--out)."
        )


def write_quality(out: Path, results: dict[str, ValidationResult]) -> None:
    """Write quarantined rows (one Parquet per table) and the data-quality report into ``out``."""
    qdir = out / QUARANTINE_DIR
    qdir.mkdir(parents=True, exist_ok=True)
    for table, result in results.items():
        target = qdir / f"{table}.parquet"
        if result.rows_quarantined:
            result.quarantined.write_parquet(target)
        elif target.exists():
            target.unlink()
    write_quality_report(out, results)


def write_quality_report(out: Path, results: dict[str, ValidationResult]) -> None:
    """Write the data-quality report (counts per table and check) into dataset folder ``out``."""
    report = {
        "reconciled": reconcile(results.values()),
        "tables": {t: r.report() for t, r in results.items()},
    }
    (out / QUALITY_REPORT).write_text(json.dumps(report, indent=2) + "\n")


def validate_dataset(
    dataset: Dataset, *, progress: Progress | None = None
) -> dict[str, ValidationResult]:
    """Re-run every check over a dataset's tables (nothing is rewritten)."""
    say = reporter(progress)
    results: dict[str, ValidationResult] = {}
    eligible: pl.Series | None = None
    months: pl.DataFrame | None = None
    for table in [t for t in TABLES if dataset.has(t)]:
        say(f"validating {table}")
        result = validate(
            dataset.scan(table),
            TABLES[table],
            source=str(dataset.path),
            eligible_ids=eligible,
            keep_accepted=table == "eligibility",
            enrollment=months,
        )
        if table == "eligibility":
            eligible = result.accepted.get_column("person_id").unique()
            months = enrollment_months(result.accepted)
        results[table] = result
    return results
