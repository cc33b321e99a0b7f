from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from modeling.schema import DIAGNOSIS_COLUMNS
from modeling.synth import conditions as cond
from modeling.synth.params import load_params, v28_mapping


def test_reference_thresholds_are_computed_once_and_read_only():
    tau = cond.reference_thresholds()
    assert cond.reference_thresholds() is tau
    assert tau.shape == (len(load_params().conditions),)
    assert np.isfinite(tau).all()
    with pytest.raises(ValueError):
        tau[0] = 0.0


def test_documented_codes_cover_only_active_members_and_always_code_esrd():
    rng = np.random.default_rng(0)
    n_conditions = len(load_params().conditions)
    levels = np.ones((n_conditions, 6), dtype=np.int8)
    active = np.array([True, True, True, False, True, False])
    esrd = np.array([False, True, False, True, False, False])
    coded = cond.documented_codes(rng, levels, active=active, esrd=esrd, year=2024)
    assert set(coded["person"]) <= {0, 1, 2, 4}
    assert (coded["year"] == 2024).all()
    esrd_codes = coded.filter(pl.col("code").is_in(["N186", "Z992"]))
    assert esrd_codes.group_by("person").len().sort("person").rows() == [(1, 2)]


def test_recapture_gaps_exist(small_dataset):
    """Chronic HCC codes documented one year are sometimes missing the next (realistic incomplete re-coding)."""
    m = small_dataset.read("medical_claim")
    mapping = v28_mapping()
    dx = (
        m.select(
            "person_id", pl.col("claim_start_date").dt.year().alias("year"), *DIAGNOSIS_COLUMNS
        )
        .unpivot(index=["person_id", "year"], value_name="code")
        .drop_nulls("code")
        .filter(pl.col("code").is_in(list(mapping)))
        .select("person_id", "year", "code")
        .unique()
    )
    y1 = dx.filter(pl.col("year") == 2023)
    y2 = dx.filter(pl.col("year") == 2024)
    alive = y2.select("person_id").unique()
    carried = (
        y1.join(alive, on="person_id")
        .join(y2, on=["person_id", "code"], how="left", suffix="_2")
        .with_columns(pl.col("year_2").is_not_null().alias("recoded"))
    )
    rate = carried["recoded"].mean()
    assert 0.4 < rate < 0.95
