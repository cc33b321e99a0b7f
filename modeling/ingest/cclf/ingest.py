"""CCLF files -> canonical dataset, with claim-version resolution and a reconciliation per file.

Claim semantics follow the CCLF Information Packet:

1. Every beneficiary identifier is mapped to the current MBI through CCLF9 (chains of changes
   are followed to the newest identifier).
2. Claim versions are grouped by their natural keys: Part A headers (CCLF1) by billing provider
   (``CLM_BLG_PRVDR_OSCAR_NUM``, else ``PRVDR_OSCAR_NUM``), ``CLM_FROM_DT``, ``CLM_THRU_DT`` and
   current MBI; Part B and DME lines (CCLF5, CCLF6) by ``CLM_CNTL_NUM``, ``CLM_LINE_NUM`` and
   current MBI; Part D events (CCLF7) by ``CLM_LINE_FROM_DT``, ``PRVDR_SRVC_ID_QLFYR_CD``,
   ``CLM_SRVC_PRVDR_GNRC_ID_NUM``, ``CLM_DSPNSNG_STUS_CD``, ``CLM_LINE_RX_SRVC_RFRNC_NUM`` and
   ``CLM_LINE_RX_FILL_NUM``.
3. Within a key, versions are ordered by ``CLM_EFCTV_DT`` then ``CUR_CLM_UNIQ_ID`` (Part D: then
   adjustment type, original < adjustment < deletion), then delivery order, so later files
   supersede earlier ones. Cancellations (``CLM_ADJSMT_TYPE_CD`` 1) carry negated amounts.
4. Only the last version is kept; when it is a cancellation (Part D: a deletion) the claim nets
   to nothing and every version is dropped and counted as cancelled.
5. Part A revenue-center lines (CCLF2), procedures (CCLF3) and diagnoses (CCLF4) belong to the
   header version with their ``CUR_CLM_UNIQ_ID``; diagnoses and procedures pivot onto the claim,
   revenue-center lines become claim lines. The header payment is the claim's payment: when the
   lines' covered paid amounts do not add up to it (inpatient lines usually carry 0), the
   difference is put on the first line, so claim totals always equal ``CLM_PMT_AMT``.

Eligibility comes from CCLF8: each monthly delivery's beneficiaries are enrolled in the month of
its file date, with that month's dual and Medicare status; birth date, sex, race, death date and
original entitlement come from the latest record. Consecutive months with the same status become
one span (spans end at a year boundary). An optional enrollment file (CSV: ``bene_mbi_id``,
``enrollment_start_date``, ``enrollment_end_date``) gives the months instead.

What CCLF does not carry is left empty, never invented: CCLF7 has no plan paid amount (only the
beneficiary's payment), so Part D ``paid_amount`` is null; CCLF6 has no diagnoses; institutional
allowed amounts are not in CCLF1/2. Benefit-enhancement files (CCLFA, CCLFB) are read, checked and
counted but not loaded (the canonical model has no place for them).

Every line is accounted for per file: lines read = loaded + superseded + cancelled + quarantined
+ not loaded + in a refused file, and CCLF0's record counts are compared with the files of its delivery.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from modeling.dataset import Dataset, DatasetWriter
from modeling.errors import SchemaError
from modeling.ingest.canonical import write_quality
from modeling.ingest.cclf.files import (
    QUARANTINE_SCHEMA,
    CclfFile,
    ParsedFile,
    find_cclf_files,
    parse_file,
)
from modeling.ingest.cclf.layouts import DEFAULT_VERSION, load_layouts
from modeling.ingest.validate import ValidationResult, validate
from modeling.schema import DIAGNOSIS_COLUMNS, PROCEDURE_COLUMNS, TABLES

Progress = Callable[[str], None]
RECONCILIATION = "cclf_reconciliation.json"
CCLF_QUARANTINE = "quarantine/cclf_lines.parquet"
STAGING = "_cclf_staging"
PART_A_TYPES = ("10", "20", "30", "40", "50", "60", "61")
INPATIENT_OR_SNF = ("20", "30", "60", "61")
RACE = {
    "0": "unknown",
    "1": "white",
    "2": "black",
    "3": "other",
    "4": "asian",
    "5": "hispanic",
    "6": "american indian or alaska native",
}
SEX = {"1": "male", "2": "female", "0": "unknown"}
ORDER, FILE, LINE_NO = "_order", "_file", "_line"
STATUS = "_status"
STATUSES = ("loaded", "superseded", "cancelled", "quarantined", "not_loaded", "in_refused_file")


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


@dataclass
class CclfIngestReport:
    """What the ingest found: per-file reconciliation, CCLF0 comparison, canonical validation."""

    dataset: Dataset
    files: list[dict]
    record_counts: list[dict]
    results: dict[str, ValidationResult]
    notes: list[str] = field(default_factory=list)

    @property
    def reconciled(self) -> bool:
        lines_ok = all(f["lines_read"] == sum(f[s] for s in STATUSES) for f in self.files)
        return lines_ok and all(
            r.rows_in == r.rows_accepted + r.rows_quarantined for r in self.results.values()
        )

    @property
    def refused(self) -> list[dict]:
        return [f for f in self.files if f["refused"]]

    def by_file_type(self) -> pl.DataFrame:
        """Lines read, loaded, superseded, cancelled, quarantined and not loaded per file type."""
        return files_by_type(self.files)

    def to_dict(self) -> dict:
        return {
            "reconciled": self.reconciled,
            "files": self.files,
            "cclf0_record_counts": self.record_counts,
            "canonical": {t: r.report() for t, r in self.results.items()},
            "notes": self.notes,
        }


def files_by_type(files: list[dict]) -> pl.DataFrame:
    """Per file type: files, refused files, lines read and where each line went, and whether they add up."""
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


def read_reconciliation(dataset_path: str | Path) -> dict | None:
    """The CCLF reconciliation report written beside a dataset loaded from CCLF, or None."""
    p = Path(dataset_path) / RECONCILIATION
    return json.loads(p.read_text()) if p.exists() else None


def read_line_quarantine(dataset_path: str | Path) -> pl.DataFrame | None:
    """The quarantined CCLF lines (file, line, reason, record) of a dataset loaded from CCLF, or None."""
    p = Path(dataset_path) / CCLF_QUARANTINE
    return pl.read_parquet(p) if p.exists() else None


# ---------------------------------------------------------------- reading and staging


def _stage(parsed: ParsedFile, order: int, staging: Path) -> Path | None:
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


def _scan(staging: Path, file_type: str) -> pl.LazyFrame | None:
    folder = staging / file_type
    if not folder.exists() or not any(folder.iterdir()):
        return None
    return pl.scan_parquet(folder / "*.parquet")


def _parse_cclf0(file: CclfFile) -> tuple[ParsedFile, list[dict]]:
    """CCLF0 lists each file of its delivery with its record count and record length."""
    data = file.read_bytes()
    lines = data.decode("ascii", errors="replace").splitlines()
    counts, bad = [], []
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


# ---------------------------------------------------------------- MBI crosswalk


def mbi_crosswalk(cclf9: pl.LazyFrame | None) -> pl.DataFrame:
    """previous -> current identifier, following chains (A->B, B->C gives A->C and B->C)."""
    schema = {"previous": pl.String, "current": pl.String}
    if cclf9 is None:
        return pl.DataFrame(schema=schema)
    pairs = (
        cclf9.select(pl.col("PRVS_NUM").alias("previous"), pl.col("CRNT_NUM").alias("current"))
        .filter(pl.col("previous") != pl.col("current"))
        .unique(subset="previous", keep="last", maintain_order=True)
        .collect()
    )
    for _ in range(20):
        step = pairs.join(
            pairs.rename({"previous": "current", "current": "newer"}), on="current", how="left"
        )
        if step["newer"].null_count() == step.height:
            break
        pairs = step.select("previous", pl.coalesce("newer", "current").alias("current"))
    return pairs.filter(pl.col("previous") != pl.col("current"))


def _current(lf: pl.LazyFrame, xwalk: pl.DataFrame, column: str = "BENE_MBI_ID") -> pl.LazyFrame:
    return (
        lf.join(xwalk.lazy(), left_on=column, right_on="previous", how="left")
        .with_columns(pl.coalesce("current", column).alias("mbi"))
        .drop("current")
    )


# ---------------------------------------------------------------- claim versions


def _resolve_versions(
    lf: pl.LazyFrame, key: list[str], order: list[pl.Expr], cancel: pl.Expr
) -> pl.LazyFrame:
    """Status of every version: the last in its key is loaded (or cancelled), earlier ones superseded."""
    ranked = lf.with_columns(
        [
            pl.col(k).fill_null("") if k != "mbi" else pl.col(k)
            for k in key
            if k not in ("CLM_FROM_DT", "CLM_THRU_DT", "CLM_LINE_FROM_DT")
        ]
    )
    ranked = ranked.sort([*key, *order, pl.col(ORDER), pl.col(LINE_NO)], nulls_last=False)
    is_last = pl.int_range(pl.len()).over(key) == pl.len().over(key) - 1
    final_cancelled = cancel.last().over(key)
    return ranked.with_columns(
        pl.when(final_cancelled)
        .then(pl.lit("cancelled"))
        .when(is_last)
        .then(pl.lit("loaded"))
        .otherwise(pl.lit("superseded"))
        .alias(STATUS)
    )


def _claim_id_number() -> pl.Expr:
    return pl.col("CUR_CLM_UNIQ_ID").cast(pl.Int64, strict=False)


def _children(
    lf: pl.LazyFrame | None, headers: pl.DataFrame, key: list[str]
) -> pl.LazyFrame | None:
    """Child rows (lines, diagnoses, procedures) take their header version's status."""
    if lf is None:
        return None
    latest_copy = pl.int_range(pl.len()).over(key) == pl.len().over(key) - 1
    id_status = headers.lazy().select("CUR_CLM_UNIQ_ID", pl.col(STATUS).alias("_header_status"))
    return (
        lf.sort([*key, ORDER, LINE_NO])
        .with_columns(latest_copy.alias("_latest"))
        .join(id_status, on="CUR_CLM_UNIQ_ID", how="left")
        .with_columns(
            pl.when(pl.col("_header_status").is_null())
            .then(pl.lit("quarantined"))
            .when(~pl.col("_latest"))
            .then(pl.lit("superseded"))
            .otherwise(pl.col("_header_status"))
            .alias(STATUS)
        )
    )


