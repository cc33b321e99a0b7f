"""Practice effects on avoidable hospital use: repeat stays appended from their own stream for
practices with a positive effect, main-stream readmissions thinned for practices below the shift,
and both recovered by the risk-adjusted provider comparison."""

from __future__ import annotations

import dataclasses
from types import MappingProxyType

import numpy as np
import polars as pl

from modeling.core.panel import Panel
from modeling.synth import generator
from modeling.synth.generator import SynthSpec, generate
from modeling.synth.outcomes import SALT, keep_probability, repeat_probability
from modeling.synth.params import load_params
from modeling.synth.people import provider_pool
from risk_stratification.quality.risk_adjustment import risk_adjust
from tests.modeling.synth.lines import appended_rows, one_chunk

SPEC = SynthSpec(members=3000, start_year=2023, years=2, seed=43)
THIN = "outcome_readmission_keep_shift"


def _without_thinning():
    base = load_params()
    return dataclasses.replace(
        base, behaviour=MappingProxyType({k: v for k, v in base.behaviour.items() if k != THIN})
    )


def test_repeat_stays_are_appended_copies_after_a_discharge():
    added = appended_rows(SPEC, _without_thinning(), prefix="outcome_", id_letter="Q")
    assert added.height > 0
    assert added["bill_type_code"].str.starts_with("11").all()
    assert (added["admit_type_code"] == "1").all()  # unplanned: counts as a readmission
    medical = one_chunk(SPEC, load_params())["medical_claim"]
    stays = medical.filter(
        pl.col("bill_type_code").str.starts_with("11") & ~pl.col("claim_id").str.starts_with("Q")
    )
    # every repeat stay is admitted 1-30 days after a discharge of the same member
    repeats = added.select("person_id", "admission_date").unique().sort("admission_date")
    before = stays.select("person_id", "discharge_date").unique().sort("discharge_date")
    matched = repeats.join_asof(
        before,
        left_on="admission_date",
        right_on="discharge_date",
        by="person_id",
        strategy="backward",
        check_sortedness=False,
    )
    days = (matched["admission_date"] - matched["discharge_date"]).dt.total_days()
    assert days.null_count() == 0 and days.is_between(0, 30).all()


def test_only_practices_with_a_positive_effect_get_repeat_stays():
    assert repeat_probability(np.array([-0.5, 0.0, 0.5]), 0.06).tolist() == [
        0.0,
        0.0,
        0.06 * (np.exp(0.5) - 1.0),
    ]
    assert repeat_probability(np.array([10.0]), 0.06).tolist() == [1.0]


def test_practices_below_the_shift_keep_exp_of_their_effect_of_readmissions():
    assert keep_probability(np.array([-1.0, 0.0, 0.35, 2.0]), 0.35).tolist() == [
        np.exp(-1.35),
        np.exp(-0.35),
        1.0,
        1.0,
    ]


