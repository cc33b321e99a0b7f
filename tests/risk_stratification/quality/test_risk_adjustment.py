"""Risk adjustment of the outcome measures: O/E of the reference population, a differential
check of the logistic fit, prior-year risk factors, shrinkage and calibration."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from modeling.core.panel import Panel
from risk_stratification.quality import adjusted_results, risk_adjust
from risk_stratification.quality.risk_adjustment import _design, risk_factors
from tests.modeling.marts.quality.builders import Book, D


@pytest.fixture(scope="module")
def readmission(small_dataset):
    return risk_adjust(small_dataset, 2024, "readmission_30d", draws=50)


@pytest.mark.parametrize("measure_id", ["readmission_30d", "mortality_30d", "mcc_admissions"])
def test_the_reference_population_has_oe_one_by_construction(small_dataset, measure_id):
    r = risk_adjust(small_dataset, 2024, measure_id, draws=20)
    assert r.panel["observed_to_expected"][0] == pytest.approx(1.0, abs=1e-4)
    assert r.by_provider["observed"].sum() == pytest.approx(r.panel["observed"][0])
    assert r.calibration["events"].sum() == r.events.height


def test_logistic_fit_matches_an_independent_maximum_likelihood_fit(small_dataset, readmission):
    sm = pytest.importorskip("statsmodels.api")
    data = readmission.events.join(
        risk_factors(Panel(small_dataset), 2024), on="person_id", how="left"
    )
    x, names = _design(data, 20)
    assert tuple(names) == readmission.features
    keep = x.std(axis=0) > 0
    fit = sm.GLM(
        data["observed"].to_numpy(), sm.add_constant(x[:, keep]), family=sm.families.Binomial()
    ).fit()
    theirs = fit.predict(sm.add_constant(x[:, keep]))
    ours = readmission.events["expected"].to_numpy()
    assert np.abs(theirs - ours).max() < 0.02
    assert ours.sum() == pytest.approx(theirs.sum(), rel=1e-4)


def test_risk_factors_come_from_the_year_before_the_event(tmp_path):
    b = Book()
    b.member("A", birth=D(1950, 1, 1)).visit("A", D(2024, 3, 1), "99213", dx="E1122")
    b.member("B", birth=D(1950, 1, 1)).visit("B", D(2023, 3, 1), "99213", dx="E1122")
    f = risk_factors(b.panel(tmp_path), 2024).sort("person_id")
    hccs = dict(zip(f["person_id"], f["hccs"].to_list(), strict=True))
    assert hccs["A"] == []  # the event year's own diagnoses never enter
    assert len(hccs["B"]) > 0


def test_shrinkage_and_intervals(readmission):
    p = readmission.by_provider
    assert p["reliability"].is_between(0.0, 1.0).all()
    shrunk, raw = p["shrunken_oe"].to_numpy(), p["observed_to_expected"].to_numpy()
    w = p["reliability"].to_numpy()
    assert np.allclose(shrunk, w * raw + (1 - w))
    has = p.filter(pl.col("observed") > 0)
    assert (has["oe_ci_low"] <= has["observed_to_expected"] + 1e-9).all()
    assert (has["observed_to_expected"] <= has["oe_ci_high"] + 1e-9).all()
    assert readmission.c_statistic is not None and 0.5 < readmission.c_statistic < 1.0


def test_adjusted_results_fill_the_outcome_rows(small_dataset):
    results, fitted = adjusted_results(small_dataset, 2024, draws=20)
    row = results.filter(pl.col("measure_id") == "readmission_30d").row(0, named=True)
    assert row["observed_to_expected"] == pytest.approx(1.0, abs=1e-4)
    assert row["expected"] == pytest.approx(row["rate"], rel=1e-3)
    assert set(fitted) <= {"readmission_30d", "mortality_30d", "mcc_admissions"}
