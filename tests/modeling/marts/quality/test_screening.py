"""Breast and colorectal cancer screening on hand-built members."""

from __future__ import annotations

from modeling.marts.quality.screening import breast_screening_rows, colorectal_screening_rows
from tests.modeling.marts.quality.builders import Book, D


def _met(frame) -> dict[str, float]:
    f = frame.collect().sort("person_id")
    return dict(zip(f["person_id"].to_list(), f["numerator"].to_list(), strict=True))


def test_breast_screening_window_ages_and_exclusions(tmp_path):
    b = Book()
    b.member("W1", birth=D(1964, 1, 1)).visit("W1", D(2022, 10, 1), "77067")  # first day of window
    b.member("W2", birth=D(1964, 1, 1)).visit("W2", D(2022, 9, 30), "77067")  # a day early
    b.member("W3", birth=D(1973, 1, 2))  # 51 at the end of 2024: too young
    b.member("W4", birth=D(1964, 1, 1)).visit("W4", D(2020, 1, 1), dx="Z9013")  # bilateral
    b.member("W5", birth=D(1964, 1, 1)).visit("W5", D(2021, 1, 1), dx="Z9011")
    b.visit("W5", D(2022, 1, 1), dx="Z9012")  # right, then left: both sides
    b.member("W6", birth=D(1964, 1, 1)).visit("W6", D(2021, 1, 1), dx="Z9011")  # one side only
    b.member("W7", birth=D(1964, 1, 1), start=D(2024, 3, 1))  # 10 months in 2024
    b.member("W8", birth=D(1964, 1, 1)).hospice("W8", D(2024, 5, 1))
    b.member("M1", gender="male", birth=D(1964, 1, 1)).visit("M1", D(2024, 1, 1), "77067")
    b.member("W9", birth=D(1964, 1, 1)).visit("W9", D(2024, 1, 1), "77067", dx="Z1231")
    b.stay("W9", D(2024, 2, 1), D(2024, 2, 2), px=("0HTV0ZZ",))  # bilateral resection (PCS)
    got = _met(breast_screening_rows(b.panel(tmp_path), 2024))
    assert got == {"W1": 1.0, "W2": 0.0, "W6": 0.0}


def test_colorectal_tests_each_look_back_their_own_years(tmp_path):
    b = Book()
    b.member("C1", birth=D(1960, 1, 1), start=D(2014, 1, 1)).visit("C1", D(2015, 1, 1), "45378")
    b.member("C2", birth=D(1960, 1, 1), start=D(2014, 1, 1)).visit("C2", D(2014, 12, 31), "45378")
    b.member("C3", birth=D(1960, 1, 1)).visit("C3", D(2023, 6, 1), "82270")  # FOBT last year
    b.member("C4", birth=D(1960, 1, 1)).visit("C4", D(2022, 1, 1), "81528")  # FIT-DNA 2 back
    b.member("C5", birth=D(1960, 1, 1)).visit("C5", D(2024, 3, 1), "82270")  # FOBT this year
    b.member("C6", birth=D(1979, 6, 1))  # 45 at the end of 2024
    b.member("C7", birth=D(1960, 1, 1)).visit("C7", D(2023, 1, 1), dx="C189")  # colon cancer
    b.member("C8", birth=D(1960, 1, 1)).visit("C8", D(2020, 1, 1), "45330")  # sigmoidoscopy 4 back
    got = _met(colorectal_screening_rows(b.panel(tmp_path), 2024))
    assert got == {"C1": 1.0, "C2": 0.0, "C3": 0.0, "C4": 1.0, "C5": 1.0, "C8": 1.0}
