"""What every service line shares: the year's ``ServiceContext`` and the helpers that draw from it.

A service line is a free function of the context that adds claims to its ``ClaimBook``. Counts
are Poisson with mean rate x exposure x intensity^exponent x the member's shock for the year
(a gamma draw of mean 1), and, for elective care, x exp(care x care seeking), almost never for
members who avoid care. Paid amounts are lognormal with the given mean and coefficient of
variation. Every draw comes from the chunk's one generator, so the order in which service lines
run (``modeling.synth.services.generate_services``) is part of the output.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import polars as pl

from modeling.synth import conditions as cond
from modeling.synth.claims import ClaimBook, Pick
from modeling.synth.enrollment import YearFrame
from modeling.synth.params import SynthParams
from modeling.synth.people import People, ProviderPool

CANCERS = ("cancer_breast", "cancer_colorectal", "cancer_lung", "cancer_prostate")
# pseudo-conditions of the service catalog, beside the conditions of synth_conditions.csv
PSEUDO_CONDITIONS = ("esrd", "cancer_any", "cancer_active")


NO_STAY = -(2**40)  # HeldHospice.billed_end of a member with no hospice day in the year
CARRY_SALT = 2_024_1204  # the carried months' stream: default_rng([seed, chunk, CARRY_SALT])


@dataclass
class HeldHospice:
    """What a year's hospice stays leave for the next year's: the months after the year that
    drew them (``after``: person, first and last day, the stay's first day, days since 1970),
    billed once the next year's stays of the same members are known, and each member's last
    hospice day billed in that year (``billed_end``, ``NO_STAY`` for none). A member is on one
    hospice stay at a time, so a day billed by one stay is not billed again by a stay drawn in
    the next year (a live stay running into the year a member dies, a decedent's stay begun the
    year before)."""

    after: pl.DataFrame | None = None
    billed_end: np.ndarray | None = None


@dataclass(frozen=True)
class CarryOver:
    """Claims of the year's services that fall outside the year (a hospice stay begun the year
    before, or running into the next), with the stream they draw from: their own book and
    ``default_rng([seed, chunk, SALT])``, so that the year's own claims and every other line's
    draws are the same with them or without them."""

    rng: np.random.Generator
    book: ClaimBook
    start_year: int
    """The panel's first year, the one that also bills services begun before the panel."""
    end_year: int
    """The panel's last year: the months of its stays after it are billed when it is drawn."""
    held: HeldHospice = field(default_factory=lambda: HeldHospice())

    def panel_start(self, ctx: ServiceContext) -> bool:
        """Whether ``ctx`` is the panel's first year."""
        return ctx.year == self.start_year


@dataclass
class ServiceContext:
    """One chunk-year's members and state shared by the service lines, for one ``ClaimBook``.

    Besides the inputs it carries what one line leaves for another: ``discharges`` (person,
    discharge day, disposition) for post-acute care, ``terminal`` (members who die in hospital,
    not on hospice), ``admitted`` (members with an admission this year, who owe no second Part A
    deductible) and ``hospice_from_discharge`` (person, discharge day).
    """

    rng: np.random.Generator
    params: SynthParams
    pool: ProviderPool
    people: People
    yf: YearFrame
    levels: np.ndarray
    lam: np.ndarray  # cost intensity
    book: ClaimBook
    shock: np.ndarray  # a member's good or bad year
    in_active_treatment: np.ndarray
    cost_sharing: dict[str, Any]
    visit_codes: pl.DataFrame
    ed_codes: pl.DataFrame
    terminal: np.ndarray
    admitted: np.ndarray
    discharges: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = field(default_factory=list)
    hospice_from_discharge: tuple[np.ndarray, np.ndarray] = field(
        default_factory=lambda: (np.empty(0, dtype=np.int64), np.empty(0, dtype=np.int64))
    )
    carry: CarryOver | None = None
    # with ``lam_base``, the rates are the excess of ``lam`` over it: services added on top of
    # those already drawn at ``lam_base`` (the months before a death, ``pre_death``)
    lam_base: np.ndarray | None = None

    @classmethod
    def start(
        cls,
        rng: np.random.Generator,
        *,
        params: SynthParams,
        pool: ProviderPool,
        people: People,
        yf: YearFrame,
        levels: np.ndarray,
        intensity: np.ndarray,
        book: ClaimBook,
    ) -> ServiceContext:
        """The year's context; draws each member's shock, then who with cancer is in treatment."""
        b = params.behaviour
        shock = rng.gamma(b["year_shock_shape"], b["year_shock_scale"], people.n)
        routine = params.routine_codes
        in_active_treatment = rng.random(people.n) < b["active_cancer_treatment"]
        return cls(
            rng=rng,
            params=params,
            pool=pool,
            people=people,
            yf=yf,
            levels=levels,
            lam=intensity,
            book=book,
            shock=shock,
            in_active_treatment=in_active_treatment,
            cost_sharing=params.cost_sharing_for(yf.year),
            visit_codes=routine.filter(pl.col("use") == "visit"),
            ed_codes=routine.filter(pl.col("use") == "ed"),
            terminal=np.zeros(people.n, dtype=bool),
            admitted=np.zeros(people.n, dtype=bool),
        )

    @property
    def year(self) -> int:
        return self.yf.year


