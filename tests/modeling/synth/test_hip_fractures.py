"""Hip-fracture surgery (MS-DRG 480-482): the main line's recode moves codes only, the fracture
line's rows are appended, and volumes and discharge paths are near their sources
(docs/calibration-bundles.md)."""

from __future__ import annotations

import importlib

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from modeling.synth.params import load_params
from modeling.synth.services import hip_fractures as fractures
from modeling.synth.spec import SynthSpec
from tests.modeling.synth.lines import one_chunk

inpatient = importlib.import_module(
    "modeling.synth.services.inpatient"
)  # the package exports a function of that name
SPEC = SynthSpec(members=12_500, start_year=2023, years=2, seed=20240601)
CODES = ("drg_code", "diagnosis_code_1", "procedure_code_1", "hcpcs_code")


def _chunk() -> dict[str, pl.DataFrame]:
    return one_chunk(SPEC, load_params())


@pytest.fixture(scope="module")
def chunk() -> dict[str, pl.DataFrame]:
    return _chunk()


def _person_years(chunk: dict[str, pl.DataFrame]) -> float:
    days = (pl.col("enrollment_end_date") - pl.col("enrollment_start_date")).dt.total_days() + 1
    return chunk["eligibility"].select(days.sum()).item() / 365.25


def test_the_fracture_line_is_appended(chunk, monkeypatch):
    monkeypatch.setattr(fractures, "hip_fractures", lambda ctx: None)
    without = _chunk()
    ours = pl.col("claim_id").str.contains("^(H|T9)")  # its claims and their TCM visits
    assert chunk["medical_claim"].filter(~ours).equals(without["medical_claim"])
    for table in ("eligibility", "pharmacy_claim", "provider_attribution"):
        assert chunk[table].equals(without[table])
    assert chunk["medical_claim"].filter(ours).height > 0
    tcm = chunk["medical_claim"].filter(pl.col("claim_id").str.starts_with("T9"))
    assert tcm.height > 0 and set(tcm["hcpcs_code"]) <= {"99495", "99496", "1111F"}


def test_the_recode_changes_only_the_codes_of_the_recoded_admissions(chunk, monkeypatch):
    """Without the recode table the main lines write MS-DRG 480/481; with it, the same rows in
    the same order, every value equal but the four code columns, and those only on rows of
    claims that were 480/481 (their surgeon and physician claims included)."""
    monkeypatch.setattr(inpatient, "drg_recodes", lambda: ())
    main = ~pl.col("claim_id").str.contains("^(H|T9)")
    before = _chunk()["medical_claim"].filter(main)
    after = chunk["medical_claim"].filter(main)
    assert before.height == after.height
    assert before.drop(CODES).equals(after.drop(CODES))
    moved = pl.any_horizontal([pl.col(c).ne_missing(pl.col(f"{c}_after")) for c in CODES])
    pair = pl.concat(
        [before.select("claim_id", *CODES), after.select(CODES).rename(lambda c: f"{c}_after")],
        how="horizontal",
    )
    changed = pair.filter(moved)
    assert 0 < changed.height < 0.01 * before.height
    recoded_ids = pair.filter(pl.col("drg_code").is_in(["480", "481"]))
    assert set(recoded_ids["drg_code_after"]) == {"515", "516"}
    assert not after.filter(
        pl.col("drg_code").is_in(["480", "481"]) & ~pl.col("claim_id").str.starts_with("B")
    ).height
    # every changed row is a claim of a recoded stay's person and admission day
    stays = recoded_ids.join(
        before.select("claim_id", "person_id", "claim_start_date"), on="claim_id"
    )
    keys = stays.select("person_id", "claim_start_date").unique()
    rows = changed.join(before.select("claim_id", "person_id", "claim_start_date"), on="claim_id")
    assert rows.join(keys, on=["person_id", "claim_start_date"], how="anti").height == 0


@settings(deadline=None)  # the first call may wait on a loaded machine; timing is not tested
@given(
    st.lists(st.integers(0, 2_000_000), min_size=1, max_size=50),
    st.lists(st.integers(0, 40_000), min_size=1, max_size=50),
)
def test_unit_hash_is_a_fixed_number_in_the_unit_interval(people, days):
    n = min(len(people), len(days))
    p, d = np.array(people[:n]), np.array(days[:n])
    u = inpatient.unit_hash(p, d)
    assert ((u >= 0) & (u < 1)).all()
    assert (u == inpatient.unit_hash(p.copy(), d.copy())).all()