def _header_status_by_id(headers: pl.DataFrame) -> pl.DataFrame:
    """One status per CUR_CLM_UNIQ_ID (a re-delivered header: its latest copy decides)."""
    return (
        headers.sort(ORDER, LINE_NO)
        .group_by("CUR_CLM_UNIQ_ID", maintain_order=True)
        .agg(pl.col(STATUS).last())
    )


def _money(expr: pl.Expr) -> pl.Expr:
    return (expr * 100).round(0) / 100


def _dx_pivot(codes: pl.Expr, prefix_columns: list[str]) -> list[pl.Expr]:
    return [codes.list.get(i, null_on_oob=True).alias(c) for i, c in enumerate(prefix_columns)]


def _claim_line_identity(claim_id: pl.Expr, line_number: pl.Expr, claim_type: str) -> list[pl.Expr]:
    """Canonical claim/line keys, person, payer and dates shared by Part A and Part B lines."""
    return [
        claim_id.alias("claim_id"),
        line_number.cast(pl.Int32, strict=False).alias("claim_line_number"),
        pl.lit(claim_type).alias("claim_type"),
        pl.col("mbi").alias("person_id"),
        pl.col("mbi").alias("member_id"),
        pl.lit("medicare").alias("payer"),
        pl.lit("original medicare").alias("plan"),
        pl.col("CLM_FROM_DT").alias("claim_start_date"),
        pl.col("CLM_THRU_DT").alias("claim_end_date"),
        pl.col("CLM_LINE_FROM_DT").alias("claim_line_start_date"),
        pl.col("CLM_LINE_THRU_DT").alias("claim_line_end_date"),
    ]


