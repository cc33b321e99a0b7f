"""Reconciliation: where every line of every CCLF file went, and the report of an ingest.

Every line is accounted for per file: lines read = loaded + superseded + cancelled + quarantined
+ not loaded + in a refused file, and CCLF0's record counts are compared with the files of its
delivery. The report is written beside the dataset (``cclf_reconciliation.json``) with the
quarantined lines (``quarantine/cclf_lines.parquet``: file, line, reason, record).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import polars as pl

from modeling.dataset import Dataset
from modeling.errors import DatasetError
from modeling.ingest.cclf.files import FILE, QUARANTINE_SCHEMA
from modeling.ingest.validate import ValidationResult

RECONCILIATION = "cclf_reconciliation.json"
CCLF_QUARANTINE = "quarantine/cclf_lines.parquet"
STATUS = "_status"
STATUSES = ("loaded", "superseded", "cancelled", "quarantined", "not_loaded", "in_refused_file")


@dataclass(frozen=True)
class FileReconciliation:
    """One file read: its lines, where each went (``STATUSES``), and why it was refused, if it was."""

    file: str
    file_type: str
    delivery: str
    file_date: str | None
    lines_read: int = 0
    loaded: int = 0
    superseded: int = 0
    cancelled: int = 0
    quarantined: int = 0
    not_loaded: int = 0
    in_refused_file: int = 0
    refused: str | None = None

    @property
    def accounted(self) -> int:
        """Lines with a status: equal to ``lines_read`` when the file reconciles."""
        return sum(getattr(self, s) for s in STATUSES)

    def counted(self, statuses: Mapping[str, int]) -> FileReconciliation:
        """This file with more lines in some statuses."""
        return replace(self, **{s: getattr(self, s) + n for s, n in statuses.items()})

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class CclfIngestReport:
    """What the ingest found: per-file reconciliation, CCLF0 comparison, canonical validation."""

    dataset: Dataset
    files: tuple[FileReconciliation, ...]
    record_counts: tuple[dict[str, Any], ...]
    results: Mapping[str, ValidationResult]
    notes: tuple[str, ...] = ()
    unrecognized: tuple[
        str, ...
    ] = ()  # files of the source not read: names not CCLF's, nested zips

    @property
    def reconciled(self) -> bool:
        """Every line of every file accounted for, every canonical row too, and no file of the
        source left unread."""
        lines_ok = all(f.lines_read == f.accounted for f in self.files) and not self.unrecognized
        return lines_ok and all(
            r.rows_in == r.rows_accepted + r.rows_quarantined for r in self.results.values()
        )

    @property
    def refused(self) -> list[FileReconciliation]:
        return [f for f in self.files if f.refused]

    def by_file_type(self) -> pl.DataFrame:
        """Lines read, loaded, superseded, cancelled, quarantined and not loaded per file type."""
        return files_by_type([f.to_dict() for f in self.files])

    def to_dict(self) -> dict[str, Any]:
        return {
            "reconciled": self.reconciled,
            "files": [f.to_dict() for f in self.files],
            "cclf0_record_counts": list(self.record_counts),
            "canonical": {t: r.report() for t, r in self.results.items()},
            "notes": list(self.notes),
            "unrecognized_files": list(self.unrecognized),
        }


def files_by_type(files: Sequence[Mapping[str, Any]]) -> pl.DataFrame:
    """Per file type: files, refused files, lines read and where each line went, and whether they add up.

    ``files`` are per-file entries as in the report's JSON (``FileReconciliation.to_dict``)."""
    schema = {
        "file": pl.String,
        "file_type": pl.String,
        "delivery": pl.String,
        "file_date": pl.String,
        "lines_read": pl.Int64,
        **dict.fromkeys(STATUSES, pl.Int64),
        "refused": pl.String,
    }
    frame = pl.DataFrame(files, schema=schema)
    return (
        frame.group_by("file_type")
        .agg(
            pl.len().alias("files"),
            pl.col("refused").is_not_null().sum().alias("refused"),
            *[pl.col(c).sum() for c in ("lines_read", *STATUSES)],
        )
        .with_columns(
            (pl.col("lines_read") == pl.sum_horizontal(list(STATUSES))).alias("reconciles")
        )
        .sort("file_type")
    )


def count_statuses(
    status_frames: Sequence[pl.DataFrame], files: Sequence[FileReconciliation]
) -> tuple[FileReconciliation, ...]:
    """The files with the status of each of their staged lines counted (frames of file, line,
    status; a name read twice: its last file gets the counts)."""
    if not status_frames:
        return tuple(files)
    counts = pl.concat([f.select(FILE, STATUS) for f in status_frames]).group_by(FILE, STATUS).len()
    by_name: dict[str, dict[str, int]] = {}
    for name, status, n in counts.iter_rows():
        by_name.setdefault(name, {})
        by_name[name][status] = by_name[name].get(status, 0) + int(n)
    last = {f.file: i for i, f in enumerate(files)}
    return tuple(
        f.counted(by_name[f.file]) if last[f.file] == i and f.file in by_name else f
        for i, f in enumerate(files)
    )


def quarantined_after_load(
    files: Sequence[FileReconciliation], lines: pl.DataFrame
) -> tuple[FileReconciliation, ...]:
    """The files with ``lines`` (file, line: lines counted loaded whose canonical rows were all
    quarantined by the canonical validation) moved from loaded to quarantined, so "loaded"
    counts what reached the dataset (a name read twice: its last file, as ``count_statuses``)."""
    if lines.height == 0:
        return tuple(files)
    per_file = dict(lines.group_by("file").len().iter_rows())
    last = {f.file: i for i, f in enumerate(files)}
    return tuple(
        replace(f, loaded=f.loaded - per_file[f.file], quarantined=f.quarantined + per_file[f.file])
        if last[f.file] == i and f.file in per_file
        else f
        for i, f in enumerate(files)
    )


def refusal_notes(files: Iterable[FileReconciliation]) -> tuple[str, ...]:
    """One note per refused file, with its reason."""
    return tuple(f"refused {f.file}: {f.refused}" for f in files if f.refused)


def write_line_quarantine(out: Path, frames: Iterable[pl.DataFrame]) -> None:
    """Every quarantined CCLF line (file, line, reason, record) into the dataset's quarantine."""
    line_quarantine = pl.concat([pl.DataFrame(schema=QUARANTINE_SCHEMA), *frames], how="vertical")
    (out / CCLF_QUARANTINE).parent.mkdir(parents=True, exist_ok=True)
    line_quarantine.write_parquet(out / CCLF_QUARANTINE)


def write_reconciliation(out: Path, report: CclfIngestReport) -> None:
    """The report as JSON beside the dataset."""
    (out / RECONCILIATION).write_text(json.dumps(report.to_dict(), indent=2, default=str) + "\n")


def read_reconciliation(dataset_path: str | Path) -> dict[str, Any] | None:
    """The CCLF reconciliation report written beside a dataset loaded from CCLF, or None."""
    p = Path(dataset_path) / RECONCILIATION
    if not p.exists():
        return None
    try:
        return json.loads(p.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise DatasetError(
            f"{p} is damaged ({exc.__class__.__name__}); load the CCLF files again to rewrite it."
        ) from None


def read_line_quarantine(dataset_path: str | Path) -> pl.DataFrame | None:
    """The quarantined CCLF lines (file, line, reason, record) of a dataset loaded from CCLF, or None."""
    p = Path(dataset_path) / CCLF_QUARANTINE
    return pl.read_parquet(p, glob=False) if p.exists() else None
