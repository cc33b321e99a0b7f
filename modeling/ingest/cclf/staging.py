"""Staging: every CCLF file found is read, checked and kept as Parquet scratch in delivery order.

Which fields of each file type are loaded, which must not be blank and which claim types a file
may hold follow the CCLF Information Packet's file layouts (``SPECS``). Staged records carry their
delivery order and file name, so later files supersede earlier ones and every line can be traced
back to its file. Cancellations (``CLM_ADJSMT_TYPE_CD`` 1) carry negated amounts from here on
(CCLF7 excepted: none of its amounts is loaded). Each CCLF8 record carries the month of its file
date and its delivery kind; a CCLF8 that is not a run-out and whose month cannot be told (no date
in its name) is refused, unless an enrollment file gives the months.

CCLF0 is not staged: its record counts are compared with the files of its delivery. The
benefit-enhancement files (CCLFA, CCLFB) are read, checked and counted but not loaded (the
canonical model has no place for them).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import polars as pl

from modeling.dataset import conform_lazy
from modeling.errors import SchemaError
from modeling.ingest.cclf.files import (
    FILE,
    LINE_NO,
    ORDER,
    QUARANTINE_SCHEMA,
    CclfFile,
    ParsedFile,
    early_refusal,
    parse_file,
)
from modeling.ingest.cclf.layouts import Layout
from modeling.ingest.cclf.reconciliation import FileReconciliation
from modeling.progress import Progress

STAGING = "_cclf_staging"
# provenance of each canonical claim row, kept through staging to the canonical validation: the
# CCLF line it came from (a CCLF2/5/6/7 line, or the CCLF1 header of a claim without lines) and,
# for institutional claims, the claim whose header, procedure and diagnosis lines it also uses
SOURCE_FILE, SOURCE_LINE, SOURCE_CLAIM = "_src_file", "_src_line", "_src_claim"
PROVENANCE = (SOURCE_FILE, SOURCE_LINE, SOURCE_CLAIM)
PART_A_TYPES = ("10", "20", "30", "40", "50", "60", "61")
NOT_LOADED_TYPES = ("CCLFA", "CCLFB")


@dataclass(frozen=True)
class FileSpec:
    """Which fields of a file type are loaded, which must not be blank, and its claim types."""

    keep: tuple[str, ...] | None
    required: tuple[str, ...] = ()
    claim_types: tuple[str, ...] = ()


SPECS: dict[str, FileSpec] = {
    "CCLF1": FileSpec(
        (
            "CUR_CLM_UNIQ_ID",
            "PRVDR_OSCAR_NUM",
            "BENE_MBI_ID",
            "CLM_TYPE_CD",
            "CLM_FROM_DT",
            "CLM_THRU_DT",
            "CLM_BILL_FAC_TYPE_CD",
            "CLM_BILL_CLSFCTN_CD",
            "CLM_BILL_FREQ_CD",
            "PRNCPL_DGNS_CD",
            "CLM_PMT_AMT",
            "BENE_PTNT_STUS_CD",
            "DGNS_DRG_CD",
            "FAC_PRVDR_NPI_NUM",
            "ATNDG_PRVDR_NPI_NUM",
            "CLM_ADJSMT_TYPE_CD",
            "CLM_EFCTV_DT",
            "CLM_ADMSN_TYPE_CD",
            "CLM_ADMSN_SRC_CD",
            "DGNS_PRCDR_ICD_IND",
            "CLM_BLG_PRVDR_OSCAR_NUM",
            "CLM_BLG_PRVDR_NPI_NUM",
        ),
        (
            "CUR_CLM_UNIQ_ID",
            "BENE_MBI_ID",
            "CLM_TYPE_CD",
            "CLM_FROM_DT",
            "CLM_THRU_DT",
            "CLM_PMT_AMT",
        ),
        PART_A_TYPES,
    ),
    "CCLF2": FileSpec(
        (
            "CUR_CLM_UNIQ_ID",
            "CLM_LINE_NUM",
            "BENE_MBI_ID",
            "CLM_TYPE_CD",
            "CLM_LINE_FROM_DT",
            "CLM_LINE_THRU_DT",
            "CLM_LINE_PROD_REV_CTR_CD",
            "CLM_LINE_HCPCS_CD",
            "CLM_LINE_SRVC_UNIT_QTY",
            "CLM_LINE_CVRD_PD_AMT",
        ),
        ("CUR_CLM_UNIQ_ID", "CLM_LINE_NUM"),
        PART_A_TYPES,
    ),
    "CCLF3": FileSpec(
        (
            "CUR_CLM_UNIQ_ID",
            "BENE_MBI_ID",
            "CLM_TYPE_CD",
            "CLM_VAL_SQNC_NUM",
            "CLM_PRCDR_CD",
            "CLM_PRCDR_PRFRM_DT",
        ),
        ("CUR_CLM_UNIQ_ID", "CLM_PRCDR_CD"),
        PART_A_TYPES,
    ),
    "CCLF4": FileSpec(
        (
            "CUR_CLM_UNIQ_ID",
            "BENE_MBI_ID",
            "CLM_TYPE_CD",
            "CLM_PROD_TYPE_CD",
            "CLM_VAL_SQNC_NUM",
            "CLM_DGNS_CD",
        ),
        ("CUR_CLM_UNIQ_ID", "CLM_DGNS_CD"),
        PART_A_TYPES,
    ),
    "CCLF5": FileSpec(
        (
            "CUR_CLM_UNIQ_ID",
            "CLM_LINE_NUM",
            "BENE_MBI_ID",
            "CLM_TYPE_CD",
            "CLM_FROM_DT",
            "CLM_THRU_DT",
            "CLM_POS_CD",
            "CLM_LINE_FROM_DT",
            "CLM_LINE_THRU_DT",
            "CLM_LINE_HCPCS_CD",
            "CLM_LINE_CVRD_PD_AMT",
            "CLM_LINE_DGNS_CD",
            "RNDRG_PRVDR_NPI_NUM",
            "CLM_ADJSMT_TYPE_CD",
            "CLM_EFCTV_DT",
            "CLM_CNTL_NUM",
            "CLM_LINE_ALOWD_CHRG_AMT",
            "CLM_LINE_SRVC_UNIT_QTY",
            "DGNS_PRCDR_ICD_IND",
            *[f"CLM_DGNS_{i}_CD" for i in range(1, 13)],
        ),
        (
            "CUR_CLM_UNIQ_ID",
            "CLM_LINE_NUM",
            "BENE_MBI_ID",
            "CLM_TYPE_CD",
            "CLM_FROM_DT",
            "CLM_CNTL_NUM",
            "CLM_LINE_CVRD_PD_AMT",
        ),
        ("71", "72"),
    ),
    "CCLF6": FileSpec(
        (
            "CUR_CLM_UNIQ_ID",
            "CLM_LINE_NUM",
            "BENE_MBI_ID",
            "CLM_TYPE_CD",
            "CLM_FROM_DT",
            "CLM_THRU_DT",
            "CLM_POS_CD",
            "CLM_LINE_FROM_DT",
            "CLM_LINE_THRU_DT",
            "CLM_LINE_HCPCS_CD",
            "CLM_LINE_CVRD_PD_AMT",
            "PAYTO_PRVDR_NPI_NUM",
            "ORDRG_PRVDR_NPI_NUM",
            "CLM_ADJSMT_TYPE_CD",
            "CLM_EFCTV_DT",
            "CLM_CNTL_NUM",
            "CLM_LINE_ALOWD_CHRG_AMT",
        ),
        (
            "CUR_CLM_UNIQ_ID",
            "CLM_LINE_NUM",
            "BENE_MBI_ID",
            "CLM_TYPE_CD",
            "CLM_FROM_DT",
            "CLM_CNTL_NUM",
            "CLM_LINE_CVRD_PD_AMT",
        ),
        ("81", "82"),
    ),
    "CCLF7": FileSpec(
        (
            "CUR_CLM_UNIQ_ID",
            "BENE_MBI_ID",
            "CLM_LINE_NDC_CD",
            "CLM_LINE_FROM_DT",
            "PRVDR_SRVC_ID_QLFYR_CD",
            "CLM_SRVC_PRVDR_GNRC_ID_NUM",
            "CLM_DSPNSNG_STUS_CD",
            "CLM_LINE_SRVC_UNIT_QTY",
            "CLM_LINE_DAYS_SUPLY_QTY",
            "PRVDR_PRSBNG_ID_QLFYR_CD",
            "CLM_PRSBNG_PRVDR_GNRC_ID_NUM",
            "CLM_ADJSMT_TYPE_CD",
            "CLM_EFCTV_DT",
            "CLM_LINE_RX_SRVC_RFRNC_NUM",
            "CLM_LINE_RX_FILL_NUM",
        ),
        ("CUR_CLM_UNIQ_ID", "BENE_MBI_ID", "CLM_LINE_NDC_CD", "CLM_LINE_FROM_DT"),
    ),
    "CCLF8": FileSpec(
        (
            "BENE_MBI_ID",
            "BENE_DOB",
            "BENE_SEX_CD",
            "BENE_RACE_CD",
            "BENE_MDCR_STUS_CD",
            "BENE_DUAL_STUS_CD",
            "BENE_DEATH_DT",
            "BENE_ORGNL_ENTLMT_RSN_CD",
        ),
        ("BENE_MBI_ID", "BENE_DOB", "BENE_SEX_CD"),
    ),
    "CCLF9": FileSpec(
        ("HICN_MBI_XREF_IND", "CRNT_NUM", "PRVS_NUM", "PRVS_ID_EFCTV_DT", "PRVS_ID_OBSLT_DT"),
        ("CRNT_NUM", "PRVS_NUM"),
    ),
    "CCLFA": FileSpec(("CUR_CLM_UNIQ_ID",)),
    "CCLFB": FileSpec(("CUR_CLM_UNIQ_ID",)),
}
AMOUNT_FIELDS = ("CLM_PMT_AMT", "CLM_LINE_CVRD_PD_AMT", "CLM_LINE_ALOWD_CHRG_AMT")


def stage(parsed: ParsedFile, order: int, staging: Path) -> Path | None:
    """Write a parsed file's records to the staging folder (nothing for a refused or empty file)."""
    if parsed.refused or parsed.records.height == 0:
        return None
    target = staging / parsed.file.file_type / f"{order:06d}.parquet"
    target.parent.mkdir(parents=True, exist_ok=True)
    records = parsed.records.with_columns(
        pl.lit(order).alias(ORDER), pl.lit(parsed.file.name).alias(FILE)
    )
    if "CLM_ADJSMT_TYPE_CD" in records.columns and parsed.file.file_type != "CCLF7":
        cancel = pl.col("CLM_ADJSMT_TYPE_CD") == "1"
        records = records.with_columns(
            [
                pl.when(cancel).then(-pl.col(a)).otherwise(pl.col(a)).alias(a)
                for a in AMOUNT_FIELDS
                if a in records.columns
            ]
        )
    if parsed.file.file_type == "CCLF8":
        records = records.with_columns(
            pl.lit(parsed.file.month).alias("_month"),
            pl.lit(parsed.file.delivery).alias("_delivery"),
        )
    records.write_parquet(target, compression="lz4")  # scratch: fast to write and read back
    return target


