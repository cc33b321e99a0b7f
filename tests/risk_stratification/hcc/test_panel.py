"""A dataset's panel scored for a payment year."""

from __future__ import annotations

import polars as pl
import pytest


def test_panel_scores_from_claims(small_dataset):
    from risk_stratification.hcc.inputs import hcc_inputs
    from risk_stratification.hcc.panel import score_panel

    people, diagnoses = hcc_inputs(small_dataset, 2024)
    assert people["person_id"].is_unique().all()
    assert set(diagnoses["person_id"]) <= set(small_dataset.read("medical_claim")["person_id"])
    result = score_panel(small_dataset, 2025)  # V24 and V28 blended
    s = result.scores
    assert {
        "raw_V24",
        "raw_V28",
        "normalized_V24",
        "normalized_V28",
        "blended_score",
        "payment_score",
    } <= set(s.columns)
    # members with ESRD are paid with the ESRD model, which has no sourced 2025 normalization factor
    esrd = set(people.filter(pl.col("esrd"))["person_id"]) & set(s["person_id"])
    assert esrd and set(s.filter(pl.col("payment_score").is_null())["person_id"]) == esrd
    assert (
        s.filter(pl.col("person_id").is_in(list(esrd)))["payment_model"]
        .str.ends_with("(no 2025 normalization factor)")
        .all()
    )
    assert (s.filter(pl.col("payment_model") == "CMS-HCC")["payment_score"] > 0).all()
    assert (s["blended_score"] > 0).all()
    assert (
        result.by_model["ESRD_V24"]
        .scores["segment"]
        .is_in(["DI", "DNE", "TRANSPLANT", "GFA", "GFN", "GNPA", "GNPN", "GI", "GNE"])
        .all()
    )
    # members with no eligible diagnoses still get demographic scores
    no_dx = s.filter(pl.col("hccs_V28").list.len() == 0)
    assert no_dx.height > 0 and (no_dx["raw_V28"] > 0).all()
    # every HCC point is explained by diagnosis codes
    v28 = result.by_model["V28"]
    assert v28.hcc_terms.join(v28.diagnoses, on=["person_id", "cc"], how="anti").is_empty()
    some = v28.hcc_terms["person_id"][0]
    lines = v28.explain(some)
    total = v28.scores.filter(pl.col("person_id") == some)["raw_score"].item()
    assert lines["coefficient"].sum() == pytest.approx(total, abs=1e-9)


def test_payment_year_without_data_is_a_clear_error(small_dataset):
    from modeling.errors import DatasetError
    from risk_stratification.hcc.panel import score_panel

    with pytest.raises(DatasetError, match="needs claims and enrollment from 2026"):
        score_panel(small_dataset, 2027)


def test_scorable_payment_years(small_dataset):
    from risk_stratification.hcc.panel import scorable_payment_years

    assert scorable_payment_years(small_dataset) == [2024, 2025]  # data 2023-2024
