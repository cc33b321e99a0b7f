from __future__ import annotations

from importlib.resources import files
from pathlib import Path

import polars as pl
import pytest

from modeling.errors import ParameterError
from modeling.synth import params
from modeling.synth.params import load_params, read_coefficients, v28_mapping

SYNTH = Path(params.__file__).parent


def _behaviour_table() -> pl.DataFrame:
    return pl.read_csv(
        (files("modeling") / "data" / "synth_behaviour.csv").read_bytes(), infer_schema=False
    )


def test_behaviour_coefficients_read_back_exactly_as_written():
    table = _behaviour_table()
    assert table.columns == ["name", "value", "unit", "meaning", "source"]
    assert table.null_count().row(0) == (0,) * table.width
    behaviour = load_params().behaviour
    assert list(behaviour) == table["name"].to_list()
    for name, text in table.select("name", "value").iter_rows():
        assert repr(behaviour[name]) == text, name  # written as the float's repr: exact


def test_every_behaviour_coefficient_is_used_by_the_generator():
    source = "\n".join(p.read_text() for p in SYNTH.rglob("*.py") if p.name != "cclf_writer.py")
    unused = [n for n in _behaviour_table()["name"] if f'"{n}"' not in source]
    assert unused == []


def test_shared_parameters_are_read_only():
    with pytest.raises(TypeError):
        load_params().behaviour["death_intercept"] = 0.0  # type: ignore[index]
    mapping = v28_mapping()
    code = next(iter(mapping))
    assert isinstance(mapping[code], frozenset)
    with pytest.raises(TypeError):
        mapping[code] = frozenset()  # type: ignore[index]


def test_coefficient_tables_with_repeated_names_or_no_value_are_errors(tmp_path, monkeypatch):
    monkeypatch.setattr(params, "DATA", tmp_path)
    (tmp_path / "twice.csv").write_text("name,value\na,1.0\nb,2.0\na,3.0\n")
    with pytest.raises(ParameterError, match="twice.csv: each name once .repeated: a"):
        read_coefficients("twice.csv")
    (tmp_path / "blank.csv").write_text("name,value\na,1.0\nb,\n")
    with pytest.raises(ParameterError, match="blank.csv: b has no numeric value"):
        read_coefficients("blank.csv")