def institutional_claims(
    cclf1: pl.DataFrame,
    cclf2: pl.LazyFrame | None,
    cclf3: pl.LazyFrame | None,
    cclf4: pl.LazyFrame | None,
) -> pl.LazyFrame:
    """Canonical institutional claim lines from the kept Part A header versions and their children."""
    kept = (
        cclf1.lazy()
        .filter(pl.col(STATUS) == "loaded")
        .with_columns(_money(pl.col("CLM_PMT_AMT")).alias("CLM_PMT_AMT"))
    )
    ids = kept.select("CUR_CLM_UNIQ_ID")
    if cclf2 is not None:
        lines = cclf2.filter(pl.col(STATUS) == "loaded").select(
            "CUR_CLM_UNIQ_ID",
            pl.col("CLM_LINE_NUM").cast(pl.Int32, strict=False),
            "CLM_LINE_FROM_DT",
            "CLM_LINE_THRU_DT",
            "CLM_LINE_PROD_REV_CTR_CD",
            "CLM_LINE_HCPCS_CD",
            "CLM_LINE_SRVC_UNIT_QTY",
            _money(pl.col("CLM_LINE_CVRD_PD_AMT")).alias("line_paid"),
        )
    else:
        lines = pl.LazyFrame(
            schema={
                "CUR_CLM_UNIQ_ID": pl.String,
                "CLM_LINE_NUM": pl.Int32,
                "CLM_LINE_FROM_DT": pl.Date,
                "CLM_LINE_THRU_DT": pl.Date,
                "CLM_LINE_PROD_REV_CTR_CD": pl.String,
                "CLM_LINE_HCPCS_CD": pl.String,
                "CLM_LINE_SRVC_UNIT_QTY": pl.Float64,
                "line_paid": pl.Float64,
            }
        )
    dx_cols = DIAGNOSIS_COLUMNS
    if cclf4 is not None:
        other_dx = (
            cclf4.filter(
                (pl.col(STATUS) == "loaded")
                & ~pl.col("CLM_PROD_TYPE_CD").fill_null("").is_in(["A", "R"])
            )
            .sort("CUR_CLM_UNIQ_ID", pl.col("CLM_VAL_SQNC_NUM").cast(pl.Int32, strict=False))
            .group_by("CUR_CLM_UNIQ_ID")
            .agg(pl.col("CLM_DGNS_CD").alias("_dx"))
        )
    else:
        other_dx = pl.LazyFrame(schema={"CUR_CLM_UNIQ_ID": pl.String, "_dx": pl.List(pl.String)})
    if cclf3 is not None:
        procs = (
            cclf3.filter(pl.col(STATUS) == "loaded")
            .sort("CUR_CLM_UNIQ_ID", pl.col("CLM_VAL_SQNC_NUM").cast(pl.Int32, strict=False))
            .group_by("CUR_CLM_UNIQ_ID")
            .agg(pl.col("CLM_PRCDR_CD").alias("_px"))
        )
    else:
        procs = pl.LazyFrame(schema={"CUR_CLM_UNIQ_ID": pl.String, "_px": pl.List(pl.String)})
    header = (
        kept.join(other_dx, on="CUR_CLM_UNIQ_ID", how="left")
        .join(procs, on="CUR_CLM_UNIQ_ID", how="left")
        .with_columns(
            pl.concat_list(
                pl.col("PRNCPL_DGNS_CD"),
                pl.col("_dx").fill_null(pl.lit([], dtype=pl.List(pl.String))),
            )
            .list.eval(pl.element().filter(pl.element().is_not_null() & (pl.element() != "")))
            .list.unique(maintain_order=True)
            .alias("_dx")
        )
    )
    per_claim = lines.group_by("CUR_CLM_UNIQ_ID").agg(
        pl.col("line_paid").sum().alias("_lines_paid"),
        pl.col("CLM_LINE_NUM").min().alias("_first_line"),
    )
    joined = header.join(
        lines.join(ids, on="CUR_CLM_UNIQ_ID", how="semi"), on="CUR_CLM_UNIQ_ID", how="left"
    ).join(per_claim, on="CUR_CLM_UNIQ_ID", how="left")
    line_number = pl.col("CLM_LINE_NUM").fill_null(1)
    first = line_number == pl.col("_first_line").fill_null(1)
    paid = pl.col("line_paid").fill_null(0.0) + pl.when(first).then(
        pl.col("CLM_PMT_AMT") - pl.col("_lines_paid").fill_null(0.0)
    ).otherwise(0.0)
    stay = pl.col("CLM_TYPE_CD").is_in(list(INPATIENT_OR_SNF))
    drg = pl.col("DGNS_DRG_CD")
    drg = pl.when(drg.str.len_chars() == 4).then(drg.str.strip_prefix("0")).otherwise(drg)
    icd = (
        pl.when(pl.col("DGNS_PRCDR_ICD_IND") == "9")
        .then(pl.lit("icd-9-cm"))
        .otherwise(pl.lit("icd-10-cm"))
    )
    return joined.select(
        *_claim_line_identity(pl.col("CUR_CLM_UNIQ_ID"), line_number, "institutional"),
        pl.when(stay).then(pl.col("CLM_FROM_DT")).alias("admission_date"),
        pl.when(stay).then(pl.col("CLM_THRU_DT")).alias("discharge_date"),
        pl.col("CLM_ADMSN_SRC_CD").alias("admit_source_code"),
        pl.col("CLM_ADMSN_TYPE_CD").alias("admit_type_code"),
        pl.col("BENE_PTNT_STUS_CD").alias("discharge_disposition_code"),
        pl.concat_str(["CLM_BILL_FAC_TYPE_CD", "CLM_BILL_CLSFCTN_CD", "CLM_BILL_FREQ_CD"]).alias(
            "bill_type_code"
        ),
        pl.when(drg.is_not_null()).then(pl.lit("ms-drg")).alias("drg_code_type"),
        drg.alias("drg_code"),
        pl.col("CLM_LINE_PROD_REV_CTR_CD").alias("revenue_center_code"),
        pl.col("CLM_LINE_SRVC_UNIT_QTY").alias("service_unit_quantity"),
        pl.col("CLM_LINE_HCPCS_CD").alias("hcpcs_code"),
        pl.col("ATNDG_PRVDR_NPI_NUM").alias("rendering_npi"),
        pl.coalesce("CLM_BLG_PRVDR_NPI_NUM", "FAC_PRVDR_NPI_NUM").alias("billing_npi"),
        pl.col("FAC_PRVDR_NPI_NUM").alias("facility_npi"),
        pl.col("CLM_EFCTV_DT").alias("paid_date"),
        _money(paid).alias("paid_amount"),
        icd.alias("diagnosis_code_type"),
        *_dx_pivot(pl.col("_dx"), dx_cols),
        pl.when(pl.col("_px").list.len() > 0)
        .then(pl.lit("icd-10-pcs"))
        .alias("procedure_code_type"),
        *_dx_pivot(pl.col("_px"), PROCEDURE_COLUMNS),
        pl.lit("cclf").alias("data_source"),
    )