def scan(staging: Path, file_type: str) -> pl.LazyFrame | None:
    """Every staged record of a file type, in delivery order; None when there is none."""
    folder = staging / file_type
    if not folder.exists() or not any(folder.iterdir()):
        return None
    # the files listed here, each path taken literally: a target named like ``ds[1]`` makes a
    # staging folder whose name polars would otherwise read as a pattern (finding 16)
    return pl.scan_parquet(sorted(folder.glob("*.parquet")), glob=False)


def sink(lf: pl.LazyFrame, staging: Path, table: str, part: str) -> Path:
    """Write one part of a canonical table to the staging folder (so its inputs can be released)."""
    target = staging / "_canonical" / f"{table}_{part}.parquet"
    target.parent.mkdir(parents=True, exist_ok=True)
    names = lf.collect_schema().names()
    kept = [c for c in PROVENANCE if c in names]
    canonical = conform_lazy(lf, table)
    out = pl.concat([canonical, lf.select(kept)], how="horizontal") if kept else canonical
    out.collect().write_parquet(target, compression="lz4")
    return target


def parse_cclf0(file: CclfFile) -> tuple[ParsedFile, list[dict[str, Any]]]:
    """CCLF0 lists each file of its delivery with its record count and record length."""
    early = early_refusal(file)
    if early:
        empty = pl.DataFrame(schema=QUARANTINE_SCHEMA)
        return ParsedFile(file, pl.DataFrame(), empty, file.count_lines(), refused=early), []
    data = file.read_bytes()
    lines = data.decode("ascii", errors="replace").splitlines()
    counts: list[dict[str, Any]] = []
    bad: list[dict[str, Any]] = []
    for number, text in enumerate(lines, start=1):
        parts = (
            [p.strip() for p in text.split("|")]
            if "|" in text
            else [text[0:13].strip(), text[14:34].strip(), text[35:55].strip(), text[56:69].strip()]
        )
        label = parts[0].upper().replace(" ", "") if parts else ""
        if len(parts) >= 3 and label.startswith("CCLF") and parts[2].replace(",", "").isdigit():
            counts.append(
                {
                    "file_type": label[:5],
                    "description": parts[1],
                    "records": int(parts[2].replace(",", "")),
                    "line": number,
                }
            )
        elif not text.strip() or not label.startswith("CCLF") and "FILE" in text.upper():
            continue  # title or blank line
        else:
            bad.append(
                {
                    "file": file.name,
                    "line": number,
                    "reason": "CCLF0 line is neither a title nor 'CCLFn | description | count | length'",
                    "record": text[:600],
                }
            )
    quarantine = (
        pl.DataFrame(bad, schema=QUARANTINE_SCHEMA)
        if bad
        else pl.DataFrame(schema=QUARANTINE_SCHEMA)
    )
    parsed = ParsedFile(
        file,
        pl.DataFrame({LINE_NO: [c["line"] for c in counts]}, schema={LINE_NO: pl.Int64}),
        quarantine,
        len(lines),
    )
    return parsed, counts


