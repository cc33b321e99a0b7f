"""Readmission, mortality, length of stay, follow-up and reconciliation on hand-built members."""

from __future__ import annotations

import polars as pl

from modeling.marts.quality.hospital import (
    alos_rows,
    followup_rows,
    mcc_rows,
    mortality_rows,
    mrp_rows,
    readmission_rows,
)
from tests.modeling.marts.quality.builders import Book, D


def _by_stay(frame: pl.LazyFrame) -> dict[str, float]:
    f = frame.collect()
    return dict(zip(f["stay_id"].to_list(), f["numerator"].to_list(), strict=True))


def test_index_stays_and_unplanned_readmissions(tmp_path):
    b = Book()
    b.member("R1", birth=D(1950, 1, 1))
    b.stay("R1", D(2024, 1, 10), D(2024, 1, 15))
    b.stay("R1", D(2024, 2, 1), D(2024, 2, 5))  # 17 days later: readmission
    b.member("R2", birth=D(1950, 1, 1))
    b.stay("R2", D(2024, 3, 1), D(2024, 3, 3))
    b.stay("R2", D(2024, 3, 20), D(2024, 3, 22), admit_type="3")  # elective: planned
    b.member("R3", birth=D(1950, 1, 1))
    b.stay("R3", D(2024, 4, 1), D(2024, 4, 3), disposition="02")  # transferred: not an index
    b.stay("R3", D(2024, 6, 1), D(2024, 6, 3), disposition="20")  # died: not an index
    b.member("Y", birth=D(1961, 1, 1))  # 63: outside the 65+ cohort
    b.stay("Y", D(2024, 4, 1), D(2024, 4, 3))
    b.member("Z", birth=D(1950, 1, 1))  # run-out: the data end on 2025-03-31
    b.stay("Z", D(2025, 3, 25), D(2025, 3, 31))
    got = _by_stay(readmission_rows(b.panel(tmp_path), 2024))
    assert got == {
        "R1:2024-01-10": 1.0,
        "R1:2024-02-01": 0.0,
        "R2:2024-03-01": 0.0,
        "R2:2024-03-20": 0.0,
    }


def test_death_within_30_days_of_the_first_admission(tmp_path):
    b = Book()
    b.member("M1", birth=D(1950, 1, 1), death=D(2024, 3, 25))
    b.stay("M1", D(2024, 3, 1), D(2024, 3, 10))
    b.member("M2", birth=D(1950, 1, 1), death=D(2024, 4, 15))
    b.stay("M2", D(2024, 3, 1), D(2024, 3, 10))  # 45 days: survived the window
    b.stay("M2", D(2024, 4, 1), D(2024, 4, 10))  # not the first stay of the year
    got = _by_stay(mortality_rows(b.panel(tmp_path), 2024))
    assert got == {"M1:2024-03-01": 1.0, "M2:2024-03-01": 0.0}


def test_length_of_stay_expected_from_the_same_drg_so_panel_oe_is_one(tmp_path):
    b = Book()
    b.member("L1", birth=D(1950, 1, 1)).member("L2", birth=D(1950, 1, 1))
    b.stay("L1", D(2024, 1, 1), D(2024, 1, 3), drg="193")  # 2 days
    b.stay("L2", D(2024, 2, 1), D(2024, 2, 7), drg="193")  # 6 days
    b.stay("L2", D(2024, 5, 1), D(2024, 5, 11), drg="291")  # 10 days
    b.stay("L1", D(2024, 6, 1), D(2024, 6, 5), drg="291", disposition="20")  # died: excluded
    f = alos_rows(b.panel(tmp_path), 2024).collect().sort("stay_id")
    assert f["numerator"].to_list() == [2.0, 6.0, 10.0]
    assert f["expected"].to_list() == [4.0, 4.0, 10.0]
    assert f["numerator"].sum() / f["expected"].sum() == 1.0


