"""The synthetic hip-fracture episodes against published Medicare figures
(docs/calibration-bundles.md): the 90-day BPCI Advanced episode after hip or femur fixation
against Adeyemi A, Delhougne G, *JBJS Open Access* 2019;4(1):e0045 (Medicare 5% Standard
Analytic Files 2014, propensity-matched: $42,388 per patient within 90 days of a hip fracture,
inpatient care and SNF together 75.6%), and the 30-day TEAM SHFFT anchor stay against CMS's
inpatient payment per discharge (the line's ``stay_payment``)."""

from __future__ import annotations

import polars as pl
import pytest

from contracts.bundles.analysis import bundle_model
from contracts.bundles.build import panel_episode_tables
from modeling.synth import SynthSpec, generate
from modeling.synth.params import load_params
from modeling.synth.services import hip_fractures

NINETY_DAY_SPENDING = 42_388  # Adeyemi & Delhougne 2019, all hip fractures, 2014 dollars
INPATIENT_AND_SNF_SHARE = 0.756  # the same paper: inpatient hospitalization and SNF
HIP_FEMUR = "IP-Hip & femur procedures except major joint"


@pytest.fixture(scope="module")
def kept_episodes(tmp_path_factory):
    """Kept TEAM (2026 rules) and BPCI Advanced episodes of a 12,000-member, 2-year panel."""
    panel = generate(
        SynthSpec(members=12_000, start_year=2023, years=2, seed=20240601),
        tmp_path_factory.mktemp("fractures") / "panel",
    )
    team, bpci = panel_episode_tables(
        panel,
        [bundle_model("team", rules_year=2026).spec, bundle_model("bpci-advanced").spec],
    )
    kept = pl.col("status") == "kept"
    return team.episodes.filter(kept), bpci.episodes.filter(kept)


@pytest.fixture(scope="module")
def fracture_episodes(kept_episodes):
    team, bpci = kept_episodes
    return (
        team.filter(pl.col("episode_category") == "SHFFT"),
        bpci.filter(pl.col("episode_category") == HIP_FEMUR),
    )


def _share(episodes: pl.DataFrame, *settings: str) -> float:
    total = episodes["total_spending"].sum()
    return sum(episodes[f"spend_{s}"].sum() for s in settings) / total


def test_ninety_day_hip_femur_episode_is_near_the_published_episode(fracture_episodes):
    """Mean 90-day spending within 25% of $42,388 (no price update from 2014 is applied: the
    band is for the level, not the vintage) and acute inpatient care (anchor, readmissions,
    IRF, which Medicare bills on the inpatient claim) plus SNF within 10 points of 75.6%;
    without the IRF bills the share is lower, so the published share lies between the two."""
    _, bpci = fracture_episodes
    assert bpci.height >= 40
    mean = bpci["total_spending"].mean()
    assert 0.75 * NINETY_DAY_SPENDING <= mean <= 1.25 * NINETY_DAY_SPENDING, mean
    with_irf = _share(bpci, "anchor", "readmission", "irf", "snf")
    without_irf = _share(bpci, "anchor", "readmission", "snf")
    assert abs(with_irf - INPATIENT_AND_SNF_SHARE) <= 0.10, with_irf
    assert without_irf < with_irf


def test_shfft_anchor_is_paid_at_the_line_stay_payment(fracture_episodes):
    """The TEAM SHFFT anchor averages the table's ``stay_payment`` of its MS-DRG less at most
    the Part A deductible (paid amounts: the generator takes the deductible off a year's first
    admission before its price level, so at most price level x deductible), with 5% for the
    lognormal spread. (The 30-day post-acute share has no published counterpart it must meet:
    docs/calibration-bundles.md compares it with Birkmeyer et al. 2010.)"""
    team, _ = fracture_episodes
    params = load_params()
    deductible = params.behaviour["price_level"] * float(
        params.cost_sharing.filter(pl.col("year").is_in([2023, 2024]))[
            "part_a_inpatient_deductible"
        ].max()
    )
    table = hip_fractures.fracture_table().select(
        pl.col("drg_code").cast(pl.String).alias("anchor_code"),
        pl.col("stay_payment").cast(pl.Float64),
    )
    by_drg = (
        team.group_by("anchor_code")
        .agg(pl.col("spend_anchor").mean(), pl.len())
        .join(table, on="anchor_code")
    )
    assert by_drg.height == 3
    low = 0.95 * by_drg["stay_payment"] - deductible
    high = 1.02 * by_drg["stay_payment"]
    assert ((by_drg["spend_anchor"] >= low) & (by_drg["spend_anchor"] <= high)).all(), by_drg


# 90-day CABG episodes, Medicare and private payers at Medicare prices (price-standardized),
# 33 Michigan hospitals 2014-2016 (Brescia AA et al., Circ Cardiovasc Qual Outcomes
# 2020;13(11):e006374): high-value and low-value hospitals' means
CABG_NINETY_DAY = (45_526, 51_509)
CABG_INDEX_STAY = (30_800, 33_474)
# 90-day Medicare payment for lumbar fusion, 2005-2012: single-level posterior interbody fusion
# $25,501 (Spine 2018, PMID 29252824) and 3 or more levels without complications $35,878
# (Clin Spine Surg 2018;31(3))
FUSION_NINETY_DAY = (25_501, 35_878)


def _team_family(team: pl.DataFrame, category: str) -> pl.DataFrame:
    family = team.filter(pl.col("episode_category") == category)
    assert family.height >= 20, (category, family.height)
    return family


