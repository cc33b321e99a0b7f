"""AHRQ's exclusion lists as transcribed from PQI_AREA_FORMATS.SAS (v2025), each shown on a
hand-built stay whose code decides the result only with AHRQ's own list: a code in AHRQ's list
that the earlier approximations missed, and a code the approximations caught that AHRQ's list
does not hold."""

from __future__ import annotations

import polars as pl
import pytest

from modeling.marts.quality.definitions import value_sets
from modeling.marts.quality.pqi import pqi_stays
from tests.modeling.marts.quality.builders import Book, D

# (PQI, principal diagnosis, other diagnoses, procedures, counted?, why)
CASES = [
    ("pqi_08", "I509", (), ("0JH606Z",), False, "ACSCARP: dual-chamber pacemaker generator"),
    ("pqi_08", "I509", (), ("5A02210",), False, "ACSCARP: intra-aortic balloon pump"),
    ("pqi_08", "I509", (), ("02HV33Z",), True, "not ACSCARP: central line into the vena cava"),
    ("pqi_07", "I129", (), ("041K0JS",), False, "DIALY2P: femoral artery-to-vein access"),
    ("pqi_07", "I129", (), ("5A1D70Z",), True, "not DIALY2P: hemodialysis itself"),
    ("pqi_11", "J189", ("E43",), (), False, "IMMUNID: severe protein-calorie malnutrition"),
    ("pqi_11", "J189", ("T8611",), (), False, "IMMUNID: kidney transplant rejection"),
    ("pqi_11", "J189", ("Z21",), (), True, "not IMMUNID: asymptomatic HIV status"),
    ("pqi_11", "J189", (), ("3E03305",), False, "IMMUNIP: antineoplastic into a vein"),
    ("pqi_11", "J189", (), ("XW033C3",), False, "IMMUNIP: CAR-T cell immunotherapy"),
    ("pqi_12", "N390", ("N110",), (), False, "KIDNEY: chronic reflux pyelonephritis"),
    ("pqi_12", "N390", ("N289",), (), True, "not KIDNEY: kidney disorder, unspecified"),
    ("pqi_12", "N136", (), (), False, "ACSUTID's pyonephrosis is in KIDNEY too: excluded"),
    ("pqi_12", "N119", (), (), False, "not ACSUTID: chronic tubulo-interstitial nephritis"),
    ("pqi_12", "N3080", (), (), False, "not ACSUTID: other cystitis"),
    ("pqi_05", "J4489", (), (), False, "not ACCOPDD v2025: other specified COPD (FY2024 code)"),
    ("pqi_11", "J129", (), (), False, "not ACSBACD: viral pneumonia, unspecified"),
    ("pqi_16", "I70262", ("E1152",), ("0Y6M0Z0",), True, "ACSLEAP: foot detachment"),
    ("pqi_16", "I70262", ("E1152",), ("0Y6P0Z0",), False, "not ACSLEAP: toe detachment"),
    ("pqi_16", "A34", ("E1152",), ("0Y6M0Z0",), False, "MDC14PRINDX: obstetrical tetanus"),
    ("pqi_16", "O24119", ("E1152",), ("0Y6M0Z0",), False, "MDC14PRINDX: diabetes in pregnancy"),
    ("pqi_16", "Z3A10", ("E1152",), ("0Y6M0Z0",), True, "not MDC14PRINDX: weeks of gestation"),
]


@pytest.mark.parametrize(("pqi", "pdx", "dx", "px", "counted", "why"), CASES)
def test_ahrqs_own_list_decides(tmp_path, pqi, pdx, dx, px, counted, why):
    b = Book()
    b.member("A", gender="male", birth=D(1950, 1, 1))
    b.stay("A", D(2024, 3, 1), D(2024, 3, 5), pdx=pdx, dx=dx, px=px)
    stays = pqi_stays(b.panel(tmp_path), 2024).collect()
    assert stays[pqi].to_list() == [counted], why


def test_the_lists_are_transcribed_with_their_source():
    table = value_sets().filter(
        pl.col("value_set").is_in(
            [
                "ACSCARP",
                "ACSLEAP",
                "ACSUTID",
                "DIALY2P",
                "IMMUNID",
                "IMMUNIP",
                "KIDNEY",
                "MDC14PRINDX",
            ]
        )
    )
    counts = dict(table.group_by("value_set").len().iter_rows())
    assert counts == {
        "ACSCARP": 1969,
        "ACSUTID": 14,
        "ACSLEAP": 41,
        "DIALY2P": 120,
        "IMMUNID": 173,
        "IMMUNIP": 215,
        "KIDNEY": 76,
        "MDC14PRINDX": 2470,
    }
    assert set(table["match"]) == {"exact"} and set(table["status"]) == {"transcribed"}
    assert set(table["version"]) == {"v2025"}
    pcs = table.filter(pl.col("code_system") == "ICD-10-PCS")["code"]
    assert (pcs.str.len_chars() == 7).all()