def test_thinning_drops_whole_main_stream_readmissions_of_practices_below_the_shift():
    params = load_params()
    shift = float(params.behaviour[THIN])
    a, b = one_chunk(SPEC, params), one_chunk(SPEC, _without_thinning())
    for other in ("eligibility", "pharmacy_claim", "provider_attribution"):
        assert a[other].equals(b[other])
    key = ["claim_id", "claim_line_number"]
    # nothing is added or changed: the thinned panel is the other less whole claims
    assert a["medical_claim"].join(b["medical_claim"], on=key, how="anti").is_empty()
    kept_ids = a["medical_claim"]["claim_id"].unique().implode()
    gone = b["medical_claim"].filter(~pl.col("claim_id").is_in(kept_ids))
    assert a["medical_claim"].equals(b["medical_claim"].filter(pl.col("claim_id").is_in(kept_ids)))
    assert gone.height > 0 and gone["claim_id"].str.starts_with("C").all()
    stays = gone.filter(pl.col("bill_type_code").str.starts_with("11"))
    # every claim dropped belongs to a dropped stay (same member, admission day)
    assert gone.join(
        stays.select("person_id", pl.col("admission_date").alias("claim_start_date")),
        on=["person_id", "claim_start_date"],
        how="anti",
    ).is_empty()
    # each dropped stay is a readmission: admitted 1-30 days after a discharge of the member
    before = (
        b["medical_claim"]
        .filter(pl.col("bill_type_code").str.starts_with("11"))
        .select("person_id", "discharge_date")
        .unique()
        .sort("discharge_date")
    )
    matched = (
        stays.select("person_id", "admission_date")
        .unique()
        .sort("admission_date")
        .join_asof(
            before,
            left_on="admission_date",
            right_on="discharge_date",
            by="person_id",
            strategy="backward",
            allow_exact_matches=False,
            check_sortedness=False,
        )
    )
    days = (matched["admission_date"] - matched["discharge_date"]).dt.total_days()
    assert days.null_count() == 0 and days.is_between(1, 30).all()
    # and of a member attributed in the discharge year to a practice below the shift (an
    # unattributed member counts as effect 0, as in the repeat-stay line)
    effects = provider_pool(SPEC.seed).pcp_effects(
        SPEC.seed, SALT, params.behaviour["outcome_pcp_effect_sd"]
    )
    practices = (
        stays.select("person_id", pl.col("discharge_date").dt.year().alias("year"))
        .join(
            a["provider_attribution"].unique(["person_id", "year"], keep="first"),
            on=["person_id", "year"],
            how="left",
        )["provider_npi"]
        .to_list()
    )
    assert all(effects.get(p, 0.0) < shift for p in practices)
    above = [p for p, e in effects.items() if e >= shift]
    assert not set(practices) & set(above)


def test_risk_adjustment_recovers_the_planted_practice_effects(tmp_path, monkeypatch):
    # a strong planted effect, so that 2,000 members show it: the practices with the largest
    # effects have readmission O/E above those with no effect
    base = load_params()
    strong = dataclasses.replace(
        base,
        behaviour=MappingProxyType({**base.behaviour, "outcome_repeat_stay_rate": 0.6}),
    )
    monkeypatch.setattr(generator, "load_params", lambda: strong)
    spec = SynthSpec(members=4000, start_year=2023, years=2, seed=47)
    panel = Panel(generate(spec, tmp_path / "p"))
    effects = provider_pool(spec.seed).pcp_effects(
        spec.seed, SALT, strong.behaviour["outcome_pcp_effect_sd"]
    )
    by_provider = (
        risk_adjust(panel, 2024, "readmission_30d", draws=20)
        .by_provider.with_columns(
            pl.col("provider_npi")
            .replace_strict(effects, default=None, return_dtype=pl.Float64)
            .alias("effect")
        )
        .drop_nulls("effect")
    )

    def pooled(frame: pl.DataFrame) -> float:
        return float(frame["observed"].sum() / frame["expected"].sum())

    high = pooled(by_provider.filter(pl.col("effect") > 0.4))
    none = pooled(by_provider.filter(pl.col("effect").is_between(-0.2, 0.0)))
    low = pooled(by_provider.filter(pl.col("effect") < -0.4))
    assert high > 1.3 * none, (high, none)
    assert low < none < 1.0 < high, (low, none, high)


def test_the_discharge_year_pcp_of_both_rules():
    import datetime as dt

    from modeling.synth.outcomes import discharge_year_pcp, pcp_effect

    stays = pl.DataFrame(
        {
            "claim_id": ["C3", "C1", "C2"],
            "person_id": ["A", "A", "B"],
            "discharge_date": [dt.date(2024, 1, 2), dt.date(2023, 12, 30), dt.date(2024, 5, 1)],
        }
    )
    attribution = pl.DataFrame(
        {"person_id": ["A", "A"], "year": [2023, 2024], "provider_npi": ["N23", "N24"]}
    ).with_columns(pl.col("year").cast(pl.Int32))
    # the PCP of the discharge year, in claim-id order; B has none that year
    inner = discharge_year_pcp(stays, attribution, attributed_only=True)
    assert inner.select("claim_id", "provider_npi").rows() == [("C1", "N23"), ("C3", "N24")]
    left = discharge_year_pcp(stays, attribution, attributed_only=False)
    assert left.select("claim_id", "provider_npi").rows() == [
        ("C1", "N23"),
        ("C2", None),
        ("C3", "N24"),
    ]
    assert pcp_effect(left["provider_npi"], {"N23": 0.5}).tolist() == [0.5, 0.0, 0.0]
