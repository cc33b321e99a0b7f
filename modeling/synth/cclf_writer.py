"""Write a canonical dataset as CMS CCLF deliveries (monthly files plus a run-out), for testing
the reader on realistic input and for users who want CCLF-shaped synthetic data.

What the writer does, so that a round trip (dataset -> CCLF -> ingest) is exact and the files
still exercise everything the reader must handle:

- One monthly delivery per calendar month of the data, named as CMS does
  (``P.A9999.ACO.ZC1Y24.D240131.T1200000``), dated the month's last day: its CCLF8 lists the
  beneficiaries enrolled that month with that month's dual and Medicare status; its claim files
  hold the claim versions that took effect that month (a version's effective date is the claim's
  paid date, later for adjustments). Versions effective after the last month go to a run-out
  delivery (``ZCnR``). Each delivery has a CCLF0 with its record counts and the full CCLF9.
- Institutional claims are billed as Medicare bills them: one Part A claim per billing provider,
  person and from/thru dates (the CCLF natural key), so source claims sharing that key are merged
  into one (``bill_as_medicare``; the inpatient or emergency claim leads, lines are renumbered,
  diagnoses and procedures are unioned in order). Professional lines go to CCLF5, DMEPOS lines
  (the durable-medical-equipment category) to CCLF6, fills to CCLF7.
- A share of claims is adjusted (an original with other amounts, its cancellation, then the
  adjustment with the true amounts); a share of phantom claims is billed and then cancelled (they
  must vanish); a share of fills is re-adjudicated or deleted; a share of beneficiaries changed
  MBI, with their earlier records under the previous MBI and the change in CCLF9.

What CCLF cannot carry is not written: Part D plan paid amounts (CCLF7 has only the
beneficiary's payment, written as allowed minus paid), DME diagnoses (CCLF6 has none), names and
addresses (the synthetic population has none).
"""

from __future__ import annotations

import calendar
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import numpy as np
import polars as pl

from modeling.core.member_months import member_months
from modeling.core.service_categories import bill_type_prefix, with_service_category
from modeling.dataset import Dataset
from modeling.errors import DatasetError
from modeling.ingest.cclf.layouts import DEFAULT_VERSION, Layout, load_layouts
from modeling.schema import DIAGNOSIS_COLUMNS, PROCEDURE_COLUMNS
from modeling.synth.people import mbis

Progress = Callable[[str], None]
FIRST_NEW_ID = 9_000_000_000_000
RACE_CODE = {
    "unknown": "0",
    "white": "1",
    "black": "2",
    "other": "3",
    "asian": "4",
    "hispanic": "5",
    "american indian or alaska native": "6",
}
SEX_CODE = {"male": "1", "female": "2", "unknown": "0"}
DESCRIPTIONS = {
    "CCLF1": "Part A Claims Header",
    "CCLF2": "Part A Revenue Center",
    "CCLF3": "Part A Procedure",
    "CCLF4": "Part A Diagnosis",
    "CCLF5": "Part B Physicians",
    "CCLF6": "Part B DME",
    "CCLF7": "Part D",
    "CCLF8": "Beneficiary Demographics",
    "CCLF9": "BENE XREF",
}


@dataclass(frozen=True)
class CclfWriteSummary:
    """What was written: files, lines, and the versions and merges the reader must undo."""

    out: Path
    files: int
    lines: int
    merged_claims: int
    adjusted_claims: int
    cancelled_claims: int
    adjusted_fills: int
    deleted_fills: int
    mbi_changes: int


# ---------------------------------------------------------------- formatting


def _amount(name: str, width: int, decimals: int) -> pl.Expr:
    scaled = (pl.col(name).cast(pl.Float64) * 10**decimals).round(0).cast(pl.Int64)
    digits = scaled.abs().cast(pl.String).str.zfill(decimals + 1)
    text = (
        digits.str.slice(0, digits.str.len_chars() - decimals) + "." + digits.str.slice(-decimals)
    )
    signed = (
        pl.when(scaled < 0).then("-" + text.str.zfill(width - 1)).otherwise(text.str.zfill(width))
    )
    return signed.fill_null(" " * width)


def format_records(frame: pl.DataFrame, layout: Layout) -> pl.Series:
    """Fixed-width records of a layout from a frame whose columns carry CMS field names."""
    parts = []
    for f in layout.fields:
        w = f.width
        if f.name not in frame.columns:
            parts.append(pl.lit(" " * w))
        elif f.kind == "amount":
            parts.append(_amount(f.name, w, f.decimals))
        elif f.kind == "date":
            parts.append(pl.col(f.name).dt.strftime("%Y-%m-%d").fill_null(" " * w))
        elif f.kind == "digits":
            parts.append(pl.col(f.name).cast(pl.String).str.zfill(w).fill_null(" " * w))
        else:
            parts.append(
                pl.col(f.name).cast(pl.String).fill_null("").str.slice(0, w).str.pad_end(w)
            )
    return frame.select(pl.concat_str(parts).alias("record")).get_column("record")


