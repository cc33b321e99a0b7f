"""The readmission model's discharges."""

from __future__ import annotations


def test_discharges_in_a_fixed_order_so_the_readmission_model_repeats(small_dataset):
    from risk_stratification.ml.readmission import discharges, fit_readmission

    stays = discharges(small_dataset, 2024)
    assert stays.height > 50
    assert stays.equals(stays.sort("person_id", "admission_date", "discharge_date"))
    # the same rows shuffled, then read again: the same trees
    shuffled = stays.sample(fraction=1.0, shuffle=True, seed=3).sort(
        "person_id", "admission_date", "discharge_date"
    )
    assert fit_readmission(stays).model_to_string() == fit_readmission(shuffled).model_to_string()