def test_keep_share_keeps_about_that_share():
    rng = np.random.default_rng(5)
    p, day = rng.integers(0, 10**6, 20_000), rng.integers(19_000, 20_000, 20_000)
    u = inpatient.unit_hash(p, day)
    assert abs((u < 0.3).mean() - 0.3) < 0.02
    drg = np.full(len(p), "480", dtype=object)
    none = np.full(len(p), None, dtype=object)
    codes, principal, pcs, cpt = inpatient.recoded(p, day, drg, none.copy(), none.copy(), none)
    assert (
        set(codes) == {"515"} and set(cpt) == {"22514"} and set(principal) <= {"M8008XA", "M4856XA"}
    )


def _stays(chunk: dict[str, pl.DataFrame]) -> pl.DataFrame:
    medical = chunk["medical_claim"]
    return (
        medical.filter(
            pl.col("claim_id").str.starts_with("H")
            & (pl.col("bill_type_code") == "111")
            & pl.col("drg_code").is_in(["480", "481", "482"])
        )
        .group_by("claim_id")
        .agg(pl.col("discharge_disposition_code").first(), pl.col("person_id").first())
    )


def test_hip_fracture_surgery_volume_is_near_its_source(chunk):
    """About 3 per 1,000 person-years (the fixation part of about 5.0 hip-fracture admissions
    per 1,000 Medicare beneficiaries, Sundaram et al., MedPAR FY2010-2015)."""
    rate = _stays(chunk).height / _person_years(chunk) * 1000
    assert 2.2 <= rate <= 4.0, rate
    main = chunk["medical_claim"].filter(
        ~pl.col("claim_id").str.starts_with("H")
        & (pl.col("bill_type_code") == "111")
        & pl.col("drg_code").is_in(["480", "481", "482"])
    )
    assert main.select(pl.col("claim_id").n_unique()).item() / _person_years(chunk) * 1000 < 0.5


def test_discharge_paths_follow_their_shares(chunk):
    """SNF about half, IRF 22% (23.9% in 2005, Nguyen-Oghalai et al. 2008), home health 18%."""
    stays = _stays(chunk)
    share = stays["discharge_disposition_code"].value_counts(normalize=True)
    got = dict(zip(share["discharge_disposition_code"], share["proportion"], strict=True))
    assert abs(got.get("03", 0) - 0.50) < 0.08
    assert abs(got.get("62", 0) - 0.22) < 0.07
    irf = chunk["medical_claim"].filter(
        pl.col("claim_id").str.starts_with("H") & (pl.col("revenue_center_code") == "0024")
    )
    assert 0.6 * stays.filter(pl.col("discharge_disposition_code") == "62").height <= irf.height
    assert (irf["paid_amount"] > 0).all()
    assert irf["drg_code"].is_null().all()


def test_paths_are_sourced():
    table = fractures.fracture_table()
    assert table["source"].str.len_chars().min() > 10
    assert table["stay_payment_source"].str.len_chars().min() > 10
    assert table.filter(pl.col("drg_code") == "480")["stay_payment"].item() == 20_997
    shares = [
        fractures.paths()[k] for k in ("discharge_snf", "discharge_irf", "discharge_home_health")
    ]
    assert 0 < sum(shares) < 1


def test_stays_are_paid_at_the_sourced_drg_payment(chunk):
    """The line's facility claims are allowed at the table's ``stay_payment`` (MS-DRG 480 at the
    national mean Medicare payment per discharge in CMS's inpatient file, 481/482 in proportion
    to their weights), not at the inpatient line's all-DRG rate (which gave 481 about $24,600):
    each DRG's mean within 6% (a lognormal spread of 8% and rare outlier days)."""
    table = fractures.fracture_table()
    stays = (
        chunk["medical_claim"]
        .filter(
            pl.col("claim_id").str.starts_with("H")
            & (pl.col("bill_type_code") == "111")
            & pl.col("drg_code").is_in(["480", "481", "482"])
        )
        .group_by("claim_id", "drg_code")
        .agg(pl.col("allowed_amount").sum())
    )
    means = stays.group_by("drg_code").agg(pl.col("allowed_amount").mean(), pl.len())
    expected = dict(zip(table["drg_code"], table["stay_payment"].cast(pl.Float64), strict=True))
    assert means.height == 3 and means["len"].min() >= 10
    for drg, mean in zip(means["drg_code"], means["allowed_amount"], strict=True):
        assert abs(mean / expected[drg] - 1) < 0.06, (drg, mean, expected[drg])


def test_stay_payment_undoes_the_price_level():
    """``stay_payment`` divides by the generator's price level, which the claim book multiplies
    back, so the claims carry the table's dollars."""
    rows = np.array([0, 1, 2])
    got = fractures.stay_payment(rows, 1.15) * 1.15
    assert np.allclose(got, fractures.fracture_table()["stay_payment"].cast(pl.Float64).to_numpy())
