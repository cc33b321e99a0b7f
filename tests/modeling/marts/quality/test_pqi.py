"""PQIs on hand-built members: which stays count, exposure and AHRQ's expected rates."""

from __future__ import annotations

import math

import polars as pl

from modeling.marts.quality.pqi import pqi_rows, pqi_stays
from tests.modeling.marts.quality.builders import Book, D, of


def _book() -> Book:
    b = Book()
    b.member("A", gender="female", birth=D(1950, 6, 1))
    b.stay("A", D(2024, 3, 1), D(2024, 3, 5), pdx="I509")  # heart failure: PQI 08
    b.stay("A", D(2024, 4, 1), D(2024, 4, 3), pdx="J189", source="4")  # transfer in: excluded
    b.stay("A", D(2024, 5, 1), D(2024, 5, 3), pdx="J189", dx=("B20",))  # immunocompromised
    b.stay("A", D(2024, 6, 1), D(2024, 6, 3), pdx="I10", px=("02703ZZ",))  # cardiac procedure
    b.stay("A", D(2024, 7, 1), D(2024, 7, 3), pdx="I10")  # hypertension: PQI 07
    b.stay("A", D(2024, 8, 1), D(2024, 8, 3), pdx="E1165", drg="999")  # ungroupable: excluded
    b.stay("A", D(2024, 9, 1), D(2024, 9, 3), pdx="N390")  # UTI: PQI 12
    b.member("B", gender="male", birth=D(1994, 1, 1))  # 30: asthma counts in PQI 15
    b.stay("B", D(2024, 2, 1), D(2024, 2, 2), pdx="J4521")
    b.member("C", gender="male", birth=D(1954, 1, 1))  # 70: asthma counts in PQI 05
    b.stay("C", D(2024, 2, 1), D(2024, 2, 2), pdx="J4521")
    b.stay("C", D(2024, 3, 1), D(2024, 3, 9), pdx="I70262", dx=("E1152",), px=("0Y6M0Z0",))
    b.stay(
        "C", D(2024, 5, 1), D(2024, 5, 9), pdx="I70262", dx=("E1152", "S98011A"), px=("0Y6M0Z0",)
    )
    b.member("D", gender="male", birth=D(1950, 1, 1), start=D(2024, 7, 1), end=D(2024, 12, 31))
    return b


def test_stays_count_by_principal_diagnosis_with_ahrqs_exclusions(tmp_path):
    s = pqi_stays(_book().panel(tmp_path), 2024).collect().sort("person_id", "admission_date")
    a = s.filter(pl.col("person_id") == "A")
    assert a["pqi_08"].to_list() == [True, False, False, False, False, False, False]
    assert a["pqi_11"].to_list() == [False] * 7  # transfer and immunocompromised both excluded
    assert a["pqi_07"].to_list() == [False, False, False, False, True, False, False]
    assert a["pqi_14"].to_list() == [False] * 7  # DRG 999
    assert a["pqi_12"].to_list() == [False] * 6 + [True]
    assert a["pqi_90"].sum() == 3 and a["pqi_91"].sum() == 1 and a["pqi_92"].sum() == 2
    b = s.filter(pl.col("person_id") == "B")
    assert b["pqi_15"].to_list() == [True] and b["pqi_05"].to_list() == [False]
    c = s.filter(pl.col("person_id") == "C")
    assert c["pqi_05"].to_list() == [True, False, False]
    assert c["pqi_16"].to_list() == [False, True, False]  # the second has a traumatic amputation
    assert c["pqi_93"].to_list() == [False, True, False]


def test_exposure_is_member_months_over_twelve_and_numerators_count_stays(tmp_path):
    r = pqi_rows(_book().panel(tmp_path), 2024).collect()
    p90 = of(r, "pqi_90")
    assert p90["denominator"].to_list() == [1.0, 1.0, 1.0, 0.5]
    assert p90["numerator"].to_list() == [3.0, 1.0, 2.0, 0.0]  # B: PQI 15 is in 90
    p15 = of(r, "pqi_15")
    assert p15["person_id"].to_list() == ["B"]  # only member B is 18-39
    p05 = of(r, "pqi_05")
    assert p05["person_id"].to_list() == ["A", "C", "D"]


def test_expected_is_ahrqs_age_sex_logit_summed_over_months(tmp_path):
    r = of(pqi_rows(_book().panel(tmp_path), 2024).collect(), "pqi_08")
    # woman born 1950-06-01 is 73 then 74 in 2024: AGECAT11 (70-74) all year
    logit = -3.249178265216 - 0.136722336531 - 1.384920138431 - 0.127338832599
    assert math.isclose(r["expected"][0], 1 / (1 + math.exp(-logit)), rel_tol=1e-9)
    # man born 1950-01-01, six months at 74: half a person-year of AGECAT11, male
    logit_d = -3.249178265216 - 1.384920138431
    assert math.isclose(r["expected"][3], 0.5 / (1 + math.exp(-logit_d)), rel_tol=1e-9)
    # PQI 15's reference cell is ages 35-39; member B is 30 (AGECAT3), male
    p15 = of(pqi_rows(_book().panel(tmp_path / "b"), 2024).collect(), "pqi_15")
    logit_b = -8.862501913944 + 0.061223368173
    assert math.isclose(p15["expected"][0], 1 / (1 + math.exp(-logit_b)), rel_tol=1e-9)
