"""CCLF files -> canonical dataset, with claim-version resolution and a reconciliation per file.

The steps, in the order of a CCLF connector, each in its module:

1. ``staging``: every file found (``files``) is read with its packet layout (``layouts``), its
   bad lines quarantined with file, line and reason, and its records staged in delivery order.
2. ``crosswalk``: every beneficiary identifier is mapped to the current MBI through CCLF9.
3. ``versions``: claim versions are grouped by their natural keys; the last stands, earlier ones
   are superseded, claims whose last version is a cancellation net to nothing.
4. ``claims`` and ``beneficiaries``: the kept versions become the canonical ``medical_claim``,
   ``pharmacy_claim`` and ``eligibility`` tables, validated and written one at a time.
5. ``reconciliation``: every line read is accounted for per file (lines read = loaded +
   superseded + cancelled + quarantined + not loaded + in a refused file), and CCLF0's record
   counts are compared with the files of its delivery.
"""

from __future__ import annotations

import shutil
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

import polars as pl

from modeling.dataset import Dataset, DatasetWriter, staged_dataset
from modeling.errors import DatasetError
from modeling.ingest.canonical import refuse_source_in_target, refuse_unloadable, write_quality
from modeling.ingest.cclf.beneficiaries import beneficiary_eligibility
from modeling.ingest.cclf.claims import ClaimPart, part_a_claims, part_b_claims, part_d_claims
from modeling.ingest.cclf.crosswalk import crosswalk_statuses, mbi_crosswalk
from modeling.ingest.cclf.files import FILE, LINE_NO, QUARANTINE_SCHEMA, CclfFile, cclf_source
from modeling.ingest.cclf.layouts import DEFAULT_VERSION, Layout, load_layouts
from modeling.ingest.cclf.reconciliation import (
    STATUS,
    CclfIngestReport,
    count_statuses,
    quarantined_after_load,
    refusal_notes,
    write_line_quarantine,
    write_reconciliation,
)
from modeling.ingest.cclf.staging import (
    PROVENANCE,
    SOURCE_CLAIM,
    SOURCE_FILE,
    SOURCE_LINE,
    STAGING,
    scan,
    stage_files,
)
from modeling.ingest.validate import REASONS, ROW, ValidationResult, enrollment_months, validate
from modeling.progress import Progress, reporter
from modeling.schema import REQUIRED_TABLES, TABLES


def ingest_cclf(
    src: str | Path,
    out: str | Path,
    *,
    enrollment: str | Path | None = None,
    layout_version: str = DEFAULT_VERSION,
    progress: Progress | None = None,
    overwrite: bool = False,
) -> CclfIngestReport:
    """Read a folder or zip of CCLF files into a validated canonical dataset at ``out``.

    The dataset, its quality report, line quarantine and reconciliation are written whole or not
    at all (``staged_dataset``); an existing dataset at ``out`` is replaced only with
    ``overwrite=True``. The staged CCLF records (scratch) live inside the staging folder and go
    with it."""
    src, out = Path(src), Path(out)
    say = reporter(progress)
    layouts = load_layouts(layout_version)
    refuse_source_in_target(src, out)
    found = cclf_source(src)
    files, unrecognized = list(found.files), found.unrecognized
    with staged_dataset(out, overwrite=overwrite) as stage:
        staging = stage / STAGING
        staging.mkdir(parents=True)
        try:
            report = _ingest(
                src, stage, staging, files, unrecognized, layouts, layout_version, enrollment, say
            )
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    return replace(report, dataset=Dataset(out))