def delivery_key(file: CclfFile) -> tuple[str | None, str | None, str, str]:
    """Which delivery a file belongs to: entity, file date and kind (undated files: their folder)."""
    folder = file.name.rsplit("/", 1)[0] if "/" in file.name else ""
    return (
        file.entity,
        file.file_date.isoformat() if file.file_date else None,
        file.delivery,
        folder if file.file_date is None else "",
    )


@dataclass(frozen=True)
class StagedFiles:
    """What reading every file gave: each file's lines so far (read, quarantined, not loaded, in
    a refused file), the lines quarantined while parsing, and CCLF0's record counts compared with
    the files of their delivery."""

    files: tuple[FileReconciliation, ...]
    quarantines: tuple[pl.DataFrame, ...]
    record_counts: tuple[dict[str, Any], ...]


@dataclass(frozen=True)
class _Read:
    """One file read: its line counts, and its records when it was not refused."""

    entry: FileReconciliation
    parsed: ParsedFile | None = None
    counts: tuple[dict[str, Any], ...] = ()


def stage_files(
    files: Sequence[CclfFile],
    layouts: dict[str, Layout],
    staging: Path,
    *,
    enrollment_given: bool,
    progress: Progress,
) -> StagedFiles:
    """Read every file in delivery order, stage the records to load and count every line."""
    entries: list[FileReconciliation] = []
    quarantines: list[pl.DataFrame] = []
    record_counts: list[dict[str, Any]] = []
    lines_by_delivery: dict[tuple[str | None, str | None, str, str], dict[str, int]] = {}
    for order, file in enumerate(files):
        progress(f"reading {file.name} ({file.file_type})")
        read = _read(file, layouts, enrollment_given=enrollment_given)
        entries.append(read.entry)
        record_counts += [{"delivery": delivery_key(file), **c} for c in read.counts]
        if read.parsed is None:
            continue
        quarantines.append(read.parsed.quarantine)
        lines_by_delivery.setdefault(delivery_key(file), {})[file.file_type] = (
            read.parsed.lines_read
        )
        if file.file_type != "CCLF0" and file.file_type not in NOT_LOADED_TYPES:
            stage(read.parsed, order, staging)
    compared = []
    for rc in record_counts:
        actual = lines_by_delivery.get(rc["delivery"], {}).get(rc["file_type"])
        compared.append({**rc, "lines_in_file": actual, "matches": actual == rc["records"]})
    return StagedFiles(tuple(entries), tuple(quarantines), tuple(compared))