def professional_claims(lines: pl.LazyFrame, file_type: str) -> pl.LazyFrame:
    """Canonical professional claim lines from the kept Part B (CCLF5) or DME (CCLF6) line versions."""
    kept = lines.filter(pl.col(STATUS) == "loaded")
    if file_type == "CCLF5":
        header_dx = [pl.col(f"CLM_DGNS_{i}_CD") for i in range(1, 13)]
        line_dx = pl.col("CLM_LINE_DGNS_CD")
        # the claim's 12 diagnoses in CMS's order; the line's own diagnosis after them when it is not among them
        dx = [
            *header_dx,
            pl.when(~pl.any_horizontal([(c == line_dx).fill_null(False) for c in header_dx])).then(
                line_dx
            ),
        ]
        rendering, billing = pl.col("RNDRG_PRVDR_NPI_NUM"), pl.col("RNDRG_PRVDR_NPI_NUM")
        units = pl.col("CLM_LINE_SRVC_UNIT_QTY")
        icd = (
            pl.when(pl.col("DGNS_PRCDR_ICD_IND") == "9")
            .then(pl.lit("icd-9-cm"))
            .otherwise(pl.lit("icd-10-cm"))
        )
    else:
        dx = [pl.lit(None, dtype=pl.String)] * 13
        rendering, billing = pl.col("PAYTO_PRVDR_NPI_NUM"), pl.col("PAYTO_PRVDR_NPI_NUM")
        units = pl.lit(None, dtype=pl.Float64)
        icd = pl.lit(None, dtype=pl.String)
    return kept.select(
        *_claim_line_identity(pl.col("CLM_CNTL_NUM"), pl.col("CLM_LINE_NUM"), "professional"),
        pl.col("CLM_POS_CD").alias("place_of_service_code"),
        units.alias("service_unit_quantity"),
        pl.col("CLM_LINE_HCPCS_CD").alias("hcpcs_code"),
        rendering.alias("rendering_npi"),
        billing.alias("billing_npi"),
        pl.col("CLM_EFCTV_DT").alias("paid_date"),
        _money(pl.col("CLM_LINE_CVRD_PD_AMT")).alias("paid_amount"),
        _money(pl.col("CLM_LINE_ALOWD_CHRG_AMT")).alias("allowed_amount"),
        icd.alias("diagnosis_code_type"),
        *[d.alias(c) for d, c in zip(dx, DIAGNOSIS_COLUMNS[:13], strict=True)],
        pl.lit("cclf").alias("data_source"),
    )


