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

from modeling.errors import DatasetError, ParameterError, SchemaError, VbcError

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


CASES: dict[str, tuple[Callable[..., object], type[VbcError]]] = {
    "an unknown bundle model": (_bundle_model, ParameterError),
    "a commercial bundle without triggers": (_commercial_bundle, ParameterError),
    "bundle episodes without claim columns": (_bundle_episodes, SchemaError),
    "a TEAM track not offered in the year": (_bundle_track, ParameterError),
    "TEAM rules for a year without parameters": (_bundle_year, ParameterError),
    "BundleUncertainty with a CQS of 120": (_bundle_uncertainty, ParameterError),
    "member_months without enrollment_start_date": (_member_months, SchemaError),
    "december_enrollees without enrollment_start_date": (_december_enrollees, SchemaError),
    "with_service_category without claim_type": (_service_categories, SchemaError),
    "inpatient_stays without dates": (_stays, SchemaError),
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
    "an unknown preset": (_preset, ParameterError),
    "TierPolicy rising ratio below 1": (_tier_policy, ParameterError),
    "an unknown feature set": (_feature_kind, ParameterError),
    "no CMS eligible-code list for the year": (_eligible_codes, ParameterError),
    "SynthSpec with no members": (_synth_spec, ParameterError),
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
