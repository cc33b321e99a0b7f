"""The bundle-procedure line: its own stream (the other lines' rows unchanged), and volumes near
their sources (docs/calibration-bundles.md)."""

from __future__ import annotations

import polars as pl
import pytest

from modeling.synth.params import load_params
from modeling.synth.services import bundle_procedures as bundles
from modeling.synth.spec import SynthSpec
from tests.modeling.synth.lines import one_chunk

SPEC = SynthSpec(members=12_500, start_year=2023, years=2, seed=20240601)


def _chunk() -> dict[str, pl.DataFrame]:
    return one_chunk(SPEC, load_params())


@pytest.fixture(scope="module")
def chunk() -> dict[str, pl.DataFrame]:
    return _chunk()


def test_the_line_leaves_every_other_row_as_it_was(chunk, monkeypatch):
    monkeypatch.setattr(bundles, "bundle_procedures", lambda ctx: None)
    without = _chunk()
    medical = chunk["medical_claim"]
    # transitional-care visits ("T") follow every discharge, the bundle stays' among them, so
    # they are compared apart: the main and winter lines must be exactly as they were
    main = ~pl.col("claim_id").str.starts_with("B") & ~pl.col("claim_id").str.starts_with("T")
    assert medical.filter(main).equals(without["medical_claim"].filter(main))
    after = medical.filter(pl.col("claim_id").str.starts_with("T"))
    before = without["medical_claim"].filter(pl.col("claim_id").str.starts_with("T"))
    assert after.height >= before.height > 0
    for table in ("eligibility", "pharmacy_claim", "provider_attribution"):
        assert chunk[table].equals(without[table])
    assert medical.filter(pl.col("claim_id").str.starts_with("B")).height > 0


GROUPS = {  # per 1,000 person-years: (target, low, high); sources in the data file
    "CABG": (("231", "232", "233", "234", "235", "236"), 1.5, 0.9, 2.3),
    "spinal fusion": (
        ("453", "454", "455", "459", "460", "471", "472", "473", "426", "427", "428", "447", "451"),
        2.9,
        1.8,
        4.0,
    ),
    "major bowel 330/331": (("330", "331"), 1.55, 0.9, 2.3),
    "hip fracture replacement 521/522": (("521", "522"), 0.9, 0.45, 1.4),
}


@pytest.mark.parametrize("group", sorted(GROUPS))
def test_procedure_volumes_are_near_their_sources(chunk, group):
    codes, target, low, high = GROUPS[group]
    medical = chunk["medical_claim"]
    person_years = (
        chunk["eligibility"]
        .select(
            ((pl.col("enrollment_end_date") - pl.col("enrollment_start_date")).dt.total_days() + 1)
            .sum()
            .alias("days")
        )
        .item()
        / 365.25
    )
    stays = (
        medical.filter(
            pl.col("claim_id").str.starts_with("B")
            & (pl.col("bill_type_code") == "111")
            & pl.col("drg_code").is_in(codes)
            & (pl.col("admit_type_code") == "3")
        )
        .select(pl.col("claim_id").n_unique())
        .item()
    )
    rate = stays / person_years * 1000
    assert low <= rate <= high, (group, rate, target)


def test_spinal_fusion_codes_follow_the_grouper_version(chunk):
    ip = chunk["medical_claim"].filter(pl.col("claim_id").str.starts_with("B"))
    late = ip.filter(pl.col("discharge_date") >= pl.date(2024, 10, 1))["drg_code"].to_list()
    early = ip.filter(pl.col("discharge_date") < pl.date(2024, 10, 1))["drg_code"].to_list()
    assert not set(late) & set(bundles.V42_REMAP)
    assert not set(early) & set(bundles.V42_REMAP.values())


def test_readmission_ratio_scales_the_lines_own_readmissions(monkeypatch):
    """With every procedure's ratio 0 the line writes no readmission stays (its stays are then
    only the procedures' own MS-DRGs); the data's ratios do write some."""
    procedures = set(bundles.procedure_table()["drg_code"]) | set(bundles.V42_REMAP.values())

    def readmission_stays(chunk: dict[str, pl.DataFrame]) -> int:
        return (
            chunk["medical_claim"]
            .filter(
                pl.col("claim_id").str.starts_with("B")
                & (pl.col("bill_type_code") == "111")
                & ~pl.col("drg_code").is_in(sorted(procedures))
            )
            .select(pl.col("claim_id").n_unique())
            .item()
        )

    assert readmission_stays(_chunk()) > 0
    table = bundles.procedure_table().with_columns(pl.lit(0.0).alias("readmission_ratio"))
    monkeypatch.setattr(bundles, "procedure_table", lambda: table)
    assert readmission_stays(_chunk()) == 0