def pharmacy_claims(cclf7: pl.LazyFrame) -> pl.LazyFrame:
    """Canonical pharmacy claims from the kept Part D events (no plan paid amount exists in CCLF7)."""
    npi = lambda qualifier, ident: pl.when(pl.col(qualifier) == "01").then(pl.col(ident))  # noqa: E731 - qualifier 01 = NPI
    return cclf7.filter(pl.col(STATUS) == "loaded").select(
        pl.col("CUR_CLM_UNIQ_ID").alias("claim_id"),
        pl.lit(1, dtype=pl.Int32).alias("claim_line_number"),
        pl.col("mbi").alias("person_id"),
        pl.col("mbi").alias("member_id"),
        pl.lit("medicare part d").alias("payer"),
        pl.lit("part d").alias("plan"),
        npi("PRVDR_PRSBNG_ID_QLFYR_CD", "CLM_PRSBNG_PRVDR_GNRC_ID_NUM").alias(
            "prescribing_provider_npi"
        ),
        npi("PRVDR_SRVC_ID_QLFYR_CD", "CLM_SRVC_PRVDR_GNRC_ID_NUM").alias(
            "dispensing_provider_npi"
        ),
        pl.col("CLM_LINE_FROM_DT").alias("dispensing_date"),
        pl.col("CLM_LINE_NDC_CD").alias("ndc_code"),
        pl.col("CLM_LINE_SRVC_UNIT_QTY").alias("quantity"),
        pl.col("CLM_LINE_DAYS_SUPLY_QTY").cast(pl.Int32, strict=False).alias("days_supply"),
        pl.col("CLM_EFCTV_DT").alias("paid_date"),
        pl.lit(None, dtype=pl.Float64).alias("paid_amount"),
        pl.lit(None, dtype=pl.Float64).alias("allowed_amount"),
        pl.lit("cclf").alias("data_source"),
    )


# ---------------------------------------------------------------- beneficiaries


def _months_from_file(path: Path) -> pl.DataFrame:
    try:
        frame = pl.read_csv(path, infer_schema=False)
    except Exception as exc:  # polars raises several types for unreadable files
        raise SchemaError(f"{path}: cannot be read as CSV ({exc}).") from exc
    needed = ["bene_mbi_id", "enrollment_start_date", "enrollment_end_date"]
    missing = [c for c in needed if c not in frame.columns]
    if missing:
        raise SchemaError(
            f"{path}: the enrollment file needs columns {', '.join(needed)}; missing {', '.join(missing)}."
        )
    spans = frame.select(
        pl.col("bene_mbi_id").str.strip_chars().alias("BENE_MBI_ID"),
        pl.col("enrollment_start_date").str.strptime(pl.Date, "%Y-%m-%d", strict=False).alias("s"),
        pl.col("enrollment_end_date").str.strptime(pl.Date, "%Y-%m-%d", strict=False).alias("e"),
    )
    bad = spans.filter(pl.col("s").is_null() | pl.col("e").is_null() | (pl.col("e") < pl.col("s")))
    if bad.height:
        raise SchemaError(
            f"{path}: {bad.height} row(s) have a missing, unparseable (YYYY-MM-DD) or reversed date; first: {bad.row(0)}."
        )
    return spans.select(
        "BENE_MBI_ID",
        pl.date_ranges(pl.col("s").dt.month_start(), pl.col("e").dt.month_start(), "1mo").alias(
            "_month"
        ),
    ).explode("_month")


