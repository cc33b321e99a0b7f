"""The MBI crosswalk from CCLF9: every beneficiary identifier mapped to the current MBI.

Following the CCLF Information Packet, CCLF9 (BENE XREF) pairs a previous identifier
(``PRVS_NUM``) with the current one (``CRNT_NUM``). Chains of changes are followed to the newest
identifier (A->B and B->C give A->C and B->C), and every record of every other file is read under
its current MBI, so a beneficiary's claims and months before and after a change are one person's.
"""

from __future__ import annotations

import polars as pl

from modeling.ingest.cclf.files import FILE, LINE_NO
from modeling.ingest.cclf.reconciliation import STATUS

MAX_CHAIN = 20  # changes followed from one identifier


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
    for _ in range(MAX_CHAIN):
        step = pairs.join(
            pairs.rename({"previous": "current", "current": "newer"}), on="current", how="left"
        )
        if step["newer"].null_count() == step.height:
            break
        pairs = step.select("previous", pl.coalesce("newer", "current").alias("current"))
    return pairs.filter(pl.col("previous") != pl.col("current"))


def current_mbi(
    lf: pl.LazyFrame, xwalk: pl.DataFrame, *, column: str = "BENE_MBI_ID"
) -> pl.LazyFrame:
    """``lf`` with ``mbi``: the current MBI of its ``column`` (itself when it never changed)."""
    return (
        lf.join(xwalk.lazy(), left_on=column, right_on="previous", how="left")
        .with_columns(pl.coalesce("current", column).alias("mbi"))
        .drop("current")
    )


def crosswalk_statuses(cclf9: pl.LazyFrame | None) -> list[pl.DataFrame]:
    """Every staged CCLF9 line is loaded (into the crosswalk)."""
    if cclf9 is None:
        return []
    return [cclf9.select(FILE, LINE_NO, pl.lit("loaded").alias(STATUS)).collect()]
