"""The raised service rate of the last year of life, across 1 January (a rolling last year of
life: ``SynthSpec.last_year_of_life`` "rolling"; the default "calendar" draws none of this).

The generator draws a year's services once the year's deaths are known, and a member who dies
in the year is at the raised rate of the last year of life (``intensity_year_of_death``) from
1 January to the death. The last year of life is the 365 days that end on the day of death,
which for a death on day d of a year begins on day d + 1 of the year before: so the months of
the year before that fall in it were drawn at the ordinary rate. Medicare's spending rises over
the whole last 12 months of life, not from a calendar date (Riley & Lubitz 2010, "Long-term
trends in Medicare payments in the last year of life", Health Services Research 45(2): a quarter
of Medicare's spending goes to beneficiaries in their last year of life, measured over the 12
months before death). Drawn at the year's rate only, a year's deaths concentrated spending in
its first months (all of them alive in January, most gone by November) and left the December
before a January death at the ordinary rate: members in their calendar year of death were 24%
of the index stays of January-July and 11% of those of August-November
(docs/calibration-bundles.md, benchmarks/RESULTS.md, issue 19).

This line adds those months: when year Y's deaths are drawn, each decedent's days of year Y-1
in the 365 days ending on the death get the services of the difference between the raised and
the ordinary rate of Y-1 (``ServiceContext.lam_base``: Poisson counts at the excess, added to
those already drawn, are Poisson at the raised rate), with Y-1's cost intensity, conditions,
good or bad year (``shock``), active cancer treatment and Part A deductible already met. After
the panel's last year the members alive on its last day die in the year after it as the death
model says, the year after drawn as the generator draws a year (health, dual and institutional
changes, the conditions' progression, the next year's age; on copies, from this line's stream),
on a uniform day; their last year's months in the 365 days ending on that death
are raised the same way, and their deaths, outside the panel, are not written. In the panel's
first year there is no year before to raise (those months are before the panel).

The lines drawn are those driven by the cost intensity (``LINES``): office visits (not the
nursing-facility rounds or the wellness visit, drawn once with the year), the catalogue's
services, emergency visits, observation stays, inpatient stays with their readmissions,
catastrophic stays and post-acute care after the added discharges (and community home health).
Not drawn: hospice and dialysis (not intensity-driven: their claims of the year are already
whole) and elective joint replacement (the year of death has none either). The lines that read
the main stream's stays after it (transitional care, the practice effects' repeat stays and
readmission thinning, the winter and PQI admissions) do not see the added stays, and a discharge
to hospice among them has no hospice claim of its own. The claims come from their own stream
(``[seed, chunk, SALT]``) and book (ids "D"), so every other line's rows are the same with them
or without them.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field, replace

import numpy as np

from modeling.synth import conditions as cond
from modeling.synth.claims import ClaimBook
from modeling.synth.enrollment import YearFrame, cost_intensity, death_probability, evolve
from modeling.synth.params import SynthParams
from modeling.synth.people import NEVER, People, ProviderPool, day
from modeling.synth.services import SERVICE_LINES
from modeling.synth.services.base import ServiceContext
from modeling.synth.services.hospice_dialysis import dialysis, hospice
from modeling.synth.services.post_acute import joint_replacements
from modeling.synth.spec import SynthSpec

SALT = 20241205
PREFIX = "D"
LAST_YEAR_OF_LIFE = 365  # days before a death at the raised rate
# the intensity-driven lines, in the main stream's order (not hospice, dialysis, elective joints)
LINES = tuple(line for line in SERVICE_LINES if line not in (joint_replacements, hospice, dialysis))


@dataclass(frozen=True)
class DrawnYear:
    """What a year's services were drawn from, kept for the next year's deaths."""

    yf: YearFrame
    levels: np.ndarray
    intensity: np.ndarray  # the year's cost intensity
    dying_intensity: np.ndarray  # the same members at the last year of life's rate
    shock: np.ndarray
    in_active_treatment: np.ndarray
    admitted: np.ndarray

    @classmethod
    def keep(
        cls, ctx: ServiceContext, people: People, params: SynthParams, intensity: np.ndarray
    ) -> DrawnYear:
        """The year of ``ctx`` (its services drawn), with its members' raised rate."""
        yf = ctx.yf
        dying = cost_intensity(
            people, yf, ctx.levels, params, dies=np.ones(people.n, dtype=bool), rolling=True
        )
        return cls(
            yf=yf,
            levels=ctx.levels.copy(),
            intensity=intensity,
            dying_intensity=dying,
            shock=ctx.shock,
            in_active_treatment=ctx.in_active_treatment,
            admitted=ctx.admitted.copy(),
        )


