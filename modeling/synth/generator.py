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
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import polars as pl

from modeling.dataset import Dataset, DatasetWriter
from modeling.errors import ParameterError
from modeling.synth import conditions as cond
from modeling.synth.claims import ClaimBook, Pick
from modeling.synth.params import SynthParams, load_params
from modeling.synth.people import (
    AGED,
    FULL_DUAL_CODES,
    NEVER,
    PARTIAL_DUAL_CODES,
    People,
    ProviderPool,
    day,
    make_people,
    provider_pool,
)

CHUNK_SIZE = 12_500
IPPS_BASE_RATE = 10_800.0  # average Medicare payment per unit of MS-DRG weight incl. IME, DSH, uncompensated care and outliers (approx.; MedPAC data book 2024 puts inpatient payment per FFS discharge near $15,000)
OUTLIER_PER_DAY = 1_400.0
CATASTROPHIC_RATE = 0.0025  # prolonged critical-care stays per person-year at mean intensity
CONDITION_WEIGHT_SCALE = 0.6
PART_D_COST_SCALE = 1.6
# One price level for all Parts A/B payment rates above, which are rounded national figures of
# different vintages; it brings mean paid per person-year to the calibration target.
PRICE_LEVEL = 1.15
SNF_PER_DIEM = 590.0  # approx. mean Medicare SNF PDPM payment per day, FY2024 (MedPAC March 2024 report, ch. 7)
HH_PERIOD_PAYMENT = (
    2_600.0  # approx. mean 30-day home health period payment, CY2024 (MedPAC March 2024, ch. 8)
)
HOSPICE_RHC_DAY = (
    218.0,
    172.0,
)  # routine home care per diem days 1-60 / 61+, FY2024 hospice final rule (approx.)
DIALYSIS_PER_TREATMENT = 285.0  # ESRD PPS base rate CY2024 $271.02 plus adjustments (approx.)
Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class SynthSpec:
    """What to generate. ``members`` is the number enrolled in the first year."""

    members: int
    start_year: int
    years: int
    seed: int

    def __post_init__(self) -> None:
        if self.members < 1:
            raise ParameterError(f"--members must be at least 1 (got {self.members}).")
        if not 1 <= self.years <= 10:
            raise ParameterError(f"--years must be between 1 and 10 (got {self.years}).")
        params = load_params()
        for y in range(self.start_year, self.start_year + self.years):
            params.cost_sharing_for(y)


def generate(spec: SynthSpec, out: str | Path, *, progress: Progress | None = None) -> Dataset:
    """Write the synthetic dataset for ``spec`` to ``out`` and return it."""
    params = load_params()
    pool = provider_pool(spec.seed)
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
    with DatasetWriter(out, source) as writer, ThreadPoolExecutor(max_workers=1) as io:
        pending = None
        for done, (index, n) in enumerate(chunks):
            tables = simulate_chunk(spec, index, n, params, pool)
            if pending is not None:
                pending.result()
            pending = io.submit(_write_all, writer, tables)
            if progress:
                progress(done + 1, len(chunks))
        if pending is not None:
            pending.result()
    return Dataset(out)


def covered(claims: pl.DataFrame, eligibility: pl.DataFrame, date_column: str) -> pl.DataFrame:
    """Keep services that fall inside an enrollment span: post-acute care or therapy that would run
    past death, disenrollment, an enrollment gap or the panel's last day is not in FFS claims data."""
    spans = eligibility.select("person_id", "enrollment_start_date", "enrollment_end_date").sort(
        "enrollment_start_date"
    )
    key = claims.select(
        pl.int_range(pl.len(), dtype=pl.UInt32).alias("_i"), "person_id", date_column
    ).sort(date_column)
    matched = key.join_asof(
        spans,
        left_on=date_column,
        right_on="enrollment_start_date",
        by="person_id",
        strategy="backward",
        check_sortedness=False,
    )
    keep = np.zeros(claims.height, dtype=bool)
    keep[matched.filter(pl.col(date_column) <= pl.col("enrollment_end_date"))["_i"].to_numpy()] = (
        True
    )
    return claims if keep.all() else claims.filter(pl.Series(keep))


def _write_all(writer: DatasetWriter, tables: dict[str, pl.DataFrame]) -> None:
    for name, frame in tables.items():
        writer.write(name, frame)


def _days_to_date(days: np.ndarray) -> pl.Series:
    return pl.Series(days.astype(np.int32)).cast(pl.Date)


@dataclass
class YearFrame:
    """Where each member stands in one calendar year."""

    year: int
    active: np.ndarray
    start: np.ndarray
    end: np.ndarray
    gap_start: np.ndarray
    gap_len: np.ndarray
    days: np.ndarray  # enrolled days
    exposure: np.ndarray
    age: np.ndarray
    dies: np.ndarray

    def dates(self, rng: np.random.Generator, person: np.ndarray) -> np.ndarray:
        """Uniform service dates inside each person's enrolled days (skipping any gap)."""
        u = np.floor(rng.random(len(person)) * np.maximum(self.days[person], 1)).astype(np.int64)
        d = self.start[person] + u
        return d + np.where(d >= self.gap_start[person], self.gap_len[person], 0)


def simulate_chunk(
    spec: SynthSpec, chunk: int, n_base: int, params: SynthParams, pool: ProviderPool
) -> dict[str, pl.DataFrame]:
    rng = np.random.default_rng([spec.seed, chunk])
    people = make_people(
        rng, n_base, spec.start_year, spec.years, len(pool.pcp_npi), len(pool.hospital_npi)
    )
    n = people.n
    person_ids = pl.Series([f"{chunk:04d}{i:06d}" for i in range(n)], dtype=pl.String)
    member_ids = pl.Series(people.mbi, dtype=pl.String)
    noise = rng.standard_normal((len(params.conditions), n))
    drug_draw = rng.random((params.drugs.height, n))
    drug_supply90 = rng.random((params.drugs.height, n)) < 0.4
    book = ClaimBook()
    coded_frames, elig_frames, pharmacy_frames, attribution_frames = [], [], [], []
    levels = None
    for t in range(spec.years):
        year = spec.start_year + t
        yf = _year_frame(rng, people, year)
        if levels is None:
            lia = cond.liabilities(
                params, people, yf.age, np.zeros((len(params.conditions), n), dtype=np.int8), noise
            )
            lia = cond.liabilities(
                params, people, yf.age, (lia > cond.thresholds()[:, None]).astype(np.int8), noise
            )
            levels = cond.baseline_levels(rng, params, lia)
        else:
            _evolve(rng, people, levels)
            lia = cond.liabilities(params, people, yf.age, levels, noise)
            levels = cond.advance_levels(rng, params, levels, lia, people.health)
        _decide_deaths(rng, people, yf, levels, params)
        intensity = _intensity(people, yf, levels, params)
        coded_frames.append(_documented_codes(rng, yf, levels, people))
        elig_frames.append(_eligibility_rows(people, yf, person_ids, member_ids))
        attribution_frames.append(_attribution_rows(people, yf, person_ids, pool))
        services = Services(rng, params, pool, people, yf, levels, intensity, book)
        services.generate_all()
        pharmacy_frames.append(
            _pharmacy_rows(
                rng,
                params,
                pool,
                people,
                yf,
                levels,
                drug_draw,
                drug_supply90,
                person_ids,
                member_ids,
            )
        )
    coded = pl.concat(coded_frames)
    routine = tuple(params.routine_codes.filter(pl.col("use") == "visit")["code"].to_list())
    medical = book.to_frame(
        coded,
        chunk=chunk,
        person_ids=person_ids,
        member_ids=member_ids,
        rng=rng,
        price_level=PRICE_LEVEL,
        fallback=routine,
    )
    pharmacy = pl.concat(pharmacy_frames)
    if pharmacy.height:
        pharmacy = pharmacy.with_columns(
            (
                pl.lit(f"R{chunk:04d}") + pl.int_range(0, pl.len()).cast(pl.String).str.zfill(9)
            ).alias("claim_id")
        )
    eligibility = pl.concat(elig_frames).sort(["person_id", "enrollment_start_date"])
    return {
        "eligibility": eligibility,
        "medical_claim": covered(medical, eligibility, "claim_start_date"),
        "pharmacy_claim": covered(pharmacy, eligibility, "dispensing_date")
        if pharmacy.height
        else pharmacy,
        "provider_attribution": pl.concat(attribution_frames),
    }