def intensity_term(ctx: ServiceContext, exponent: float) -> np.ndarray:
    """lam^exponent, or with ``lam_base`` its excess lam^exponent - lam_base^exponent (never
    below 0): Poisson counts at that excess added to counts already drawn at ``lam_base`` are
    Poisson at ``lam``."""
    term = ctx.lam**exponent
    if ctx.lam_base is None:
        return term
    return np.maximum(term - ctx.lam_base**exponent, 0.0)


def counts(
    ctx: ServiceContext,
    rate: float,
    exponent: float,
    mask: np.ndarray | None = None,
    *,
    care: float = 0.0,
) -> np.ndarray:
    """Poisson counts per member: rate x exposure x intensity^exponent x the year's shock;
    ``care`` > 0 marks elective care, scaled by care-seeking and rarely used by care avoiders."""
    mu = (
        rate
        * ctx.yf.exposure
        * intensity_term(ctx, exponent)
        * ctx.shock
        * np.exp(care * ctx.people.care_seeking)
    )
    if care > 0:
        mu = mu * np.where(ctx.people.avoids_care, ctx.params.behaviour["care_avoider_factor"], 1.0)
    if mask is not None:
        mu = np.where(mask, mu, 0.0)
    mu = np.where(ctx.yf.active, mu, 0.0)
    return ctx.rng.poisson(mu)


def expand(ctx: ServiceContext, counts: np.ndarray) -> np.ndarray:
    """Member positions repeated by their counts: one element per service."""
    return np.repeat(np.arange(ctx.people.n), counts)


def paid(
    ctx: ServiceContext,
    mean: float | np.ndarray,
    cv: float,
    n: int,
    rng: np.random.Generator | None = None,
) -> np.ndarray:
    """Lognormal amounts with mean ``mean`` and coefficient of variation ``cv`` (from ``rng``,
    by default the context's)."""
    sigma = np.sqrt(np.log(1 + cv**2))
    return mean * (rng or ctx.rng).lognormal(-(sigma**2) / 2, sigma, n)


def pick(ctx: ServiceContext, table: pl.DataFrame, n: int) -> Pick:
    """``n`` codes drawn from a ``code, weight`` table in proportion to weight."""
    w = table["weight"].to_numpy().astype(float)
    return Pick(table["code"].to_numpy(), ctx.rng.choice(len(w), n, p=w / w.sum()))


def specialist(ctx: ServiceContext, n: int) -> Pick:
    """``n`` specialists drawn uniformly from the pool."""
    return Pick(ctx.pool.specialist_npi, ctx.rng.integers(0, len(ctx.pool.specialist_npi), n))


def condition_mask(ctx: ServiceContext, name: str | None, min_level: int = 1) -> np.ndarray:
    """Members with a condition at ``min_level`` or above (everyone for ``None``; pseudo-conditions
    ``esrd``, ``cancer_any`` and ``cancer_active``)."""
    if name is None:
        return np.ones(ctx.people.n, dtype=bool)
    if name == "esrd":
        return ctx.people.esrd.copy()
    if name in ("cancer_any", "cancer_active"):
        idx = [ctx.params.condition_index(c) for c in CANCERS]
        cancer = np.asarray((ctx.levels[idx] > 0).any(axis=0))  # an array: levels are 2-d
        # about a quarter of members with cancer are in active drug treatment in a given year
        return cancer & ctx.in_active_treatment if name == "cancer_active" else cancer
    return ctx.levels[ctx.params.condition_index(name)] >= min_level


def condition_code(ctx: ServiceContext, name: str | None, person: np.ndarray) -> Pick:
    """The member's own code for a condition (none for pseudo-conditions), as a claim's principal diagnosis."""
    if name is None or name in PSEUDO_CONDITIONS:
        return Pick(("N186",), np.full(len(person), 0 if name == "esrd" else -1))
    i = ctx.params.condition_index(name)
    lvl = np.maximum(ctx.levels[i][person], 1)
    codes = cond.level_codes()[i]
    values = [c for options in codes for c in options]
    first = np.cumsum([0] + [len(o) for o in codes])
    index = np.zeros(len(person), dtype=np.int64)
    for level, options in enumerate(codes, start=1):
        sel = lvl == level
        index[sel] = first[level - 1] + (person[sel] * 2654435761 + i * 97 + level) % len(options)
    return Pick(tuple(values), index)