def _ingest(
    src: Path,
    stage: Path,
    staging: Path,
    files: list[CclfFile],
    unrecognized: tuple[str, ...],
    layouts: dict[str, Layout],
    layout_version: str,
    enrollment: str | Path | None,
    say: Progress,
) -> CclfIngestReport:
    staged = stage_files(
        files, layouts, staging, enrollment_given=enrollment is not None, progress=say
    )
    say("resolving identifiers and claim versions")
    cclf9 = scan(staging, "CCLF9")
    xwalk = mbi_crosswalk(cclf9)
    statuses = crosswalk_statuses(cclf9)
    parts = [
        part_a_claims(staging, xwalk),
        part_b_claims(staging, xwalk, "CCLF5"),
        part_b_claims(staging, xwalk, "CCLF6"),
        part_d_claims(staging, xwalk),
    ]
    claims = [p for p in parts if p is not None]
    statuses += [s for p in claims for s in p.statuses]
    tables = _claim_tables(claims)
    beneficiaries = beneficiary_eligibility(staging, xwalk, enrollment=enrollment)
    if beneficiaries is not None:
        tables["eligibility"], cclf8_statuses = beneficiaries
        statuses.append(cclf8_statuses)
    counted = count_statuses(statuses, staged.files)

    say("validating and writing canonical tables")
    source = {
        "kind": "cclf",
        "path": str(src.resolve()),
        "layout_version": layout_version,
        "files": len(files),
    }
    refusals = refusal_notes(counted) + tuple(f"not read: {name}" for name in unrecognized)
    try:
        results, refused_rows = _write_tables(stage, tables, source, f"CCLF ({src.name})", say)
    except DatasetError as exc:  # no loadable required table: say which files were refused
        if not refusals:
            raise
        raise DatasetError(f"{exc} Files refused: {'; '.join(refusals[:5])}.") from None
    after_load = _lines_of_refused_rows(refused_rows, statuses)
    counted = quarantined_after_load(counted, after_load)
    write_quality(stage, results)
    write_line_quarantine(
        stage, [*staged.quarantines, *[o for p in claims for o in p.orphans], after_load]
    )
    notes = refusals  # moving lines to quarantined after load refuses no file
    report = CclfIngestReport(
        Dataset(stage), counted, staged.record_counts, results, notes, unrecognized
    )
    write_reconciliation(stage, report)
    return report


def _claim_tables(claims: list[ClaimPart]) -> dict[str, pl.LazyFrame]:
    """The staged canonical claim parts as tables: medical (CCLF1, CCLF5, CCLF6) and pharmacy."""
    medical = [p.path for p in claims if p.table == "medical_claim" and p.path is not None]
    pharmacy = [p.path for p in claims if p.table == "pharmacy_claim" and p.path is not None]
    tables: dict[str, pl.LazyFrame] = {}
    if medical:
        tables["medical_claim"] = pl.scan_parquet(medical, glob=False)
    if pharmacy:
        tables["pharmacy_claim"] = pl.scan_parquet(pharmacy[0], glob=False)  # CCLF7: one part
    return tables


def _write_tables(
    out: Path,
    tables: dict[str, pl.LazyFrame],
    source: Mapping[str, Any],
    label: str,
    say: Progress,
) -> tuple[dict[str, ValidationResult], list[pl.DataFrame]]:
    """Validate and write each table, eligibility first (claims are checked against it).

    One table at a time: validated, written, and its rows released before the next (``tables``
    is consumed); each result keeps its counts, not its accepted rows. Also the provenance of
    the quarantined claim rows (``_refused_provenance``)."""
    refused: list[pl.DataFrame] = []
    results: dict[str, ValidationResult] = {}
    eligible: pl.Series | None = None
    months: pl.DataFrame | None = None
    for table in [t for t in REQUIRED_TABLES if t not in tables]:
        raise DatasetError(
            f"{label}: no file gives table '{table}' (eligibility comes from CCLF8, medical "
            "claims from CCLF1/2, CCLF5 or CCLF6), which a dataset requires; no dataset was "
            "written (a previous one at the target is kept). Add the files and load again."
        )
    with DatasetWriter(out, source=source, atomic=False) as writer:
        for table in [t for t in TABLES if t in tables]:
            say(f"validating and writing {table}")
            frame = tables.pop(table).collect()
            result = validate(
                frame, TABLES[table], source=label, eligible_ids=eligible, enrollment=months
            )
            if SOURCE_FILE in frame.columns:
                refused.append(_refused_provenance(frame, result, table))
            elif table == "eligibility" and SOURCE_CLAIM in frame.columns:
                refused.append(_refused_spans(frame, result))
            del frame
            if table in REQUIRED_TABLES:
                refuse_unloadable(label, result)
            if table == "eligibility":
                eligible = result.accepted.get_column("person_id").unique()
                months = enrollment_months(result.accepted)
            writer.write(table, result.accepted)
            results[table] = replace(
                result, accepted=result.accepted.clear(), accepted_count=result.rows_accepted
            )
    return results, refused


