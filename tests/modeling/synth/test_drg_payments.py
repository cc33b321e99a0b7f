"""MS-DRG 469, 470, 329, 480 and 481 stays of the main inpatient stream at their sourced payment
per discharge (``synth_drg_payments.csv``) rather than at the all-DRG ``IPPS_BASE_RATE`` per unit of
weight, with no random draw moved (docs/calibration-bundles.md, sixth pass)."""

from __future__ import annotations

import importlib

import numpy as np
import polars as pl
import pytest

from modeling.synth.params import load_params, read_table
from modeling.synth.spec import SynthSpec
from tests.modeling.synth.lines import one_chunk

inpatient = importlib.import_module("modeling.synth.services.inpatient")
SPEC = SynthSpec(members=8_000, start_year=2023, years=2, seed=20240601)
LISTED = ("469", "470", "329", "480", "481")
# the main stream recodes its 480/481 draws to 515/516 after pricing them (synth_drg_recodes.csv)
AS_BILLED = {"469": "469", "470": "470", "329": "329", "480": "515", "481": "516"}
PAYMENT_PER_WEIGHT = 20_997 / 2.99  # MS-DRG 480's national mean payment per unit of its weight
MONEY = ("paid_amount", "allowed_amount")


def _chunk() -> dict[str, pl.DataFrame]:
    return one_chunk(SPEC, load_params())


@pytest.fixture(scope="module")
def chunk() -> dict[str, pl.DataFrame]:
    return _chunk()


def test_the_table_is_480s_payment_per_unit_of_weight_and_sourced():
    """Each row is $7,022 (MS-DRG 480's $20,997 / 2.99) x the inpatient table's weight of that
    MS-DRG, to the dollar (480's is its published $20,997 itself), with its source and status;
    470's states why the $24,455 national mean was not taken."""
    table = read_table("synth_drg_payments.csv", schema_overrides={"drg_code": pl.String})
    drgs = load_params().drgs.select("drg_code", pl.col("relative_weight").alias("weight"))
    rows = table.join(drgs, on="drg_code")
    assert sorted(rows["drg_code"]) == sorted(LISTED)
    assert (rows["relative_weight"] == rows["weight"]).all()
    expected = rows["weight"] * round(PAYMENT_PER_WEIGHT)  # $7,022, as the bundle line
    assert ((rows["stay_payment"].cast(pl.Float64) - expected).abs() <= 5).all()
    assert rows.filter(pl.col("drg_code") == "480")["stay_payment"].item() == 20_997
    assert rows["source"].str.contains("20,997").all()
    assert rows["status"].str.contains("unconfirmed").all()
    assert "24,455" in rows.filter(pl.col("drg_code") == "470")["source"].item()


def test_listed_payment_replaces_only_the_listed_drgs():
    codes = np.array(["470", "291", "329", "469", "194"], dtype=object)
    weight = np.array([1.91, 1.3, 4.5, 3.05, 1.0])
    got = inpatient.listed_payment(codes, weight, 1.15)
    table = inpatient.drg_payments()
    assert got[1] == pytest.approx(1.3 * inpatient.IPPS_BASE_RATE)
    assert got[4] == pytest.approx(inpatient.IPPS_BASE_RATE)
    for i in (0, 2, 3):
        assert got[i] == pytest.approx(table[codes[i]] / 1.15)


def _stays(medical: pl.DataFrame) -> pl.DataFrame:
    return (
        medical.filter(pl.col("bill_type_code") == "111")
        .group_by("claim_id", "drg_code")
        .agg(pl.col("allowed_amount").sum())
    )


@pytest.mark.parametrize("drg", LISTED)
def test_listed_stays_are_allowed_at_their_sourced_payment(chunk, drg):
    """Mean allowed per stay within 6% of the table's payment (an 8% lognormal spread and rare
    outlier days), where weight x IPPS_BASE_RATE x price level gave about 1.8 times as much."""
    dollars = inpatient.drg_payments()[drg]
    stays = _stays(chunk["medical_claim"]).filter(
        pl.col("drg_code") == AS_BILLED[drg], pl.col("claim_id").str.starts_with("C")
    )
    assert stays.height >= 10
    ratio = stays["allowed_amount"].mean() / dollars
    assert abs(ratio - 1) < 0.06, (drg, ratio)


def test_the_repricing_moves_no_draw(chunk, monkeypatch):
    """With the table emptied (every stay at weight x IPPS_BASE_RATE, as before) the chunk has
    the same rows in the same order, equal in every column but the amounts, and the amounts
    differ only on the listed MS-DRGs' facility lines (480/481 billed as 515/516); the other
    tables are equal."""
    monkeypatch.setattr(inpatient, "drg_payments", lambda: {})
    before = _chunk()
    now, old = chunk["medical_claim"], before["medical_claim"]
    assert now.height == old.height
    others = [c for c in now.columns if c not in MONEY]
    assert now.select(others).equals(old.select(others))
    moved = pl.any_horizontal([(now[c] != old[c]).fill_null(False) for c in MONEY])
    changed = now.filter(moved)
    assert changed.height > 0
    assert set(changed["drg_code"].unique()) <= set(AS_BILLED.values())
    assert set(changed["bill_type_code"].unique()) == {"111"}
    assert now.filter(~moved).equals(old.filter(~moved))
    for table in ("eligibility", "pharmacy_claim", "provider_attribution"):
        assert chunk[table].equals(before[table])
