"""The two-delivery CCLF fixture shared by the connector's tests."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from tests.modeling.ingest.cclf.builders import (
    NEW,
    OLD,
    OTHER,
    beneficiary,
    delivery,
    header,
    line,
    part_b,
    part_d,
    records,
)


@pytest.fixture
def two_deliveries(tmp_path) -> Path:
    """January: claim 1 original ($100, under the old MBI), claim 2 original ($50), a Part B line ($30), a fill.
    February: claim 1 cancelled and adjusted to $80, claim 2 cancelled, the Part B line adjusted to $25,
    the fill deleted, and the MBI change in CCLF9."""
    src = tmp_path / "cclf"
    jan, feb = date(2024, 1, 31), date(2024, 2, 29)
    delivery(
        src,
        "D240131.T1200000",
        {
            "CCLF1": records(
                "CCLF1",
                [
                    header(1, OLD, 100.0, "0", jan),
                    header(2, NEW, 50.0, "0", jan, provider="100002"),
                ],
            ),
            "CCLF2": records("CCLF2", [line(1, OLD, 100.0), line(2, NEW, 50.0)]),
            "CCLF4": records(
                "CCLF4",
                [
                    {
                        "CUR_CLM_UNIQ_ID": 1,
                        "BENE_MBI_ID": OLD,
                        "CLM_TYPE_CD": "40",
                        "CLM_PROD_TYPE_CD": "D",
                        "CLM_VAL_SQNC_NUM": 2,
                        "CLM_DGNS_CD": "I509",
                    }
                ],
            ),
            "CCLF5": records("CCLF5", [part_b(10, NEW, 30.0, "0", jan)]),
            "CCLF7": records("CCLF7", [part_d(20, NEW, "0", jan, 30.0)]),
            "CCLF8": records("CCLF8", [beneficiary(OLD), beneficiary(OTHER, BENE_SEX_CD="1")]),
        },
    )
    delivery(
        src,
        "D240229.T1200000",
        {
            "CCLF1": records(
                "CCLF1",
                [
                    header(3, NEW, 100.0, "1", feb),
                    header(4, NEW, 80.0, "2", feb),
                    header(5, NEW, 50.0, "1", feb, provider="100002"),
                ],
            ),
            "CCLF2": records(
                "CCLF2", [line(3, NEW, 100.0), line(4, NEW, 70.0), line(4, NEW, 0.0, number=2)]
            ),
            "CCLF4": records(
                "CCLF4",
                [
                    {
                        "CUR_CLM_UNIQ_ID": 4,
                        "BENE_MBI_ID": NEW,
                        "CLM_TYPE_CD": "40",
                        "CLM_PROD_TYPE_CD": "D",
                        "CLM_VAL_SQNC_NUM": 2,
                        "CLM_DGNS_CD": "I5022",
                    }
                ],
            ),
            "CCLF5": records("CCLF5", [part_b(11, NEW, 25.0, "2", feb)]),
            "CCLF7": records("CCLF7", [part_d(21, NEW, "1", feb, 30.0)]),
            "CCLF8": records(
                "CCLF8",
                [beneficiary(NEW, BENE_DUAL_STUS_CD="02"), beneficiary(OTHER, BENE_SEX_CD="1")],
            ),
            "CCLF9": records(
                "CCLF9",
                [
                    {
                        "HICN_MBI_XREF_IND": "M",
                        "CRNT_NUM": NEW,
                        "PRVS_NUM": OLD,
                        "PRVS_ID_EFCTV_DT": date(2024, 2, 1),
                    }
                ],
            ),
        },
    )
    return src