def eligibility_from_cclf8(
    cclf8: pl.DataFrame, xwalk: pl.DataFrame, enrollment: pl.DataFrame | None = None
) -> tuple[pl.LazyFrame, pl.DataFrame]:
    """Enrollment spans (canonical eligibility) and the status of every CCLF8 record."""
    records = _current(cclf8.lazy(), xwalk).collect().sort(ORDER, LINE_NO)
    monthly = pl.col("_delivery") == "monthly"
    # a beneficiary listed twice in one month (e.g. under an old and a new MBI): the later record stands
    records = records.with_columns(
        pl.when(
            monthly
            & (pl.int_range(pl.len()).over("mbi", "_month") < pl.len().over("mbi", "_month") - 1)
        )
        .then(pl.lit("superseded"))
        .otherwise(pl.lit("loaded"))
        .alias(STATUS)
    )
    latest = records.group_by("mbi").agg(
        pl.col("BENE_DOB").last(),
        pl.col("BENE_SEX_CD").last(),
        pl.col("BENE_RACE_CD").last(),
        pl.col("BENE_DEATH_DT").drop_nulls().last(),
        pl.col("BENE_ORGNL_ENTLMT_RSN_CD").last(),
        pl.col("BENE_DUAL_STUS_CD").last().alias("_dual_latest"),
        pl.col("BENE_MDCR_STUS_CD").last().alias("_mstatus_latest"),
    )
    if enrollment is not None:
        months = (
            _current(enrollment.lazy(), xwalk)
            .collect()
            .join(latest, on="mbi", how="inner")
            .select(
                "mbi",
                "_month",
                pl.col("_dual_latest").alias("BENE_DUAL_STUS_CD"),
                pl.col("_mstatus_latest").alias("BENE_MDCR_STUS_CD"),
            )
        )
    else:
        months = records.filter(monthly & (pl.col(STATUS) == "loaded")).select(
            "mbi", "_month", "BENE_DUAL_STUS_CD", "BENE_MDCR_STUS_CD"
        )
    months = months.unique(subset=["mbi", "_month"], keep="last", maintain_order=True).sort(
        "mbi", "_month"
    )
    attrs = ["BENE_DUAL_STUS_CD", "BENE_MDCR_STUS_CD"]
    prev_month = pl.col("_month").shift(1).over("mbi")
    new_span = (
        prev_month.is_null()
        | (pl.col("_month") != prev_month.dt.offset_by("1mo"))
        | (pl.col("_month").dt.year() != prev_month.dt.year())
        | pl.any_horizontal(
            [pl.col(a).fill_null("") != pl.col(a).shift(1).over("mbi").fill_null("") for a in attrs]
        )
    )
    spans = (
        months.with_columns(new_span.fill_null(True).cum_sum().over("mbi").alias("_span"))
        .group_by("mbi", "_span")
        .agg(
            pl.col("_month").min().alias("start"),
            pl.col("_month").max().alias("last"),
            *[pl.col(a).first() for a in attrs],
        )
        .join(latest.drop("_dual_latest", "_mstatus_latest"), on="mbi", how="left")
    )
    end = pl.col("last").dt.month_end()
    died_in_month = pl.col("BENE_DEATH_DT").is_not_null() & (
        pl.col("BENE_DEATH_DT").dt.month_start() == pl.col("last")
    )
    dual = pl.col("BENE_DUAL_STUS_CD")
    dual = pl.when(dual.str.contains(r"^\d$")).then(pl.lit("0") + dual).otherwise(dual)
    eligibility = (
        spans.lazy()
        .select(
            pl.col("mbi").alias("person_id"),
            pl.col("mbi").alias("member_id"),
            pl.lit("medicare").alias("payer"),
            pl.lit("medicare").alias("payer_type"),
            pl.lit("original medicare").alias("plan"),
            pl.col("BENE_SEX_CD").replace_strict(SEX, default="unknown").alias("gender"),
            pl.col("BENE_RACE_CD").replace_strict(RACE, default="unknown").alias("race"),
            pl.col("BENE_DOB").alias("birth_date"),
            pl.col("BENE_DEATH_DT").alias("death_date"),
            pl.col("start").alias("enrollment_start_date"),
            pl.when(died_in_month)
            .then(pl.col("BENE_DEATH_DT"))
            .otherwise(end)
            .alias("enrollment_end_date"),
            pl.col("BENE_ORGNL_ENTLMT_RSN_CD").alias("original_reason_entitlement_code"),
            dual.fill_null("NA").alias("dual_status_code"),
            pl.col("BENE_MDCR_STUS_CD").alias("medicare_status_code"),
            pl.lit("cclf").alias("data_source"),
        )
        .sort("person_id", "enrollment_start_date")
    )
    return eligibility, records.select(FILE, LINE_NO, STATUS)


# ---------------------------------------------------------------- the ingest


def _count(status_frames: list[pl.DataFrame], files: list[dict]) -> None:
    if not status_frames:
        return
    counts = pl.concat(status_frames).group_by(FILE, STATUS).len()
    by_file = {f["file"]: f for f in files}
    for name, status, n in counts.iter_rows():
        by_file[name][status] += int(n)


