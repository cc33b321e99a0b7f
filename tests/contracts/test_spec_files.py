"""Spec and assumption files that are not readable specs (hostile probe 2026-12-01, finding 24's
file cases and finding 34's BOM): a message, never a traceback."""

from __future__ import annotations

import pytest

from contracts.specs import load_spec, read_settings_file
from modeling.errors import ParameterError


@pytest.mark.parametrize(
    ("name", "content", "match"),
    [
        ("adir.toml", None, "is a folder"),
        ("binary.toml", b"\x9a\x00\xff" * 10, "not UTF-8"),
        ("latin1.toml", 'name = "Médicare"\n'.encode("latin-1"), "not UTF-8"),
        ("deep.json", b"[" * 100_000 + b"]" * 100_000, "nested too deeply|not valid JSON"),
        ("list.json", b"[1, 2]", "top level"),
    ],
)
def test_f24_unreadable_spec_files_are_clear_errors(tmp_path, name, content, match):
    path = tmp_path / name
    if content is None:
        path.mkdir()
    else:
        path.write_bytes(content)
    with pytest.raises(ParameterError, match=match):
        load_spec(path)


def test_f34_a_bom_in_toml_is_read():
    import tempfile
    from pathlib import Path

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp, "bom.toml")
        path.write_bytes(b"\xef\xbb\xbf" + b'family = "shared_savings"\n')
        assert read_settings_file(path) == {"family": "shared_savings"}


@pytest.mark.parametrize(
    "text",
    [
        'family = "shared_savings"\nname = "x"\nperformance_year = 2026\ntarget_pmpm = inf\n',
        'family = "shared_savings"\nname = "x"\nperformance_year = 2026\nsharing_rate = nan\n',
    ],
)
def test_f23_infinite_and_nan_spec_values_are_refused(tmp_path, text):
    path = tmp_path / "spec.toml"
    path.write_text(text)
    with pytest.raises(ParameterError, match="finite"):
        load_spec(path)


def test_f23_nan_regional_per_capita_is_refused():
    from contracts.projection import Assumptions

    with pytest.raises(ParameterError, match="finite"):
        Assumptions(
            regional_per_capita={"aged_non_dual": float("nan")},
            national_per_capita={"aged_non_dual": 12_000.0},
        )


def test_f24_weights_that_leave_the_data_years_unweighted_are_a_clear_error():
    import polars as pl

    from contracts.benchmark import build_benchmark

    baseline = pl.DataFrame(
        {
            "year": [2024, 2025],
            "enrollment_type": ["aged_non_dual"] * 2,
            "person_years": [100.0, 100.0],
            "expenditures": [1e6, 1.1e6],
        }
    ).with_columns((pl.col("expenditures") / pl.col("person_years")).alias("per_capita"))
    py = pl.DataFrame({"enrollment_type": ["aged_non_dual"], "person_years": [90.0]})
    with pytest.raises(ParameterError, match="give them no weight"):
        build_benchmark(
            baseline,
            performance_year=2026,
            weights=(1.0, 0.0, 0.0, 0.0),
            annual_trend=0.05,
            risk=None,
            risk_growth_cap=0.03,
            performance_person_years=py,
        )


@pytest.mark.parametrize(
    ("extra", "match"),
    [
        ("sharing_rate = true\n", "not true/false"),
        ("target_pmpm = 1e308\n", "less than or equal"),
        ("care_management_pmpm = 1e300\n", "less than or equal"),
    ],
)
def test_f23_degenerate_shared_savings_values_are_refused(tmp_path, extra, match):
    path = tmp_path / "spec.toml"
    path.write_text('family = "shared_savings"\nname = "x"\nperformance_year = 2026\n' + extra)
    with pytest.raises(ParameterError, match=match):
        load_spec(path)


def test_f23_empty_corridors_are_refused(tmp_path):
    path = tmp_path / "spec.toml"
    path.write_text(
        'family = "risk_corridors"\nname = "x"\nperformance_year = 2026\ncorridors = []\n'
    )
    with pytest.raises(ParameterError, match="corridors"):
        load_spec(path)


@pytest.mark.parametrize("value", [-5.0, 1e308, 0.0])
def test_f23_implausible_regional_per_capita_is_refused(value):
    from contracts.projection import Assumptions

    with pytest.raises(ParameterError, match="per-capita expenditure"):
        Assumptions(
            regional_per_capita={"aged_non_dual": value},
            national_per_capita={"aged_non_dual": 12_000.0},
        )


@pytest.mark.parametrize("family", ["null", '"unknown"'])
def test_f34_a_null_or_unknown_family_names_the_families(tmp_path, family):
    path = tmp_path / "spec.json"
    path.write_text(f'{{"family": {family}, "name": "x", "performance_year": 2026}}')
    with pytest.raises(ParameterError, match="needs 'family', one of mssp"):
        load_spec(path)
