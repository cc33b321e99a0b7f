"""The synthetic panel's region: recorded with the panel from its own stream, at the efficiency
the parameter says, and without changing a row of the panel."""

from __future__ import annotations

import polars as pl
import pytest

from modeling.core.member_months import member_months
from modeling.synth import SynthSpec, generate
from modeling.synth import region as region_module
from modeling.synth.region import RegionAccumulator, region_params


def _panel_per_capita(ds) -> dict[tuple[int, str], float]:
    mm = member_months(pl.scan_parquet(ds.path / "eligibility.parquet")).collect()
    types = mm.group_by("person_id", "year").agg(
        pl.col("enrollment_type").last(), pl.len().alias("months")
    )
    paid = (
        pl.read_parquet(ds.path / "medical_claim.parquet")
        .group_by("person_id", pl.col("claim_start_date").dt.year().alias("year"))
        .agg(pl.col("paid_amount").cast(pl.Float64).sum().alias("paid"))
    )
    by = (
        types.join(paid, on=["person_id", "year"], how="left")
        .group_by("year", "enrollment_type")
        .agg(pl.col("paid").fill_null(0).sum(), pl.col("months").sum())
    )
    return {
        (r["year"], r["enrollment_type"]): r["paid"] / (r["months"] / 12)
        for r in by.iter_rows(named=True)
    }


def test_the_region_sits_at_the_efficiency_the_parameter_sets(small_dataset):
    region = small_dataset.manifest["source"]["region"]
    p = region_params()
    panel = _panel_per_capita(small_dataset)
    for year, by_type in region["regional_per_capita"].items():
        for t, regional in by_type.items():
            ratio = panel[(int(year), t)] / regional
            # panel / region = efficiency / (1 + e), e ~ N(0, 1%): within 4 standard deviations
            assert ratio == pytest.approx(p["efficiency_vs_region"], rel=4 * p["regional_noise_sd"])
    growth = region["national_regional_growth"]
    assert set(growth) == {"2024"} and 0 < growth["2024"] < 0.15


def test_the_blend_weights_national_growth_by_the_acos_share_of_its_region():
    acc = RegionAccumulator(
        paid={(2023, "aged_non_dual"): 1000.0 * 100, (2024, "aged_non_dual"): 1100.0 * 100},
        months={(2023, "aged_non_dual"): 1200, (2024, "aged_non_dual"): 1200},
    )
    p = dict(region_params()) | {"regional_noise_sd": 0.0}
    out = acc.region(seed=1, params=p)
    regional_growth = 0.10
    national_growth = regional_growth + p["national_minus_regional_growth"]
    share = p["aco_share_of_region"]
    expected = share * national_growth + (1 - share) * regional_growth
    assert out["national_regional_growth"]["2024"] == pytest.approx(expected)
    assert out["regional_per_capita"]["2023"]["aged_non_dual"] == pytest.approx(
        1000 / p["efficiency_vs_region"]
    )
    assert out["national_per_capita"]["2023"]["aged_non_dual"] == pytest.approx(
        1000 / p["efficiency_vs_region"] / p["regional_to_national"]
    )


def test_the_region_does_not_move_a_row_of_the_panel(tmp_path, monkeypatch, small_dataset):
    spec = SynthSpec(members=1_500, start_year=2023, years=2, seed=11)  # the small_dataset spec
    base = region_params()["efficiency_vs_region"]
    other = dict(region_params()) | {"efficiency_vs_region": 0.8}
    monkeypatch.setattr(region_module, "region_params", lambda: other)
    again = generate(spec, tmp_path / "again")
    assert again.manifest["content_hash"] == small_dataset.manifest["content_hash"]
    a = again.manifest["source"]["region"]["regional_per_capita"]["2024"]["aged_non_dual"]
    b = small_dataset.manifest["source"]["region"]["regional_per_capita"]["2024"]["aged_non_dual"]
    assert a == pytest.approx(b * base / 0.8)  # the same draws, another efficiency
