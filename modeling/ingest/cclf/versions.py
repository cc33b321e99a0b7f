"""Claim versions: which version of each claim stands, which were superseded or cancelled.

Claim semantics follow the CCLF Information Packet:

1. Claim versions are grouped by their natural keys: Part A headers (CCLF1) by billing provider
   (``CLM_BLG_PRVDR_OSCAR_NUM``, else ``PRVDR_OSCAR_NUM``), ``CLM_FROM_DT``, ``CLM_THRU_DT`` and
   current MBI; Part B and DME lines (CCLF5, CCLF6) by ``CLM_CNTL_NUM``, ``CLM_LINE_NUM`` and
   current MBI; Part D events (CCLF7) by ``CLM_LINE_FROM_DT``, ``PRVDR_SRVC_ID_QLFYR_CD``,
   ``CLM_SRVC_PRVDR_GNRC_ID_NUM``, ``CLM_DSPNSNG_STUS_CD``, ``CLM_LINE_RX_SRVC_RFRNC_NUM`` and
   ``CLM_LINE_RX_FILL_NUM``.
2. Within a key, versions are ordered by ``CLM_EFCTV_DT`` then ``CUR_CLM_UNIQ_ID`` (Part D: then
   adjustment type, original < adjustment < deletion), then delivery order, so later files
   supersede earlier ones. Cancellations (``CLM_ADJSMT_TYPE_CD`` 1) carry negated amounts (see
   ``staging``).
3. Only the last version is kept; when it is a cancellation (Part D: a deletion) the claim nets
   to nothing and every version is dropped and counted as cancelled.
4. Part A revenue-center lines (CCLF2), procedures (CCLF3) and diagnoses (CCLF4) belong to the
   header version with their ``CUR_CLM_UNIQ_ID`` and take its status; a child row whose header
   is in no delivery is quarantined.
"""

from __future__ import annotations

import polars as pl

from modeling.ingest.cclf.files import FILE, LINE_NO, ORDER
from modeling.ingest.cclf.reconciliation import STATUS

PART_A_KEY = ["_provider", "CLM_FROM_DT", "CLM_THRU_DT", "mbi"]
PART_B_KEY = ["CLM_CNTL_NUM", "CLM_LINE_NUM", "mbi"]
PART_D_KEY = [
    "CLM_LINE_FROM_DT",
    "PRVDR_SRVC_ID_QLFYR_CD",
    "CLM_SRVC_PRVDR_GNRC_ID_NUM",
    "CLM_DSPNSNG_STUS_CD",
    "CLM_LINE_RX_SRVC_RFRNC_NUM",
    "CLM_LINE_RX_FILL_NUM",
]
CHILD_KEYS = {
    "CCLF2": ["CUR_CLM_UNIQ_ID", "CLM_LINE_NUM"],
    "CCLF3": ["CUR_CLM_UNIQ_ID", "CLM_VAL_SQNC_NUM", "CLM_PRCDR_CD"],
    "CCLF4": ["CUR_CLM_UNIQ_ID", "CLM_VAL_SQNC_NUM", "CLM_DGNS_CD"],
}
DATES_IN_KEYS = ("CLM_FROM_DT", "CLM_THRU_DT", "CLM_LINE_FROM_DT")


def resolve_versions(
    lf: pl.LazyFrame, key: list[str], order: list[pl.Expr], cancel: pl.Expr
) -> pl.LazyFrame:
    """Status of every version: the last in its key is loaded (or cancelled), earlier ones superseded."""
    ranked = lf.with_columns(
        [
            pl.col(k).fill_null("") if k != "mbi" else pl.col(k)
            for k in key
            if k not in DATES_IN_KEYS
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


def claim_id_number() -> pl.Expr:
    """``CUR_CLM_UNIQ_ID`` as a number, for ordering versions."""
    return pl.col("CUR_CLM_UNIQ_ID").cast(pl.Int64, strict=False)


def _cancellation() -> pl.Expr:
    return pl.col("CLM_ADJSMT_TYPE_CD") == "1"


def part_a_header_versions(cclf1: pl.LazyFrame) -> pl.DataFrame:
    """Every CCLF1 header (with its current ``mbi``) and its status."""
    with_provider = cclf1.with_columns(
        pl.coalesce("CLM_BLG_PRVDR_OSCAR_NUM", "PRVDR_OSCAR_NUM").alias("_provider")
    )
    return resolve_versions(
        with_provider,
        PART_A_KEY,
        [pl.col("CLM_EFCTV_DT"), claim_id_number()],
        _cancellation(),
    ).collect()


def part_b_line_versions(lines: pl.LazyFrame) -> pl.DataFrame:
    """Every CCLF5 or CCLF6 line (with its current ``mbi``) and its status."""
    return resolve_versions(
        lines, PART_B_KEY, [pl.col("CLM_EFCTV_DT"), claim_id_number()], _cancellation()
    ).collect()


def part_d_event_versions(cclf7: pl.LazyFrame) -> pl.DataFrame:
    """Every CCLF7 event (with its current ``mbi``) and its status."""
    rank = (
        pl.col("CLM_ADJSMT_TYPE_CD")
        .fill_null("0")
        .replace_strict({"0": 0, "2": 1, "1": 2}, default=1, return_dtype=pl.Int8)
    )
    return resolve_versions(
        cclf7,
        PART_D_KEY,
        [pl.col("CLM_EFCTV_DT"), rank, claim_id_number()],
        _cancellation(),
    ).collect()


def header_status_by_id(headers: pl.DataFrame) -> pl.DataFrame:
    """One status per CUR_CLM_UNIQ_ID (a re-delivered header: its latest copy decides)."""
    return (
        headers.sort(ORDER, LINE_NO)
        .group_by("CUR_CLM_UNIQ_ID", maintain_order=True)
        .agg(pl.col(STATUS).last())
    )


def child_versions(lf: pl.LazyFrame, headers: pl.DataFrame, key: list[str]) -> pl.LazyFrame:
    """Child rows (lines, diagnoses, procedures) take their header version's status."""
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


def orphan_quarantine(child: pl.DataFrame, file_type: str) -> pl.DataFrame:
    """The quarantined child rows (no header with their id), as quarantined lines with a reason."""
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