# ---------------------------------------------------------------- billing as Medicare does


def bill_as_medicare(medical_claim: pl.DataFrame) -> tuple[pl.DataFrame, int]:
    """Merge institutional claims sharing billing provider, person and from/thru dates into one.

    Returns the claim lines (professional lines unchanged) and how many source claims were folded
    into another. The leading claim (inpatient first, then one with an emergency revenue center,
    then the lowest claim id) gives the header; its lines come first and all lines are renumbered.
    """
    inst = medical_claim.filter(pl.col("claim_type") == "institutional")
    other = medical_claim.filter(pl.col("claim_type") != "institutional")
    key = ["person_id", "billing_npi", "claim_start_date", "claim_end_date"]
    ed = (
        pl.col("revenue_center_code")
        .str.contains(r"^(045\d|0981)$")
        .fill_null(False)
        .any()
        .over("claim_id")
    )
    priority = pl.when(bill_type_prefix() == "11").then(0).when(ed).then(1).otherwise(2)
    inst = inst.with_columns(priority.alias("_priority")).sort(
        [*key, "_priority", "claim_id", "claim_line_number"]
    )
    inst = inst.with_columns(
        pl.col("claim_id").first().over(key).alias("_lead"),
        pl.int_range(1, pl.len() + 1).over(key).cast(pl.Int32).alias("_line"),
    )
    merged = (
        inst.filter(pl.col("claim_id") != pl.col("_lead"))
        .select(pl.col("claim_id").n_unique())
        .item()
    )
    if merged == 0:
        return medical_claim, 0
    header_cols = [
        c
        for c in medical_claim.columns
        if c
        not in (
            "claim_id",
            "claim_line_number",
            "claim_line_start_date",
            "claim_line_end_date",
            "revenue_center_code",
            "service_unit_quantity",
            "hcpcs_code",
            "paid_amount",
            "allowed_amount",
            *DIAGNOSIS_COLUMNS,
            *PROCEDURE_COLUMNS,
        )
    ]
    dx = inst.group_by("_lead", maintain_order=True).agg(
        pl.concat_list(DIAGNOSIS_COLUMNS)
        .list.explode(keep_nulls=False, empty_as_null=False)
        .drop_nulls()
        .unique(maintain_order=True)
        .alias("_dx"),
        pl.concat_list(PROCEDURE_COLUMNS)
        .list.explode(keep_nulls=False, empty_as_null=False)
        .drop_nulls()
        .unique(maintain_order=True)
        .alias("_px"),
    )
    lead_header = (
        inst.filter(pl.col("claim_id") == pl.col("_lead"))
        .group_by("_lead", maintain_order=True)
        .agg([pl.col(c).first() for c in header_cols if c not in key])
    )
    lines = inst.select(
        *key,
        "_lead",
        "_line",
        "claim_line_start_date",
        "claim_line_end_date",
        "revenue_center_code",
        "service_unit_quantity",
        "hcpcs_code",
        "paid_amount",
        "allowed_amount",
    )
    rebuilt = (
        lines.join(lead_header, on="_lead", how="left")
        .join(dx, on="_lead", how="left")
        .with_columns(
            pl.col("_lead").alias("claim_id"),
            pl.col("_line").alias("claim_line_number"),
            *[
                pl.col("_dx").list.get(i, null_on_oob=True).alias(c)
                for i, c in enumerate(DIAGNOSIS_COLUMNS)
            ],
            *[
                pl.col("_px").list.get(i, null_on_oob=True).alias(c)
                for i, c in enumerate(PROCEDURE_COLUMNS)
            ],
        )
        .select(medical_claim.columns)
    )
    return pl.concat([rebuilt, other], how="vertical").sort("claim_id", "claim_line_number"), merged


# ---------------------------------------------------------------- versions


def _claim_type_code() -> pl.Expr:
    bt = bill_type_prefix()
    return (
        pl.when(bt == "11")
        .then(pl.lit("60"))
        .when(bt.is_in(["18"]))
        .then(pl.lit("30"))
        .when(bt.is_in(["21", "22", "23"]))
        .then(pl.lit("20"))
        .when(bt.is_in(["32", "33", "34"]))
        .then(pl.lit("10"))
        .when(bt.is_in(["81", "82"]))
        .then(pl.lit("50"))
        .otherwise(pl.lit("40"))
    )


def _id_number(claim_id: pl.Expr) -> pl.Expr:
    return claim_id.str.replace_all(r"\D", "").cast(pl.Int64)


@dataclass
class _Plan:
    """Random choices for versions, drawn once per claim from the seed."""

    adjusted: pl.Series
    phantom: pl.Series
    factor: pl.Series
    delay: pl.Series