def window(last: DrawnYear, dying: np.ndarray, death_day: np.ndarray) -> YearFrame:
    """The year of ``last`` cut to each dying member's days of the ``LAST_YEAR_OF_LIFE`` days
    that end on the day of death (a gap of enrollment inside them kept, one before them
    dropped): with the year of death's days from 1 January, 365 raised days in all."""
    yf = last.yf
    start = np.maximum(yf.start, death_day - LAST_YEAR_OF_LIFE + 1)
    gap_end = yf.gap_start + yf.gap_len
    # a gap ending before the window has no part in it; the window begins after one it starts in
    before = gap_end <= start
    start = np.where(~before & (yf.gap_start < start), gap_end, start)
    no_gap = before | (yf.gap_start < start)
    frame = YearFrame(
        yf.year,
        dying & yf.active & (start <= yf.end),
        start,
        yf.end.copy(),
        np.where(no_gap, NEVER, yf.gap_start),
        np.where(no_gap, 0, yf.gap_len),
        np.zeros_like(yf.days),
        np.zeros_like(yf.exposure),
        yf.age,
        np.zeros_like(yf.dies),
    )
    frame.refresh_days()
    return frame


def raise_months_before_death(
    rng: np.random.Generator,
    book: ClaimBook,
    last: DrawnYear,
    *,
    dying: np.ndarray,
    death_day: np.ndarray,
    people: People,
    params: SynthParams,
    pool: ProviderPool,
) -> None:
    """Into ``book``, the services of ``last``'s year that the raised rate adds on the days
    within 365 days before each ``dying`` member's death (``death_day``)."""
    frame = window(last, dying, death_day)
    if not frame.active.any():
        return
    ctx = ServiceContext.start(
        rng,
        params=params,
        pool=pool,
        people=people,
        yf=frame,
        levels=last.levels,
        intensity=last.dying_intensity,
        book=book,
    )
    ctx.lam_base = last.intensity
    ctx.shock = last.shock
    ctx.in_active_treatment = last.in_active_treatment
    ctx.admitted = last.admitted.copy()
    for line in LINES:
        line(ctx)


def deaths_after_panel(
    rng: np.random.Generator,
    people: People,
    last: DrawnYear,
    params: SynthParams,
    *,
    noise: np.ndarray,
    thresholds: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Who of the members enrolled on the last day of the panel dies in the year after it, and
    on which day (uniform over the year). The year after is drawn as the generator draws each
    year, on copies and from this line's stream: a year's dual, institutional and health
    changes (``enrollment.evolve``), the conditions' onsets and progression
    (``conditions.advance_levels``, with the chunk's condition ``noise`` and ``thresholds``),
    then the death model at the next year's age. Nothing of it is written."""
    yf = last.yf
    year_end = day(yf.year, 12, 31)
    alive = yf.active & ~yf.dies & (yf.end == year_end)
    after = copy.deepcopy(people)
    levels = last.levels.copy()
    evolve(rng, after, levels, params)
    age = yf.age + 1
    liability = cond.liabilities(params, after, age, levels, noise)
    levels = cond.advance_levels(
        rng, params, levels, liability, after.health, thresholds=thresholds
    )
    p = death_probability(after, replace(yf, age=age), levels, params)
    dies = alive & (rng.random(people.n) < p)
    when = year_end + 1 + rng.integers(0, 365, people.n)
    return dies, np.where(dies, when, NEVER)


@dataclass
class RollingLastYear:
    """One chunk's rolling last year of life: its stream, book and the year last drawn. With
    ``enabled`` False (a "calendar" last year of life) every step is a no-op and the book stays
    empty, so the panel is the one drawn without this module."""

    enabled: bool
    rng: np.random.Generator
    book: ClaimBook = field(default_factory=ClaimBook)
    drawn: DrawnYear | None = None

    @classmethod
    def start(cls, spec: SynthSpec, chunk: int) -> RollingLastYear:
        """The chunk's line, on its own stream ``[seed, chunk, SALT]``."""
        return cls(
            enabled=spec.last_year_of_life == "rolling",
            rng=np.random.default_rng([spec.seed, chunk, SALT]),
        )

    def after_year(
        self,
        ctx: ServiceContext,
        people: People,
        params: SynthParams,
        pool: ProviderPool,
        intensity: np.ndarray,
    ) -> None:
        """Once ``ctx``'s year is drawn: raise the year before's months within 365 days of this
        year's deaths, and keep this year for the next one's."""
        if not self.enabled:
            return
        if self.drawn is not None:
            raise_months_before_death(
                self.rng,
                self.book,
                self.drawn,
                dying=ctx.yf.dies,
                death_day=people.death_day,
                people=people,
                params=params,
                pool=pool,
            )
        self.drawn = DrawnYear.keep(ctx, people, params, intensity)

    def after_panel(
        self,
        people: People,
        params: SynthParams,
        pool: ProviderPool,
        *,
        noise: np.ndarray,
        thresholds: np.ndarray,
    ) -> None:
        """After the last year: raise its months in the 365 days ending on the deaths of the
        year after the panel (``deaths_after_panel``; those deaths are not written)."""
        if not self.enabled or self.drawn is None:
            return
        after, after_day = deaths_after_panel(
            self.rng, people, self.drawn, params, noise=noise, thresholds=thresholds
        )
        raise_months_before_death(
            self.rng,
            self.book,
            self.drawn,
            dying=after,
            death_day=after_day,
            people=people,
            params=params,
            pool=pool,
        )
