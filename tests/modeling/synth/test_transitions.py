"""Transitional care rows: appended from their own stream, at the parameter's rate, with PCPs
that really differ."""

from __future__ import annotations

import numpy as np
import polars as pl

from modeling.synth.generator import SynthSpec
from modeling.synth.params import load_params
from modeling.synth.people import provider_pool
from modeling.synth.transitions import SALT
from tests.modeling.synth.lines import appended_rows, one_chunk

SPEC = SynthSpec(members=4000, start_year=2023, years=2, seed=31)


def test_rows_are_appended_and_every_other_row_stays_the_same():
    added = appended_rows(SPEC, load_params(), prefix="transition_", id_letter="T")
    assert set(added["hcpcs_code"].unique()) == {"99495", "99496", "1111F"}
    assert added["claim_id"].is_unique().all()


def test_tcm_share_and_provider_spread():
    tables = one_chunk(SPEC, load_params())
    med = tables["medical_claim"]
    home = med.filter(
        pl.col("bill_type_code").str.starts_with("11")
        & pl.col("discharge_disposition_code").is_in(["01", "06"])
    )["claim_id"].n_unique()
    tcm = med.filter(pl.col("hcpcs_code").is_in(["99495", "99496"])).height
    rate = load_params().behaviour["transition_tcm_rate"]
    assert 0.5 * rate < tcm / home < 1.6 * rate  # the PCP effect skews the mean upward a little
    effects = provider_pool(SPEC.seed).pcp_effects(SPEC.seed, SALT, 0.6)
    assert 0.5 < float(np.std(list(effects.values()))) < 0.7
    cut_low, cut_high = np.quantile(list(effects.values()), [0.25, 0.75])
    visits = (
        med.filter(pl.col("claim_id").str.starts_with("T"))
        .group_by("rendering_npi")
        .len()
        .with_columns(
            pl.col("rendering_npi").replace_strict(effects, return_dtype=pl.Float64).alias("effect")
        )
    )
    members = tables["provider_attribution"].group_by("provider_npi").len()
    rate = visits.join(
        members.rename({"len": "members"}), left_on="rendering_npi", right_on="provider_npi"
    )
    high = rate.filter(pl.col("effect") >= cut_high)
    low = rate.filter(pl.col("effect") <= cut_low)
    # practices with a better effect bill transitional care for more of their members
    assert high["len"].sum() / high["members"].sum() > 1.3 * low["len"].sum() / low["members"].sum()