# ---------------------------------------------------------------- enrollment, deaths, health


def _year_frame(rng: np.random.Generator, people: People, year: int) -> YearFrame:
    ys, ye = day(year), day(year, 12, 31)
    n = people.n
    # permanent disenrollment (e.g. to Medicare Advantage), decided for members present at the start
    present = (people.entry_day <= ye) & (people.death_day >= ys) & (people.leave_day >= ys)
    leaving = present & (people.leave_day == NEVER) & (rng.random(n) < 0.012)
    people.leave_day[leaving] = ys + rng.integers(0, 365, leaving.sum())
    active = present & (people.leave_day > np.maximum(people.entry_day, ys))
    start = np.maximum(people.entry_day, ys)
    end = np.minimum(np.minimum(ye, people.death_day), people.leave_day - 1)
    gap = active & (rng.random(n) < 0.015) & (end - start > 240)
    gap_len = np.where(gap, rng.integers(31, 150, n), 0)
    gap_start = np.where(
        gap,
        start + 30 + (rng.random(n) * np.maximum(end - start - 60 - gap_len, 1)).astype(np.int64),
        NEVER,
    )
    age = (ys + 182 - people.birth_day) / 365.25
    frame = YearFrame(
        year,
        active,
        start,
        end,
        gap_start,
        gap_len,
        np.zeros(n, dtype=np.int64),
        np.zeros(n),
        age,
        np.zeros(n, dtype=bool),
    )
    _refresh_days(frame)
    return frame


def _refresh_days(yf: YearFrame) -> None:
    yf.days = np.where(yf.active, np.maximum(yf.end - yf.start + 1 - yf.gap_len, 0), 0)
    yf.exposure = yf.days / 365.0


def _evolve(rng: np.random.Generator, people: People, levels: np.ndarray) -> None:
    """Health AR(1) around a member's baseline shift; dual and institutional transitions."""
    n = people.n
    dual = people.dual != ""
    to_dual = ~dual & (rng.random(n) < 0.018)
    people.dual[to_dual] = rng.choice(
        np.concatenate([FULL_DUAL_CODES, PARTIAL_DUAL_CODES]), to_dual.sum()
    )
    lose = dual & (rng.random(n) < 0.07)
    people.dual[lose] = ""
    dementia = levels[load_params().condition_index("dementia")]
    to_lti = ~people.lti & (people.group == AGED) & (rng.random(n) < 0.004 + 0.02 * (dementia >= 2))
    people.lti |= to_lti
    shift = (
        0.5 * (people.dual != "")
        + 0.8 * people.lti
        + 0.25 * (people.group != AGED)
        + 1.0 * people.esrd
    )
    rho = 0.8
    people.health = (
        shift + rho * (people.health - shift) + np.sqrt(1 - rho**2) * rng.standard_normal(n) + 0.04
    )


def _decide_deaths(
    rng: np.random.Generator, people: People, yf: YearFrame, levels: np.ndarray, params: SynthParams
) -> None:
    idx = {
        c: params.condition_index(c)
        for c in ("heart_failure", "cancer_lung", "dementia", "copd", "ckd")
    }
    logit = (
        -3.95
        + 0.55 * np.clip(people.health, -3, 4)
        + 0.55 * cond.age_z(yf.age)
        + 0.7 * people.lti
        + 1.3 * people.esrd
        + 0.6 * (levels[idx["heart_failure"]] > 0)
        + 1.4 * (levels[idx["cancer_lung"]] > 0)
        + 0.5 * (levels[idx["dementia"]] >= 2)
        + 0.3 * (levels[idx["copd"]] > 0)
        + 0.3 * (levels[idx["ckd"]] >= 2)
    )
    p = 1 / (1 + np.exp(-logit)) * yf.exposure
    dies = yf.active & (rng.random(people.n) < p)
    when = yf.dates(rng, np.flatnonzero(dies))
    people.death_day[dies] = when
    yf.end = np.where(dies, people.death_day, yf.end)
    yf.dies = dies
    # a death inside a gap ends the gap at death
    inside = dies & (yf.gap_start <= yf.end)
    yf.gap_len = np.where(inside, np.minimum(yf.gap_len, yf.end - yf.gap_start), yf.gap_len)
    _refresh_days(yf)


def _intensity(
    people: People, yf: YearFrame, levels: np.ndarray, params: SynthParams
) -> np.ndarray:
    """Cost intensity (mean 1 in a typical panel): drives the rate of every service."""
    log_lam = (
        0.42 * np.clip(people.health, -3, 4)
        + 0.08 * cond.age_z(yf.age)
        + 0.35 * (people.group != AGED)
    )
    for i, c in enumerate(params.conditions):
        weights = np.array([0.0] + [lvl.cost_weight for lvl in c.levels])
        log_lam += CONDITION_WEIGHT_SCALE * weights[levels[i]]
    log_lam += (
        0.45 * np.isin(people.dual, FULL_DUAL_CODES)
        + 0.25 * np.isin(people.dual, PARTIAL_DUAL_CODES)
        + 0.25 * people.lti
        + 0.3 * people.esrd
    )
    log_lam += 1.4 * yf.dies  # spending concentrates in the last months of life
    log_lam = np.minimum(log_lam, 3.2)
    return np.exp(log_lam - 0.45)


def _documented_codes(
    rng: np.random.Generator, yf: YearFrame, levels: np.ndarray, people: People
) -> pl.DataFrame:
    """Each person-year's documented diagnosis codes: present conditions coded with probability DOCUMENTATION_RATE."""
    codes = cond.level_codes()
    persons, out = [], []
    for i in range(levels.shape[0]):
        for lvl, options in enumerate(codes[i], start=1):
            who = np.flatnonzero(
                yf.active & (levels[i] == lvl) & (rng.random(people.n) < cond.DOCUMENTATION_RATE)
            )
            if len(who) == 0:
                continue
            # a member keeps the same code for a condition level (stable coding habits)
            pick = (who * 2654435761 + i * 97 + lvl) % len(options)
            persons.append(who)
            out.append(np.asarray(options)[pick])
    esrd = np.flatnonzero(yf.active & people.esrd)
    persons += [esrd, esrd]
    out += [np.full(len(esrd), "N186"), np.full(len(esrd), "Z992")]
    return pl.DataFrame(
        {
            "person": np.concatenate(persons).astype(np.int64),
            "code": np.concatenate(out),
            "year": np.full(sum(len(x) for x in persons), yf.year, dtype=np.int32),
        }
    )


