"""Features on hand-built claims, no look-ahead, the modeling frame's temporal pairing."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from modeling.dataset import write_dataset
from modeling.schema import ELIGIBILITY, MEDICAL_CLAIM, PHARMACY_CLAIM
from risk_stratification.ml.features import feature_names, features, modeling_frame, outcomes

D = dt.date


def _rows(schema, rows, **defaults):
    base = {c: None for c in schema.names}
    return pl.DataFrame([dict(base, **defaults, **r) for r in rows], schema=schema.polars_schema)


@pytest.fixture(scope="module")
def hand_built(tmp_path_factory):
    """Two members enrolled 2023-2025. A: diabetic (E11.22) with an emergency admission in
    March 2024 (5 days), an ED visit in October 2024, two fills of two drugs in 2024, spending
    in 2023, and an admission in 2025. B: healthy, one office visit in 2024."""
    elig = _rows(
        ELIGIBILITY,
        [
            dict(
                person_id="A",
                gender="female",
                birth_date=D(1950, 6, 1),
                enrollment_start_date=D(2023, 1, 1),
                enrollment_end_date=D(2025, 12, 31),
                original_reason_entitlement_code="0",
                dual_status_code="NA",
                medicare_status_code="10",
            ),
            dict(
                person_id="B",
                gender="male",
                birth_date=D(1955, 3, 1),
                enrollment_start_date=D(2023, 1, 1),
                enrollment_end_date=D(2025, 12, 31),
                original_reason_entitlement_code="0",
                dual_status_code="02",
                medicare_status_code="10",
            ),
        ],
        payer="medicare",
        payer_type="medicare",
        plan="ffs",
    )
    office = dict(claim_type="professional", place_of_service_code="11", hcpcs_code="99214")
    inpatient = dict(
        claim_type="institutional",
        bill_type_code="111",
        revenue_center_code="0100",
        admit_type_code="1",
        discharge_disposition_code="01",
    )
    claims = _rows(
        MEDICAL_CLAIM,
        [
            dict(
                claim_id="a1",
                person_id="A",
                claim_start_date=D(2023, 5, 1),
                claim_end_date=D(2023, 5, 1),
                paid_amount=400.0,
                diagnosis_code_1="E1122",
                **office,
            ),
            dict(
                claim_id="a2",
                person_id="A",
                claim_start_date=D(2024, 2, 1),
                claim_end_date=D(2024, 2, 1),
                paid_amount=150.0,
                diagnosis_code_1="E1122",
                **office,
            ),
            dict(
                claim_id="a3",
                person_id="A",
                claim_start_date=D(2024, 3, 10),
                claim_end_date=D(2024, 3, 15),
                admission_date=D(2024, 3, 10),
                discharge_date=D(2024, 3, 15),
                paid_amount=12000.0,
                diagnosis_code_1="I5022",
                drg_code="291",
                **inpatient,
            ),
            dict(
                claim_id="a4",
                person_id="A",
                claim_type="institutional",
                bill_type_code="131",
                revenue_center_code="0450",
                hcpcs_code="99284",
                claim_start_date=D(2024, 10, 2),
                claim_end_date=D(2024, 10, 2),
                paid_amount=900.0,
                diagnosis_code_1="R0602",
            ),
            dict(
                claim_id="a5",
                person_id="A",
                claim_start_date=D(2025, 4, 1),
                claim_end_date=D(2025, 4, 6),
                admission_date=D(2025, 4, 1),
                discharge_date=D(2025, 4, 6),
                paid_amount=15000.0,
                diagnosis_code_1="I5022",
                drg_code="291",
                **inpatient,
            ),
            dict(
                claim_id="b1",
                person_id="B",
                claim_start_date=D(2024, 6, 1),
                claim_end_date=D(2024, 6, 1),
                paid_amount=120.0,
                diagnosis_code_1="Z0000",
                **office,
            ),
        ],
        claim_line_number=1,
        payer="medicare",
        plan="ffs",
    )
    rx = _rows(
        PHARMACY_CLAIM,
        [
            dict(
                claim_id="r1",
                person_id="A",
                dispensing_date=D(2024, 1, 5),
                ndc_code="99000000001",
                paid_amount=50.0,
            ),
            dict(
                claim_id="r2",
                person_id="A",
                dispensing_date=D(2024, 2, 5),
                ndc_code="99000000001",
                paid_amount=50.0,
            ),
            dict(
                claim_id="r3",
                person_id="A",
                dispensing_date=D(2024, 3, 5),
                ndc_code="99000000002",
                paid_amount=200.0,
            ),
            dict(
                claim_id="r4",
                person_id="A",
                dispensing_date=D(2025, 3, 5),
                ndc_code="99000000002",
                paid_amount=999.0,
            ),
        ],
        claim_line_number=1,
        payer="medicare",
        plan="ffs",
        quantity=30.0,
        days_supply=30,
    )
    return write_dataset(
        tmp_path_factory.mktemp("hand") / "ds",
        {"eligibility": elig, "medical_claim": claims, "pharmacy_claim": rx},
        source={"kind": "test"},
    )


def test_features_on_hand_built_claims(hand_built):
    f = {r["person_id"]: r for r in features(hand_built, 2024).iter_rows(named=True)}
    a, b = f["A"], f["B"]
    assert (
        a["inpatient_stays"] == 1
        and a["inpatient_days"] == 5
        and a["days_since_discharge"] == (D(2024, 12, 31) - D(2024, 3, 15)).days
    )
    assert a["ed_visits"] == 1 and a["ed_visits_last_6_months"] == 1 and a["readmissions"] == 0
    assert a["pharmacy_fills"] == 3 and a["distinct_drugs"] == 2 and a["cost_pharmacy"] == 300.0
    assert a["cost_medical"] == 150.0 + 12000.0 + 900.0 and a["cost_total"] == 13350.0
    assert a["cost_acute_inpatient"] == 12000.0 and a["cost_emergency_department"] == 900.0
    assert a["cost_prior_year"] == 400.0 and a["cost_change"] == 13350.0 - 400.0
    assert (
        a["hcc_37"] == 1 and a["cc_diabetes"] == 1 and a["hcc_count"] >= 1
    )  # E11.22 -> V28 HCC 37; CCW diabetes
    assert (
        a["age"] == 74 and a["female"] == 1 and a["months_enrolled"] == 12
    )  # age on Feb 1 2025 (payment year of the HCCs)
    assert (
        b["full_dual"] == 1
        and b["inpatient_stays"] == 0
        and b["hcc_count"] == 0
        and b["cost_total"] == 120.0
    )
    assert b["days_since_discharge"] is None  # never discharged: unknown, not zero
    assert set(feature_names("benchmarking")) < set(feature_names()) and not any(
        c.startswith("cost_") for c in feature_names("benchmarking")
    )


def test_outcomes_are_next_year_and_features_never_look_ahead(hand_built, tmp_path):
    o = {r["person_id"]: r for r in outcomes(hand_built, 2025).iter_rows(named=True)}
    assert o["A"]["admitted"] == 1 and o["A"]["cost"] == 15000.0 + 999.0 and o["B"]["admitted"] == 0
    # drop everything after 2024: the 2024 features must not change
    cut = {
        name: hand_built.read(name) for name in ("eligibility", "medical_claim", "pharmacy_claim")
    }
    cut["medical_claim"] = cut["medical_claim"].filter(
        pl.col("claim_start_date") <= D(2024, 12, 31)
    )
    cut["pharmacy_claim"] = cut["pharmacy_claim"].filter(
        pl.col("dispensing_date") <= D(2024, 12, 31)
    )
    truncated = write_dataset(tmp_path / "cut", cut, source={"kind": "test"})
    assert_frame_equal(
        features(truncated, 2024).sort("person_id"),
        features(hand_built, 2024).sort("person_id"),
        rel_tol=1e-9,
    )


def test_no_look_ahead_on_a_synthetic_panel(small_dataset, tmp_path):
    """Readmission flags, stays and costs near the year end are where look-ahead hides."""
    cut = {
        name: small_dataset.read(name)
        for name in ("eligibility", "medical_claim", "pharmacy_claim")
    }
    cut["medical_claim"] = cut["medical_claim"].filter(
        pl.col("claim_start_date") <= D(2023, 12, 31)
    )
    cut["pharmacy_claim"] = cut["pharmacy_claim"].filter(
        pl.col("dispensing_date") <= D(2023, 12, 31)
    )
    truncated = write_dataset(tmp_path / "cut", cut, source={"kind": "test"})
    full, only = (
        features(small_dataset, 2023).sort("person_id"),
        features(truncated, 2023).sort("person_id"),
    )
    assert_frame_equal(full, only, rel_tol=1e-9)  # equal up to the order of floating-point sums
    assert full["readmissions"].sum() > 0  # the check is not vacuous


def test_modeling_frame_pairs_year_t_features_with_t_plus_1_outcomes(small_dataset):
    frame = modeling_frame(small_dataset, 2023)
    assert (frame["year"] == 2023).all()
    expected = (
        outcomes(small_dataset, 2024)
        .join(frame.select("person_id"), on="person_id")
        .sort("person_id")
    )
    assert frame.sort("person_id")["annual_cost"].to_list() == pytest.approx(
        expected["annual_cost"].to_list()
    )
    assert frame["top5"].mean() == pytest.approx(0.05, abs=0.01)


def test_prior_cost_and_fills_are_the_same_read_from_the_core_or_computed(small_dataset, tmp_path):
    """The year before's medical total comes from the core's ``medical_spend`` once that year is
    derived, from the lines before: the same exact sums either way."""
    import shutil

    from modeling.core.panel import Panel
    from modeling.dataset import Dataset

    shutil.copytree(small_dataset.path, tmp_path / "ds", ignore=shutil.ignore_patterns("core"))
    panel = Panel(Dataset(tmp_path / "ds"))
    assert not panel.is_derived("medical_spend", 2023)
    from_lines = features(panel, 2024)
    assert not panel.is_derived("medical_spend", 2023)  # reading the lines derived nothing
    panel.scan("medical_spend", years=[2023])
    assert panel.is_derived("medical_spend", 2023)
    from_core = features(panel, 2024)
    assert_frame_equal(from_core, from_lines)
    assert from_core["cost_prior_year"].sum() > 0
    # the fills: computed for the read while not derived, read from the core once they are
    assert not panel.is_derived("pharmacy_use", 2024)
    panel.materialize(("pharmacy_use",))
    assert panel.is_derived("pharmacy_use", 2024)
    assert_frame_equal(features(panel, 2024), from_lines)


@pytest.mark.parametrize("derived_first", [(), ("person_diagnoses",)])
def test_features_derived_with_the_core_in_its_slices_equal_those_read_from_the_core(
    small_dataset, tmp_path, monkeypatch, derived_first
):
    """On a fresh dataset the features are computed slice by slice as the core's year tables
    are derived (one read of the year's lines for both); once the tables are derived they are
    read from the core in slices of ``slice_people``: the same rows either way, whatever the
    slices, and the core's tables are those derived alone."""
    import shutil

    import modeling.core.panel as core
    from modeling.core.panel import Panel
    from modeling.dataset import Dataset
    from risk_stratification.ml.features import FEATURE_YEAR_TABLES

    monkeypatch.setattr(core, "SLICE_LINES", 5_000)
    shutil.copytree(small_dataset.path, tmp_path / "ds", ignore=shutil.ignore_patterns("core"))
    said: list[str] = []
    panel = Panel(Dataset(tmp_path / "ds"), progress=said.append)
    assert len(panel._slices()) > 10
    panel.derive(derived_first, years=[2024])
    cold = features(panel, 2024)
    assert all(panel.is_derived(table, 2024) for table in FEATURE_YEAR_TABLES)
    assert any("people slice" in message for message in said)
    warm = features(panel, 2024, slice_people=97)
    whole = features(small_dataset, 2024)
    assert cold.height == whole.height > 0
    assert_frame_equal(cold, whole)
    assert_frame_equal(warm, whole)
    alone = Panel(small_dataset)
    for table in FEATURE_YEAR_TABLES:
        ours = panel.read(table, years=[2024])
        assert_frame_equal(
            ours.sort(ours.columns), alone.read(table, years=[2024]).sort(ours.columns)
        )


def test_a_slice_reader_is_given_only_tables_read_from_the_lines(small_dataset):
    from modeling.core.panel import Panel
    from modeling.errors import ParameterError

    with pytest.raises(ParameterError, match="pharmacy_use"):
        Panel(small_dataset).derive_reading(
            ["pharmacy_use"], year=2024, read=lambda part, lines, tables: None
        )
