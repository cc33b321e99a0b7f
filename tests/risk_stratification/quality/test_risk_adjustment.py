"""Risk adjustment of the outcome measures: O/E of the reference population, a differential
check of the logistic fit, prior-year risk factors, shrinkage and calibration."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from modeling.core.panel import Panel
from modeling.marts.quality.base import attributed_practice
from risk_stratification.quality import RiskAdjusted, adjusted_results, by_unit, risk_adjust
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


def _fitted(events: pl.DataFrame) -> RiskAdjusted:
    """A ``RiskAdjusted`` holding only hand-set events (the pooling reads nothing else)."""
    empty = pl.DataFrame()
    return RiskAdjusted(
        measure_id="readmission_30d",
        year=2024,
        model="logistic",
        features=(),
        events=events,
        by_provider=empty,
        panel=empty,
        calibration=empty,
        c_statistic=None,
        panel_rate_draws=np.zeros(1),
    )


def test_pooling_by_practice_sums_observed_and_expected_over_its_providers():
    # practice T1: provider A (4 stays, 1 readmission, E 0.5: O/E 2) and provider B (6 stays,
    # none, E 1.5: O/E 0); the average of their ratios is 1, the pooled O/E is 1 / 2.0 = 0.5.
    # Provider D has one patient in T1 and one in T2: each stay goes to its person's practice.
    # practice T2: provider C (2 stays, 1 readmission, E 0.5) and D's second patient (0, E 0.5):
    # O/E 1 / 1.0. P99 has no practice: unattributed.
    rows = [
        ("a1", "A", 1, 0.1), ("a2", "A", 0, 0.1), ("a3", "A", 0, 0.1), ("a4", "A", 0, 0.2),
        *[(f"b{i}", "B", 0, 0.25) for i in range(6)],
        ("c1", "C", 1, 0.25), ("c2", "C", 0, 0.25),
        ("d1", "D", 1, 0.5), ("d2", "D", 0, 0.5),
        ("P99", "unattributed", 1, 0.4),
    ]  # fmt: skip
    events = pl.DataFrame(
        rows, schema=["person_id", "provider_npi", "observed", "expected"], orient="row"
    ).with_columns(pl.lit(1.0).alias("exposure"))
    practice = {p: "T1" for p in ("a1", "a2", "a3", "a4", "d1", *(f"b{i}" for i in range(6)))}
    practice |= {"c1": "T2", "c2": "T2", "d2": "T2"}
    units = pl.DataFrame({"person_id": list(practice), "provider_tin": list(practice.values())})
    pooled = by_unit(_fitted(events), units, draws=20).sort("provider_tin")
    got = {r["provider_tin"]: r for r in pooled.iter_rows(named=True)}
    assert set(got) == {"T1", "T2", "unattributed"}
    t1, t2 = got["T1"], got["T2"]
    assert (t1["providers"], t1["events"], t1["observed"]) == (3, 11, 2)  # A, B and D's d1
    assert t1["expected"] == pytest.approx(0.5 + 1.5 + 0.5)
    assert t1["observed_to_expected"] == pytest.approx(2 / 2.5)
    assert (t2["providers"], t2["events"], t2["observed"]) == (2, 3, 1)
    assert t2["observed_to_expected"] == pytest.approx(1 / 1.0)
    assert got["unattributed"]["observed_to_expected"] == pytest.approx(1 / 0.4)
    # never the mean of the providers' ratios (A 2, B 0, D's d1 2: mean 4/3)
    assert t1["observed_to_expected"] != pytest.approx((2 + 0 + 2) / 3)
    assert pooled["observed"].sum() == events["observed"].sum()


def test_pooled_practices_add_up_their_providers_on_the_panel(small_dataset, readmission):
    practices = attributed_practice(Panel(small_dataset), 2024).collect()
    pooled = by_unit(readmission, practices, draws=20)
    npi_tin = (
        pl.scan_parquet(small_dataset.path / "provider_attribution.parquet")
        .filter(pl.col("year") == 2024)
        .select("provider_npi", "provider_tin")
        .unique()
        .collect()
    )
    assert npi_tin["provider_npi"].is_unique().all()  # the generator: one practice per PCP
    summed = (
        readmission.by_provider.join(npi_tin, on="provider_npi", how="left")
        .with_columns(pl.col("provider_tin").fill_null("unattributed"))
        .group_by("provider_tin")
        .agg(
            pl.len().alias("n"),
            pl.col("events").sum().alias("ev"),
            pl.col("observed").sum().alias("o"),
            pl.col("expected").sum().alias("e"),
        )
    )
    both = pooled.join(summed, on="provider_tin", how="full", coalesce=True)
    assert both.height == pooled.height == summed.height
    assert (both["providers"] == both["n"]).all() and (both["events"] == both["ev"]).all()
    assert np.allclose(both["observed"], both["o"]) and np.allclose(both["expected"], both["e"])
    assert np.allclose(both["observed_to_expected"], both["o"] / both["e"])
    assert pooled["expected"].sum() == pytest.approx(readmission.panel["expected"][0])


def test_the_comparisons_do_not_depend_on_row_order(small_dataset, readmission):
    """Joins and group-bys keep no row order; the bootstrap weights rows by position, so the
    rows are put in one order first: the same figures every run, whatever order came in."""
    again = risk_adjust(small_dataset, 2024, "readmission_30d", draws=50)
    assert again.events.equals(readmission.events)
    assert again.by_provider.equals(readmission.by_provider)
    assert again.calibration.equals(readmission.calibration)
    practices = attributed_practice(Panel(small_dataset), 2024).collect()
    pooled = by_unit(readmission, practices, draws=20).sort("provider_tin")
    shuffled = RiskAdjusted(
        **{
            **readmission.__dict__,
            "events": readmission.events.sample(fraction=1.0, shuffle=True, seed=3),
        }
    )
    assert not shuffled.events.equals(readmission.events)
    reordered = by_unit(shuffled, practices.reverse(), draws=20).sort("provider_tin")
    assert reordered.equals(pooled)
