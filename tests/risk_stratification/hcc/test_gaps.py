"""HCC recapture gaps."""

from __future__ import annotations

import polars as pl
import pytest

from modeling.errors import ParameterError
from risk_stratification.hcc.engine import score


def test_recapture_gaps_are_chronic_prior_year_hccs_missing_this_year(small_dataset):
    from modeling.core.conditions import risk_adjustment_diagnoses
    from risk_stratification.hcc.gaps import chronic_hccs, recapture_gaps
    from risk_stratification.hcc.inputs import hcc_inputs

    g = recapture_gaps(small_dataset, 2025, annual_base_rate=12_000.0)
    assert g.gaps.height > 0
    assert set(g.gaps["hcc"]) <= set(chronic_hccs("V28"))
    people, current_dx = hcc_inputs(small_dataset, 2025)
    current = score(people, current_dx, model="V28", payment_year=2025).hcc_terms.select(
        "person_id", pl.col("cc").alias("hcc")
    )
    assert g.gaps.join(
        current, on=["person_id", "hcc"], how="semi"
    ).is_empty()  # not documented this year
    prior = score(
        people,
        risk_adjustment_diagnoses(small_dataset.scan("medical_claim"), 2023).collect(),
        model="V28",
        payment_year=2025,
    )
    assert g.gaps.join(
        prior.hcc_terms.select("person_id", pl.col("cc").alias("hcc")),
        on=["person_id", "hcc"],
        how="anti",
    ).is_empty()
    assert (g.gaps["marginal_payment_score"] >= 0).all()
    assert g.gaps["annual_value"].to_list() == sorted(
        g.gaps["annual_value"].to_list(), reverse=True
    )
    assert (g.gaps["annual_value"] == (g.gaps["marginal_payment_score"] * 12_000.0).round(2)).all()
    assert g.by_provider["annual_value"].sum() == pytest.approx(g.by_person["annual_value"].sum())
    with pytest.raises(ParameterError, match="base rate"):
        recapture_gaps(small_dataset, 2025, annual_base_rate=0)
