"""Preventive screening rows: appended from their own stream, at the parameters' rates, for the
right ages and sexes, with PCPs that really differ."""

from __future__ import annotations

import numpy as np
import polars as pl

from modeling.synth.generator import SynthSpec
from modeling.synth.params import load_params
from modeling.synth.people import provider_pool
from modeling.synth.preventive import SALT
from tests.modeling.synth.lines import appended_rows, one_chunk

SPEC = SynthSpec(members=4000, start_year=2023, years=2, seed=37)


def test_rows_are_appended_and_every_other_row_stays_the_same():
    added = appended_rows(SPEC, load_params(), prefix="preventive_", id_letter="S")
    assert set(added["hcpcs_code"].unique()) == {"77067", "82274"}
    assert added["claim_id"].is_unique().all()


def test_ages_sexes_rates_and_provider_spread():
    tables = one_chunk(SPEC, load_params())
    b = load_params().behaviour
    added = tables["medical_claim"].filter(pl.col("claim_id").str.starts_with("S"))
    people = tables["eligibility"].group_by("person_id").agg(pl.col("gender", "birth_date").last())
    rows = added.join(people, on="person_id").with_columns(
        (pl.col("claim_start_date").dt.year() - pl.col("birth_date").dt.year()).alias("age")
    )
    mammograms = rows.filter(pl.col("hcpcs_code") == "77067")
    assert (mammograms["gender"] == "female").all()
    assert mammograms["age"].is_between(50, 74).all()
    assert rows.filter(pl.col("hcpcs_code") == "82274")["age"].is_between(45, 75).all()
    # the share of eligible member-years screened is near the parameter (PCP effects average out
    # on the logit scale, so a little below it)
    years = (
        tables["provider_attribution"]
        .join(people, on="person_id")
        .with_columns((pl.col("year") - pl.col("birth_date").dt.year()).alias("age"))
    )
    women = years.filter((pl.col("gender") == "female") & pl.col("age").is_between(50, 74)).height
    share = mammograms.height / women
    assert 0.8 * b["preventive_mammogram_rate"] < share < 1.02 * b["preventive_mammogram_rate"]
    # practices differ: PCP effects spread by the parameter, and their FIT shares with them
    effects = provider_pool(SPEC.seed).pcp_effects(SPEC.seed, SALT, b["preventive_pcp_effect_sd"])
    assert abs(np.std(list(effects.values())) - b["preventive_pcp_effect_sd"]) < 0.1
    fit_years = rows.filter(pl.col("hcpcs_code") == "82274").select(
        "person_id", pl.col("claim_start_date").dt.year().cast(pl.Int32).alias("year")
    )
    eligible = (
        years.filter(pl.col("age").is_between(45, 75))
        .with_columns(pl.col("year").cast(pl.Int32))
        .join(
            fit_years.with_columns(pl.lit(True).alias("fit")), on=["person_id", "year"], how="left"
        )
        .with_columns(
            pl.col("fit").fill_null(False),
            pl.col("provider_npi").replace_strict(effects, return_dtype=pl.Float64).alias("effect"),
        )
    )
    high = eligible.filter(pl.col("effect") > 0)["fit"].mean()
    low = eligible.filter(pl.col("effect") <= 0)["fit"].mean()
    assert high - low > 0.1  # expit(logit(0.45) +- 0.4): about 0.55 against 0.36