def _eligibility_rows(
    people: People, yf: YearFrame, person_ids: pl.Series, member_ids: pl.Series
) -> pl.DataFrame:
    a = np.flatnonzero(yf.active & (yf.days > 0))
    has_gap = yf.gap_start[a] < yf.end[a]
    first_end = np.where(has_gap, yf.gap_start[a] - 1, yf.end[a])
    second = a[has_gap]
    person = np.concatenate([a, second])
    starts = np.concatenate([yf.start[a], yf.gap_start[second] + yf.gap_len[second]])
    ends = np.concatenate([first_end, yf.end[second]])
    age = yf.age[person]
    aged_now = age >= 65
    esrd = people.esrd[person]
    status = np.where(
        aged_now,
        np.where(esrd, "11", "10"),
        np.where(people.group[person] == 2, "31", np.where(esrd, "21", "20")),
    )
    death = people.death_day[person]
    return pl.DataFrame(
        {
            "person_id": person_ids.gather(person),
            "member_id": member_ids.gather(person),
            "payer": "medicare",
            "payer_type": "medicare",
            "plan": "original medicare",
            "gender": np.where(people.female[person], "female", "male"),
            "race": people.race[person],
            "birth_date": _days_to_date(people.birth_day[person]),
            "death_date": pl.Series(np.where(death < NEVER, death, 0).astype(np.int32))
            .cast(pl.Date)
            .set(pl.Series(death >= NEVER), None),
            "enrollment_start_date": _days_to_date(starts),
            "enrollment_end_date": _days_to_date(ends),
            "original_reason_entitlement_code": people.orec[person],
            "dual_status_code": np.where(people.dual[person] == "", "NA", people.dual[person]),
            "medicare_status_code": status,
            "data_source": "synthetic",
        }
    )


def _attribution_rows(
    people: People, yf: YearFrame, person_ids: pl.Series, pool: ProviderPool
) -> pl.DataFrame:
    a = np.flatnonzero(yf.active & (yf.days > 0))
    pcp = people.pcp[a]
    return pl.DataFrame(
        {
            "person_id": person_ids.gather(a),
            "year": np.full(len(a), yf.year, dtype=np.int32),
            "provider_npi": pool.pcp_npi[pcp],
            "provider_tin": pool.pcp_tin[pcp],
            "provider_name": pool.pcp_name[pcp],
            "data_source": "synthetic",
        }
    )


def _pharmacy_rows(
    rng,
    params: SynthParams,
    pool: ProviderPool,
    people: People,
    yf: YearFrame,
    levels,
    drug_draw,
    supply90,
    person_ids,
    member_ids,
) -> pl.DataFrame:
    """Part D fills: each member on a drug for a condition fills it every 30 or 90 days, with imperfect adherence."""
    frames = []
    for d, drug in enumerate(params.drugs.iter_rows(named=True)):
        ci = params.condition_index(drug["condition"])
        who = np.flatnonzero(
            yf.active
            & (yf.days > 0)
            & (levels[ci] >= drug["min_level"])
            & (drug_draw[d] < drug["share"])
        )
        if len(who) == 0:
            continue
        supply = np.where(supply90[d, who], 90, 30)
        adherence = rng.beta(8, 2, len(who))
        interval = np.ceil(supply / adherence).astype(np.int64)
        fills = np.maximum(
            np.floor(yf.days[who] / interval).astype(np.int64),
            (rng.random(len(who)) < 0.7).astype(np.int64),
        )
        p = np.repeat(who, fills)
        k = ranks_within(fills)
        iv = np.repeat(interval, fills)
        first = np.repeat(rng.integers(0, np.maximum(interval, 1)), fills)
        date = yf.start[p] + np.minimum(
            first % np.maximum(yf.days[p], 1) + k * iv, np.maximum(yf.days[p] - 1, 0)
        )
        date = date + np.where(date >= yf.gap_start[p], yf.gap_len[p], 0)
        sup = np.repeat(supply, fills)
        cost = (
            drug["cost_per_30_days"]
            * sup
            / 30
            * PART_D_COST_SCALE
            * rng.lognormal(-0.005, 0.1, len(p))
        )
        frames.append(
            pl.DataFrame(
                {
                    "person": p,
                    "dispensing_date": _days_to_date(date),
                    "ndc_code": drug["ndc_code"],
                    "quantity": (sup * np.where(rng.random(len(p)) < 0.3, 2, 1)).astype(np.float64),
                    "days_supply": sup.astype(np.int32),
                    "allowed_amount": cost,
                }
            )
        )
    if not frames:
        return pl.DataFrame()
    f = pl.concat(frames).sort("person", "dispensing_date")
    pidx = f["person"].to_numpy()
    return f.with_columns(
        person_ids.gather(pidx).alias("person_id"),
        member_ids.gather(pidx).alias("member_id"),
        pl.lit(1, dtype=pl.Int32).alias("claim_line_number"),
        pl.lit("medicare part d").alias("payer"),
        pl.lit("part d").alias("plan"),
        pl.Series(pool.pcp_npi[people.pcp[pidx]]).alias("prescribing_provider_npi"),
        pl.Series(pool.pharmacy_npi[(pidx * 7 + 3) % len(pool.pharmacy_npi)]).alias(
            "dispensing_provider_npi"
        ),
        (pl.col("dispensing_date").cast(pl.Int32) + 14).cast(pl.Date).alias("paid_date"),
        (pl.col("allowed_amount") * 0.85).round(2).alias("paid_amount"),
        pl.col("allowed_amount").round(2),
        pl.lit("synthetic").alias("data_source"),
    ).drop("person")


# ---------------------------------------------------------------- services


