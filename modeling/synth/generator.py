"""The synthetic Medicare fee-for-service population (``vbc synth``).

Each member carries a latent health state that evolves yearly (AR(1)); chronic conditions arise
from it (see ``conditions``), and a cost intensity built from health, conditions, age, dual and
institutional status drives every service: office visits, Part B services, outpatient and
emergency visits, observation stays, inpatient admissions (MS-DRG, length of stay, discharge
disposition) with 30-day readmissions, skilled nursing, home health, hospice, dialysis, DME,
ambulance, planned joint replacements followed by post-acute care, and Part D fills. Payment
follows Medicare's structure (DRG weight x base rate less the Part A deductible; SNF per diem
less day-21+ coinsurance; Part B at 80% of allowed). Members die, join, leave and have gaps.

Members are simulated in independent chunks of ``CHUNK_SIZE``; every chunk draws from its own
stream ``default_rng([seed, chunk])``, so the same seed gives the same bytes, and a dataset of
any size is written chunk by chunk with bounded memory.

This module only orchestrates: ``spec`` (what to generate), ``people`` (members and providers),
``enrollment`` (spans, transitions, health, deaths, cost intensity, eligibility and attribution
rows), ``conditions`` (onset, progression, documented codes), ``services`` (one module per
service line), ``pharmacy`` (Part D fills) and ``claims`` (assembling claim lines). Behaviour
coefficients are data: ``modeling/data/synth_behaviour.csv``.
"""

from __future__ import annotations

from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import asdict
from functools import partial
from pathlib import Path

import numpy as np
import polars as pl

from modeling.dataset import Dataset, DatasetWriter
from modeling.progress import ChunkProgress
from modeling.synth import conditions as cond
from modeling.synth import finance_patterns as fin
from modeling.synth.adherence import on_time_refills
from modeling.synth.claims import ClaimBook
from modeling.synth.enrollment import (
    MemberIds,
    attribution_rows,
    cost_intensity,
    covered,
    decide_deaths,
    eligibility_rows,
    evolve,
    year_frame,
)
from modeling.synth.outcomes import repeat_stays, thinned_readmissions
from modeling.synth.params import SynthParams, load_params
from modeling.synth.people import ProviderPool, make_people, provider_pool
from modeling.synth.pharmacy import DrugUse, RefillSchedule, pharmacy_rows
from modeling.synth.pqi_admissions import PREFIX as PQI_PREFIX
from modeling.synth.pqi_admissions import SALT as PQI_SALT
from modeling.synth.pqi_admissions import pqi_admissions
from modeling.synth.preventive import screening_claims
from modeling.synth.region import RegionAccumulator
from modeling.synth.services import ServiceContext, generate_services, pre_death
from modeling.synth.services import bundle_procedures as bundles
from modeling.synth.services import hip_fractures as fractures
from modeling.synth.services.base import CARRY_SALT, CarryOver
from modeling.synth.spec import SynthSpec
from modeling.synth.transitions import transition_claims

__all__ = ["CHUNK_SIZE", "SynthSpec", "generate", "simulate_chunk"]

CHUNK_SIZE = 12_500