def ingest_cclf(
    src: str | Path,
    out: str | Path,
    *,
    enrollment: str | Path | None = None,
    layout_version: str = DEFAULT_VERSION,
    progress: Progress | None = None,
) -> CclfIngestReport:
    """Read a folder or zip of CCLF files into a validated canonical dataset at ``out``."""
    src, out = Path(src), Path(out)
    say = progress or (lambda _msg: None)
    layouts = load_layouts(layout_version)
    files = find_cclf_files(src)
    staging = out / STAGING
    if staging.exists():
        shutil.rmtree(staging)
    staging.mkdir(parents=True)
    report_files: list[dict] = []
    quarantines: list[pl.DataFrame] = []
    record_counts: list[dict] = []
    lines_by_delivery: dict[tuple, dict[str, int]] = {}
    try:
        for order, file in enumerate(files):
            say(f"reading {file.name} ({file.file_type})")
            entry = {
                "file": file.name,
                "file_type": file.file_type,
                "delivery": file.delivery,
                "file_date": file.file_date.isoformat() if file.file_date else None,
                "lines_read": 0,
                **dict.fromkeys(STATUSES, 0),
                "refused": None,
            }
            report_files.append(entry)
            try:
                if file.file_type == "CCLF0":
                    parsed, counts = _parse_cclf0(file)
                    for c in counts:
                        record_counts.append({"delivery": _delivery_key(file), **c})
                    entry["not_loaded"] = (
                        parsed.lines_read - parsed.quarantine.height
                    )  # titles and counts: read, compared, not loaded
                elif (
                    file.file_type == "CCLF8"
                    and file.delivery != "runout"
                    and file.month is None
                    and enrollment is None
                ):
                    entry["lines_read"] = entry["in_refused_file"] = len(
                        file.read_bytes().splitlines()
                    )
                    entry["refused"] = (
                        f"{file.name}: cannot tell which month this CCLF8 covers. Name it with its month "
                        "(e.g. CCLF8_2024-03.txt, or CMS's name with its D-date) or give an enrollment file."
                    )
                    continue
                else:
                    spec = SPECS[file.file_type]
                    parsed = parse_file(
                        file,
                        layouts[file.file_type],
                        keep=list(spec.keep) if spec.keep else None,
                        required=spec.required,
                        claim_types=spec.claim_types,
                    )
            except SchemaError as exc:
                entry["refused"] = str(exc)
                continue
            entry["lines_read"] = parsed.lines_read
            if parsed.refused:
                entry["refused"] = parsed.refused
                entry["in_refused_file"] = parsed.lines_read
                continue
            entry["quarantined"] += parsed.quarantine.height
            quarantines.append(parsed.quarantine)
            lines_by_delivery.setdefault(_delivery_key(file), {})[file.file_type] = (
                parsed.lines_read
            )
            if file.file_type in ("CCLFA", "CCLFB"):
                entry["not_loaded"] += parsed.records.height
            elif file.file_type != "CCLF0":
                _stage(parsed, order, staging)
        for rc in record_counts:
            actual = lines_by_delivery.get(rc["delivery"], {}).get(rc["file_type"])
            rc["lines_in_file"] = actual
            rc["matches"] = actual == rc["records"]

        say("resolving identifiers and claim versions")
        xwalk = mbi_crosswalk(_scan(staging, "CCLF9"))
        statuses: list[pl.DataFrame] = []
        if (c9 := _scan(staging, "CCLF9")) is not None:
            statuses.append(c9.select(FILE, LINE_NO, pl.lit("loaded").alias(STATUS)).collect())

        medical_parts: list[Path] = []
        pharmacy: Path | None = None
        quarantine_rows: list[pl.DataFrame] = []
        if (c1 := _scan(staging, "CCLF1")) is not None:
            headers = _resolve_versions(
                _current(c1, xwalk).with_columns(
                    pl.coalesce("CLM_BLG_PRVDR_OSCAR_NUM", "PRVDR_OSCAR_NUM").alias("_provider")
                ),
                ["_provider", "CLM_FROM_DT", "CLM_THRU_DT", "mbi"],
                [pl.col("CLM_EFCTV_DT"), _claim_id_number()],
                pl.col("CLM_ADJSMT_TYPE_CD") == "1",
            ).collect()
            statuses.append(headers.select(FILE, LINE_NO, STATUS))
            by_id = _header_status_by_id(headers)
            children = {}
            for ftype, key in (
                ("CCLF2", ["CUR_CLM_UNIQ_ID", "CLM_LINE_NUM"]),
                ("CCLF3", ["CUR_CLM_UNIQ_ID", "CLM_VAL_SQNC_NUM", "CLM_PRCDR_CD"]),
                ("CCLF4", ["CUR_CLM_UNIQ_ID", "CLM_VAL_SQNC_NUM", "CLM_DGNS_CD"]),
            ):
                child = _children(_scan(staging, ftype), by_id, key)
                if child is not None:
                    child = child.collect()
                    statuses.append(child.select(FILE, LINE_NO, STATUS))
                    quarantine_rows.append(_orphans(child, ftype))
                    children[ftype] = child.lazy()
            medical_parts.append(
                _sink(
                    institutional_claims(
                        headers, children.get("CCLF2"), children.get("CCLF3"), children.get("CCLF4")
                    ),
                    staging,
                    "medical_claim",
                    "CCLF1",
                )
            )
            del headers, children, child, by_id
        else:
            for ftype in ("CCLF2", "CCLF3", "CCLF4"):
                if (orphan := _scan(staging, ftype)) is not None:
                    child = orphan.with_columns(pl.lit("quarantined").alias(STATUS)).collect()
                    statuses.append(child.select(FILE, LINE_NO, STATUS))
                    quarantine_rows.append(_orphans(child, ftype))
        for ftype in ("CCLF5", "CCLF6"):
            if (lines := _scan(staging, ftype)) is not None:
                resolved = _resolve_versions(
                    _current(lines, xwalk),
                    ["CLM_CNTL_NUM", "CLM_LINE_NUM", "mbi"],
                    [pl.col("CLM_EFCTV_DT"), _claim_id_number()],
                    pl.col("CLM_ADJSMT_TYPE_CD") == "1",
                ).collect()
                statuses.append(resolved.select(FILE, LINE_NO, STATUS))
                medical_parts.append(
                    _sink(
                        professional_claims(resolved.lazy(), ftype), staging, "medical_claim", ftype
                    )
                )
                del resolved
        if (c7 := _scan(staging, "CCLF7")) is not None:
            rank = (
                pl.col("CLM_ADJSMT_TYPE_CD")
                .fill_null("0")
                .replace_strict({"0": 0, "2": 1, "1": 2}, default=1, return_dtype=pl.Int8)
            )
            resolved = _resolve_versions(
                _current(c7, xwalk),
                [
                    "CLM_LINE_FROM_DT",
                    "PRVDR_SRVC_ID_QLFYR_CD",
                    "CLM_SRVC_PRVDR_GNRC_ID_NUM",
                    "CLM_DSPNSNG_STUS_CD",
                    "CLM_LINE_RX_SRVC_RFRNC_NUM",
                    "CLM_LINE_RX_FILL_NUM",
                ],
                [pl.col("CLM_EFCTV_DT"), rank, _claim_id_number()],
                pl.col("CLM_ADJSMT_TYPE_CD") == "1",
            ).collect()
            statuses.append(resolved.select(FILE, LINE_NO, STATUS))
            pharmacy = _sink(pharmacy_claims(resolved.lazy()), staging, "pharmacy_claim", "CCLF7")
            del resolved
        eligibility = None
        if (c8 := _scan(staging, "CCLF8")) is not None:
            months = _months_from_file(Path(enrollment)) if enrollment is not None else None
            eligibility, c8_status = eligibility_from_cclf8(c8.collect(), xwalk, months)
            statuses.append(c8_status)
        _count(statuses, report_files)

        say("validating and writing canonical tables")
        tables: dict[str, pl.LazyFrame] = {}
        if eligibility is not None:
            tables["eligibility"] = eligibility
        if medical_parts:
            tables["medical_claim"] = pl.scan_parquet(medical_parts)
        if pharmacy is not None:
            tables["pharmacy_claim"] = pl.scan_parquet(pharmacy)
        results: dict[str, ValidationResult] = {}
        eligible: pl.Series | None = None
        # one table at a time: validated, written, and its rows released before the next
        with DatasetWriter(
            out,
            source={
                "kind": "cclf",
                "path": str(src.resolve()),
                "layout_version": layout_version,
                "files": len(files),
            },
        ) as writer:
            for table in [t for t in TABLES if t in tables]:
                say(f"validating and writing {table}")
                result = validate(
                    tables.pop(table).collect(),
                    TABLES[table],
                    source=f"CCLF ({src.name})",
                    eligible_ids=eligible,
                )
                if table == "eligibility":
                    eligible = result.accepted.get_column("person_id").unique()
                writer.write(table, result.accepted)
                result.accepted_count = result.rows_accepted
                result.accepted = result.accepted.clear()
                results[table] = result
        write_quality(out, results)
        line_quarantine = pl.concat(
            [pl.DataFrame(schema=QUARANTINE_SCHEMA), *quarantines, *quarantine_rows], how="vertical"
        )
        (out / CCLF_QUARANTINE).parent.mkdir(parents=True, exist_ok=True)
        line_quarantine.write_parquet(out / CCLF_QUARANTINE)
        report = CclfIngestReport(
            Dataset(out), report_files, record_counts, results, _notes(report_files)
        )
        (out / RECONCILIATION).write_text(
            json.dumps(report.to_dict(), indent=2, default=str) + "\n"
        )
        return report
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _sink(lf: pl.LazyFrame, staging: Path, table: str, part: str) -> Path:
    """Write one part of a canonical table to the staging folder (so its inputs can be released)."""
    target = staging / "_canonical" / f"{table}_{part}.parquet"
    target.parent.mkdir(parents=True, exist_ok=True)
    _conform(lf, table).collect().write_parquet(target, compression="lz4")
    return target


