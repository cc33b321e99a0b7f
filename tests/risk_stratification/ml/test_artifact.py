"""Model artifacts hold no executable part (hostile probe 2026-12-01, finding 8): LightGBM model
text, plain arrays, Parquet and JSON; identical predictions after a round trip; a pickle, a
damaged archive or a tampered registry entry is a clear ``StoreError``."""

from __future__ import annotations

import io
import pickle
import zipfile

import duckdb
import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal

from modeling.errors import StoreError
from risk_stratification.ml.artifact import dump_artifact, load_artifact
from risk_stratification.ml.models import RiskModels, calibrator


@pytest.fixture(scope="module")
def trained(three_year_dataset):
    from risk_stratification.ml.pipeline import train

    return train(three_year_dataset, seed=2)


@pytest.fixture(scope="module")
def scoring_frame(three_year_dataset):
    from risk_stratification.ml.features import modeling_frame

    return modeling_frame(three_year_dataset, 2024)


def test_the_artifact_is_plain_data_only(trained):
    data = trained.to_bytes()
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        names = archive.namelist()
        assert names[0] == "artifact.json"
        suffixes = {name.rsplit(".", 2)[-1] for name in names}
        assert suffixes <= {"json", "txt", "npy", "parquet"}, names
        for name in names:
            if name.endswith(".npy"):  # every array reads without pickle support
                np.load(io.BytesIO(archive.read(name)), allow_pickle=False)
            if name.endswith(".lightgbm.txt"):
                assert archive.read(name).startswith(b"tree\nversion=")
    assert b"sklearn" not in data and not data.startswith(b"\x80")


def test_a_round_trip_predicts_identically(trained, scoring_frame, three_year_dataset):
    from risk_stratification.ml.pipeline import TrainedRisk, score
    from risk_stratification.ml.readmission import FEATURES, discharges

    loaded = TrainedRisk.from_bytes(trained.to_bytes())
    assert_frame_equal(loaded.models.predict(scoring_frame), trained.models.predict(scoring_frame))
    np.testing.assert_array_equal(
        loaded.models.contributions(scoring_frame), trained.models.contributions(scoring_frame)
    )
    stays = discharges(three_year_dataset, 2024).select(FEATURES).to_numpy()
    np.testing.assert_array_equal(
        loaded.readmission.predict(stays), trained.readmission.predict(stays)
    )
    assert_frame_equal(score(three_year_dataset, loaded), score(three_year_dataset, trained))
    assert loaded.baselines == trained.baselines and loaded.card == trained.card
    assert loaded.models.features == trained.models.features
    assert loaded.models.params == trained.models.params
    e, f = loaded.evaluation, trained.evaluation
    assert (e.train_year, e.test_year) == (f.train_year, f.test_year)
    for name in ("summary", "deciles", "groups", "readmission"):
        assert_frame_equal(getattr(e, name), getattr(f, name))
    np.testing.assert_array_equal(e.residual_ratios, f.residual_ratios)
    assert TrainedRisk.from_bytes(loaded.to_bytes()).to_bytes() == loaded.to_bytes()


def test_risk_models_alone_round_trip(trained, scoring_frame):
    again = RiskModels.from_bytes(trained.models.to_bytes())
    assert_frame_equal(again.predict(scoring_frame), trained.models.predict(scoring_frame))


@settings(max_examples=40, deadline=None)
@given(
    st.lists(st.floats(-5, 5, allow_nan=False), min_size=60, max_size=400),
    st.integers(0, 2**31 - 1),
    st.lists(st.floats(-10, 10, allow_nan=False), min_size=1, max_size=50),
)
def test_a_calibrator_round_trips_exactly(raw, seed, probe):
    raw_a = np.asarray(raw)
    outcome = np.random.default_rng(seed).random(raw_a.size) < 0.3
    fitted = calibrator(raw_a, outcome.astype(float), people_per_bin=10)
    again = load_artifact(dump_artifact({"c": fitted}))["c"]
    points = np.concatenate([raw_a, np.asarray(probe)])
    np.testing.assert_array_equal(again.predict(points), fitted.predict(points))


def test_an_earlier_versions_pickle_is_refused_with_retrain():
    from risk_stratification.ml.pipeline import TrainedRisk

    with pytest.raises(StoreError, match="pickle.*Retrain.*vbc train"):
        TrainedRisk.from_bytes(pickle.dumps({"models": b"", "card": {}}))


def _archive(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def _object_npy() -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, np.array([{"a": 1}], dtype=object), allow_pickle=True)
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"not a zip at all", "damaged or not one"),
        (b"", "damaged or not one"),
        (_archive({"other.json": b"{}"}), "damaged or not one"),
        (_archive({"artifact.json": b"[1"}), "damaged or not one"),
        (_archive({"artifact.json": b'{"format": "x"}'}), "not a vbc-model-artifact"),
        (
            _archive({"artifact.json": b'{"format": "vbc-model-artifact", "version": 9}'}),
            "format version 9",
        ),
        (
            _archive(
                {
                    "artifact.json": b'{"format": "vbc-model-artifact", "version": 1, "tree": '
                    b'{"a": {"$ref": "array", "member": "a.npy"}}}',
                    "a.npy": _object_npy(),  # a pickle hidden in an array member
                }
            ),
            "not a plain array",
        ),
        (
            _archive(
                {
                    "artifact.json": b'{"format": "vbc-model-artifact", "version": 1, "tree": '
                    b'{"a": {"$ref": "lightgbm", "member": "gone.txt"}}}',
                }
            ),
            "lacks its member gone.txt",
        ),
        (
            _archive(
                {
                    "artifact.json": b'{"format": "vbc-model-artifact", "version": 1, "tree": '
                    b'{"a": {"$ref": "lightgbm", "member": "b.txt"}}}',
                    "b.txt": b"tree\nversion=v4\ngarbage",
                }
            ),
            "damaged",
        ),
        (
            _archive(
                {
                    "artifact.json": b'{"format": "vbc-model-artifact", "version": 1, "tree": '
                    b'{"a": {"$ref": "python-object", "member": "b"}}}',
                }
            ),
            "unknown kind 'python-object'",
        ),
    ],
)
def test_anything_but_an_artifact_is_a_store_error(data, message):
    with pytest.raises(StoreError, match=message):
        load_artifact(data)


def test_values_without_a_format_are_refused_when_writing():
    with pytest.raises(TypeError, match="no artifact format"):
        dump_artifact({"f": lambda: None})
    with pytest.raises(TypeError, match="object array"):
        dump_artifact({"a": np.array([object()])})
    frame = pl.DataFrame({"x": [1, 2]})
    assert_frame_equal(load_artifact(dump_artifact({"f": frame}))["f"], frame)


def test_a_tampered_registered_model_is_refused_not_taken_for_missing(trained, tmp_path):
    from modeling.store import WorkspaceStore
    from risk_stratification.ml.pipeline import load_registered, register

    path = tmp_path / "workspace.duckdb"
    store = WorkspaceStore.open(path)
    assert register(trained, store) == 1
    assert load_registered(store)[1] == 1
    artifact = store.get_model("risk_stratification").artifact
    assert artifact is not None
    middle = len(artifact) // 2
    forged = artifact[:middle] + bytes([artifact[middle] ^ 1]) + artifact[middle + 1 :]
    with duckdb.connect(str(path)) as con:
        con.execute("UPDATE model_registry SET artifact = ?", [forged])
    with pytest.raises(StoreError, match="does not match the SHA-256"):
        load_registered(store)
