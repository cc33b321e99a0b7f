"""Shared check for a synthetic line drawn from its own stream: with its parameters removed the
generator's every other row is the same, so its rows are purely appended."""

from __future__ import annotations

import dataclasses
from types import MappingProxyType

import polars as pl

from modeling.synth import conditions as cond
from modeling.synth.generator import SynthSpec, simulate_chunk
from modeling.synth.params import SynthParams
from modeling.synth.people import provider_pool


def one_chunk(spec: SynthSpec, params: SynthParams) -> dict[str, pl.DataFrame]:
    """The whole spec simulated as one chunk."""
    return simulate_chunk(
        spec,
        0,
        spec.members,
        params=params,
        pool=provider_pool(spec.seed),
        thresholds=cond.reference_thresholds(),
    )


def appended_rows(spec: SynthSpec, params: SynthParams, *, prefix: str, id_letter: str):
    """The medical rows of the line whose behaviour keys start with ``prefix`` (claim ids start
    with ``id_letter``), after asserting that every other row is the same without the line."""
    without = dataclasses.replace(
        params,
        behaviour=MappingProxyType(
            {k: v for k, v in params.behaviour.items() if not k.startswith(prefix)}
        ),
    )
    a, b = one_chunk(spec, params), one_chunk(spec, without)
    for table in ("eligibility", "pharmacy_claim", "provider_attribution"):
        assert a[table].equals(b[table])
    ours = pl.col("claim_id").str.starts_with(id_letter)
    assert a["medical_claim"].filter(~ours).equals(b["medical_claim"])
    return a["medical_claim"].filter(ours)


def appended_fills(spec: SynthSpec, params: SynthParams, *, prefix: str, id_letter: str):
    """The pharmacy rows of the line whose behaviour keys start with ``prefix`` (claim ids start
    with ``id_letter``), after asserting that every other row is the same without the line."""
    without = dataclasses.replace(
        params,
        behaviour=MappingProxyType(
            {k: v for k, v in params.behaviour.items() if not k.startswith(prefix)}
        ),
    )
    a, b = one_chunk(spec, params), one_chunk(spec, without)
    for table in ("eligibility", "medical_claim", "provider_attribution"):
        assert a[table].equals(b[table])
    ours = pl.col("claim_id").str.starts_with(id_letter)
    assert a["pharmacy_claim"].filter(~ours).equals(b["pharmacy_claim"])
    return a, a["pharmacy_claim"].filter(ours)
