"""Chronic conditions: onset from a liability model, persistence, progression, documentation.

A member has condition *c* once its liability crosses a threshold,

    liability = h_load * health + a_load * age_z + shifts (male, disabled, dual, ESRD)
                + links from other conditions + persistent member-specific noise,

where thresholds are set on a fixed reference population so that baseline prevalence matches
the parameter table. Conditions never resolve; they progress to higher severity levels with an
annual probability that rises with poor health. Each year a present condition is documented
(coded on claims) with probability ``DOCUMENTATION_RATE``, so recapture gaps exist.
"""

from __future__ import annotations

from functools import cache

import numpy as np
import polars as pl

from modeling.synth.params import SynthParams, expand_codes, load_params
from modeling.synth.people import AGED, People, make_people

DOCUMENTATION_RATE = 0.86
REFERENCE_MEMBERS = 60_000


def age_z(age: np.ndarray) -> np.ndarray:
    return np.clip((age - 75.0) / 8.0, -2.5, 2.5)


def liabilities(
    params: SynthParams, people: People, age: np.ndarray, levels: np.ndarray, noise: np.ndarray
) -> np.ndarray:
    """Liability of every condition (rows) for every member (columns), links applied in table order."""
    male = ~people.female
    disabled = people.group != AGED
    dual = people.dual != ""
    az = age_z(age)
    out = np.empty((len(params.conditions), people.n))
    index = {c.name: i for i, c in enumerate(params.conditions)}
    links = params.links.rows(named=True)
    for i, c in enumerate(params.conditions):
        resid = np.sqrt(max(1e-6, 1.0 - c.health_loading**2))
        lia = (
            c.health_loading * people.health
            + c.age_loading * az
            + c.male_shift * male
            + c.disabled_shift * disabled
            + c.dual_shift * dual
            + c.esrd_shift * people.esrd
            + resid * noise[i]
        )
        for link in links:
            if link["to_condition"] == c.name:
                lia = lia + link["liability_shift"] * (levels[index[link["from_condition"]]] > 0)
        out[i] = lia
    return out


@cache
def reference_thresholds() -> np.ndarray:
    """Liability thresholds giving each condition its baseline prevalence on a reference panel.

    Simulates a fixed reference panel of ``REFERENCE_MEMBERS`` (60,000) members of 2024 from its
    own seed (about 0.3 s), so the thresholds do not depend on the seed or size of the dataset
    being generated. Cached for the process and returned read-only; the generator calls it once
    per dataset and passes the result to ``initial_levels`` and ``advance_levels``.
    """
    params = load_params()
    rng = np.random.default_rng(20240101)
    people = make_people(rng, REFERENCE_MEMBERS, 2024, 1, 10, 10)
    age = (np.int64(19723) - people.birth_day) / 365.25
    noise = rng.standard_normal((len(params.conditions), people.n))
    levels = np.zeros((len(params.conditions), people.n), dtype=np.int8)
    out = np.empty(len(params.conditions))
    # two passes so that links from conditions later in the table are reflected
    for _ in range(2):
        lia = liabilities(params, people, age, levels, noise)
        for i, c in enumerate(params.conditions):
            out[i] = np.quantile(lia[i], 1.0 - c.prevalence)
            levels[i] = lia[i] > out[i]
    out.setflags(write=False)
    return out


def initial_levels(
    rng: np.random.Generator,
    params: SynthParams,
    people: People,
    age: np.ndarray,
    noise: np.ndarray,
    *,
    thresholds: np.ndarray,
) -> np.ndarray:
    """Severity levels in a chunk's first year: liabilities without conditions, then again with the
    conditions those imply (so that links apply), then ``baseline_levels``."""
    absent = np.zeros((len(params.conditions), people.n), dtype=np.int8)
    lia = liabilities(params, people, age, absent, noise)
    lia = liabilities(params, people, age, (lia > thresholds[:, None]).astype(np.int8), noise)
    return baseline_levels(rng, params, lia, thresholds=thresholds)


def baseline_levels(
    rng: np.random.Generator, params: SynthParams, lia: np.ndarray, *, thresholds: np.ndarray
) -> np.ndarray:
    """Severity level (0 = absent) of each condition at the start, from liabilities."""
    levels = (lia > thresholds[:, None]).astype(np.int8)
    for i, c in enumerate(params.conditions):
        present = levels[i] > 0
        score = lia[i] + rng.normal(0.0, 0.6, lia.shape[1])
        for step, share in enumerate(c.severity_shares, start=2):
            if share <= 0 or not present.any():
                continue
            cut = np.quantile(score[present], 1.0 - share)
            levels[i] = np.where(present & (score > cut), step, levels[i])
    return levels


def advance_levels(
    rng: np.random.Generator,
    params: SynthParams,
    levels: np.ndarray,
    lia: np.ndarray,
    health: np.ndarray,
    *,
    thresholds: np.ndarray,
) -> np.ndarray:
    """One year: new onsets where liability now crosses the threshold; progression up one level."""
    new = levels.copy()
    onset = (levels == 0) & (lia > thresholds[:, None])
    new[onset] = 1
    risk = np.exp(0.5 * np.clip(health, -3, 3))
    for i, c in enumerate(params.conditions):
        for lvl in c.levels[1:]:
            below = levels[i] == lvl.level - 1
            up = below & (rng.random(levels.shape[1]) < np.clip(lvl.progression * risk, 0, 0.9))
            new[i] = np.where(up, lvl.level, new[i])
    return new


@cache
def level_codes() -> list[list[tuple[str, ...]]]:
    """ICD-10-CM codes for each condition (outer) and level (inner, index 0 = level 1)."""
    return [[expand_codes(lvl.codes) for lvl in c.levels] for c in load_params().conditions]


def documented_codes(
    rng: np.random.Generator, levels: np.ndarray, *, active: np.ndarray, esrd: np.ndarray, year: int
) -> pl.DataFrame:
    """Each person-year's documented diagnosis codes: present conditions coded with probability
    ``DOCUMENTATION_RATE``; ESRD always (N186 and dialysis status Z992)."""
    codes = level_codes()
    n = levels.shape[1]
    persons, out = [], []
    for i in range(levels.shape[0]):
        for lvl, options in enumerate(codes[i], start=1):
            who = np.flatnonzero(active & (levels[i] == lvl) & (rng.random(n) < DOCUMENTATION_RATE))
            if len(who) == 0:
                continue
            # a member keeps the same code for a condition level (stable coding habits)
            pick = (who * 2654435761 + i * 97 + lvl) % len(options)
            persons.append(who)
            out.append(np.asarray(options)[pick])
    with_esrd = np.flatnonzero(active & esrd)
    persons += [with_esrd, with_esrd]
    out += [np.full(len(with_esrd), "N186"), np.full(len(with_esrd), "Z992")]
    return pl.DataFrame(
        {
            "person": np.concatenate(persons).astype(np.int64),
            "code": np.concatenate(out),
            "year": np.full(sum(len(x) for x in persons), year, dtype=np.int32),
        }
    )
