"""Part D events (CCLF7): every fill, re-adjudicated fill and deleted fill.

A share of fills is re-adjudicated (the original was paid for another quantity, the adjustment
has the true one) and a share is billed and then deleted. CCLF7 has no plan paid amount: only the
beneficiary's payment is written, as allowed minus paid. Prescriber and pharmacy are NPIs
(qualifier 01); the prescription reference number is the fill's claim id (12 digits at most).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

from modeling.errors import DatasetError
from modeling.synth.cclf_writer.beneficiaries import MbiHistory
from modeling.synth.cclf_writer.deliveries import Deliveries
from modeling.synth.cclf_writer.versions import id_number

MAX_RX_REFERENCE = 10**12  # CCLF7's CLM_LINE_RX_SRVC_RFRNC_NUM has 12 digits


@dataclass(frozen=True)
class FillsWritten:
    """How many fills were re-adjudicated and how many billed then deleted."""

    adjusted: int
    deleted: int


def write_part_d(
    pharmacy_claim: pl.LazyFrame,
    rng: np.random.Generator,
    mbi: MbiHistory,
    deliveries: Deliveries,
    *,
    adjust_share: float,
    cancel_share: float,
    next_id: int,
) -> FillsWritten:
    """Every version of every fill into CCLF7, new claim ids from ``next_id`` on."""
    rx = pharmacy_claim.with_columns(_rx_effective()).sort("claim_id").collect()
    u = rng.random(rx.height)
    re_adjudicated = pl.Series(u < adjust_share)
    deleted = pl.Series((u >= adjust_share) & (u < adjust_share + cancel_share))
    n_rx_extra = int(re_adjudicated.sum()) + int(deleted.sum())
    rx = rx.with_columns(
        re_adjudicated.alias("_adjusted"),
        deleted.alias("_deleted"),
        pl.Series(rng.integers(15, 76, rx.height)).alias("_delay"),
    )
    rx_base = rx.with_columns(
        id_number(pl.col("claim_id")).alias("CUR_CLM_UNIQ_ID"),
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
    rx_all = mbi.at(
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
        id_number(pl.col("claim_id")).alias("CLM_LINE_RX_SRVC_RFRNC_NUM"),
        pl.col("_fill").alias("CLM_LINE_RX_FILL_NUM"),
    )
    if cclf7.height and _largest(cclf7["CLM_LINE_RX_SRVC_RFRNC_NUM"]) >= MAX_RX_REFERENCE:
        raise DatasetError(
            "pharmacy claim ids are too large for CCLF7's 12-digit prescription reference number."
        )
    deliveries.add(cclf7, "CCLF7", "CLM_EFCTV_DT")
    return FillsWritten(int(re_adjudicated.sum()), int(deleted.sum()))


def _largest(values: pl.Series) -> int:
    """The largest of integer values (0 when all are null)."""
    largest = values.max()
    return int(largest) if isinstance(largest, int) else 0


def _rx_effective() -> pl.Expr:
    """When a fill's original version takes effect: its paid date, else 14 days after dispensing."""
    return pl.coalesce("paid_date", pl.col("dispensing_date") + pl.duration(days=14)).alias(
        "_effective"
    )
