"""Plain-words drivers from SHAP contributions."""

from __future__ import annotations

import numpy as np
import polars as pl

from risk_stratification.ml.drivers import driver_words, top_drivers


def test_drivers_in_plain_words():
    assert driver_words("inpatient_stays", 3) == "3 inpatient stays in the last 12 months"
    assert driver_words("hcc_226", 1, {226: "Heart Failure"}) == "HCC 226 Heart Failure"
    assert driver_words("cost_total", 12345.6) == "$12,346 spent in the last 12 months"
    assert (
        driver_words("cc_diabetes", 1) == "diabetes"
        and driver_words("full_dual", 1) == "full Medicaid dual eligible"
    )
    frame = pl.DataFrame(
        {
            "person_id": ["x", "y"],
            "inpatient_stays": [3.0, 0.0],
            "age": [80.0, 70.0],
            "cost_total": [5e4, 100.0],
        }
    )
    contrib = np.array([[0.9, 0.1, 0.5, 0.0], [-0.2, 0.3, -0.1, 0.0]])
    d = top_drivers(contrib, frame, ["inpatient_stays", "age", "cost_total"], n=2)
    assert d["driver_1"].to_list() == ["3 inpatient stays in the last 12 months", "age 70"]
    assert d["driver_2"].to_list() == [
        "$50,000 spent in the last 12 months",
        None,
    ]  # only features that push risk up
    assert (
        driver_words("days_since_discharge", float("nan"))
        == "no hospital discharge in the last 12 months"
    )
    # ties go to the earlier feature, as a stable sort would; three drivers from three candidates
    tied = top_drivers(
        np.array([[0.2, 0.5, 0.5, 0.0]]),
        frame.head(1),
        ["inpatient_stays", "age", "cost_total"],
        n=3,
    )
    assert tied.row(0)[1::2] == (
        "age 80",
        "$50,000 spent in the last 12 months",
        "3 inpatient stays in the last 12 months",
    )
