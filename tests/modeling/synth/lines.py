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


def _appended(spec: SynthSpec, params: SynthParams, *, prefix: str, id_letter: str, table: str):
    """(the chunk with the line, the rows of ``table`` the line adds), after asserting that
    every other row of every table is the same without the line (whose behaviour keys start
    with ``prefix``; its claim ids start with ``id_letter``)."""
    without = dataclasses.replace(
        params,
        behaviour=MappingProxyType(
            {k: v for k, v in params.behaviour.items() if not k.startswith(prefix)}
        ),
    )
    a, b = one_chunk(spec, params), one_chunk(spec, without)
    for other in ("eligibility", "medical_claim", "pharmacy_claim", "provider_attribution"):
        if other != table:
            assert a[other].equals(b[other])
    ours = pl.col("claim_id").str.starts_with(id_letter)
    assert a[table].filter(~ours).equals(b[table])
    return a, a[table].filter(ours)


def appended_rows(spec: SynthSpec, params: SynthParams, *, prefix: str, id_letter: str):
    """The medical rows of the line whose behaviour keys start with ``prefix`` (claim ids start
    with ``id_letter``), after asserting that every other row is the same without the line."""
    return _appended(spec, params, prefix=prefix, id_letter=id_letter, table="medical_claim")[1]


def appended_fills(spec: SynthSpec, params: SynthParams, *, prefix: str, id_letter: str):
    """(the chunk, the pharmacy rows of the line whose behaviour keys start with ``prefix``),
    after asserting that every other row is the same without the line."""
    return _appended(spec, params, prefix=prefix, id_letter=id_letter, table="pharmacy_claim")