def _plan(rng: np.random.Generator, n: int, adjust_share: float, cancel_share: float) -> _Plan:
    u = rng.random(n)
    return _Plan(
        pl.Series(u < adjust_share),
        pl.Series((u >= adjust_share) & (u < adjust_share + cancel_share)),
        pl.Series(np.round(rng.uniform(0.8, 1.2, n), 4)),
        pl.Series(rng.integers(15, 76, n)),
    )


def _versions(
    claims: pl.DataFrame, lines: pl.DataFrame, plan: _Plan, amount_cols: list[str], next_id: int
) -> tuple[pl.DataFrame, int]:
    """Every version of every claim: lines carry CUR_CLM_UNIQ_ID, CLM_ADJSMT_TYPE_CD, CLM_EFCTV_DT.

    ``claims`` has one row per claim (claim_id, effective date); ``lines`` the claim's lines.
    Adjusted claims get original (amounts x factor) -> cancellation -> adjustment (true amounts);
    phantom claims get original -> cancellation under another provider (``_phantom``).
    """
    c = claims.with_columns(
        plan.adjusted.alias("_adjusted"),
        plan.phantom.alias("_phantom_claim"),
        plan.factor.alias("_factor"),
        plan.delay.alias("_delay"),
    )
    extra = c.filter(pl.col("_adjusted") | pl.col("_phantom_claim")).with_row_index("_k")
    n_extra = extra.height
    extra = extra.with_columns(
        (pl.lit(next_id) + 3 * pl.col("_k").cast(pl.Int64)).alias("_id_original"),
        (pl.lit(next_id + 1) + 3 * pl.col("_k").cast(pl.Int64)).alias("_id_cancel"),
        (pl.lit(next_id + 2) + 3 * pl.col("_k").cast(pl.Int64)).alias("_id_final"),
    )
    base = c.filter(~pl.col("_adjusted")).select(
        "claim_id",
        _id_number(pl.col("claim_id")).alias("CUR_CLM_UNIQ_ID"),
        pl.lit("0").alias("CLM_ADJSMT_TYPE_CD"),
        pl.col("_effective").alias("CLM_EFCTV_DT"),
        pl.lit(False).alias("_phantom"),
    )
    later = pl.col("_effective") + pl.duration(days=pl.col("_delay"))
    adjusted = extra.filter(pl.col("_adjusted"))
    phantom = extra.filter(pl.col("_phantom_claim"))
    heads = pl.concat(
        [
            base,
            adjusted.select(
                "claim_id",
                pl.col("_id_original").alias("CUR_CLM_UNIQ_ID"),
                pl.lit("0").alias("CLM_ADJSMT_TYPE_CD"),
                pl.col("_effective").alias("CLM_EFCTV_DT"),
                pl.lit(False).alias("_phantom"),
                "_factor",
            ),
            adjusted.select(
                "claim_id",
                pl.col("_id_cancel").alias("CUR_CLM_UNIQ_ID"),
                pl.lit("1").alias("CLM_ADJSMT_TYPE_CD"),
                later.alias("CLM_EFCTV_DT"),
                pl.lit(False).alias("_phantom"),
                "_factor",
            ),
            adjusted.select(
                "claim_id",
                pl.col("_id_final").alias("CUR_CLM_UNIQ_ID"),
                pl.lit("2").alias("CLM_ADJSMT_TYPE_CD"),
                later.alias("CLM_EFCTV_DT"),
                pl.lit(False).alias("_phantom"),
            ),
            phantom.select(
                "claim_id",
                pl.col("_id_original").alias("CUR_CLM_UNIQ_ID"),
                pl.lit("0").alias("CLM_ADJSMT_TYPE_CD"),
                pl.col("_effective").alias("CLM_EFCTV_DT"),
                pl.lit(True).alias("_phantom"),
                "_factor",
            ),
            phantom.select(
                "claim_id",
                pl.col("_id_cancel").alias("CUR_CLM_UNIQ_ID"),
                pl.lit("1").alias("CLM_ADJSMT_TYPE_CD"),
                later.alias("CLM_EFCTV_DT"),
                pl.lit(True).alias("_phantom"),
                "_factor",
            ),
        ],
        how="diagonal",
    )
    out = lines.join(heads, on="claim_id", how="inner").with_columns(
        [
            pl.when(pl.col("_factor").is_not_null())
            .then((pl.col(a) * pl.col("_factor")).round(2))
            .otherwise(pl.col(a))
            .alias(a)
            for a in amount_cols
        ]
    )
    return out, next_id + 3 * n_extra


def _effective_date() -> pl.Expr:
    return pl.coalesce("paid_date", pl.col("claim_end_date") + pl.duration(days=14)).alias(
        "_effective"
    )


# ---------------------------------------------------------------- the writer