class Services:
    """Generates one year's medical services for a chunk into a ``ClaimBook``."""

    def __init__(
        self,
        rng,
        params: SynthParams,
        pool: ProviderPool,
        people: People,
        yf: YearFrame,
        levels,
        intensity,
        book: ClaimBook,
    ):
        self.rng, self.params, self.pool, self.people, self.yf = rng, params, pool, people, yf
        self.levels, self.lam, self.book = levels, intensity, book
        self.year = yf.year
        self.shock = rng.gamma(4.0, 0.25, people.n)  # a member's good or bad year
        self.cost_sharing = params.cost_sharing_for(yf.year)
        routine = params.routine_codes
        self.visit_codes = routine.filter(pl.col("use") == "visit")
        self.ed_codes = routine.filter(pl.col("use") == "ed")
        self.discharges: list[
            tuple[np.ndarray, np.ndarray, np.ndarray]
        ] = []  # (person, discharge day, disposition)
        self.in_active_treatment = rng.random(people.n) < 0.25

    # -- helpers
    def counts(
        self, rate: float, exponent: float, mask: np.ndarray | None = None, *, care: float = 0.0
    ) -> np.ndarray:
        """Poisson counts per member: rate x exposure x intensity^exponent x the year's shock;
        ``care`` > 0 marks elective care, scaled by care-seeking and rarely used by care avoiders."""
        mu = (
            rate
            * self.yf.exposure
            * self.lam**exponent
            * self.shock
            * np.exp(care * self.people.care_seeking)
        )
        if care > 0:
            mu = mu * np.where(self.people.avoids_care, 0.02, 1.0)
        if mask is not None:
            mu = np.where(mask, mu, 0.0)
        mu = np.where(self.yf.active, mu, 0.0)
        return self.rng.poisson(mu)

    def expand(self, counts: np.ndarray) -> np.ndarray:
        return np.repeat(np.arange(self.people.n), counts)

    def paid(self, mean: float | np.ndarray, cv: float, n: int) -> np.ndarray:
        sigma = np.sqrt(np.log(1 + cv**2))
        return mean * self.rng.lognormal(-(sigma**2) / 2, sigma, n)

    def pick(self, table: pl.DataFrame, n: int) -> Pick:
        w = table["weight"].to_numpy().astype(float)
        return Pick(table["code"].to_numpy(), self.rng.choice(len(w), n, p=w / w.sum()))

    def specialist(self, n: int) -> Pick:
        return Pick(
            self.pool.specialist_npi, self.rng.integers(0, len(self.pool.specialist_npi), n)
        )

    def condition_mask(self, name: str | None, min_level: int = 1) -> np.ndarray:
        if name is None:
            return np.ones(self.people.n, dtype=bool)
        if name == "esrd":
            return self.people.esrd.copy()
        if name in ("cancer_any", "cancer_active"):
            idx = [
                self.params.condition_index(c)
                for c in ("cancer_breast", "cancer_colorectal", "cancer_lung", "cancer_prostate")
            ]
            cancer = (self.levels[idx] > 0).any(axis=0)
            # about a quarter of members with cancer are in active drug treatment in a given year
            return cancer & self.in_active_treatment if name == "cancer_active" else cancer
        return self.levels[self.params.condition_index(name)] >= min_level

    def condition_code(self, name: str | None, person: np.ndarray) -> Pick:
        """The member's own code for a condition (none for pseudo-conditions), as a claim's principal diagnosis."""
        if name in (None, "esrd", "cancer_any", "cancer_active"):
            return Pick(("N186",), np.full(len(person), 0 if name == "esrd" else -1))
        i = self.params.condition_index(name)
        lvl = np.maximum(self.levels[i][person], 1)
        codes = cond.level_codes()[i]
        values = [c for options in codes for c in options]
        first = np.cumsum([0] + [len(o) for o in codes])
        index = np.zeros(len(person), dtype=np.int64)
        for level, options in enumerate(codes, start=1):
            sel = lvl == level
            index[sel] = first[level - 1] + (person[sel] * 2654435761 + i * 97 + level) % len(
                options
            )
        return Pick(tuple(values), index)

    # -- generators
    def generate_all(self) -> None:
        self.office_visits()
        self.catalog_services()
        self.ed_visits()
        self.observation_stays()
        self.inpatient()
        self.joint_replacements()
        self.post_acute()
        self.hospice()
        self.dialysis()

    def office_visits(self) -> None:
        people, rng = self.people, self.rng
        n_visits = self.counts(6.2, 0.35, care=1.0)
        n_visits += np.where(people.lti & self.yf.active, rng.poisson(10 * self.yf.exposure), 0)
        p = self.expand(n_visits)
        n = len(p)
        lti = people.lti[p]
        em_codes = ("99212", "99213", "99214", "99215", "99204", "99309", "99310")
        fee = np.array([50.0, 80.0, 114.0, 156.0, 138.0, 110.0, 160.0])
        code_idx = np.where(
            lti, 5 + (rng.random(n) < 0.3), rng.choice(5, n, p=[0.05, 0.40, 0.45, 0.07, 0.03])
        )
        codes = Pick(em_codes, code_idx)
        paid = fee[code_idx] * rng.lognormal(0, 0.05, n)
        pos = Pick(("11", "10", "32"), np.where(lti, 2, (rng.random(n) < 0.06).astype(np.int64)))
        n_pcp = len(self.pool.pcp_npi)
        doctors = np.concatenate([self.pool.pcp_npi, self.pool.specialist_npi])
        rendering = Pick(
            doctors,
            np.where(
                rng.random(n) < 0.55,
                people.pcp[p],
                n_pcp + rng.integers(0, len(self.pool.specialist_npi), n),
            ),
        )
        start = self.yf.dates(rng, p)
        routine = self.pick(self.visit_codes, n)
        principal = Pick(routine.values, np.where(rng.random(n) < 0.25, routine.index, -1))
        self.book.add(
            p,
            self.year,
            start,
            start,
            claim_type="professional",
            place_of_service_code=pos,
            rendering_npi=rendering,
            billing_npi=rendering,
            principal=principal,
            n_dx=rng.integers(1, 5, n),
            lines=[
                dict(
                    hcpcs_code=codes,
                    service_unit_quantity=1.0,
                    paid_amount=paid,
                    allowed_amount=paid / 0.8,
                )
            ],
        )
        # annual wellness visit
        awv = self.expand(
            (
                self.yf.active
                & ~people.avoids_care
                & (rng.random(people.n) < 0.5 * np.minimum(self.yf.exposure * 1.5, 1))
            ).astype(np.int64)
        )
        start = self.yf.dates(rng, awv)
        paid = self.paid(130.0, 0.05, len(awv))
        npi = Pick(self.pool.pcp_npi, people.pcp[awv])
        self.book.add(
            awv,
            self.year,
            start,
            start,
            claim_type="professional",
            place_of_service_code="11",
            rendering_npi=npi,
            billing_npi=npi,
            principal="Z0000",
            n_dx=rng.integers(1, 4, len(awv)),
            lines=[
                dict(
                    hcpcs_code="G0439",
                    service_unit_quantity=1.0,
                    paid_amount=paid,
                    allowed_amount=paid / 0.8,
                )
            ],
        )

    def catalog_services(self) -> None:
        rng = self.rng
        for s in self.params.services.iter_rows(named=True):
            mask = self.condition_mask(s["condition"], int(s["min_level"] or 1))
            p = self.expand(self.counts(s["rate"], s["risk_exponent"], mask, care=0.4))
            n = len(p)
            if n == 0:
                continue
            start = self.yf.dates(rng, p)
            paid = self.paid(s["mean_paid"], s["paid_cv"], n) * s["units"]
            principal = self.condition_code(s["condition"], p)
            units = float(s["units"])
            if s["claim_type"] == "institutional":
                facility = Pick(self.pool.hospital_npi, self.people.hospital[p])
                self.book.add(
                    p,
                    self.year,
                    start,
                    start,
                    claim_type="institutional",
                    bill_type_code=s["bill_type_code"],
                    facility_npi=facility,
                    billing_npi=facility,
                    principal=principal,
                    n_dx=rng.integers(1, 5, n),
                    lines=[
                        dict(
                            revenue_center_code=s["revenue_center_code"],
                            hcpcs_code=s["hcpcs_code"],
                            service_unit_quantity=units,
                            paid_amount=paid,
                            allowed_amount=paid / 0.8,
                        )
                    ],
                )
            else:
                is_dme = s["place_of_service_code"] == "12"
                npi = (
                    Pick(self.pool.supplier_npi, rng.integers(0, len(self.pool.supplier_npi), n))
                    if is_dme
                    else self.specialist(n)
                )
                self.book.add(
                    p,
                    self.year,
                    start,
                    start,
                    claim_type="professional",
                    place_of_service_code=s["place_of_service_code"],
                    rendering_npi=npi,
                    billing_npi=npi,
                    principal=principal,
                    n_dx=rng.integers(1, 4, n),
                    lines=[
                        dict(
                            hcpcs_code=s["hcpcs_code"],
                            service_unit_quantity=units,
                            paid_amount=paid,
                            allowed_amount=paid / 0.8,
                        )
                    ],
                )

    def ed_visits(self) -> None:
        rng = self.rng
        p = self.expand(self.counts(0.32, 0.75, care=0.3))
        n = len(p)
        start = self.yf.dates(rng, p)
        facility = Pick(self.pool.hospital_npi, self.people.hospital[p])
        level_idx = rng.choice(3, n, p=[0.3, 0.45, 0.25])
        level = Pick(("99283", "99284", "99285"), level_idx)
        fac_paid = np.array([260.0, 430.0, 640.0])[level_idx] * rng.lognormal(0, 0.1, n)
        principal = self.pick(self.ed_codes, n)
        lab, xray = rng.random(n) < 0.6, rng.random(n) < 0.45
        self.book.add(
            p,
            self.year,
            start,
            start,
            claim_type="institutional",
            bill_type_code="131",
            facility_npi=facility,
            billing_npi=facility,
            principal=principal,
            n_dx=rng.integers(1, 5, n),
            lines=[
                dict(
                    revenue_center_code="0450",
                    hcpcs_code=level,
                    service_unit_quantity=1.0,
                    paid_amount=fac_paid,
                    allowed_amount=fac_paid / 0.8,
                ),
                dict(
                    revenue_center_code="0300",
                    hcpcs_code="80053",
                    service_unit_quantity=1.0,
                    paid_amount=self.paid(28.0, 0.2, n),
                    allowed_amount=35.0,
                    mask=lab,
                ),
                dict(
                    revenue_center_code="0320",
                    hcpcs_code="71046",
                    service_unit_quantity=1.0,
                    paid_amount=self.paid(62.0, 0.2, n),
                    allowed_amount=77.5,
                    mask=xray,
                ),
            ],
        )
        doc = self.specialist(n)
        prof = np.array([60.0, 95.0, 140.0])[level_idx]
        self.book.add(
            p,
            self.year,
            start,
            start,
            claim_type="professional",
            place_of_service_code="23",
            rendering_npi=doc,
            billing_npi=doc,
            principal=principal,
            n_dx=rng.integers(1, 4, n),
            lines=[
                dict(
                    hcpcs_code=level,
                    service_unit_quantity=1.0,
                    paid_amount=prof,
                    allowed_amount=prof / 0.8,
                )
            ],
        )
        by_ambulance = rng.random(n) < 0.42
        self.ambulance(p[by_ambulance], start[by_ambulance])

    def ambulance(self, p: np.ndarray, start: np.ndarray | None) -> None:
        rng = self.rng
        n = len(p)
        if n == 0:
            return
        if start is None:
            start = self.yf.dates(rng, p)
        als = rng.random(n) < 0.55
        code = np.where(als, "A0427", "A0429")
        base = np.where(als, 490.0, 410.0) * rng.lognormal(0, 0.08, n)
        miles = np.maximum(1, rng.poisson(9, n)).astype(float)
        npi = Pick(self.pool.ambulance_npi, rng.integers(0, len(self.pool.ambulance_npi), n))
        self.book.add(
            p,
            self.year,
            start,
            start,
            claim_type="professional",
            place_of_service_code="41",
            rendering_npi=npi,
            billing_npi=npi,
            principal=self.pick(self.ed_codes, n),
            n_dx=1,
            lines=[
                dict(
                    hcpcs_code=code,
                    service_unit_quantity=1.0,
                    paid_amount=base,
                    allowed_amount=base / 0.8,
                ),
                dict(
                    hcpcs_code="A0425",
                    service_unit_quantity=miles,
                    paid_amount=miles * 8.6,
                    allowed_amount=miles * 10.75,
                ),
            ],
        )

    def observation_stays(self) -> None:
        rng = self.rng
        p = self.expand(self.counts(0.05, 0.9))
        n = len(p)
        start = self.yf.dates(rng, p)
        end = start + rng.integers(0, 2, n)
        facility = self.pool.hospital_npi[self.people.hospital[p]]
        paid = self.paid(2_450.0, 0.25, n)
        self.book.add(
            p,
            self.year,
            start,
            end,
            claim_type="institutional",
            bill_type_code="131",
            facility_npi=facility,
            billing_npi=facility,
            principal=self.pick(self.ed_codes, n),
            n_dx=rng.integers(2, 7, n),
            lines=[
                dict(
                    revenue_center_code="0762",
                    hcpcs_code="G0378",
                    service_unit_quantity=rng.integers(12, 48, n).astype(float),
                    paid_amount=paid * 0.8,
                    allowed_amount=paid,
                ),
                dict(
                    revenue_center_code="0450",
                    hcpcs_code="99284",
                    service_unit_quantity=1.0,
                    paid_amount=paid * 0.2,
                    allowed_amount=paid * 0.25,
                ),
            ],
        )

    # -- inpatient
    def _choose_drg(self, p: np.ndarray, medical_only: bool = True) -> np.ndarray:
        drgs = self.params.drgs
        base = drgs["base_share"].to_numpy().astype(float)
        weights = np.tile(base, (len(p), 1))
        for j, c in enumerate(drgs["condition"].to_list()):
            if c is not None:
                weights[:, j] = 0.09 * self.condition_mask(c)[p]
        joint = np.isin(drgs["drg_code"].to_numpy(), ["469", "470"])
        weights[:, joint] = 0.0
        cum = weights.cumsum(axis=1)
        u = self.rng.random(len(p)) * cum[:, -1]
        return (cum < u[:, None]).sum(axis=1)

    def admit(
        self,
        p: np.ndarray,
        admission: np.ndarray,
        drg_idx: np.ndarray,
        *,
        via_ed: np.ndarray,
        terminal: np.ndarray,
    ) -> None:
        """Inpatient claims (facility + professional) for admissions; records discharges for post-acute care."""
        rng, n = self.rng, len(p)
        if n == 0:
            return
        drgs = self.params.drgs
        mean_los = drgs["mean_los"].to_numpy()[drg_idx]
        los = np.maximum(1, np.round(mean_los * rng.gamma(2.5, 0.5, n))).astype(np.int64)
        last_day = np.minimum(self.people.death_day[p], self.people.leave_day[p] - 1)
        discharge = np.where(
            terminal,
            self.people.death_day[p],
            np.minimum(admission + los, np.maximum(last_day, admission)),
        )
        admission = np.where(terminal, np.maximum(discharge - los, self.yf.start[p]), admission)
        los = np.maximum(discharge - admission, 1)
        weight = drgs["relative_weight"].to_numpy()[drg_idx]
        allowed = (
            weight * IPPS_BASE_RATE * rng.lognormal(0, 0.08, n)
            + np.maximum(los - 3 * mean_los, 0) * OUTLIER_PER_DAY
        )
        first = self._first_admission_of_year(p)
        paid = np.maximum(
            allowed - np.where(first, self.cost_sharing["part_a_inpatient_deductible"], 0.0), 0.0
        )
        disposition = self._disposition(p, terminal)
        surgical = drgs["procedures"].to_numpy()[drg_idx]
        pcs, surgeon_code = self._procedures(surgical)
        has_pcs = pcs.astype(bool)
        facility = self.pool.hospital_npi[self.people.hospital[p]]
        principal = self._principal_codes(drg_idx)
        drg_code = drgs["drg_code"].to_numpy()[drg_idx]
        self.book.add(
            p,
            self.year,
            admission,
            discharge,
            claim_type="institutional",
            bill_type_code="111",
            facility_npi=facility,
            billing_npi=facility,
            admission=admission,
            discharge=discharge,
            admit_type_code=np.where(via_ed, "1", "3"),
            admit_source_code=np.where(via_ed, "7", "1"),
            discharge_disposition_code=disposition,
            drg_code=drg_code,
            principal=principal,
            n_dx=rng.integers(5, 14, n),
            pcs=pcs,
            lines=[
                dict(
                    revenue_center_code="0120",
                    service_unit_quantity=los.astype(float),
                    paid_amount=paid * 0.55,
                    allowed_amount=allowed * 0.55,
                ),
                dict(
                    revenue_center_code="0250",
                    service_unit_quantity=1.0,
                    paid_amount=paid * 0.15,
                    allowed_amount=allowed * 0.15,
                ),
                dict(
                    revenue_center_code="0300",
                    service_unit_quantity=1.0,
                    paid_amount=paid * 0.10,
                    allowed_amount=allowed * 0.10,
                ),
                dict(
                    revenue_center_code="0360",
                    service_unit_quantity=1.0,
                    paid_amount=paid * 0.20,
                    allowed_amount=allowed * 0.20,
                    mask=has_pcs,
                ),
                dict(
                    revenue_center_code="0450",
                    service_unit_quantity=1.0,
                    paid_amount=paid * 0.20,
                    allowed_amount=allowed * 0.20,
                    mask=~has_pcs,
                ),
            ],
        )
        doc = self.specialist(n)
        subsequent = np.maximum(los - 1, 0).astype(float)
        self.book.add(
            p,
            self.year,
            admission,
            discharge,
            claim_type="professional",
            place_of_service_code="21",
            rendering_npi=doc,
            billing_npi=doc,
            principal=principal,
            n_dx=rng.integers(1, 5, n),
            lines=[
                dict(
                    hcpcs_code="99223",
                    service_unit_quantity=1.0,
                    paid_amount=self.paid(205.0, 0.1, n),
                    allowed_amount=256.0,
                    line_start=admission,
                    line_end=admission,
                ),
                dict(
                    hcpcs_code="99232",
                    service_unit_quantity=subsequent,
                    paid_amount=subsequent * 78.0,
                    allowed_amount=subsequent * 97.5,
                    line_start=admission + 1,
                    line_end=np.maximum(discharge - 1, admission + 1),
                    mask=subsequent > 0,
                ),
                dict(
                    hcpcs_code="99239",
                    service_unit_quantity=1.0,
                    paid_amount=self.paid(98.0, 0.1, n),
                    allowed_amount=122.5,
                    line_start=discharge,
                    line_end=discharge,
                ),
            ],
        )
        has_surgeon = surgeon_code.astype(bool)
        if has_surgeon.any():
            sp = p[has_surgeon]
            fee = drgs["surgeon_paid"].to_numpy()[drg_idx][has_surgeon].astype(float)
            sdoc = self.specialist(len(sp))
            self.book.add(
                sp,
                self.year,
                admission[has_surgeon],
                admission[has_surgeon],
                claim_type="professional",
                place_of_service_code="21",
                rendering_npi=sdoc,
                billing_npi=sdoc,
                principal=principal[has_surgeon],
                n_dx=2,
                lines=[
                    dict(
                        hcpcs_code=surgeon_code[has_surgeon].astype(str),
                        service_unit_quantity=1.0,
                        paid_amount=fee,
                        allowed_amount=fee / 0.8,
                    )
                ],
            )
        ed = via_ed
        if ed.any():
            doc = self.specialist(int(ed.sum()))
            self.book.add(
                p[ed],
                self.year,
                admission[ed],
                admission[ed],
                claim_type="professional",
                place_of_service_code="23",
                rendering_npi=doc,
                billing_npi=doc,
                principal=principal[ed],
                n_dx=2,
                lines=[
                    dict(
                        hcpcs_code="99285",
                        service_unit_quantity=1.0,
                        paid_amount=140.0,
                        allowed_amount=175.0,
                    )
                ],
            )
            arrive = ed & (rng.random(n) < 0.55)
            self.ambulance(p[arrive], admission[arrive])
        self.discharges.append((p, discharge, disposition))

    def _principal_codes(self, drg_idx: np.ndarray) -> np.ndarray:
        out = np.empty(len(drg_idx), dtype=object)
        for j, codes in enumerate(self.params.drgs["principal_codes"].to_list()):
            sel = drg_idx == j
            if sel.any():
                out[sel] = self.rng.choice(np.array(codes.split(), dtype=object), sel.sum())
        return out

    def _first_admission_of_year(self, p: np.ndarray) -> np.ndarray:
        seen = getattr(self, "_admitted", np.zeros(self.people.n, dtype=bool))
        order = np.argsort(p, kind="stable")
        first = np.zeros(len(p), dtype=bool)
        sp = p[order]
        is_first_in_batch = np.r_[True, sp[1:] != sp[:-1]]
        first[order] = is_first_in_batch & ~seen[sp]
        seen[p] = True
        self._admitted = seen
        return first

    def _disposition(self, p: np.ndarray, terminal: np.ndarray) -> np.ndarray:
        rng, n = self.rng, len(p)
        az = cond.age_z(self.yf.age[p])
        p_snf = np.clip(0.27 + 0.06 * az + 0.12 * self.people.lti[p], 0.03, 0.6)
        p_hh = np.full(n, 0.17)
        p_hospice = np.full(n, 0.015)
        u = rng.random(n)
        disp = np.where(
            u < p_snf,
            "03",
            np.where(u < p_snf + p_hh, "06", np.where(u < p_snf + p_hh + p_hospice, "50", "01")),
        )
        v = rng.random(n)
        disp = np.where((disp == "01") & (v < 0.03), "62", disp)
        disp = np.where((disp == "01") & (v > 0.985), "07", disp)
        disp = np.where((disp == "01") & (v > 0.97) & (v <= 0.985), "02", disp)
        return np.where(terminal, "20", disp)

    def _procedures(self, specs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        pcs = np.full(len(specs), None, dtype=object)
        hcpcs = np.full(len(specs), None, dtype=object)
        for i, spec in enumerate(specs):
            if spec:
                pcs_code, cpt = self.rng.choice(spec.split()).split(":")
                pcs[i], hcpcs[i] = pcs_code, cpt
        return pcs, hcpcs

    def inpatient(self) -> None:
        rng, yf = self.rng, self.yf
        p = self.expand(self.counts(0.102, 1.2))
        # terminal admissions: about a third of decedents die in hospital
        terminal_p = np.flatnonzero(yf.dies & (rng.random(self.people.n) < 0.30))
        self.terminal = np.zeros(self.people.n, dtype=bool)
        self.terminal[terminal_p] = True
        p = np.concatenate([p, terminal_p])
        terminal = np.r_[
            np.zeros(len(p) - len(terminal_p), dtype=bool), np.ones(len(terminal_p), dtype=bool)
        ]
        admission = yf.dates(rng, p)
        drg = self._choose_drg(p)
        self.admit(p, admission, drg, via_ed=rng.random(len(p)) < 0.78, terminal=terminal)
        # 30-day readmissions, two rounds so that readmissions can themselves be readmitted
        for _ in range(2):
            person, discharge, disposition = self.discharges[-1]
            alive = ~np.isin(disposition, ["20", "50", "07"])
            risk = np.clip(0.11 * np.exp(0.25 * np.clip(self.people.health[person], -3, 3)), 0, 0.6)
            again = alive & (rng.random(len(person)) < risk)
            rp = person[again]
            when = discharge[again] + rng.integers(1, 31, len(rp))
            ok = when <= np.minimum(
                np.minimum(self.people.death_day[rp], self.people.leave_day[rp] - 1),
                yf.end[rp] + 40,
            )
            rp, when = rp[ok], when[ok]
            self.admit(
                rp,
                when,
                self._choose_drg(rp),
                via_ed=rng.random(len(rp)) < 0.85,
                terminal=np.zeros(len(rp), dtype=bool),
            )
        self.catastrophic_stays()

    def catastrophic_stays(self) -> None:
        """Rare prolonged critical-care stays (prolonged mechanical ventilation, ECMO) that give
        Medicare spending its extreme tail (MS-DRGs 003/004)."""
        rng, yf = self.rng, self.yf
        chance = np.where(
            yf.active & (yf.days > 30), CATASTROPHIC_RATE * yf.exposure * self.lam**0.6, 0.0
        )
        p = np.flatnonzero(rng.random(self.people.n) < np.clip(chance, 0, 0.2))
        if len(p) == 0:
            return
        codes = self.params.drgs["drg_code"].to_list()
        drg = np.where(rng.random(len(p)) < 0.7, codes.index("004"), codes.index("003"))
        self.admit(
            p,
            yf.dates(rng, p),
            drg,
            via_ed=rng.random(len(p)) < 0.8,
            terminal=np.zeros(len(p), dtype=bool),
        )

    def joint_replacements(self) -> None:
        rng = self.rng
        oa = self.condition_mask("osteoarthritis")
        healthy_enough = self.people.health < 1.8
        chance = np.where(
            oa & healthy_enough & self.yf.active & ~self.yf.dies, 0.028 * self.yf.exposure, 0.0
        )
        p = np.flatnonzero(rng.random(self.people.n) < chance)
        if len(p) == 0:
            return
        outpatient = rng.random(len(p)) < 0.25
        drgs = self.params.drgs["drg_code"].to_list()
        ip = p[~outpatient]
        drg = np.where(self.people.health[ip] > 1.0, drgs.index("469"), drgs.index("470"))
        self.admit(
            ip,
            self.yf.dates(rng, ip),
            drg,
            via_ed=np.zeros(len(ip), dtype=bool),
            terminal=np.zeros(len(ip), dtype=bool),
        )
        op = p[outpatient]
        start = self.yf.dates(rng, op)
        code = rng.choice(["27447", "27130"], len(op), p=[0.7, 0.3])
        facility = self.pool.hospital_npi[self.people.hospital[op]]
        paid = self.paid(12_400.0, 0.12, len(op))
        self.book.add(
            op,
            self.year,
            start,
            start,
            claim_type="institutional",
            bill_type_code="131",
            facility_npi=facility,
            billing_npi=facility,
            principal=np.where(code == "27447", "M1711", "M1611"),
            n_dx=3,
            lines=[
                dict(
                    revenue_center_code="0360",
                    hcpcs_code=code,
                    service_unit_quantity=1.0,
                    paid_amount=paid,
                    allowed_amount=paid / 0.8,
                )
            ],
        )
        doc = self.specialist(len(op))
        self.book.add(
            op,
            self.year,
            start,
            start,
            claim_type="professional",
            place_of_service_code="22",
            rendering_npi=doc,
            billing_npi=doc,
            principal=np.where(code == "27447", "M1711", "M1611"),
            n_dx=2,
            lines=[
                dict(
                    hcpcs_code=code,
                    service_unit_quantity=1.0,
                    paid_amount=1300.0,
                    allowed_amount=1625.0,
                )
            ],
        )
        self.discharges.append((op, start, np.where(rng.random(len(op)) < 0.6, "06", "01")))
        # outpatient physical therapy after every replacement
        pt = np.repeat(p, 10)
        when = np.repeat(self.yf.dates(rng, p), 10) + np.tile(np.arange(10) * 4 + 14, len(p))
        npi = self.specialist(len(pt))
        self.book.add(
            pt,
            self.year,
            when,
            when,
            claim_type="professional",
            place_of_service_code="11",
            rendering_npi=npi,
            billing_npi=npi,
            principal="Z96651",
            n_dx=2,
            lines=[
                dict(
                    hcpcs_code="97110",
                    service_unit_quantity=3.0,
                    paid_amount=self.paid(90.0, 0.1, len(pt)),
                    allowed_amount=112.5,
                )
            ],
        )

    def post_acute(self) -> None:
        rng = self.rng
        if not self.discharges:
            return
        person = np.concatenate([d[0] for d in self.discharges])
        discharge = np.concatenate([d[1] for d in self.discharges])
        disposition = np.concatenate([d[2] for d in self.discharges])
        last = np.minimum(self.people.death_day[person], self.people.leave_day[person] - 1)
        # skilled nursing after a qualifying stay
        s = disposition == "03"
        sp, start = person[s], discharge[s]
        days = np.clip(np.round(rng.gamma(1.6, 16.0, len(sp))), 3, 100).astype(np.int64)
        end = np.minimum(start + days, np.maximum(last[s], start))
        days = np.maximum(end - start, 1)
        per_diem = SNF_PER_DIEM * rng.lognormal(0, 0.12, len(sp))
        coins = self.cost_sharing["snf_daily_coinsurance_after_day_20"] * np.maximum(days - 20, 0)
        allowed = per_diem * days
        paid = np.maximum(allowed - coins, 0)
        snf = self.pool.snf_npi[rng.integers(0, len(self.pool.snf_npi), len(sp))]
        self.book.add(
            sp,
            self.year,
            start,
            end,
            claim_type="institutional",
            bill_type_code="211",
            facility_npi=snf,
            billing_npi=snf,
            admission=start,
            discharge=end,
            discharge_disposition_code=np.where(rng.random(len(sp)) < 0.6, "01", "06"),
            principal=None,
            n_dx=rng.integers(3, 9, len(sp)),
            lines=[
                dict(
                    revenue_center_code="0022",
                    service_unit_quantity=days.astype(float),
                    paid_amount=paid,
                    allowed_amount=allowed,
                ),
                dict(
                    revenue_center_code="0120",
                    service_unit_quantity=days.astype(float),
                    paid_amount=0.0,
                    allowed_amount=0.0,
                ),
            ],
        )
        # home health: after discharge to home health, and referred from the community
        h = disposition == "06"
        community = self.expand(self.counts(0.052, 0.8))
        hp = np.concatenate([person[h], community])
        hstart = np.concatenate([discharge[h] + 1, self.yf.dates(rng, community)])
        periods = rng.choice([1, 2, 3], len(hp), p=[0.4, 0.3, 0.3])
        self.home_health(hp, hstart, periods)
        self.hospice_from_discharge = (person[disposition == "50"], discharge[disposition == "50"])

    def home_health(self, p: np.ndarray, start: np.ndarray, periods: np.ndarray) -> None:
        rng = self.rng
        pp = np.repeat(p, periods)
        k = ranks_within(periods)
        s = np.repeat(start, periods) + 30 * k
        last = np.minimum(self.people.death_day[pp], self.people.leave_day[pp] - 1)
        ok = s <= last
        pp, s, last = pp[ok], s[ok], last[ok]
        e = np.minimum(s + 29, last)
        paid = self.paid(HH_PERIOD_PAYMENT, 0.3, len(pp)) * np.clip((e - s + 1) / 30, 0.3, 1)
        hha = self.pool.hha_npi[rng.integers(0, len(self.pool.hha_npi), len(pp))]
        visits = np.maximum(1, rng.poisson(8, len(pp))).astype(float)
        self.book.add(
            pp,
            self.year,
            s,
            e,
            claim_type="institutional",
            bill_type_code="329",
            facility_npi=hha,
            billing_npi=hha,
            principal=None,
            n_dx=rng.integers(2, 7, len(pp)),
            lines=[
                dict(
                    revenue_center_code="0023",
                    service_unit_quantity=1.0,
                    paid_amount=paid,
                    allowed_amount=paid,
                ),
                dict(
                    revenue_center_code="0551",
                    service_unit_quantity=visits,
                    paid_amount=0.0,
                    allowed_amount=0.0,
                ),
            ],
        )

    def hospice(self) -> None:
        rng, yf, people = self.rng, self.yf, self.people
        dementia = self.condition_mask("dementia", 2)
        cancer = self.condition_mask("cancer_any")
        hf = self.condition_mask("heart_failure", 2)
        serious = dementia | cancer | hf
        decedent = yf.dies & ~self.terminal & (rng.random(people.n) < np.where(serious, 0.8, 0.6))
        p = np.flatnonzero(decedent)
        los = np.clip(np.round(rng.lognormal(np.log(18), 1.6, len(p))), 1, 720).astype(np.int64)
        end = people.death_day[p]
        start = np.maximum(end - los, yf.start[p])
        # members on hospice who are alive at year end (long stays, live discharges)
        alive = np.flatnonzero(
            yf.active & ~yf.dies & serious & (rng.random(people.n) < 0.12 * yf.exposure)
        )
        a_start = yf.dates(rng, alive)
        a_end = np.minimum(
            a_start + np.round(rng.lognormal(np.log(90), 0.8, len(alive))).astype(np.int64),
            yf.end[alive],
        )
        extra_p, extra_start = getattr(
            self,
            "hospice_from_discharge",
            (np.empty(0, dtype=np.int64), np.empty(0, dtype=np.int64)),
        )
        extra_end = np.minimum(
            extra_start + 20, np.minimum(people.death_day[extra_p], people.leave_day[extra_p] - 1)
        )
        p = np.concatenate([p, alive, extra_p])
        start = np.concatenate([start, a_start, extra_start])
        end = np.maximum(np.concatenate([end, a_end, np.maximum(extra_end, extra_start)]), start)
        # one claim per calendar month of the stay
        months = pl.DataFrame(
            {"person": p, "start": _days_to_date(start), "end": _days_to_date(end)}
        ).with_row_index("stay")
        seg = months.with_columns(
            pl.date_ranges(pl.col("start").dt.month_start(), pl.col("end"), "1mo").alias("m")
        ).explode("m")
        seg = seg.with_columns(
            pl.max_horizontal("start", "m").alias("s"),
            pl.min_horizontal("end", pl.col("m").dt.month_end()).alias("e"),
        ).filter(pl.col("s") <= pl.col("e"))
        sp = seg["person"].to_numpy()
        s = seg["s"].cast(pl.Int32).to_numpy().astype(np.int64)
        e = seg["e"].cast(pl.Int32).to_numpy().astype(np.int64)
        stay_start = seg["start"].cast(pl.Int32).to_numpy().astype(np.int64)
        days = (e - s + 1).astype(float)
        early = np.clip(60 - (s - stay_start), 0, days)
        paid = early * HOSPICE_RHC_DAY[0] + (days - early) * HOSPICE_RHC_DAY[1]
        hospice_npi = self.pool.hospice_npi[(sp * 13 + 5) % len(self.pool.hospice_npi)]
        is_last = e == people.death_day[sp]
        self.book.add(
            sp,
            self.year,
            s,
            e,
            claim_type="institutional",
            bill_type_code="812",
            facility_npi=hospice_npi,
            billing_npi=hospice_npi,
            admission=stay_start,
            discharge_disposition_code=np.where(is_last, "40", "30"),
            principal=None,
            n_dx=rng.integers(1, 5, len(sp)),
            lines=[
                dict(
                    revenue_center_code="0651",
                    service_unit_quantity=days,
                    paid_amount=paid,
                    allowed_amount=paid,
                )
            ],
        )

    def dialysis(self) -> None:
        yf, people = self.yf, self.people
        p = np.flatnonzero(yf.active & people.esrd & (yf.days > 0))
        if len(p) == 0:
            return
        frame = pl.DataFrame(
            {"person": p, "start": _days_to_date(yf.start[p]), "end": _days_to_date(yf.end[p])}
        )
        seg = (
            frame.with_columns(
                pl.date_ranges(pl.col("start").dt.month_start(), pl.col("end"), "1mo").alias("m")
            )
            .explode("m")
            .with_columns(
                pl.max_horizontal("start", "m").alias("s"),
                pl.min_horizontal("end", pl.col("m").dt.month_end()).alias("e"),
            )
            .filter(pl.col("s") <= pl.col("e"))
        )
        sp = seg["person"].to_numpy()
        s = seg["s"].cast(pl.Int32).to_numpy().astype(np.int64)
        e = seg["e"].cast(pl.Int32).to_numpy().astype(np.int64)
        sessions = np.maximum(1, np.round((e - s + 1) / 30 * 13)).astype(float)
        paid = sessions * DIALYSIS_PER_TREATMENT * self.rng.lognormal(0, 0.05, len(sp))
        npi = self.pool.dialysis_npi[(sp * 11) % len(self.pool.dialysis_npi)]
        self.book.add(
            sp,
            self.year,
            s,
            e,
            claim_type="institutional",
            bill_type_code="721",
            facility_npi=npi,
            billing_npi=npi,
            principal="N186",
            n_dx=3,
            lines=[
                dict(
                    revenue_center_code="0821",
                    hcpcs_code="90999",
                    service_unit_quantity=sessions,
                    paid_amount=paid,
                    allowed_amount=paid / 0.8,
                )
            ],
        )


def ranks_within(counts: np.ndarray) -> np.ndarray:
    """0..count-1 for each group, concatenated: ranks_within([2, 0, 3]) -> [0, 1, 0, 1, 2]."""
    counts = np.asarray(counts, dtype=np.int64)
    total = int(counts.sum())
    starts = np.repeat(np.cumsum(counts) - counts, counts)
    return np.arange(total, dtype=np.int64) - starts