def test_spinal_fusion_readmission_ratio_is_sourced():
    table = bundles.procedure_table()
    fusion = table.filter(pl.col("description").str.contains("(?i)spinal fusion"))
    assert fusion.height == 8
    assert (fusion["readmission_ratio"] < 1).all()
    assert fusion["source"].str.contains("Wang MC").all()
    assert table["readmission_ratio"].is_between(0, 1.5).all()


PAYMENT_PER_WEIGHT = 20_997 / 2.99  # MS-DRG 480's national mean payment per unit of its weight


def test_stay_payment_is_480s_payment_per_unit_of_weight():
    """Every procedure's ``stay_payment`` is MS-DRG 480's national mean Medicare payment per
    discharge ($20,997, synth_hip_fractures.csv) per unit of 480's weight, times its own weight
    (to the dollar), and says so; MS-DRG 236's comes within 5% of its published median Medicare
    rate, $28,398 (Wei C et al., J Am Heart Assoc 2024)."""
    table = bundles.procedure_table()
    expected = table["relative_weight"].cast(pl.Float64) * PAYMENT_PER_WEIGHT
    assert ((table["stay_payment"].cast(pl.Float64) - expected).abs() <= 1).all()
    assert table["stay_payment_source"].str.contains("20,997").all()
    assert table["stay_payment_source"].str.contains("unconfirmed").all()
    cabg_236 = table.filter(pl.col("drg_code") == "236")["stay_payment"].item()
    assert abs(cabg_236 / 28_398 - 1) < 0.05


FAMILIES = {
    "CABG": ("231", "232", "233", "234", "235", "236"),
    "spinal fusion": tuple(GROUPS["spinal fusion"][0]),
    "bowel and hip replacement": ("330", "331", "521", "522"),
}


@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_stays_are_paid_at_the_sourced_drg_payment(chunk, family):
    """The line's procedure stays are allowed at the table's ``stay_payment`` of their MS-DRG
    (v42 spinal-fusion codes at their v41 row's), not at the inpatient line's all-DRG rate:
    each family's mean allowed within 6% of the mean ``stay_payment`` of its stays (a lognormal
    spread of 8% and rare outlier days), where the all-DRG rate gave about 1.8 times as much."""
    table = bundles.procedure_table().select(
        pl.col("drg_code"), pl.col("stay_payment").cast(pl.Float64)
    )
    v41 = {new: old for old, new in bundles.V42_REMAP.items()}
    stays = (
        chunk["medical_claim"]
        .filter(
            pl.col("claim_id").str.starts_with("B")
            & (pl.col("bill_type_code") == "111")
            & (pl.col("admit_type_code") == "3")
            & pl.col("drg_code").is_in(FAMILIES[family])
        )
        .group_by("claim_id", "drg_code")
        .agg(pl.col("allowed_amount").sum())
        .with_columns(pl.col("drg_code").replace(v41))
        .join(table, on="drg_code")
    )
    assert stays.height >= 25
    ratio = stays["allowed_amount"].mean() / stays["stay_payment"].mean()
    assert abs(ratio - 1) < 0.06, (family, ratio)


def test_cabg_and_bowel_readmission_ratios_are_sourced():
    """CABG's 30-day readmission ratio rests on Pennsylvania's published 13.2% (PHC4 2006) and
    major bowel's on SEER-Medicare's 11.0% after colectomy (Greenblatt et al. 2010)."""
    table = bundles.procedure_table()
    cabg = table.filter(pl.col("drg_code").is_in(FAMILIES["CABG"]))
    bowel = table.filter(pl.col("drg_code").is_in(["330", "331"]))
    assert (cabg["readmission_ratio"] == 0.65).all()
    assert cabg["source"].str.contains("13.2%").all()
    assert (bowel["readmission_ratio"] == 0.6).all()
    assert bowel["source"].str.contains("11.0%").all()