def test_followup_windows_start_the_day_after_discharge(tmp_path):
    b = Book()
    for pid in ("F1", "F2", "F3", "F4", "F5", "F6"):
        b.member(pid, birth=D(1950, 1, 1))
    b.stay("F1", D(2024, 4, 5), D(2024, 4, 10)).visit("F1", D(2024, 4, 15))
    b.stay("F2", D(2024, 4, 25), D(2024, 5, 1)).visit("F2", D(2024, 5, 12))
    b.stay("F3", D(2024, 5, 28), D(2024, 6, 1)).visit("F3", D(2024, 6, 1))  # same day: no
    b.stay("F4", D(2024, 6, 28), D(2024, 7, 1)).stay("F4", D(2024, 7, 5), D(2024, 7, 8))
    b.stay("F5", D(2024, 8, 1), D(2024, 8, 4), disposition="03")  # to a SNF: not eligible
    b.stay("F6", D(2024, 8, 1), D(2024, 8, 4)).hospice("F6", D(2024, 9, 1))  # hospice
    b.visit("F6", D(2024, 8, 6))
    b.member("G", birth=D(1950, 1, 1)).stay("G", D(2024, 12, 20), D(2024, 12, 28))  # no run-out
    b.member("E", birth=D(1950, 1, 1)).visit("E", D(2025, 1, 6))  # the data end on 2025-01-06
    panel = b.panel(tmp_path)
    seven = _by_stay(followup_rows(panel, 2024, days=7))
    fourteen = _by_stay(followup_rows(panel, 2024, days=14))
    # G's discharge is 9 days before the data end: in the 7-day measure, not the 14-day one
    assert seven.pop("G:2024-12-20") == 0.0 and "G:2024-12-20" not in fourteen
    # F4's first stay is followed by a readmission inside both windows: excluded; its second
    # stay (discharged 07-08) has no visit
    assert seven == {
        "F1:2024-04-05": 1.0,
        "F2:2024-04-25": 0.0,
        "F3:2024-05-28": 0.0,
        "F4:2024-07-05": 0.0,
    }
    assert fourteen == {
        "F1:2024-04-05": 1.0,
        "F2:2024-04-25": 1.0,
        "F3:2024-05-28": 0.0,
        "F4:2024-07-05": 0.0,
    }


def test_medication_reconciliation_from_discharge_through_30_days(tmp_path):
    b = Book()
    b.member("M1", birth=D(1950, 1, 1)).member("M2", birth=D(1950, 1, 1))
    b.stay("M1", D(2024, 7, 25), D(2024, 8, 1)).visit("M1", D(2024, 8, 31), "1111F")
    b.stay("M2", D(2024, 7, 25), D(2024, 8, 1)).visit("M2", D(2024, 9, 1), "99495")  # day 31
    b.stay("M2", D(2024, 12, 1), D(2024, 12, 5)).visit("M2", D(2024, 12, 6), "99496")  # after Dec 1
    assert _by_stay(mrp_rows(b.panel(tmp_path), 2024)) == {
        "M1:2024-07-25": 1.0,
        "M2:2024-07-25": 0.0,
    }


def test_mcc_cohort_needs_two_conditions_coded_the_year_before(tmp_path):
    b = Book()
    b.member("C2", birth=D(1950, 1, 1)).member("C1", birth=D(1950, 1, 1))
    b.visit("C2", D(2023, 3, 1), dx="I509").visit("C2", D(2023, 4, 1), dx="E119")
    b.visit("C1", D(2023, 3, 1), dx="I509")
    b.stay("C2", D(2024, 2, 1), D(2024, 2, 3)).stay(
        "C2", D(2024, 6, 1), D(2024, 6, 3), admit_type="3"
    )
    b.stay("C1", D(2024, 2, 1), D(2024, 2, 3))
    f = mcc_rows(b.panel(tmp_path), 2024).collect()
    assert f.to_dicts() == [{"person_id": "C2", "denominator": 1.0, "numerator": 1.0}]