def test_cabg_thirty_day_episode_is_within_the_published_range(kept_episodes):
    """TEAM CABG 30-day mean spending between 0.8 x the high-value hospitals' 90-day mean (a
    30-day episode holds the index stay and most of the 90 days' readmissions and post-acute
    care) and 1.2 x the low-value hospitals' (paid, not price-standardized, amounts and a
    decade of IPPS updates); the anchor stay between 0.9 x and 1.25 x the published index
    hospitalization. Paid at the inpatient line's all-DRG rate the episode averaged $81,001 and
    its anchor $66,028 on the default panel, outside both."""
    cabg = _team_family(kept_episodes[0], "CABG")
    mean = cabg["total_spending"].mean()
    assert 0.8 * CABG_NINETY_DAY[0] <= mean <= 1.2 * CABG_NINETY_DAY[1], mean
    anchor = cabg["spend_anchor"].mean()
    assert 0.9 * CABG_INDEX_STAY[0] <= anchor <= 1.25 * CABG_INDEX_STAY[1], anchor


def test_spinal_fusion_thirty_day_episode_is_within_the_published_range(kept_episodes):
    """TEAM spinal-fusion 30-day mean spending between 0.8 x the single-level and 1.2 x the
    multi-level published 90-day Medicare payment (the synthetic mix is mostly one- and
    two-level MS-DRGs 460/473, with some combined and MCC fusions). At the all-DRG rate it
    averaged $62,523 on the default panel."""
    fusion = _team_family(kept_episodes[0], "Spinal fusion")
    mean = fusion["total_spending"].mean()
    assert 0.8 * FUSION_NINETY_DAY[0] <= mean <= 1.2 * FUSION_NINETY_DAY[1], mean


# 90-day LEJR episodes of the CJR control MSAs, 2016: total Medicare spending $22,872, of which
# $3,871 (16.9%) institutional post-acute care (Finkelstein A et al., JAMA 2018;320(9):892)
LEJR_NINETY_DAY = 22_872
LEJR_INSTITUTIONAL_SHARE = 0.169
BPCI_LEJR = "MS-Major joint replacement of the lower extremity"
# 30-day Medicare episodes of four surgeries, 2005, price-standardized: back surgery $26,515 to
# CABG $45,358, colectomy between (Birkmeyer JD et al., Health Serv Res 2010;45(6):1783)
SURGICAL_THIRTY_DAY = (26_515, 45_358)
# 90 days after a non-elective hip replacement (hip fracture), Medicare 2013-2014: 72.1% used a
# SNF and 23.5% an IRF (Middleton A et al., J Arthroplasty 2017;32(9):2639, N=640,021 LEJR)
FRACTURE_SNF_USE = 0.721
FRACTURE_IRF_USE = 0.235


def test_lejr_ninety_day_episode_is_near_cjr(kept_episodes):
    """BPCI Advanced's 90-day LEJR episode (MS-DRG 469/470 and the outpatient 27447/27130)
    averages within 0.8-1.25 x CJR's control-MSA 2016 total (paid, not standardized, amounts
    and later IPPS updates), its SNF and IRF share within 8 points of CJR's 16.9%, and TEAM's
    30-day episode, part of those 90 days, under 1.1 x the 90-day total. With 469/470 paid at
    the main stream's all-DRG rate the 90-day episode averaged $32,210 and the 30-day $28,679
    on the default panel (docs/calibration-bundles.md, sixth pass)."""
    team, bpci = kept_episodes
    lejr = _team_family(bpci, BPCI_LEJR)
    mean = lejr["total_spending"].mean()
    assert 0.8 * LEJR_NINETY_DAY <= mean <= 1.25 * LEJR_NINETY_DAY, mean
    institutional = _share(lejr, "snf", "irf")
    assert abs(institutional - LEJR_INSTITUTIONAL_SHARE) <= 0.08, institutional
    thirty = _team_family(team, "LEJR")["total_spending"].mean()
    assert thirty <= 1.1 * LEJR_NINETY_DAY, thirty


def test_major_bowel_thirty_day_episode_is_within_the_published_range(kept_episodes):
    """TEAM major bowel 30-day mean spending between 0.9 x back surgery's and 1.1 x CABG's
    published 30-day episode (colectomy lies between them; its own figure was not retrieved).
    With MS-DRG 329 paid at the all-DRG rate it averaged $54,485 on the default panel."""
    bowel = _team_family(kept_episodes[0], "Major bowel procedure")
    mean = bowel["total_spending"].mean()
    assert 0.9 * SURGICAL_THIRTY_DAY[0] <= mean <= 1.1 * SURGICAL_THIRTY_DAY[1], mean


def test_hip_fracture_post_acute_use_is_near_published_use(fracture_episodes):
    """Within the 90-day hip & femur episode, IRF use within 8 points of the published 23.5%,
    and SNF or IRF use at least 0.8 x the published SNF use alone (72.1%; a member may use
    both, so the union is at least that in the published cohort)."""
    _, bpci = fracture_episodes
    irf = (bpci["spend_irf"] > 0).mean()
    institutional = ((bpci["spend_snf"] > 0) | (bpci["spend_irf"] > 0)).mean()
    assert abs(irf - FRACTURE_IRF_USE) <= 0.08, irf
    assert institutional >= 0.8 * FRACTURE_SNF_USE, institutional
