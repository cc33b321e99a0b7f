"""Claims: the kept claim versions mapped to the canonical ``medical_claim`` and ``pharmacy_claim``.

Following the CCLF Information Packet, Part A revenue-center lines (CCLF2), procedures (CCLF3) and
diagnoses (CCLF4) belong to the header version with their ``CUR_CLM_UNIQ_ID``; diagnoses and
procedures pivot onto the claim, revenue-center lines become claim lines. The header payment is
the claim's payment: when the lines' covered paid amounts do not add up to it (inpatient lines
usually carry 0), the difference is put on the first line, so claim totals always equal
``CLM_PMT_AMT``. Part B (CCLF5) and DME (CCLF6) lines are professional claim lines keyed by
``CLM_CNTL_NUM``; Part D events (CCLF7) are pharmacy claims.

What CCLF does not carry is left empty, never invented: CCLF7 has no plan paid amount (only the
beneficiary's payment), so Part D ``paid_amount`` is null; CCLF6 has no diagnoses; institutional
allowed amounts are not in CCLF1/2.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import polars as pl

from modeling.ingest.cclf.crosswalk import current_mbi
from modeling.ingest.cclf.files import FILE, LINE_NO
from modeling.ingest.cclf.reconciliation import STATUS
from modeling.ingest.cclf.staging import SOURCE_CLAIM, SOURCE_FILE, SOURCE_LINE, scan, sink
from modeling.ingest.cclf.versions import (
    CHILD_KEYS,
    child_versions,
    header_status_by_id,
    orphan_quarantine,
    part_a_header_versions,
    part_b_line_versions,
    part_d_event_versions,
)
from modeling.schema import DIAGNOSIS_COLUMNS, PROCEDURE_COLUMNS

INPATIENT_OR_SNF = ("20", "30", "60", "61")
PART_A_CHILDREN = ("CCLF2", "CCLF3", "CCLF4")


@dataclass(frozen=True)
class ClaimPart:
    """One file family's claims: the part of a canonical table written to staging (None when
    nothing was), the status of every line behind it, and the lines that belong to no claim."""

    table: str
    statuses: tuple[pl.DataFrame, ...]
    path: Path | None = None
    orphans: tuple[pl.DataFrame, ...] = ()


def _statuses(frame: pl.DataFrame) -> pl.DataFrame:
    """File, line and status of each staged line (with its claim id when it has one, so lines of
    a claim the canonical validation refuses whole can be found)."""
    claim = (
        pl.col("CUR_CLM_UNIQ_ID").cast(pl.String)
        if "CUR_CLM_UNIQ_ID" in frame.columns
        else pl.lit(None, dtype=pl.String)
    )
    return frame.select(FILE, LINE_NO, STATUS, claim.alias(SOURCE_CLAIM))


def part_a_claims(staging: Path, xwalk: pl.DataFrame) -> ClaimPart:
    """Institutional claims from the staged CCLF1 headers and their CCLF2-4 children."""
    c1 = scan(staging, "CCLF1")
    if c1 is None:
        return _orphaned_children(staging)
    headers = part_a_header_versions(current_mbi(c1, xwalk))
    by_id = header_status_by_id(headers)
    statuses, orphans = [_statuses(headers)], []
    children: dict[str, pl.LazyFrame] = {}
    for ftype in PART_A_CHILDREN:
        if (staged := scan(staging, ftype)) is not None:
            child = child_versions(staged, by_id, CHILD_KEYS[ftype]).collect()
            statuses.append(_statuses(child))
            orphans.append(orphan_quarantine(child, ftype))
            children[ftype] = child.lazy()
    claims = institutional_claims(
        headers, children.get("CCLF2"), children.get("CCLF3"), children.get("CCLF4")
    )
    path = sink(claims, staging, "medical_claim", "CCLF1")
    return ClaimPart("medical_claim", tuple(statuses), path, tuple(orphans))


def _orphaned_children(staging: Path) -> ClaimPart:
    """Without CCLF1 headers every CCLF2-4 row is quarantined."""
    statuses, orphans = [], []
    for ftype in PART_A_CHILDREN:
        if (orphan := scan(staging, ftype)) is not None:
            child = orphan.with_columns(pl.lit("quarantined").alias(STATUS)).collect()
            statuses.append(_statuses(child))
            orphans.append(orphan_quarantine(child, ftype))
    return ClaimPart("medical_claim", tuple(statuses), None, tuple(orphans))


def part_b_claims(staging: Path, xwalk: pl.DataFrame, file_type: str) -> ClaimPart | None:
    """Professional claim lines from the staged CCLF5 (Part B) or CCLF6 (DME) lines, if any."""
    if (lines := scan(staging, file_type)) is None:
        return None
    resolved = part_b_line_versions(current_mbi(lines, xwalk))
    path = sink(
        professional_claims(resolved.lazy(), file_type), staging, "medical_claim", file_type
    )
    return ClaimPart("medical_claim", (_statuses(resolved),), path)


def part_d_claims(staging: Path, xwalk: pl.DataFrame) -> ClaimPart | None:
    """Pharmacy claims from the staged CCLF7 events, if any."""
    if (c7 := scan(staging, "CCLF7")) is None:
        return None
    resolved = part_d_event_versions(current_mbi(c7, xwalk))
    path = sink(pharmacy_claims(resolved.lazy()), staging, "pharmacy_claim", "CCLF7")
    return ClaimPart("pharmacy_claim", (_statuses(resolved),), path)


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
            pl.col(FILE).alias("_line_file"),
            pl.col(LINE_NO).alias("_line_no"),
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
                "_line_file": pl.String,
                "_line_no": pl.Int64,
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
        pl.coalesce("_line_file", FILE).alias(SOURCE_FILE),
        pl.coalesce("_line_no", LINE_NO).alias(SOURCE_LINE),
        pl.col("CUR_CLM_UNIQ_ID").cast(pl.String).alias(SOURCE_CLAIM),
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
        pl.col(FILE).alias(SOURCE_FILE),
        pl.col(LINE_NO).alias(SOURCE_LINE),
        pl.lit(None, dtype=pl.String).alias(SOURCE_CLAIM),
    )


def _npi_when_qualified(qualifier: str, ident: str) -> pl.Expr:
    """A provider identifier when its qualifier says it is an NPI (qualifier 01), else null."""
    return pl.when(pl.col(qualifier) == "01").then(pl.col(ident))


def pharmacy_claims(cclf7: pl.LazyFrame) -> pl.LazyFrame:
    """Canonical pharmacy claims from the kept Part D events (no plan paid amount exists in CCLF7)."""
    npi = _npi_when_qualified
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
        pl.col(FILE).alias(SOURCE_FILE),
        pl.col(LINE_NO).alias(SOURCE_LINE),
        pl.lit(None, dtype=pl.String).alias(SOURCE_CLAIM),
    )