def _read(file: CclfFile, layouts: dict[str, Layout], *, enrollment_given: bool) -> _Read:
    entry = FileReconciliation(
        file.name,
        file.file_type,
        file.delivery,
        file.file_date.isoformat() if file.file_date else None,
    )
    counts: list[dict[str, Any]] = []
    try:
        if file.file_type == "CCLF0":
            parsed, counts = parse_cclf0(file)
        elif _month_unknown(file, enrollment_given=enrollment_given):
            lines = file.count_lines()
            refused = (
                f"{file.name}: cannot tell which month this CCLF8 covers. Name it with its month "
                "(e.g. CCLF8_2024-03.txt, or CMS's name with its D-date) or give an enrollment file."
            )
            return _Read(replace(entry, lines_read=lines, in_refused_file=lines, refused=refused))
        else:
            parsed = _parse(file, layouts[file.file_type])
    except SchemaError as exc:
        return _Read(replace(entry, refused=str(exc)))
    if parsed.refused:
        return _Read(
            replace(
                entry,
                lines_read=parsed.lines_read,
                in_refused_file=parsed.lines_read,
                refused=parsed.refused,
            )
        )
    if file.file_type == "CCLF0":  # titles and counts: read, compared, not loaded
        not_loaded = parsed.lines_read - parsed.quarantine.height
    elif file.file_type in NOT_LOADED_TYPES:
        not_loaded = parsed.records.height
    else:
        not_loaded = 0
    read = replace(
        entry,
        lines_read=parsed.lines_read,
        quarantined=parsed.quarantine.height,
        not_loaded=not_loaded,
    )
    return _Read(read, parsed, tuple(counts))


def _month_unknown(file: CclfFile, *, enrollment_given: bool) -> bool:
    """A monthly CCLF8 without a month in its name, and no enrollment file to give the months."""
    return (
        file.file_type == "CCLF8"
        and file.delivery != "runout"
        and file.month is None
        and not enrollment_given
    )


def _parse(file: CclfFile, layout: Layout) -> ParsedFile:
    spec = SPECS[file.file_type]
    return parse_file(
        file,
        layout,
        keep=list(spec.keep) if spec.keep else None,
        required=spec.required,
        claim_types=spec.claim_types,
    )