def generate(spec: SynthSpec, out: str | Path, *, progress: ChunkProgress | None = None) -> Dataset:
    """Write the synthetic dataset for ``spec`` to ``out`` and return it.

    ``progress``, if given, is told (chunks done, chunks in all) after each chunk is simulated.
    """
    params = load_params()
    pool = provider_pool(spec.seed)
    thresholds = cond.reference_thresholds()
    chunks = [
        (i, min(CHUNK_SIZE, spec.members - i * CHUNK_SIZE))
        for i in range((spec.members + CHUNK_SIZE - 1) // CHUNK_SIZE)
    ]
    source = {
        "kind": "synthetic",
        "generator": "vbc-modeler synth",
        **asdict(spec),
        "chunk_size": CHUNK_SIZE,
        "runout": "complete",
    }
    # write chunk k while chunk k+1 is simulated (Parquet encoding releases the GIL)
    region = RegionAccumulator()  # the panel's region (modeling.synth.region), its own stream
    with DatasetWriter(out, source) as writer, ThreadPoolExecutor(max_workers=1) as io:
        pending: Future[None] | None = None
        for done, (index, n) in enumerate(chunks):
            tables = simulate_chunk(spec, index, n, params=params, pool=pool, thresholds=thresholds)
            region.add(tables)
            if pending is not None:
                pending.result()
            pending = io.submit(_write_all, writer, tables)
            if progress:
                progress(done + 1, len(chunks))
        if pending is not None:
            pending.result()
        writer.source["region"] = region.region(spec.seed)
    return Dataset(out)


def _write_all(writer: DatasetWriter, tables: dict[str, pl.DataFrame]) -> None:
    for name, frame in tables.items():
        writer.write(name, frame)


def _own_stream_claims(
    book: ClaimBook,
    rng: np.random.Generator,
    prefix: str,
    coded: pl.DataFrame,
    *,
    like: pl.DataFrame,
    eligibility: pl.DataFrame,
    spec: SynthSpec,
    chunk: int,
    ids: MemberIds,
    params: SynthParams,
) -> pl.DataFrame:
    """The claims of a line kept on its own stream (``rng``) and book, with their ids (``prefix``)
    and paid dates as the finance patterns draw them, both from that stream, in ``like``'s
    columns and only those begun while enrolled (``eligibility``): the PQI line ("P", ``[seed,
    chunk, pqi_admissions.SALT]``), the carried months ("Y", ``[seed, chunk, CARRY_SALT]``) and
    the months before a death ("D", ``pre_death``)."""
    if not book.headers:
        return pl.DataFrame()
    routine = tuple(params.routine_codes.filter(pl.col("use") == "visit")["code"].to_list())
    frame = book.to_frame(
        coded,
        chunk=chunk,
        person_ids=ids.person,
        member_ids=ids.member,
        rng=rng,
        price_level=params.behaviour["price_level"],
        fallback=routine,
        prefix=prefix,
    )
    paid = fin.medical_paid_dates(
        frame, rng, fin.slowdown_months(spec.seed, spec.start_year, spec.years)
    )
    return covered(paid.select(like.columns), eligibility, "claim_start_date")


def simulate_chunk(
    spec: SynthSpec,
    chunk: int,
    n_base: int,
    *,
    params: SynthParams,
    pool: ProviderPool,
    thresholds: np.ndarray,
) -> dict[str, pl.DataFrame]:
    """The tables of one chunk: ``n_base`` members enrolled in the first year (plus later
    entrants) simulated over the spec's years from the chunk's own stream.

    The order of draws from the stream is part of the output: members, condition noise, drug
    use, then each year its enrollment, conditions, deaths, documented codes, services and fills,
    and last the claims' identifiers and paid dates (``ClaimBook.to_frame``).
    """
    rng = np.random.default_rng([spec.seed, chunk])
    people = make_people(
        rng, n_base, spec.start_year, spec.years, len(pool.pcp_npi), len(pool.hospital_npi)
    )
    n = people.n
    ids = MemberIds(
        person=pl.Series([f"{chunk:04d}{i:06d}" for i in range(n)], dtype=pl.String),
        member=pl.Series(people.mbi, dtype=pl.String),
    )
    noise = rng.standard_normal((len(params.conditions), n))
    drug_use = DrugUse.draw_for(rng, params, n)
    refill_schedule = RefillSchedule.start(spec.seed, chunk, params.drugs.height, n)
    book = ClaimBook()
    winter_book = ClaimBook()  # winter respiratory admissions (finance_patterns), ids "W..."
    pqi_book = ClaimBook()  # PQI 07 / PQI 16 admissions (pqi_admissions), ids "P..."
    # bundle procedures (CABG, spinal fusion, ...): their own stream and book, rows appended
    bundle_rng, bundle_book = bundles.rng_for(spec.seed, chunk), ClaimBook()
    bundle_params = bundles.bundle_params(params)
    # hip-fracture surgery and its post-acute paths: their own stream and book, rows appended
    fracture_rng, fracture_book = fractures.rng_for(spec.seed, chunk), ClaimBook()
    fracture_params = fractures.fracture_params(params)
    # months of a year's services outside that year (hospice stays across 1 January) and, in the
    # first year, of services begun before the panel (hospice, home health): their own stream
    # and book, rows appended (ids "Y...")
    carry = CarryOver(
        np.random.default_rng([spec.seed, chunk, CARRY_SALT]),
        ClaimBook(),
        spec.start_year,
        spec.start_year + spec.years - 1,
    )
    # with a rolling last year of life, the months of the year before a death in the 365 days
    # ending on it at the raised rate: their own stream and book, rows appended (ids "D", ``pre_death``)
    last_year = pre_death.RollingLastYear.start(spec, chunk)
    coded_frames, elig_frames, pharmacy_frames, attribution_frames = [], [], [], []
    levels = None
    for t in range(spec.years):
        year = spec.start_year + t
        yf = year_frame(rng, people, year, params)
        if levels is None:
            levels = cond.initial_levels(rng, params, people, yf.age, noise, thresholds=thresholds)
        else:
            evolve(rng, people, levels, params)
            lia = cond.liabilities(params, people, yf.age, levels, noise)
            levels = cond.advance_levels(
                rng, params, levels, lia, people.health, thresholds=thresholds
            )
        decide_deaths(rng, people, yf, levels, params)
        intensity = cost_intensity(people, yf, levels, params, rolling=last_year.enabled)
        coded_frames.append(
            cond.documented_codes(rng, levels, active=yf.active, esrd=people.esrd, year=yf.year)
        )
        elig_frames.append(eligibility_rows(people, yf, ids))
        attribution_frames.append(attribution_rows(people, yf, ids, pool))
        ctx = ServiceContext.start(
            rng,
            params=params,
            pool=pool,
            people=people,
            yf=yf,
            levels=levels,
            intensity=intensity,
            book=book,
        )
        ctx.carry = carry
        generate_services(ctx)
        last_year.after_year(ctx, people, params, pool, intensity)
        fin.respiratory_admissions(ctx, winter_book, chunk_seed=[spec.seed, chunk])
        pqi_admissions(ctx, pqi_book, chunk_seed=[spec.seed, chunk])
        bundles.bundle_procedures(
            ServiceContext.start(
                bundle_rng,
                params=bundle_params,
                pool=pool,
                people=people,
                yf=yf,
                levels=levels,
                intensity=intensity,
                book=bundle_book,
            )
        )
        fractures.hip_fractures(
            ServiceContext.start(
                fracture_rng,
                params=fracture_params,
                pool=pool,
                people=people,
                yf=yf,
                levels=levels,
                intensity=intensity,
                book=fracture_book,
            )
        )
        pharmacy_frames.append(
            pharmacy_rows(
                rng,
                yf,
                levels,
                params=params,
                pool=pool,
                people=people,
                drug_use=drug_use,
                ids=ids,
                schedule=refill_schedule,
            )
        )
    last_year.after_panel(people, params, pool, noise=noise, thresholds=thresholds)
    coded = pl.concat(coded_frames)
    routine = tuple(params.routine_codes.filter(pl.col("use") == "visit")["code"].to_list())
    medical = book.to_frame(
        coded,
        chunk=chunk,
        person_ids=ids.person,
        member_ids=ids.member,
        rng=rng,
        price_level=params.behaviour["price_level"],
        fallback=routine,
    )
    # finance patterns (``finance_patterns``), each from its own stream: winter admissions as
    # extra claims, then paid dates drawn again for every medical claim and fill
    lag_rng = np.random.default_rng([spec.seed, chunk, fin.LAG_SALT])
    winter = (
        winter_book.to_frame(
            coded,
            chunk=chunk,
            person_ids=ids.person,
            member_ids=ids.member,
            rng=lag_rng,
            price_level=params.behaviour["price_level"],
            fallback=routine,
            prefix="W",
        )
        if winter_book.headers
        else None
    )
    medical = (
        pl.concat([medical, winter], how="vertical_relaxed") if winter is not None else medical
    )
    medical = fin.medical_paid_dates(
        medical, lag_rng, fin.slowdown_months(spec.seed, spec.start_year, spec.years)
    )
    extra = bundle_book.to_frame(
        coded,
        chunk=chunk,
        person_ids=ids.person,
        member_ids=ids.member,
        rng=bundle_rng,
        price_level=params.behaviour["price_level"],
        fallback=routine,
    )
    if extra.height:
        extra = bundles.remap_v42(extra).with_columns(pl.col("claim_id").str.replace("^C", "B"))
        # paid dates as the finance patterns draw them, from the bundle line's own stream, so
        # the other rows are the same with the line or without it
        extra = fin.medical_paid_dates(
            extra.select(medical.columns),
            bundle_rng,
            fin.slowdown_months(spec.seed, spec.start_year, spec.years),
        )
        medical = pl.concat([medical, extra], how="vertical_relaxed")
    pharmacy = pl.concat(pharmacy_frames)
    pharmacy = fin.pharmacy_paid_dates(pharmacy, lag_rng)
    if pharmacy.height:
        pharmacy = pharmacy.with_columns(
            (
                pl.lit(f"R{chunk:04d}") + pl.int_range(0, pl.len()).cast(pl.String).str.zfill(9)
            ).alias("claim_id")
        )
    eligibility = pl.concat(elig_frames).sort(["person_id", "enrollment_start_date"])
    attribution = pl.concat(attribution_frames)
    medical = covered(medical, eligibility, "claim_start_date")
    # transitional care after discharge: rows appended from a stream of its own
    transitions = transition_claims(
        medical, eligibility, attribution, seed=spec.seed, chunk=chunk, params=params, pool=pool
    )
    # preventive screening by the attributed PCP: rows appended from a stream of their own
    screening = screening_claims(
        eligibility, attribution, seed=spec.seed, chunk=chunk, params=params, pool=pool
    )
    # hip fractures last, so that the transitions line (which reads every discharge) is unmoved
    fracture = _fracture_claims(fracture_book, coded, chunk, ids, fracture_rng, params, spec)
    if fracture.height:
        fracture = covered(fracture, eligibility, "claim_start_date")
        fracture = pl.concat(
            [
                fracture.cast(medical.schema),
                _fracture_transitions(
                    fracture, eligibility, attribution, spec, chunk, params, pool
                ),
            ],
            how="vertical_relaxed",
        )
    # repeat stays of practices with a positive outcome effect: rows appended from a stream of
    # their own (drawn from the main stream's stays only, so the lines above do not move)
    repeats = repeat_stays(
        medical, eligibility, attribution, seed=spec.seed, chunk=chunk, params=params, pool=pool
    )
    # fewer readmissions for practices with a negative outcome effect: the main stream's
    # readmission stays thinned by a rule on a stream of its own, after every line above read them
    medical = thinned_readmissions(
        medical,
        attribution,
        spans=book.readmission_spans,
        seed=spec.seed,
        chunk=chunk,
        params=params,
        pool=pool,
    )
    # PQI 07 / PQI 16 admissions: claims of their own book and stream, appended after every
    # line above read the medical claims, so none of their rows moves
    own_stream = partial(
        _own_stream_claims,
        coded=coded,
        like=medical,
        eligibility=eligibility,
        spec=spec,
        chunk=chunk,
        ids=ids,
        params=params,
    )
    pqi_stays = own_stream(
        pqi_book, np.random.default_rng([spec.seed, chunk, PQI_SALT]), PQI_PREFIX
    )
    carried = own_stream(carry.book, carry.rng, "Y")
    before_death = own_stream(last_year.book, last_year.rng, pre_death.PREFIX)
    appended = [
        f.cast(medical.schema)
        for f in (transitions, screening, repeats, fracture, pqi_stays, carried, before_death)
        if f.height
    ]
    # on-time refills of the adherence measures' drugs: rows appended from a stream of their own
    refills = on_time_refills(
        pharmacy, seed=spec.seed, chunk=chunk, params=params, start_year=spec.start_year
    )
    if refills.height:
        pharmacy = pl.concat([pharmacy, refills])
    return {
        "eligibility": eligibility,
        "medical_claim": pl.concat([medical, *appended]) if appended else medical,
        "pharmacy_claim": covered(pharmacy, eligibility, "dispensing_date")
        if pharmacy.height
        else pharmacy,
        "provider_attribution": attribution,
    }


def _fracture_claims(
    book: ClaimBook,
    coded: pl.DataFrame,
    chunk: int,
    ids: MemberIds,
    rng: np.random.Generator,
    params: SynthParams,
    spec: SynthSpec,
) -> pl.DataFrame:
    """The hip-fracture line's claims (ids "H..."), with paid dates drawn as the finance
    patterns draw them, from the line's own stream."""
    routine = tuple(params.routine_codes.filter(pl.col("use") == "visit")["code"].to_list())
    rows = book.to_frame(
        coded,
        chunk=chunk,
        person_ids=ids.person,
        member_ids=ids.member,
        rng=rng,
        price_level=params.behaviour["price_level"],
        fallback=routine,
        prefix="H",
    )
    if not rows.height:
        return rows
    return fin.medical_paid_dates(
        rows, rng, fin.slowdown_months(spec.seed, spec.start_year, spec.years)
    )


def _fracture_transitions(
    fracture: pl.DataFrame,
    eligibility: pl.DataFrame,
    attribution: pl.DataFrame,
    spec: SynthSpec,
    chunk: int,
    params: SynthParams,
    pool: ProviderPool,
) -> pl.DataFrame:
    """Transitional care after the hip-fracture line's discharges home, by the transitions
    line's rule from a stream of their own (the transitions stream of chunk
    ``hip_fractures.TRANSITIONS_CHUNK + chunk``, a number no chunk reaches: ids "T9..."), so
    that with the transitions parameters removed neither line writes any."""
    return transition_claims(
        fracture,
        eligibility,
        attribution,
        seed=spec.seed,
        chunk=fractures.TRANSITIONS_CHUNK + chunk,
        params=params,
        pool=pool,
    )
