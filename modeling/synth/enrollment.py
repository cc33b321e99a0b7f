"""Member-years: enrollment spans, dual and institutional transitions, latent health, deaths.

Each year a member present on January 1 may leave fee-for-service for good (e.g. to Medicare
Advantage) and may have one enrollment gap; enrolled days exclude the gap. Latent health follows
an AR(1) around a shift set by dual, institutional, disability and ESRD status; members die with
a logistic probability in health, age, status and serious conditions, scaled by the year's
enrolled fraction. The cost intensity of a member-year (mean 1 in a typical panel) drives the
rate of every service. Coefficients are data: ``modeling/data/synth_behaviour.csv``.

The tables written from a chunk's member-years: ``eligibility`` (one row per enrollment span,
two when the year has a gap) and ``provider_attribution`` (the member's PCP for the year).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

from modeling.synth import conditions as cond
from modeling.synth.arrays import days_to_date
from modeling.synth.params import SynthParams
from modeling.synth.people import (
    AGED,
    FULL_DUAL_CODES,
    NEVER,
    PARTIAL_DUAL_CODES,
    People,
    ProviderPool,
    day,
)


@dataclass(frozen=True)
class MemberIds:
    """Identifiers of a chunk's members by position: ``person`` ids and ``member`` ids (MBIs)."""

    person: pl.Series
    member: pl.Series


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

    def refresh_days(self) -> None:
        """Enrolled days and exposure (enrolled fraction of a 365-day year) from the spans."""
        self.days = np.where(
            self.active, np.maximum(self.end - self.start + 1 - self.gap_len, 0), 0
        )
        self.exposure = self.days / 365.0


def year_frame(
    rng: np.random.Generator, people: People, year: int, params: SynthParams
) -> YearFrame:
    """The year's enrollment: disenrollment (decided for members present at its start), spans, gaps."""
    b = params.behaviour
    ys, ye = day(year), day(year, 12, 31)
    n = people.n
    # permanent disenrollment (e.g. to Medicare Advantage), decided for members present at the start
    present = (people.entry_day <= ye) & (people.death_day >= ys) & (people.leave_day >= ys)
    leaving = present & (people.leave_day == NEVER) & (rng.random(n) < b["disenrollment_rate"])
    people.leave_day[leaving] = ys + rng.integers(0, 365, leaving.sum())
    active = present & (people.leave_day > np.maximum(people.entry_day, ys))
    start = np.maximum(people.entry_day, ys)
    end = np.minimum(np.minimum(ye, people.death_day), people.leave_day - 1)
    gap = active & (rng.random(n) < b["enrollment_gap_rate"]) & (end - start > 240)
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
    frame.refresh_days()
    return frame


def evolve(
    rng: np.random.Generator, people: People, levels: np.ndarray, params: SynthParams
) -> None:
    """One year on: dual and institutional transitions, then health AR(1) around a member's shift."""
    b = params.behaviour
    n = people.n
    dual = people.dual != ""
    to_dual = ~dual & (rng.random(n) < b["dual_entry_rate"])
    people.dual[to_dual] = rng.choice(
        np.concatenate([FULL_DUAL_CODES, PARTIAL_DUAL_CODES]), to_dual.sum()
    )
    lose = dual & (rng.random(n) < b["dual_exit_rate"])
    people.dual[lose] = ""
    dementia = levels[params.condition_index("dementia")]
    to_lti = (
        ~people.lti
        & (people.group == AGED)
        & (rng.random(n) < b["lti_entry_rate"] + b["lti_entry_dementia"] * (dementia >= 2))
    )
    people.lti |= to_lti
    shift = (
        b["health_shift_dual"] * (people.dual != "")
        + b["health_shift_lti"] * people.lti
        + b["health_shift_disabled"] * (people.group != AGED)
        + b["health_shift_esrd"] * people.esrd
    )
    rho = b["health_persistence"]
    people.health = (
        shift
        + rho * (people.health - shift)
        + np.sqrt(1 - rho**2) * rng.standard_normal(n)
        + b["health_drift"]
    )


def death_probability(
    people: People, yf: YearFrame, levels: np.ndarray, params: SynthParams
) -> np.ndarray:
    """Each member's chance of dying within a whole year, from health, age, institutional and
    ESRD status and the conditions that carry the most risk."""
    b = params.behaviour
    idx = {
        c: params.condition_index(c)
        for c in ("heart_failure", "cancer_lung", "dementia", "copd", "ckd")
    }
    logit = (
        b["death_intercept"]
        + b["death_health"] * np.clip(people.health, -3, 4)
        + b["death_age"] * cond.age_z(yf.age)
        + b["death_lti"] * people.lti
        + b["death_esrd"] * people.esrd
        + b["death_heart_failure"] * (levels[idx["heart_failure"]] > 0)
        + b["death_cancer_lung"] * (levels[idx["cancer_lung"]] > 0)
        + b["death_dementia"] * (levels[idx["dementia"]] >= 2)
        + b["death_copd"] * (levels[idx["copd"]] > 0)
        + b["death_ckd"] * (levels[idx["ckd"]] >= 2)
    )
    return 1 / (1 + np.exp(-logit))


