"""The MBI crosswalk: chains of changes followed to the newest MBI."""

from __future__ import annotations

import polars as pl

from modeling.ingest.cclf.crosswalk import current_mbi, mbi_crosswalk


def test_chains_of_changes_end_at_the_newest_mbi():
    cclf9 = pl.LazyFrame(
        {"PRVS_NUM": ["A", "B", "C", "X"], "CRNT_NUM": ["B", "C", "C", "Y"]}
    )  # A->B->C, C listed as itself, X->Y
    xwalk = mbi_crosswalk(cclf9)
    assert sorted(xwalk.rows()) == [("A", "C"), ("B", "C"), ("X", "Y")]
    assert mbi_crosswalk(None).height == 0
    records = pl.LazyFrame({"BENE_MBI_ID": ["A", "B", "C", "Z"]})
    mapped = current_mbi(records, xwalk).collect().sort("BENE_MBI_ID")
    assert mapped["mbi"].to_list() == ["C", "C", "C", "Z"]
