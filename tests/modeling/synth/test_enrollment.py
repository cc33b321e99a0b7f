from __future__ import annotations

import datetime as dt

import numpy as np
import polars as pl

from modeling.synth.enrollment import YearFrame, covered, year_frame
from modeling.synth.params import load_params
from modeling.synth.people import NEVER, make_people


def _frame(days: int, gap_start: int, gap_len: int) -> YearFrame:
    one = lambda v, dtype=np.int64: np.array([v], dtype=dtype)  # noqa: E731
    yf = YearFrame(
        2024,
        one(True, bool),
        one(100),
        one(100 + days + gap_len - 1),
        one(gap_start),
        one(gap_len),
        one(0),
        np.zeros(1),
        np.array([70.0]),
        one(False, bool),
    )
    yf.refresh_days()
    return yf


def test_service_dates_skip_the_enrollment_gap():
    yf = _frame(days=10, gap_start=105, gap_len=20)
    assert yf.days.tolist() == [10]
    rng = np.random.default_rng(0)
    dates = yf.dates(rng, np.zeros(2_000, dtype=np.int64))
    assert set(dates.tolist()) == set(range(100, 105)) | set(range(125, 130))


def test_year_frame_spans_lie_in_the_year_and_exclude_gaps():
    params = load_params()
    rng = np.random.default_rng(3)
    people = make_people(rng, 3_000, 2024, 2, 10, 10)
    yf = year_frame(rng, people, 2025, params)
    jan1, dec31 = 20089, 20453  # 2025-01-01, 2025-12-31
    a = yf.active
    assert (yf.start[a] >= jan1).all() and (yf.end[a] <= dec31).all()
    assert (yf.days[~a] == 0).all() and (yf.days <= 365).all()
    gap = a & (yf.gap_start < NEVER)
    assert gap.any()
    assert (yf.days[gap] == yf.end[gap] - yf.start[gap] + 1 - yf.gap_len[gap]).all()
    assert np.allclose(yf.exposure, yf.days / 365.0)


def test_covered_keeps_only_services_inside_an_enrollment_span():
    d = dt.date
    eligibility = pl.DataFrame(
        {
            "person_id": ["a", "a", "b"],
            "enrollment_start_date": [d(2024, 1, 1), d(2024, 6, 1), d(2024, 1, 1)],
            "enrollment_end_date": [d(2024, 3, 31), d(2024, 12, 31), d(2024, 1, 31)],
        }
    )
    claims = pl.DataFrame(
        {
            "person_id": ["a", "a", "a", "b", "b"],
            "claim_start_date": [
                d(2024, 2, 1),
                d(2024, 4, 15),
                d(2024, 7, 1),
                d(2024, 1, 31),
                d(2024, 2, 1),
            ],
            "n": [1, 2, 3, 4, 5],
        }
    )
    assert covered(claims, eligibility, "claim_start_date")["n"].to_list() == [1, 3, 4]