def decide_deaths(
    rng: np.random.Generator, people: People, yf: YearFrame, levels: np.ndarray, params: SynthParams
) -> None:
    """Who dies in the year and when; a death ends the year's span (and any gap it falls in)."""
    p = death_probability(people, yf, levels, params) * yf.exposure
    dies = yf.active & (rng.random(people.n) < p)
    when = yf.dates(rng, np.flatnonzero(dies))
    people.death_day[dies] = when
    yf.end = np.where(dies, people.death_day, yf.end)
    yf.dies = dies
    # a death inside a gap ends the gap at death
    inside = dies & (yf.gap_start <= yf.end)
    yf.gap_len = np.where(inside, np.minimum(yf.gap_len, yf.end - yf.gap_start), yf.gap_len)
    yf.refresh_days()


def cost_intensity(
    people: People,
    yf: YearFrame,
    levels: np.ndarray,
    params: SynthParams,
    *,
    dies: np.ndarray | None = None,
    rolling: bool = False,
) -> np.ndarray:
    """Cost intensity (mean 1 in a typical panel): drives the rate of every service. ``dies``
    (default the year's deaths) marks the members at the raised rate of the last year of
    life; ``rolling`` (a rolling last year of life, ``SynthSpec.last_year_of_life``) takes its
    own centring."""
    b = params.behaviour
    log_lam = (
        b["intensity_health"] * np.clip(people.health, -3, 4)
        + b["intensity_age"] * cond.age_z(yf.age)
        + b["intensity_under_65"] * (people.group != AGED)
    )
    for i, c in enumerate(params.conditions):
        weights = np.array([0.0] + [lvl.cost_weight for lvl in c.levels])
        log_lam += b["intensity_condition_scale"] * weights[levels[i]]
    log_lam += (
        b["intensity_full_dual"] * np.isin(people.dual, FULL_DUAL_CODES)
        + b["intensity_partial_dual"] * np.isin(people.dual, PARTIAL_DUAL_CODES)
        + b["intensity_lti"] * people.lti
        + b["intensity_esrd"] * people.esrd
    )
    # spending concentrates in the last months of life
    log_lam += b["intensity_year_of_death"] * (yf.dies if dies is None else dies)
    log_lam = np.minimum(log_lam, b["intensity_cap"])
    centring = b["intensity_centring_rolling"] if rolling else b["intensity_centring"]
    return np.exp(log_lam - centring)


def eligibility_rows(people: People, yf: YearFrame, ids: MemberIds) -> pl.DataFrame:
    """The year's ``eligibility`` rows: one per enrollment span (two when the year has a gap)."""
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
            "person_id": ids.person.gather(person),
            "member_id": ids.member.gather(person),
            "payer": "medicare",
            "payer_type": "medicare",
            "plan": "original medicare",
            "gender": np.where(people.female[person], "female", "male"),
            "race": people.race[person],
            "birth_date": days_to_date(people.birth_day[person]),
            "death_date": pl.Series(np.where(death < NEVER, death, 0).astype(np.int32))
            .cast(pl.Date)
            .set(pl.Series(death >= NEVER), None),
            "enrollment_start_date": days_to_date(starts),
            "enrollment_end_date": days_to_date(ends),
            "original_reason_entitlement_code": people.orec[person],
            "dual_status_code": np.where(people.dual[person] == "", "NA", people.dual[person]),
            "medicare_status_code": status,
            "data_source": "synthetic",
        }
    )


def attribution_rows(
    people: People, yf: YearFrame, ids: MemberIds, pool: ProviderPool
) -> pl.DataFrame:
    """The year's ``provider_attribution`` rows: each enrolled member's PCP."""
    a = np.flatnonzero(yf.active & (yf.days > 0))
    pcp = people.pcp[a]
    return pl.DataFrame(
        {
            "person_id": ids.person.gather(a),
            "year": np.full(len(a), yf.year, dtype=np.int32),
            "provider_npi": pool.pcp_npi[pcp],
            "provider_tin": pool.pcp_tin[pcp],
            "provider_name": pool.pcp_name[pcp],
            "data_source": "synthetic",
        }
    )


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
