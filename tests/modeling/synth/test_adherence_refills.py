"""On-time refills of the adherence measures' drugs: appended from their own stream, only on
days no fill covers, at the parameter's share of member-drugs, bringing PDC near Part D's."""

from __future__ import annotations

import polars as pl

from modeling.synth.adherence import adherence_ndcs
from modeling.synth.calibration import _adherence
from modeling.synth.calibration import targets as calibration_targets
from modeling.synth.generator import SynthSpec
from modeling.synth.params import load_params
from tests.modeling.synth.lines import appended_fills

SPEC = SynthSpec(members=3000, start_year=2023, years=2, seed=41)
KEYS = ["person_id", "ndc_code"]


def test_refills_are_appended_on_uncovered_days_of_the_adherence_drugs():
    tables, added = appended_fills(SPEC, load_params(), prefix="adherence_refill", id_letter="A")
    assert added.height > 0 and added["claim_id"].is_unique().all()
    assert set(added["ndc_code"]) <= set(adherence_ndcs())
    main = tables["pharmacy_claim"].filter(~pl.col("claim_id").str.starts_with("A"))
    # a refill falls on no day that a fill of the main stream already covers (the fill before
    # it, of its year or the year before; the refills before a member-drug's first fill, in the
    # panel's first year, cover the days a fill before the panel would have)
    before = main.select(
        *KEYS, pl.col("dispensing_date").alias("last"), pl.col("days_supply").alias("s")
    ).sort("last")
    matched = added.sort("dispensing_date").join_asof(
        before, left_on="dispensing_date", right_on="last", by=KEYS, check_sortedness=False
    )
    lead = matched.filter(pl.col("last").is_null())
    assert (lead["dispensing_date"].dt.year() == SPEC.start_year).all()
    following = matched.filter(pl.col("last").is_not_null())
    covered_days = (following["dispensing_date"] - following["last"]).dt.total_days() < following[
        "s"
    ]
    assert following.height > lead.height and not covered_days.any()
    # the refills of a member-drug follow one cycle of its supply across 1 January
    steps = (
        pl.concat([main, added])
        .join(added.select(KEYS).unique(), on=KEYS, how="semi")
        .sort("dispensing_date")
        .group_by(KEYS)
        .agg(pl.col("dispensing_date"), pl.col("claim_id"), pl.col("days_supply").first())
    )
    crossing = 0
    for _, _, dates, ids, supply in steps.iter_rows():
        refills = [d for d, c in zip(dates, ids, strict=True) if c.startswith("A")]
        offsets = {(d - refills[0]).days % supply for d in refills}
        assert offsets == {0}
        crossing += len({d.year for d in refills}) > 1
    assert crossing > 50
    # the share of member-drugs refilled is near the parameter among those with a gap
    refilled = added.select(KEYS).unique()
    groups = main.filter(pl.col("ndc_code").is_in(adherence_ndcs()))
    gaps = (
        groups.sort("dispensing_date")
        .group_by(KEYS)
        .agg(
            (pl.col("dispensing_date").diff().dt.total_days() > pl.col("days_supply").shift(1))
            .any()
            .alias("gap")
        )
        .filter(pl.col("gap"))
    )
    share = gaps.join(refilled, on=KEYS, how="semi").height / gaps.height
    assert abs(share - load_params().behaviour["adherence_refill_share"]) < 0.05


def test_pdc_comes_near_part_d_with_the_refills(small_dataset):
    figures = _adherence(small_dataset, 2024)
    bounds = calibration_targets().filter(pl.col("figure").str.starts_with("adherence_"))
    assert set(bounds["figure"]) == set(figures)
    for figure, low, high in bounds.select("figure", "low", "high").iter_rows():
        assert low <= figures[figure] <= high, (figure, figures[figure])
