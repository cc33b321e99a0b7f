"""PQI 07 / PQI 16 admissions: appended from their own stream, with the MS-DRGs, principal
diagnoses and amputation procedures AHRQ's lists count, at AHRQ's expected rate, and counted by
the quality engine in PQI 07 / 16 and the composites as AHRQ composes them."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from modeling.core.panel import Panel
from modeling.marts.quality.definitions import value_sets
from modeling.marts.quality.pqi import pqi_rows, pqi_stays
from modeling.synth import SynthSpec, generate
from modeling.synth.params import load_params
from modeling.synth.pqi_admissions import admission_table, expected_by_cell
from tests.modeling.marts.quality.builders import Book, D
from tests.modeling.synth.lines import appended_rows

SPEC = SynthSpec(members=4000, start_year=2023, years=2, seed=41)
HYPERTENSION = ("304", "305")
AMPUTATION = ("616", "617", "618", "239", "240", "241")


def _codes(value_set: str) -> set[str]:
    return set(value_sets().filter(pl.col("value_set") == value_set)["code"])


def test_rows_are_appended_and_every_other_row_stays_the_same():
    added = appended_rows(SPEC, load_params(), prefix="pqi_", id_letter="P")
    facility = added.filter(pl.col("bill_type_code") == "111", pl.col("claim_line_number") == 1)
    assert facility.height > 0 and facility["claim_id"].is_unique().all()
    assert set(facility["drg_code"]) <= {*HYPERTENSION, *AMPUTATION}
    ht = facility.filter(pl.col("drg_code").is_in(HYPERTENSION))
    amp = facility.filter(pl.col("drg_code").is_in(AMPUTATION))
    assert ht.height > 0 and amp.height > 0
    assert set(ht["diagnosis_code_1"]) <= _codes("ACSHYPD")
    assert ht["procedure_code_1"].is_null().all()  # no cardiac procedure (PQI 07's exclusion)
    assert set(amp["procedure_code_1"]) <= _codes("ACSLEAP")
    assert amp["diagnosis_code_1"].str.starts_with("E11").all()  # diabetes: $ACSLEAD


def test_expected_cells_are_ahrqs_model():
    p = expected_by_cell("pqi_07")
    assert p.shape == (14, 2) and (p > 0).all() and (p < 0.01).all()
    # AHRQ's hypertension rate rises with age: 85+ well above 65-69, for both sexes
    assert (p[13] > 2 * p[9]).all()
    shares = admission_table().group_by("measure_id").agg(pl.col("share").sum())
    assert np.allclose(shares["share"].to_numpy(), 1.0)


def test_hand_built_stays_count_in_pqi_07_16_and_the_composites(tmp_path):
    """A DRG 305 stay with principal I10 and a DRG 617 stay with E11621 and a below-knee
    amputation, as this line writes them: PQI 07 and PQI 16, each once in PQI 90 and PQI 92,
    the amputation also in PQI 93 (and PQI 03, its principal a long-term complication); neither
    in PQI 91 (acute)."""
    b = Book()
    b.member("A", gender="female", birth=D(1948, 5, 1))
    b.member("B", gender="male", birth=D(1950, 1, 1))
    b.stay("A", D(2024, 3, 1), D(2024, 3, 3), pdx="I10", drg="305")
    b.stay("B", D(2024, 6, 1), D(2024, 6, 7), pdx="E11621", drg="617", px=("0Y6H0Z2",))
    s = pqi_stays(b.panel(tmp_path), 2024).sort("person_id").collect()
    assert s["pqi_07"].to_list() == [True, False]
    assert s["pqi_16"].to_list() == [False, True]
    assert s["pqi_03"].to_list() == [False, True]
    assert s["pqi_90"].to_list() == [True, True]
    assert s["pqi_92"].to_list() == [True, True]
    assert s["pqi_93"].to_list() == [False, True]
    assert s["pqi_91"].to_list() == [False, False]


@pytest.fixture(scope="module")
def panel(tmp_path_factory) -> Panel:
    spec = SynthSpec(members=6000, start_year=2023, years=2, seed=43)
    return Panel(generate(spec, tmp_path_factory.mktemp("pqi") / "p"))


def test_the_engine_counts_the_lines_stays(panel):
    """Every stay of this line's DRGs is counted: hypertension in PQI 07, amputations in PQI 16,
    each in PQI 90 and 92 and never in 91; the composite counts a stay once."""
    s = pqi_stays(panel, 2024).collect()
    ht = s.filter(pl.col("drg_code").is_in(HYPERTENSION))
    amp = s.filter(pl.col("drg_code").is_in(AMPUTATION))
    assert ht.height > 0 and amp.height > 0
    assert ht["pqi_07"].all() and not ht["pqi_16"].any()
    assert amp["pqi_16"].all() and amp["pqi_93"].all() and not amp["pqi_07"].any()
    for part in (ht, amp):
        assert part["pqi_90"].all() and part["pqi_92"].all() and not part["pqi_91"].any()
    rows = pqi_rows(panel, 2024).group_by("measure_id").agg(pl.col("numerator").sum()).collect()
    n = dict(rows.iter_rows())
    assert n["pqi_07"] == ht.height and n["pqi_16"] == amp.height
    assert n["pqi_90"] == s.filter("pqi_90").height


def test_observed_over_expected_is_near_one(panel):
    """The line admits at AHRQ's expected rate: on two years of 6,000 members (about 15 PQI 07
    and 8 PQI 16 stays a year), O/E of both years pooled within Poisson noise of 1."""
    oe = {}
    for m in ("pqi_07", "pqi_16"):
        obs = exp = 0.0
        for year in (2023, 2024):
            r = (
                pqi_rows(panel, year)
                .filter(pl.col("measure_id") == m)
                .select(pl.col("numerator").sum(), pl.col("expected").sum())
                .collect()
            )
            obs, exp = obs + r[0, 0], exp + r[0, 1]
        oe[m] = (obs, exp)
    for obs, exp in oe.values():
        assert abs(obs - exp) < 3.5 * np.sqrt(exp) + 1, oe


def test_shares_that_do_not_add_up_are_a_parameter_error(monkeypatch):
    from modeling.errors import ParameterError
    from modeling.synth import pqi_admissions

    bad = admission_table().with_columns(
        pl.when(pl.col("drg_code") == "304").then(0.5).otherwise(pl.col("share")).alias("share")
    )
    monkeypatch.setattr(pqi_admissions, "read_table", lambda *a, **k: bad)
    pqi_admissions.admission_table.cache_clear()
    try:
        with pytest.raises(ParameterError, match="pqi_07"):
            pqi_admissions.admission_table()
    finally:
        pqi_admissions.admission_table.cache_clear()


def test_the_line_is_off_without_its_scale_row():
    import dataclasses
    from types import MappingProxyType

    params = load_params()
    off = dataclasses.replace(
        params,
        behaviour=MappingProxyType(
            {k: v for k, v in params.behaviour.items() if k != "pqi_admission_scale"}
        ),
    )
    from tests.modeling.synth.lines import one_chunk

    medical = one_chunk(SynthSpec(members=800, start_year=2023, years=1, seed=3), off)[
        "medical_claim"
    ]
    assert not medical["claim_id"].str.starts_with("P").any()
