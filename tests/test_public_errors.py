"""Only ``VbcError`` subclasses escape a public function on bad input a user can cause (scikit-
learn's common tests, for this project): a missing column is a ``SchemaError`` naming it, a bad
option a ``ParameterError``, a missing dataset a ``DatasetError``."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from modeling.errors import (
    DatasetError,
    ParameterError,
    SchemaError,
    SettingsError,
    StoreError,
    VbcError,
)

NOWHERE = Path("/nonexistent/vbc-dataset")
SPANS_WITHOUT_START = pl.LazyFrame(
    {"person_id": ["P1"], "enrollment_end_date": [dt.date(2024, 1, 31)]}
)
LINES_WITHOUT_TYPE = pl.LazyFrame({"claim_id": ["C1"], "person_id": ["P1"]})


def _member_months():
    from modeling.core.member_months import member_months

    member_months(SPANS_WITHOUT_START).collect()


def _december_enrollees():
    from modeling.core.member_months import december_enrollees

    december_enrollees(SPANS_WITHOUT_START, 2024).collect()


def _service_categories():
    from modeling.core.service_categories import with_service_category

    with_service_category(LINES_WITHOUT_TYPE).collect()


def _stays():
    from modeling.core.encounters import inpatient_stays

    inpatient_stays(LINES_WITHOUT_TYPE).collect()


def _acute_legs():
    from modeling.core.acute_legs import acute_legs

    acute_legs(LINES_WITHOUT_TYPE).collect()


def _window_pairs_without_start():
    from contracts.bundles.spending import index_claims

    index_claims(pl.DataFrame({"claim_id": ["C1"], "person_id": ["P1"]}))


def _truncate():
    from contracts.benchmark import truncate

    truncate(pl.DataFrame({"person_id": ["P1"]}), 0.99, None)


def _schema_column():
    from modeling.schema import TABLES

    TABLES["eligibility"].column("nope")


def _dataset():
    from modeling.dataset import Dataset

    Dataset(NOWHERE)


def _panel():
    from modeling.core.panel import Panel

    Panel(NOWHERE)


def _workspace_without_datasets(tmp_path: Path):
    from modeling.workspace import Workspace

    Workspace(tmp_path / "empty").active_dataset()


def _mssp_spec():
    from contracts.specs import MsspSpec

    MsspSpec(name="x", performance_year=2025, track="BASIC")


def _uncertainty():
    from contracts.simulation import Uncertainty

    Uncertainty(trend_sd=-1)


def _assumptions():
    from contracts.projection import Assumptions

    Assumptions(quality_score=2)


def _settlement_line():
    from contracts.settlement import Performance, settle
    from contracts.specs import preset

    settle(preset("commercial-corridors-2026"), Performance(12_000, 11_500, 1_000))["nope"]


def _performance():
    from contracts.settlement import Performance

    Performance(12_000, 11_500, 0)


def _cvar():
    from contracts.simulation import cvar

    cvar(np.array([]))


def _cvar_not_finite():
    from contracts.simulation import cvar

    cvar(np.array([1.0, np.inf]))


def _preset():
    from contracts.specs import preset

    preset("no-such-contract")


def _tier_policy():
    from risk_stratification.ml.tiers import TierPolicy

    TierPolicy(rising_ratio=0.5)


def _feature_kind():
    from risk_stratification.ml.features import feature_names

    feature_names("x")


def _eligible_codes():
    from modeling.core.conditions import eligible_procedure_codes

    eligible_procedure_codes(1990)


def _synth_spec():
    from modeling.synth import SynthSpec

    SynthSpec(members=0, start_year=2023, years=2, seed=1)


def _staged_dataset_on_a_file():
    from modeling.dataset import staged_dataset

    with staged_dataset(Path(__file__)):
        pass


def _dataset_name():
    from modeling.dataset import check_dataset_name

    check_dataset_name("../elsewhere")


def _text_source_unknown_encoding():
    from modeling.ingest.sources import text_source

    text_source(Path(__file__), Path("/nonexistent"), encoding="klingon-8")


def _validate_in_batches_of_zero_rows():
    from modeling.ingest.batches import validate_in_batches
    from modeling.schema import TABLES

    validate_in_batches(
        pl.LazyFrame(),
        TABLES["medical_claim"],
        path=NOWHERE,
        source="",
        scratch=NOWHERE,
        accept=print,
        quarantine=NOWHERE / "q.parquet",
        batch_rows=0,
    )


def _refuse_unloadable_eligibility():
    from modeling.ingest.canonical import refuse_unloadable
    from modeling.ingest.validate import ValidationResult

    empty = pl.DataFrame()
    result = ValidationResult("eligibility", "", 3, empty, empty, {"invalid_value": 3}, 0, 3)
    refuse_unloadable(NOWHERE, result)


def _cclf_source_of_nothing():
    from modeling.ingest.cclf.files import cclf_source

    cclf_source(NOWHERE)


def _store_that_is_a_folder():
    from modeling.store import WorkspaceStore

    WorkspaceStore.open(Path(__file__).parent, timeout=0)


def _store_settings_with_a_password():
    from modeling.store import store_settings

    store_settings({"backend": "postgresql", "dsn": "host=db password=secret"})


def _postgres_store_unreachable():
    from modeling.store import WorkspaceStore

    WorkspaceStore.postgres("host=127.0.0.1 port=1 dbname=vbc", timeout=1).list_models()


def _artifact_that_is_a_pickle():
    import pickle

    from risk_stratification.ml.pipeline import TrainedRisk

    TrainedRisk.from_bytes(pickle.dumps({}))


def _server_folder_off():
    from app.uploads import server_folder

    server_folder("/etc", [])


def _read_puf():
    from contracts.reproduce import read_puf

    read_puf(pl.DataFrame({"ACO_Name": ["x"]}), program="mssp")


def _reproduce_reach():
    from contracts.reproduce import reproduce_reach

    reproduce_reach(NOWHERE / "puf.csv")


def _reproduce_mssp():
    from contracts.reproduce import reproduce_mssp

    reproduce_mssp(pl.DataFrame({"ACO_Name": ["x"], "N_AB": ["1"]}))


def _sample_puf():
    from contracts.reproduce import sample_puf

    sample_puf("mssp2")


def _peer_metrics():
    from contracts.peers import peer_metrics
    from contracts.reproduce import sample_puf

    peer_metrics(sample_puf("mssp"), performance_year=2014, track="enhanced")


def _region_inputs():
    from contracts.benchmark import RegionalInputs

    RegionalInputs.from_region({}, agreement_period=1)


def _synthetic_region():
    from modeling.synth.region import RegionAccumulator, region_params

    RegionAccumulator().region(1, dict(region_params()) | {"efficiency_vs_region": 0.0})


def _reach_2026_global():
    from contracts.settlement import Performance, settle
    from contracts.specs import ReachSpec

    settle(
        ReachSpec(name="g", performance_year=2026, risk_option="global"),
        Performance(12_000, 11_500, 1_000),
    )


def _track_level():
    from contracts.specs import MsspSpec

    MsspSpec(name="x", performance_year=2017, track="TRACK_2", level="A")


def _completion_of_a_missing_dataset():
    from modeling.marts.finance.completion import complete

    complete(NOWHERE, as_of=dt.date(2025, 6, 30))


def _completion_options():
    from modeling.marts.finance.completion import CompletionOptions

    CompletionOptions(level=1.5).check()


def _valuation_of_a_string():
    from modeling.marts.finance.triangles import Valuation

    Valuation.at("2025-06-30")  # type: ignore[arg-type]


def _bridge_without_services():
    from modeling.marts.finance.trend import bridge

    bridge(pl.DataFrame({"service_category": ["x"], "incurred_month": [dt.date(2025, 1, 1)]}))


def _forecast_options():
    from modeling.marts.finance.forecast import ForecastOptions

    ForecastOptions(models=("Prophet",)).check()


def _seasonal_index_of_no_cost():
    from modeling.marts.finance.seasonality import log_seasonal_index

    log_seasonal_index(np.array([100.0] * 11 + [0.0]), np.arange(1, 13))


def _budget_without_pmpm():
    from contracts.year_end import parse_budget

    parse_budget(pl.DataFrame({"service_category": ["acute inpatient"]}), calendar_year=2025)


def _person_ranges_of_no_lines():
    from modeling.marts.finance.triangles import person_ranges

    person_ranges(None, lines=0)  # type: ignore[arg-type]  # checked before the panel is read


def _membership_flows_without_months():
    from modeling.marts.finance.forecast import membership_flows

    membership_flows(pl.LazyFrame({"person_id": ["P1"]}))


def _measure_cells_unknown():
    from modeling.marts.finance.triangles import measure_cells

    measure_cells(pl.DataFrame({"paid": [1.0], "claims": [1.0]}), "visits")


def _completion_options_speed():
    from modeling.marts.finance.completion import CompletionOptions

    CompletionOptions(speed_diagonals=0).check()


def _programs_file():
    from risk_stratification.targeting import load_programs

    load_programs(NOWHERE / "programs.toml")


def _program_without_capacity():
    from risk_stratification.targeting import parse_programs

    parse_programs({"name": "x", "cost": {"per_member": 1}})


def _member_inputs_without_tier():
    from risk_stratification.targeting import member_inputs

    member_inputs(NOWHERE, pl.DataFrame({"person_id": ["P1"]}))


def _benefit_without_programs():
    from risk_stratification.targeting import expected_benefit

    expected_benefit(pl.DataFrame({"person_id": ["P1"]}), [])


def _constraints_negative_budget():
    from risk_stratification.targeting import Constraints

    Constraints(budget=-1.0)


def _plan_of_no_members():
    from risk_stratification.targeting import make_plan, preset_programs

    make_plan(pl.DataFrame({"person_id": []}, schema={"person_id": pl.String}), preset_programs())


def _plan_initiatives_without_sd():
    from contracts.care_plans import plan_initiatives

    plan_initiatives(pl.DataFrame({"service_category": ["acute inpatient"]}), None)  # type: ignore[arg-type]


def _bundle_model():
    from contracts.bundles.analysis import bundle_model

    bundle_model("cjr")


def _commercial_bundle():
    from contracts.bundles.definitions import parse_commercial_bundle

    parse_commercial_bundle({"bundle": {"name": "x", "window_days": 90, "price": 1}})


def _bundle_episodes():
    from contracts.bundles.definitions import definition
    from contracts.bundles.episodes import build_episodes

    build_episodes(
        LINES_WITHOUT_TYPE, SPANS_WITHOUT_START, definition("team", performance_year=2026)
    )


def _bundle_track():
    from contracts.bundles.reconciliation import reconciliation_rules

    reconciliation_rules("team", performance_year=2026, track="2")


def _bundle_year():
    from contracts.bundles.definitions import definition

    definition("team", performance_year=2031)


def _bundle_uncertainty():
    from contracts.bundles.distribution import BundleUncertainty

    BundleUncertainty(quality_score=120)


def _decile_intervals_of_unequal_lengths():
    from risk_stratification.ml.evaluation import decile_intervals

    decile_intervals(pl.Series([1, 2]), np.ones(2), np.ones(3), np.ones(2))


def _cost_deciles_without_weight():
    from risk_stratification.ml.evaluation import cost_deciles

    cost_deciles(pl.DataFrame({"pred_cost": [1.0], "annual_cost": [1.0]}), "pred_cost")


CASES: dict[str, tuple[Callable[..., object], type[VbcError]]] = {
    "decile_intervals of unequal lengths": (_decile_intervals_of_unequal_lengths, ParameterError),
    "cost_deciles without the weight": (_cost_deciles_without_weight, SchemaError),
    "read_puf without the settlement columns": (_read_puf, SchemaError),
    "reproduce_reach of a missing file": (_reproduce_reach, SchemaError),
    "reproduce_mssp without the settlement columns": (_reproduce_mssp, SchemaError),
    "sample_puf of an unknown program": (_sample_puf, ParameterError),
    "peer_metrics of a track the year did not have": (_peer_metrics, ParameterError),
    "RegionalInputs from an empty region": (_region_inputs, ParameterError),
    "a synthetic region at zero efficiency": (_synthetic_region, ParameterError),
    "ACO REACH 2026 Global (partly published)": (_reach_2026_global, ParameterError),
    "MsspSpec Track 2 with a level": (_track_level, ParameterError),
    "complete on a missing dataset": (_completion_of_a_missing_dataset, DatasetError),
    "CompletionOptions with a level of 1.5": (_completion_options, ParameterError),
    "Valuation of a string": (_valuation_of_a_string, ParameterError),
    "trend bridge without services": (_bridge_without_services, SchemaError),
    "ForecastOptions with an unknown model": (_forecast_options, ParameterError),
    "a seasonal index of a month without cost": (_seasonal_index_of_no_cost, ParameterError),
    "a budget without pmpm": (_budget_without_pmpm, SchemaError),
    "membership flows without year_month": (_membership_flows_without_months, SchemaError),
    "person_ranges of 0 lines": (_person_ranges_of_no_lines, ParameterError),
    "measure_cells of an unknown measure": (_measure_cells_unknown, ParameterError),
    "CompletionOptions with no speed diagonals": (_completion_options_speed, ParameterError),
    "member_months without enrollment_start_date": (_member_months, SchemaError),
    "december_enrollees without enrollment_start_date": (_december_enrollees, SchemaError),
    "with_service_category without claim_type": (_service_categories, SchemaError),
    "inpatient_stays without dates": (_stays, SchemaError),
    "acute_legs without dates": (_acute_legs, SchemaError),
    "index_claims without start dates": (_window_pairs_without_start, SchemaError),
    "truncate without paid": (_truncate, SchemaError),
    "a table's unknown column": (_schema_column, SchemaError),
    "Dataset of a missing folder": (_dataset, DatasetError),
    "Panel of a missing folder": (_panel, DatasetError),
    "MsspSpec BASIC without a level": (_mssp_spec, ParameterError),
    "Uncertainty with a negative spread": (_uncertainty, ParameterError),
    "Assumptions with a quality score of 2": (_assumptions, ParameterError),
    "a settlement's unknown line": (_settlement_line, ParameterError),
    "Performance with no person-years": (_performance, ParameterError),
    "cvar of no draws": (_cvar, ParameterError),
    "cvar of a non-finite draw": (_cvar_not_finite, ParameterError),
    "an unknown preset": (_preset, ParameterError),
    "TierPolicy rising ratio below 1": (_tier_policy, ParameterError),
    "an unknown feature set": (_feature_kind, ParameterError),
    "no CMS eligible-code list for the year": (_eligible_codes, ParameterError),
    "SynthSpec with no members": (_synth_spec, ParameterError),
    "staged_dataset onto a file": (_staged_dataset_on_a_file, DatasetError),
    "a dataset name with a path in it": (_dataset_name, DatasetError),
    "text_source with an unknown encoding": (_text_source_unknown_encoding, SchemaError),
    "cclf_source of a missing folder": (_cclf_source_of_nothing, SchemaError),
    "validate_in_batches with batch_rows 0": (_validate_in_batches_of_zero_rows, ParameterError),
    "refuse_unloadable of all-quarantined eligibility": (
        _refuse_unloadable_eligibility,
        DatasetError,
    ),
    "WorkspaceStore.open of a folder": (_store_that_is_a_folder, StoreError),
    "store_settings with a password in the dsn": (_store_settings_with_a_password, SettingsError),
    "WorkspaceStore.postgres of no server": (_postgres_store_unreachable, StoreError),
    "TrainedRisk.from_bytes of a pickle": (_artifact_that_is_a_pickle, StoreError),
    "a server folder while they are off": (_server_folder_off, VbcError),
    "a missing programs file": (_programs_file, ParameterError),
    "a program without capacity": (_program_without_capacity, ParameterError),
    "member_inputs without tier": (_member_inputs_without_tier, SchemaError),
    "expected_benefit without programs": (_benefit_without_programs, ParameterError),
    "Constraints with a negative budget": (_constraints_negative_budget, ParameterError),
    "make_plan of no members": (_plan_of_no_members, DatasetError),
    "plan_initiatives without sd": (_plan_initiatives_without_sd, SchemaError),
    "an unknown bundle model": (_bundle_model, ParameterError),
    "a commercial bundle without triggers": (_commercial_bundle, ParameterError),
    "bundle episodes without claim columns": (_bundle_episodes, SchemaError),
    "a TEAM track not offered in the year": (_bundle_track, ParameterError),
    "TEAM rules for a year without parameters": (_bundle_year, ParameterError),
    "BundleUncertainty with a CQS of 120": (_bundle_uncertainty, ParameterError),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_bad_input_raises_the_project_error(case):
    call, expected = CASES[case]
    with pytest.raises(expected) as raised:
        call()
    assert str(raised.value)


def test_a_missing_column_is_named():
    with pytest.raises(SchemaError, match="enrollment_start_date"):
        _member_months()


def test_the_active_dataset_of_an_empty_workspace(tmp_path):
    with pytest.raises(DatasetError, match="no dataset yet"):
        _workspace_without_datasets(tmp_path)


def test_a_panel_entry_point_on_a_dataset_that_cannot_score_the_year(small_dataset):
    from risk_stratification.hcc.gaps import recapture_gaps
    from risk_stratification.hcc.panel import score_panel

    with pytest.raises(DatasetError, match="needs claims and enrollment from 2026"):
        score_panel(small_dataset, 2027)
    with pytest.raises(ParameterError, match="payment year 2031"):
        score_panel(small_dataset, 2031)
    with pytest.raises(ParameterError, match="base rate"):
        recapture_gaps(small_dataset, 2025, annual_base_rate=0)


def test_simulate_with_too_few_draws(small_dataset):
    from contracts.history import panel_history
    from contracts.simulation import simulate
    from contracts.specs import preset

    with pytest.raises(ParameterError, match="draws"):
        simulate(preset("commercial-corridors-2026"), panel_history(small_dataset), draws=1)


def test_quality_entry_points_on_bad_input(small_dataset):
    from modeling.marts.quality import care_gaps, measure_rows, quality_results
    from modeling.marts.quality.definitions import check_ndc_classes
    from risk_stratification.quality import adjusted_results, risk_adjust

    with pytest.raises(ParameterError, match="no enrollment in 1999"):
        measure_rows(small_dataset, 1999)
    with pytest.raises(ParameterError, match="slice_people must be at least 1"):
        measure_rows(small_dataset, 2024, slice_people=0)
    with pytest.raises(ParameterError, match="by must be"):
        quality_results(small_dataset, 2024, by="county")
    with pytest.raises(ParameterError, match="not a process measure"):
        care_gaps(small_dataset, 2024, "alos")
    with pytest.raises(SchemaError, match="drug_class"):
        check_ndc_classes(pl.DataFrame({"ndc_code": ["1"]}))
    with pytest.raises(ParameterError, match="not a risk-adjusted outcome measure"):
        risk_adjust(small_dataset, 2024, "pqi_90")
    with pytest.raises(ParameterError, match="draws must be at least 10"):
        risk_adjust(small_dataset, 2024, "readmission_30d", draws=2)
    with pytest.raises(DatasetError):
        adjusted_results(NOWHERE, 2024)
    from risk_stratification.quality import by_unit

    fitted = risk_adjust(small_dataset, 2024, "readmission_30d", draws=10)
    with pytest.raises(SchemaError, match="provider_tin"):
        by_unit(fitted, pl.DataFrame({"person_id": ["P1"], "tin": ["1"]}))
    with pytest.raises(ParameterError, match="unit column"):
        by_unit(fitted, pl.DataFrame({"person_id": ["P1"]}), unit="provider_npi")


def test_suppression_and_access_entry_points_on_bad_input():
    from app.access import access_settings
    from modeling.errors import SettingsError
    from modeling.suppression import cell_size_policy, suppress_small_cells

    with pytest.raises(SchemaError, match="members"):
        suppress_small_cells(pl.DataFrame({"n": [1]}), people=["members"])
    with pytest.raises(SchemaError, match="not a number"):
        suppress_small_cells(pl.DataFrame({"members": ["3"]}), people=["members"])
    with pytest.raises(ParameterError, match="min_cell"):
        suppress_small_cells(pl.DataFrame({"members": [3]}), people=["members"], min_cell=0)
    with pytest.raises(ParameterError, match="cell_suppression.csv"):
        cell_size_policy("unknown")
    with pytest.raises(SettingsError, match="mode"):
        access_settings({"app": {"mode": 1}})


def test_is_derived_of_a_table_not_kept_by_year(small_dataset):
    from modeling.core.panel import Panel

    with pytest.raises(ParameterError, match="not a core table kept by year"):
        Panel(small_dataset).is_derived("member_months", 2024)


def test_derive_of_a_table_not_kept_by_year(small_dataset):
    from modeling.core.panel import Panel

    with pytest.raises(ParameterError, match="not a core table kept by year"):
        Panel(small_dataset).derive(["claim_lines"], years=[2024])


def test_initiatives_of_a_plan_without_sd():
    from types import SimpleNamespace

    from contracts.care_plans import initiatives_of_plan

    plan = SimpleNamespace(
        savings_by_category=pl.DataFrame({"service_category": ["acute inpatient"]}),
        cost=0.0,
        assignments=pl.DataFrame(),
    )
    with pytest.raises(SchemaError, match="sd"):
        initiatives_of_plan(plan, None)  # type: ignore[arg-type]