def write_cclf(
    dataset: Dataset | str | Path,
    out: str | Path,
    *,
    seed: int = 0,
    entity: str = "A9999",
    adjust_share: float = 0.03,
    cancel_share: float = 0.005,
    mbi_change_share: float = 0.01,
    layout_version: str = DEFAULT_VERSION,
    progress: Progress | None = None,
) -> CclfWriteSummary:
    """Write ``dataset`` as CCLF deliveries into ``out`` (see the module docstring for what and why)."""
    dataset = dataset if isinstance(dataset, Dataset) else Dataset(dataset)
    say = progress or (lambda _msg: None)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    layouts = load_layouts(layout_version)
    rng = np.random.default_rng(seed)

    say("reading the dataset")
    months = member_months(dataset.scan("eligibility")).collect()
    if months.height == 0:
        raise DatasetError(f"{dataset.path}: no eligibility to write as CCLF8.")
    first_month, last_month = months["year_month"].min(), months["year_month"].max()
    people = (
        dataset.scan("eligibility")
        .sort("enrollment_start_date")
        .group_by("person_id")
        .agg(
            pl.col("member_id").last(),
            pl.col("race").last(),
            pl.col("death_date").drop_nulls().last(),
        )
        .sort("person_id")
        .collect()
    )
    if people["member_id"].null_count():
        raise DatasetError(
            f"{dataset.path}: every person needs a member_id (MBI) to be written as CCLF."
        )

    # beneficiaries who changed MBI: records before the change carry the previous one
    changed = people.sample(fraction=mbi_change_share, seed=seed).sort("person_id")
    span_days = max((last_month - first_month).days, 1)
    change = changed.select(
        "person_id",
        pl.Series("previous", mbis(rng, changed.height)),
        pl.Series(
            "change_date",
            [first_month.toordinal() + int(d) for d in rng.integers(31, span_days, changed.height)],
        )
        .map_elements(date.fromordinal, return_dtype=pl.Date)
        .dt.month_start(),
    )
    person_mbi = people.select("person_id", "member_id").join(change, on="person_id", how="left")

    def mbi_at(frame: pl.DataFrame, when: str) -> pl.DataFrame:
        f = frame.drop("member_id", strict=False).join(person_mbi, on="person_id", how="left")
        old = pl.col("change_date").is_not_null() & (pl.col(when) < pl.col("change_date"))
        return f.with_columns(
            pl.when(old)
            .then(pl.col("previous"))
            .otherwise(pl.col("member_id"))
            .alias("BENE_MBI_ID")
        ).drop("previous", "change_date", "member_id")

    records: dict[tuple[str, date, str], list[pl.Series]] = {}

    def deliver(frame: pl.DataFrame, file_type: str, month_col: str) -> None:
        if frame.height == 0:
            return
        when = pl.col(month_col).dt.month_start()
        runout = when > last_month
        frame = frame.with_columns(
            pl.when(runout).then(pl.lit("R")).otherwise(pl.lit("Y")).alias("_kind"),
            pl.when(runout)
            .then(pl.lit(last_month).dt.offset_by("3mo"))
            .when(when < first_month)
            .then(pl.lit(first_month))
            .otherwise(when)
            .alias("_delivery"),
        )
        frame = frame.with_columns(format_records(frame, layouts[file_type]).alias("_record"))
        for (kind, month), part in frame.group_by("_kind", "_delivery", maintain_order=True):
            records.setdefault((kind, month, file_type), []).append(part.get_column("_record"))

    say("beneficiaries (CCLF8)")
    bene = mbi_at(
        months.rename({"year_month": "_month"}).join(
            people.select("person_id", "race", pl.col("death_date").alias("_death")),
            on="person_id",
            how="left",
        ),
        "_month",
    )
    bene = bene.select(
        "BENE_MBI_ID",
        "_month",
        pl.col("birth_date").alias("BENE_DOB"),
        pl.col("gender").replace_strict(SEX_CODE, default="0").alias("BENE_SEX_CD"),
        pl.col("race").replace_strict(RACE_CODE, default="0").alias("BENE_RACE_CD"),
        (pl.col("_month").dt.year() - pl.col("birth_date").dt.year())
        .cast(pl.Int32)
        .alias("BENE_AGE"),
        pl.col("medicare_status_code").alias("BENE_MDCR_STUS_CD"),
        pl.col("dual_status_code").alias("BENE_DUAL_STUS_CD"),
        pl.col("_death").alias("BENE_DEATH_DT"),
        pl.col("original_reason_entitlement_code").alias("BENE_ORGNL_ENTLMT_RSN_CD"),
    )
    deliver(bene, "CCLF8", "_month")

    say("Part A claims (CCLF1-4)")
    medical, merged = bill_as_medicare(dataset.read("medical_claim"))
    medical = with_service_category(medical.lazy()).collect()
    inst = medical.filter(pl.col("claim_type") == "institutional")
    ccn = (
        inst.select(pl.col("billing_npi").unique().sort())
        .with_row_index("_rank")
        .select(
            "billing_npi",
            (pl.col("_rank").cast(pl.Int64) + 100_000).cast(pl.String).str.zfill(6).alias("ccn"),
        )
    )
    heads = (
        inst.group_by("claim_id", maintain_order=True)
        .agg(pl.all().first())
        .join(ccn, on="billing_npi", how="left")
        .with_columns(_effective_date())
        .sort("claim_id")
    )
    plan = _plan(rng, heads.height, adjust_share, cancel_share)
    next_id = FIRST_NEW_ID
    head_versions, next_id = _versions(
        heads.select("claim_id", "_effective"), heads.drop("_effective"), plan, [], next_id
    )
    line_versions, _ = _versions(
        heads.select("claim_id", "_effective"), inst, plan, ["paid_amount"], FIRST_NEW_ID
    )
    version_paid = line_versions.group_by("CUR_CLM_UNIQ_ID").agg(
        pl.col("paid_amount").sum().round(2).alias("CLM_PMT_AMT")
    )
    head_versions = head_versions.join(version_paid, on="CUR_CLM_UNIQ_ID", how="left")
    head_versions = mbi_at(head_versions, "CLM_EFCTV_DT")
    type_code = _claim_type_code()
    bt = pl.col("bill_type_code").str.strip_chars()
    bt = pl.when(bt.str.len_chars() == 4).then(bt.str.slice(1)).otherwise(bt)
    provider = pl.when(pl.col("_phantom")).then(pl.lit("999999")).otherwise(pl.col("ccn"))
    cclf1 = head_versions.select(
        "CUR_CLM_UNIQ_ID",
        provider.alias("PRVDR_OSCAR_NUM"),
        "BENE_MBI_ID",
        type_code.alias("CLM_TYPE_CD"),
        pl.col("claim_start_date").alias("CLM_FROM_DT"),
        pl.col("claim_end_date").alias("CLM_THRU_DT"),
        bt.str.slice(0, 1).alias("CLM_BILL_FAC_TYPE_CD"),
        bt.str.slice(1, 1).alias("CLM_BILL_CLSFCTN_CD"),
        bt.str.slice(2, 1).alias("CLM_BILL_FREQ_CD"),
        pl.col("diagnosis_code_1").alias("PRNCPL_DGNS_CD"),
        "CLM_PMT_AMT",
        pl.col("discharge_disposition_code").alias("BENE_PTNT_STUS_CD"),
        pl.col("drg_code").alias("DGNS_DRG_CD"),
        pl.col("facility_npi").alias("FAC_PRVDR_NPI_NUM"),
        pl.col("rendering_npi").alias("ATNDG_PRVDR_NPI_NUM"),
        "CLM_ADJSMT_TYPE_CD",
        "CLM_EFCTV_DT",
        (pl.col("CLM_EFCTV_DT") + pl.duration(days=1)).alias("CLM_IDR_LD_DT"),
        pl.col("admit_type_code").alias("CLM_ADMSN_TYPE_CD"),
        pl.col("admit_source_code").alias("CLM_ADMSN_SRC_CD"),
        pl.lit("0").alias("DGNS_PRCDR_ICD_IND"),
        provider.alias("CLM_BLG_PRVDR_OSCAR_NUM"),
        pl.col("billing_npi").alias("CLM_BLG_PRVDR_NPI_NUM"),
        pl.col("claim_id").alias("CLM_CNTL_NUM"),
    )
    deliver(cclf1, "CCLF1", "CLM_EFCTV_DT")
    version_keys = head_versions.select(
        "claim_id",
        "CUR_CLM_UNIQ_ID",
        "BENE_MBI_ID",
        "CLM_EFCTV_DT",
        type_code.alias("CLM_TYPE_CD"),
        provider.alias("_provider"),
    )
    lines = line_versions.drop("BENE_MBI_ID", strict=False).join(
        version_keys.select("CUR_CLM_UNIQ_ID", "BENE_MBI_ID", "CLM_TYPE_CD", "_provider"),
        on="CUR_CLM_UNIQ_ID",
        how="left",
    )
    cclf2 = lines.select(
        "CUR_CLM_UNIQ_ID",
        pl.col("claim_line_number").alias("CLM_LINE_NUM"),
        "BENE_MBI_ID",
        "CLM_TYPE_CD",
        pl.col("claim_line_start_date").alias("CLM_LINE_FROM_DT"),
        pl.col("claim_line_end_date").alias("CLM_LINE_THRU_DT"),
        pl.col("revenue_center_code").alias("CLM_LINE_PROD_REV_CTR_CD"),
        pl.col("claim_line_start_date").alias("CLM_LINE_INSTNL_REV_CTR_DT"),
        pl.col("hcpcs_code").alias("CLM_LINE_HCPCS_CD"),
        pl.col("_provider").alias("PRVDR_OSCAR_NUM"),
        pl.col("claim_start_date").alias("CLM_FROM_DT"),
        pl.col("claim_end_date").alias("CLM_THRU_DT"),
        pl.col("service_unit_quantity").alias("CLM_LINE_SRVC_UNIT_QTY"),
        pl.col("paid_amount").alias("CLM_LINE_CVRD_PD_AMT"),
        pl.col("_provider").alias("CLM_FAC_PRVDR_OSCAR_NUM"),
        "CLM_EFCTV_DT",
    )
    deliver(cclf2, "CCLF2", "CLM_EFCTV_DT")
    codes_by_version = head_versions.select(
        "CUR_CLM_UNIQ_ID",
        "BENE_MBI_ID",
        type_code.alias("CLM_TYPE_CD"),
        provider.alias("PRVDR_OSCAR_NUM"),
        pl.col("claim_start_date").alias("CLM_FROM_DT"),
        pl.col("claim_end_date").alias("CLM_THRU_DT"),
        "CLM_EFCTV_DT",
        pl.concat_list(DIAGNOSIS_COLUMNS).list.drop_nulls().alias("_dx"),
        pl.concat_list(PROCEDURE_COLUMNS).list.drop_nulls().alias("_px"),
    )
    dx = (
        codes_by_version.explode("_dx")
        .filter(pl.col("_dx").is_not_null())
        .with_columns(
            pl.int_range(1, pl.len() + 1).over("CUR_CLM_UNIQ_ID").alias("CLM_VAL_SQNC_NUM")
        )
    )
    cclf4 = dx.select(
        "CUR_CLM_UNIQ_ID",
        "BENE_MBI_ID",
        "CLM_TYPE_CD",
        pl.when(pl.col("CLM_VAL_SQNC_NUM") == 1)
        .then(pl.lit("P"))
        .otherwise(pl.lit("D"))
        .alias("CLM_PROD_TYPE_CD"),
        "CLM_VAL_SQNC_NUM",
        pl.col("_dx").alias("CLM_DGNS_CD"),
        "PRVDR_OSCAR_NUM",
        "CLM_FROM_DT",
        "CLM_THRU_DT",
        pl.lit("0").alias("DGNS_PRCDR_ICD_IND"),
        pl.col("PRVDR_OSCAR_NUM").alias("CLM_BLG_PRVDR_OSCAR_NUM"),
        "CLM_EFCTV_DT",
    )
    deliver(cclf4, "CCLF4", "CLM_EFCTV_DT")
    px = (
        codes_by_version.explode("_px")
        .filter(pl.col("_px").is_not_null())
        .with_columns(
            pl.int_range(1, pl.len() + 1).over("CUR_CLM_UNIQ_ID").alias("CLM_VAL_SQNC_NUM")
        )
    )
    cclf3 = px.select(
        "CUR_CLM_UNIQ_ID",
        "BENE_MBI_ID",
        "CLM_TYPE_CD",
        "CLM_VAL_SQNC_NUM",
        pl.col("_px").alias("CLM_PRCDR_CD"),
        pl.col("CLM_FROM_DT").alias("CLM_PRCDR_PRFRM_DT"),
        "PRVDR_OSCAR_NUM",
        "CLM_FROM_DT",
        "CLM_THRU_DT",
        pl.lit("0").alias("DGNS_PRCDR_ICD_IND"),
        pl.col("PRVDR_OSCAR_NUM").alias("CLM_BLG_PRVDR_OSCAR_NUM"),
        "CLM_EFCTV_DT",
    )
    deliver(cclf3, "CCLF3", "CLM_EFCTV_DT")
    n_adjusted = int(plan.adjusted.sum())
    n_cancelled = int(plan.phantom.sum())

    say("Part B and DME claims (CCLF5, CCLF6)")
    prof = medical.filter(pl.col("claim_type") == "professional")
    prof_claims = (
        prof.group_by("claim_id", maintain_order=True)
        .agg(pl.col("paid_date").first(), pl.col("claim_end_date").first())
        .with_columns(_effective_date())
        .sort("claim_id")
    )
    plan_b = _plan(rng, prof_claims.height, adjust_share, cancel_share)
    versions, next_id = _versions(
        prof_claims.select("claim_id", "_effective"),
        prof,
        plan_b,
        ["paid_amount", "allowed_amount"],
        next_id,
    )
    versions = mbi_at(versions, "CLM_EFCTV_DT")
    # a phantom professional claim is billed under another control number, then cancelled
    control = (
        pl.when(pl.col("_phantom")).then(pl.col("claim_id") + "X").otherwise(pl.col("claim_id"))
    )
    common = [
        "CUR_CLM_UNIQ_ID",
        pl.col("claim_line_number").alias("CLM_LINE_NUM"),
        "BENE_MBI_ID",
        pl.col("claim_start_date").alias("CLM_FROM_DT"),
        pl.col("claim_end_date").alias("CLM_THRU_DT"),
        pl.col("place_of_service_code").alias("CLM_POS_CD"),
        pl.col("claim_line_start_date").alias("CLM_LINE_FROM_DT"),
        pl.col("claim_line_end_date").alias("CLM_LINE_THRU_DT"),
        pl.col("hcpcs_code").alias("CLM_LINE_HCPCS_CD"),
        pl.col("paid_amount").alias("CLM_LINE_CVRD_PD_AMT"),
        "CLM_ADJSMT_TYPE_CD",
        "CLM_EFCTV_DT",
        (pl.col("CLM_EFCTV_DT") + pl.duration(days=1)).alias("CLM_IDR_LD_DT"),
        control.alias("CLM_CNTL_NUM"),
        pl.col("allowed_amount").alias("CLM_LINE_ALOWD_CHRG_AMT"),
    ]
    dme = pl.col("service_category") == "durable medical equipment"
    cclf5 = versions.filter(~dme).select(
        *common,
        pl.lit("71").alias("CLM_TYPE_CD"),
        pl.col("diagnosis_code_1").alias("CLM_LINE_DGNS_CD"),
        pl.col("rendering_npi").alias("RNDRG_PRVDR_NPI_NUM"),
        pl.col("rendering_npi").alias("CLM_RNDRG_PRVDR_NPI_NUM"),
        pl.col("service_unit_quantity").alias("CLM_LINE_SRVC_UNIT_QTY"),
        pl.lit("0").alias("DGNS_PRCDR_ICD_IND"),
        *[pl.col(f"diagnosis_code_{i}").alias(f"CLM_DGNS_{i}_CD") for i in range(1, 13)],
    )
    deliver(cclf5, "CCLF5", "CLM_EFCTV_DT")
    cclf6 = versions.filter(dme).select(
        *common,
        pl.lit("82").alias("CLM_TYPE_CD"),
        pl.col("billing_npi").alias("PAYTO_PRVDR_NPI_NUM"),
        pl.col("billing_npi").alias("CLM_BLG_PRVDR_NPI_NUM"),
    )
    deliver(cclf6, "CCLF6", "CLM_EFCTV_DT")
    n_adjusted += int(plan_b.adjusted.sum())
    n_cancelled += int(plan_b.phantom.sum())

    say("Part D events (CCLF7)")
    rx = dataset.scan("pharmacy_claim").with_columns(_rx_effective()).sort("claim_id").collect()
    u = rng.random(rx.height)
    re_adjudicated = pl.Series(u < adjust_share)
    deleted = pl.Series((u >= adjust_share) & (u < adjust_share + cancel_share))
    n_rx_extra = int(re_adjudicated.sum() + deleted.sum())
    rx = rx.with_columns(
        re_adjudicated.alias("_adjusted"),
        deleted.alias("_deleted"),
        pl.Series(rng.integers(15, 76, rx.height)).alias("_delay"),
    )
    rx_base = rx.with_columns(
        _id_number(pl.col("claim_id")).alias("CUR_CLM_UNIQ_ID"),
        pl.lit("0").alias("CLM_ADJSMT_TYPE_CD"),
        pl.col("_effective").alias("CLM_EFCTV_DT"),
        pl.lit("0").alias("_fill"),
    )
    extra_ids = pl.int_range(0, pl.len(), dtype=pl.Int64)
    rx_adjusted = rx.filter(pl.col("_adjusted")).with_columns(
        (pl.lit(next_id) + extra_ids).alias("CUR_CLM_UNIQ_ID"),
        pl.lit("2").alias("CLM_ADJSMT_TYPE_CD"),
        (pl.col("_effective") + pl.duration(days=pl.col("_delay"))).alias("CLM_EFCTV_DT"),
        pl.lit("0").alias("_fill"),
    )
    next_id += n_rx_extra
    original_of_adjusted = pl.col("_adjusted")
    rx_base = rx_base.with_columns(  # the original of a re-adjudicated fill was paid for a different quantity
        pl.when(original_of_adjusted)
        .then((pl.col("quantity") * 2).round(0))
        .otherwise(pl.col("quantity"))
        .alias("quantity")
    )
    deleted_rows = rx.filter(pl.col("_deleted"))
    rx_phantom = pl.concat(
        [
            deleted_rows.with_columns(
                (pl.lit(next_id) + 2 * extra_ids).alias("CUR_CLM_UNIQ_ID"),
                pl.lit("0").alias("CLM_ADJSMT_TYPE_CD"),
                pl.col("_effective").alias("CLM_EFCTV_DT"),
                pl.lit("1").alias("_fill"),
            ),
            deleted_rows.with_columns(
                (pl.lit(next_id + 1) + 2 * extra_ids).alias("CUR_CLM_UNIQ_ID"),
                pl.lit("1").alias("CLM_ADJSMT_TYPE_CD"),
                (pl.col("_effective") + pl.duration(days=pl.col("_delay"))).alias("CLM_EFCTV_DT"),
                pl.lit("1").alias("_fill"),
            ),
        ]
    )
    rx_all = mbi_at(
        pl.concat([rx_base, rx_adjusted, rx_phantom], how="vertical_relaxed"), "CLM_EFCTV_DT"
    )
    cclf7 = rx_all.select(
        "CUR_CLM_UNIQ_ID",
        "BENE_MBI_ID",
        pl.col("ndc_code").alias("CLM_LINE_NDC_CD"),
        pl.lit("01").alias("CLM_TYPE_CD"),
        pl.col("dispensing_date").alias("CLM_LINE_FROM_DT"),
        pl.lit("01").alias("PRVDR_SRVC_ID_QLFYR_CD"),
        pl.col("dispensing_provider_npi").alias("CLM_SRVC_PRVDR_GNRC_ID_NUM"),
        pl.col("quantity").alias("CLM_LINE_SRVC_UNIT_QTY"),
        pl.col("days_supply").alias("CLM_LINE_DAYS_SUPLY_QTY"),
        pl.lit("01").alias("PRVDR_PRSBNG_ID_QLFYR_CD"),
        pl.col("prescribing_provider_npi").alias("CLM_PRSBNG_PRVDR_GNRC_ID_NUM"),
        (pl.col("allowed_amount") - pl.col("paid_amount")).round(2).alias("CLM_LINE_BENE_PMT_AMT"),
        "CLM_ADJSMT_TYPE_CD",
        "CLM_EFCTV_DT",
        (pl.col("CLM_EFCTV_DT") + pl.duration(days=1)).alias("CLM_IDR_LD_DT"),
        _id_number(pl.col("claim_id")).alias("CLM_LINE_RX_SRVC_RFRNC_NUM"),
        pl.col("_fill").alias("CLM_LINE_RX_FILL_NUM"),
    )
    if cclf7.height and cclf7["CLM_LINE_RX_SRVC_RFRNC_NUM"].max() >= 10**12:
        raise DatasetError(
            "pharmacy claim ids are too large for CCLF7's 12-digit prescription reference number."
        )
    deliver(cclf7, "CCLF7", "CLM_EFCTV_DT")

    say("writing delivery files")
    xref = change.join(people.select("person_id", "member_id"), on="person_id").select(
        pl.lit("M").alias("HICN_MBI_XREF_IND"),
        pl.col("member_id").alias("CRNT_NUM"),
        pl.col("previous").alias("PRVS_NUM"),
        pl.col("change_date").alias("PRVS_ID_EFCTV_DT"),
        "change_date",
    )
    n_files = n_lines = 0
    deliveries = sorted({(kind, month) for kind, month, _ in records})
    for i, (kind, month) in enumerate(deliveries):
        day = date(month.year, month.month, calendar.monthrange(month.year, month.month)[1])
        stamp = f"D{day:%y%m%d}.T12{i:05d}"
        counts = []
        for file_type in (
            "CCLF1",
            "CCLF2",
            "CCLF3",
            "CCLF4",
            "CCLF5",
            "CCLF6",
            "CCLF7",
            "CCLF8",
            "CCLF9",
        ):
            if file_type == "CCLF9":
                rows = (
                    format_records(xref.filter(pl.col("change_date") <= day), layouts["CCLF9"])
                    if kind == "Y"
                    else pl.Series([], dtype=pl.String)
                )
            else:
                parts = records.get((kind, month, file_type), [])
                rows = pl.concat(parts) if parts else pl.Series([], dtype=pl.String)
            name = f"P.{entity}.ACO.ZC{file_type[-1]}{kind}{month.year % 100:02d}.{stamp}"
            _write_lines(out / name, rows)
            counts.append((file_type, rows.len(), layouts[file_type].record_length))
            n_files += 1
            n_lines += rows.len()
        header = f"{'File Number':<13}|{'File Description':<20}|{'Total Records Count':<20}|{'Record Length':<13}"
        body = [f"{t:<13}|{DESCRIPTIONS[t]:<20}|{n:<20}|{length:<13}" for t, n, length in counts]
        _write_lines(
            out / f"P.{entity}.ACO.ZC0{kind}{month.year % 100:02d}.{stamp}",
            pl.Series([header, *body]),
        )
        n_files += 1
        n_lines += len(body) + 1
    return CclfWriteSummary(
        out,
        n_files,
        n_lines,
        merged,
        n_adjusted,
        n_cancelled,
        int(re_adjudicated.sum()),
        int(deleted.sum()),
        change.height,
    )


def _rx_effective() -> pl.Expr:
    return pl.coalesce("paid_date", pl.col("dispensing_date") + pl.duration(days=14)).alias(
        "_effective"
    )


def _write_lines(path: Path, rows: pl.Series) -> None:
    with path.open("wb") as fh:
        if rows.len():
            fh.write(("\n".join(rows.to_list()) + "\n").encode("ascii"))