def _refused_provenance(frame: pl.DataFrame, result: ValidationResult, table: str) -> pl.DataFrame:
    """Source line, claim and reasons of each quarantined row, with whether its claim kept
    another row in the dataset (``_kept``)."""
    prov = frame.select(PROVENANCE).with_row_index(ROW, offset=1)
    quarantined = result.quarantined.select(ROW, REASONS)
    refused = prov.join(quarantined, on=ROW, how="inner")
    kept_claims = (
        prov.join(quarantined, on=ROW, how="anti").select(SOURCE_CLAIM).drop_nulls().unique()
    )
    return refused.with_columns(
        pl.col(SOURCE_CLAIM).is_in(kept_claims[SOURCE_CLAIM].implode()).alias("_kept"),
        pl.lit(table).alias("_table"),
    )


def _refused_spans(frame: pl.DataFrame, result: ValidationResult) -> pl.DataFrame:
    """The keys of the quarantined eligibility spans, with their reasons, in the form of
    ``_refused_provenance``: each span's own key (never kept) and its beneficiary's key, kept
    when another span of theirs reached the dataset (``beneficiaries``)."""
    prov = frame.select(SOURCE_CLAIM, "person_id").with_row_index(ROW, offset=1)
    quarantined = result.quarantined.select(ROW, REASONS)
    refused = prov.join(quarantined, on=ROW, how="inner")
    enrolled = prov.join(quarantined, on=ROW, how="anti").get_column("person_id").unique()
    spans = refused.select(SOURCE_CLAIM, REASONS, pl.lit(False).alias("_kept"))
    people = refused.select(
        (pl.lit("eligibility:") + pl.col("person_id")).alias(SOURCE_CLAIM),
        REASONS,
        pl.col("person_id").is_in(enrolled.implode()).alias("_kept"),
    ).unique(SOURCE_CLAIM, keep="first", maintain_order=True)
    return pl.concat([spans, people]).with_columns(
        pl.lit(None, dtype=pl.String).alias(SOURCE_FILE),
        pl.lit(None, dtype=pl.Int64).alias(SOURCE_LINE),
        pl.lit("eligibility").alias("_table"),
    )


def _lines_of_refused_rows(
    refused: list[pl.DataFrame], statuses: list[pl.DataFrame]
) -> pl.DataFrame:
    """The CCLF lines counted loaded whose every canonical row was quarantined afterwards, as
    quarantined lines (file, line, reason, record): the line behind each refused row, the
    header, procedure and diagnosis lines of an institutional claim none of whose rows stayed,
    and the CCLF8 lines of a quarantined eligibility span (``_refused_spans``)."""
    if not refused:
        return pl.DataFrame(schema=QUARANTINE_SCHEMA)
    rows = pl.concat(refused, how="diagonal_relaxed")
    own = rows.filter(pl.col(SOURCE_FILE).is_not_null()).select(
        pl.col(SOURCE_FILE).alias("file"),
        pl.col(SOURCE_LINE).alias("line"),
        pl.format("quarantined in {} by the canonical checks: {}", "_table", REASONS).alias(
            "reason"
        ),
    )
    whole = (
        rows.filter(pl.col(SOURCE_CLAIM).is_not_null() & ~pl.col("_kept"))
        .select(SOURCE_CLAIM, "_table", REASONS)
        .unique(SOURCE_CLAIM, keep="first")
    )
    loaded = pl.concat(
        [
            s.select(FILE, LINE_NO, STATUS, SOURCE_CLAIM)
            for s in statuses
            if SOURCE_CLAIM in s.columns
        ]
        or [
            pl.DataFrame(
                schema={
                    FILE: pl.String,
                    LINE_NO: pl.Int64,
                    STATUS: pl.String,
                    SOURCE_CLAIM: pl.String,
                }
            )
        ]
    ).filter(pl.col(STATUS) == "loaded")
    of_claims = loaded.join(whole, on=SOURCE_CLAIM, how="inner").select(
        pl.col(FILE).alias("file"),
        pl.col(LINE_NO).alias("line"),
        pl.when(pl.col("_table") == "eligibility")
        .then(
            pl.format(
                "the {} built from this line was quarantined in eligibility: {}",
                pl.col(SOURCE_CLAIM).str.replace("^eligibility:", "eligibility of "),
                REASONS,
            )
        )
        .otherwise(
            pl.format(
                "every canonical row of claim {} was quarantined in {}: {}",
                SOURCE_CLAIM,
                "_table",
                REASONS,
            )
        )
        .alias("reason"),
    )
    return (
        pl.concat([own, of_claims])
        .unique(["file", "line"], keep="first", maintain_order=True)
        .with_columns(pl.lit(None, dtype=pl.String).alias("record"))
    )