def _orphans(child: pl.DataFrame, file_type: str) -> pl.DataFrame:
    orphan = child.filter(pl.col(STATUS) == "quarantined")
    return orphan.select(
        pl.col(FILE).alias("file"),
        pl.col(LINE_NO).alias("line"),
        pl.format(
            f"no CCLF1 header has CUR_CLM_UNIQ_ID {{}} (a {file_type} row must belong to a Part A claim in the delivery)",
            pl.col("CUR_CLM_UNIQ_ID"),
        ).alias("reason"),
        pl.lit(None, dtype=pl.String).alias("record"),
    )


def _delivery_key(file: CclfFile) -> tuple:
    folder = file.name.rsplit("/", 1)[0] if "/" in file.name else ""
    return (
        file.entity,
        file.file_date.isoformat() if file.file_date else None,
        file.delivery,
        folder if file.file_date is None else "",
    )


def _conform(lf: pl.LazyFrame, table: str) -> pl.LazyFrame:
    schema = TABLES[table]
    names = lf.collect_schema().names()
    return lf.select(
        [
            (pl.col(c.name) if c.name in names else pl.lit(None)).cast(c.dtype).alias(c.name)
            for c in schema.columns
        ]
    )


def _notes(files: list[dict]) -> list[str]:
    notes = []
    for f in files:
        if f["refused"]:
            notes.append(f"refused {f['file']}: {f['refused']}")
    return notes
