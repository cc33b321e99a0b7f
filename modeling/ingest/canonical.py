"""Load Tuva-style canonical files (CSV or Parquet) into a validated dataset.

Every row of every source file ends up either in the dataset or in its quarantine file with
reasons; the data-quality report states rows in, accepted and quarantined per table and the
count of rows failing each check. A file that cannot be a canonical table at all (a required
column missing, a column whose values are mostly of the wrong type) is refused with an error
naming the file, the column, the expected type and the first offending rows.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from modeling.dataset import QUALITY_REPORT, QUARANTINE_DIR, Dataset, DatasetWriter
from modeling.errors import SchemaError
from modeling.ingest.validate import (
    DATE_FORMATS,
    RAW_PREFIX,
    ROW,
    ValidationResult,
    reconcile,
    validate,
)
from modeling.progress import Progress, reporter
from modeling.schema import REQUIRED_TABLES, TABLES, TableSchema

SUFFIXES = (".parquet", ".csv", ".csv.gz", ".txt")
MISTYPED_SHARE = (
    0.5  # more than half of a column's values unparseable: the column, not the rows, is wrong
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


def find_table_files(src: Path) -> dict[str, Path]:
    """Map canonical table names to files in ``src`` (``eligibility.csv``, ``medical_claim.parquet``...)."""
    if src.is_file():
        stem = src.name.split(".")[0]
        if stem not in TABLES:
            raise SchemaError(
                f"{src}: file name must be a canonical table name ({', '.join(TABLES)})."
            )
        return {stem: src}
    if not src.is_dir():
        raise SchemaError(f"{src} does not exist. Give a folder of canonical files or one file.")
    found: dict[str, Path] = {}
    for f in sorted(src.iterdir()):
        stem = f.name.split(".")[0]
        if stem in TABLES and any(f.name.endswith(s) for s in SUFFIXES):
            if stem in found:
                raise SchemaError(
                    f"{src}: both {found[stem].name} and {f.name} claim table '{stem}'; keep one."
                )
            found[stem] = f
    missing = [t for t in REQUIRED_TABLES if t not in found]
    if missing:
        raise SchemaError(
            f"{src}: no file for required table(s) {', '.join(missing)}. "
            f"Expected files named like {missing[0]}.csv or {missing[0]}.parquet."
        )
    return found


def read_source(path: Path) -> pl.LazyFrame:
    """Scan a CSV (every column as text) or Parquet file."""
    try:
        if path.name.endswith(".parquet"):
            return pl.scan_parquet(path)
        return pl.scan_csv(path, infer_schema=False, encoding="utf8-lossy")
    except Exception as exc:  # polars raises several types for unreadable files
        raise SchemaError(
            f"{path}: cannot be read as {'Parquet' if path.suffix == '.parquet' else 'CSV'}: {exc}"
        ) from exc


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
    text_source = dtype in (pl.String, pl.Categorical) or dtype == pl.Null
    if col.kind == "date":
        if dtype == pl.Date:
            return [pl.col(name)]
        if isinstance(dtype, pl.Datetime):
            return [pl.col(name).dt.date()]
        if text_source:
            raw = _clean_text(name)
            return [_parse_date(raw).alias(name), raw.alias(RAW_PREFIX + name)]
        raise SchemaError(
            f"{path}: column '{name}' has type {dtype}; expected a date (Date or YYYY-MM-DD text)."
        )
    if col.dtype in (pl.Float64, pl.Int32):
        if dtype.is_numeric():
            return [pl.col(name).cast(col.dtype, strict=False)]
        if text_source:
            raw = _clean_text(name)
            parsed = raw.str.replace_all(r"[$,]", "").cast(pl.Float64, strict=False)
            if col.dtype == pl.Int32:
                parsed = (
                    pl.when(parsed == parsed.round(0))
                    .then(parsed)
                    .otherwise(None)
                    .cast(pl.Int32, strict=False)
                )
            return [parsed.alias(name), raw.alias(RAW_PREFIX + name)]
        raise SchemaError(
            f"{path}: column '{name}' has type {dtype}; expected {col.dtype} (a number)."
        )
    text = _clean_text(name)
    if col.kind in ("icd10_dx", "icd10_pcs"):
        # the one decimal point ICD-10-CM allows comes after the category (3 characters); any other stays and fails the check
        text = text.str.to_uppercase()
        text = (
            pl.when(text.str.contains(r"^[^.]{3}\.[^.]+$"))
            .then(text.str.replace(".", "", literal=True))
            .otherwise(text)
        )
    elif col.kind == "hcpcs":
        text = text.str.to_uppercase()
    elif col.kind == "ndc":
        text = _normalize_ndc(text)
    elif col.kind == "enum":
        if name in _ENUM_SYNONYMS:
            text = text.str.to_uppercase().replace(_ENUM_SYNONYMS[name])
        elif name in ("claim_type", "payer_type"):
            text = text.str.to_lowercase()
        elif name in ("dual_status_code", "medicare_status_code"):
            text = pl.when(text.str.contains(r"^\d$")).then(pl.lit("0") + text).otherwise(text)
    return [text.alias(name)]


def _preview(names: list[str], limit: int = 12) -> str:
    if not names:
        return "(none)"
    more = f" ... ({len(names) - limit} more)" if len(names) > limit else ""
    return ", ".join(names[:limit]) + more


def coerce(lf: pl.LazyFrame, schema: TableSchema, path: Path) -> pl.LazyFrame:
    """Typed canonical columns (plus raw text of parsed columns); a clear error if a column is unusable."""
    source = lf.collect_schema()
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


def _refuse_mistyped(df: pl.DataFrame, schema: TableSchema, path: Path) -> None:
    for raw in [c for c in df.columns if c.startswith(RAW_PREFIX)]:
        name = raw[len(RAW_PREFIX) :]
        offending = df.filter(pl.col(raw).is_not_null() & pl.col(name).is_null())
        given = df.select(pl.col(raw).is_not_null().sum()).item()
        if given and offending.height > MISTYPED_SHARE * given:
            sample = ", ".join(
                f"row {r}: '{v}'" for r, v in offending.select(ROW, raw).head(5).iter_rows()
            )
            raise SchemaError(
                f"{path}: column '{name}' should be {schema.column(name).dtype} "
                f"({'YYYY-MM-DD' if schema.column(name).kind == 'date' else 'a number'}), but "
                f"{offending.height:,} of {given:,} values are not; first offending rows: {sample}. "
                "Fix the column's format and load again."
            )


def ingest_canonical(
    src: str | Path, out: str | Path, *, progress: Progress | None = None
) -> IngestReport:
    """Validate canonical files in ``src`` and write accepted rows, quarantine and report to ``out``."""
    src, out = Path(src), Path(out)
    say = reporter(progress)
    files = find_table_files(src)
    order = [t for t in TABLES if t in files]  # eligibility first: claims are checked against it
    coerced: dict[str, pl.DataFrame] = {}
    for table in order:
        say(f"reading {files[table].name}")
        try:
            df = coerce(read_source(files[table]), TABLES[table], files[table]).collect()
        except SchemaError:
            raise
        except pl.exceptions.PolarsError as exc:
            raise SchemaError(f"{files[table]}: cannot be read: {exc}") from exc
        _refuse_mistyped(df, TABLES[table], files[table])
        coerced[table] = df

    results: dict[str, ValidationResult] = {}
    eligible: pl.Series | None = None
    for table in order:
        say(f"validating {table}")
        result = validate(
            coerced.pop(table), TABLES[table], source=str(files[table]), eligible_ids=eligible
        )
        if table == "eligibility":
            eligible = result.accepted.get_column("person_id").unique()
        results[table] = result

    say(f"writing dataset to {out}")
    with DatasetWriter(out, source={"kind": "canonical", "path": str(src.resolve())}) as writer:
        for table, result in results.items():
            writer.write(table, result.accepted)
    write_quality(out, results)
    return IngestReport(Dataset(out), results)


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
    for table in [t for t in TABLES if dataset.has(t)]:
        say(f"validating {table}")
        result = validate(
            dataset.scan(table),
            TABLES[table],
            source=str(dataset.path),
            eligible_ids=eligible,
            keep_accepted=table == "eligibility",
        )
        if table == "eligibility":
            eligible = result.accepted.get_column("person_id").unique()
        results[table] = result
    return results
