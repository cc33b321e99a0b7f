"""Surgery for a hip or femur fracture (MS-DRG 480-482, TEAM's SHFFT and BPCI Advanced's "hip &
femur procedures except major joint") with the post-acute paths that follow it: a SNF stay,
an inpatient rehabilitation (IRF) stay, home health or home, then 30-day readmissions.

Why a line of its own: the main inpatient line's medical-admission mix drew MS-DRGs 480/481 at
about three times the national rate, with the discharge status of any admission (so about a
tenth of the episode's spending after discharge). That mix now recodes them
(``synth_drg_recodes.csv``, applied in ``inpatient.admit`` without moving any random stream)
and hip-fracture surgery comes from here, at sourced rates by age and sex and with sourced
discharge paths (``synth_hip_fractures.csv``, ``synth_hip_fracture_paths.csv``, each row with
its source).

The line draws from its **own** random stream (``default_rng([seed, chunk, SALT])``) into its
own ``ClaimBook`` (claim ids ``H...``), so every other line's rows and values are what they were
without it; its discharges home get transitional-care visits by the transitions line's rule
from that line's stream of chunk ``TRANSITIONS_CHUNK + chunk`` (ids ``T9...``). Admissions
reuse the inpatient line's ``admit`` (facility, attending, surgeon and ED claims), their
facility claims paid at the table's sourced ``stay_payment`` per MS-DRG; SNF and home health
reuse the post-acute line, readmissions the bundle line's rule.
IRF stays are inpatient claims (type of bill 111) with a revenue center 0024 line carrying the
payment, billed by the member's hospital (a hospital-based rehabilitation unit).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from functools import cache
from types import MappingProxyType

import numpy as np
import polars as pl

from modeling.synth.params import SynthParams, read_coefficients, read_table
from modeling.synth.services.base import ServiceContext, counts, paid
from modeling.synth.services.bundle_procedures import readmissions
from modeling.synth.services.inpatient import admit
from modeling.synth.services.post_acute import home_health, post_acute

SALT = 190_482  # this line's stream: default_rng([seed, chunk, SALT])
TRANSITIONS_CHUNK = 9_000  # its TCM visits: the transitions stream of chunk 9000 + chunk
REFERENCE_AGE = 78.0  # the table's rates are at this age
SURGICAL_EXPONENT = 0.3  # intensity^0.3, as the bundle line
IRF_DISPOSITION = "62"


@cache
def fracture_table() -> pl.DataFrame:
    """MS-DRGs 480-482 with the inpatient table's columns, rate_per_1000 and source."""
    return read_table(
        "synth_hip_fractures.csv",
        schema_overrides={"drg_code": pl.String, "condition": pl.String, "procedures": pl.String},
    )


@cache
def paths() -> Mapping[str, float]:
    """Sex and age gradient, discharge shares and the IRF stay (``synth_hip_fracture_paths.csv``)."""
    return MappingProxyType(dict(read_coefficients("synth_hip_fracture_paths.csv")))


def fracture_params(params: SynthParams) -> SynthParams:
    """The chunk's parameters with this line's MS-DRGs appended to the inpatient table (base
    share 0: medical admissions never draw them) and no community home health."""
    extra = fracture_table().with_columns(pl.lit(0.0).alias("base_share"))
    drgs = pl.concat([params.drgs, extra.select(params.drgs.columns)], how="vertical_relaxed")
    behaviour = {**params.behaviour, "community_home_health_rate": 0.0}
    return replace(params, drgs=drgs, behaviour=behaviour)


def rng_for(seed: int, chunk: int) -> np.random.Generator:
    return np.random.default_rng([seed, chunk, SALT])


def rate_factor(female: np.ndarray, age: np.ndarray) -> np.ndarray:
    """The member's rate relative to the table's: women ``female_ratio`` times men (scaled so
    that a population 55% female averages 1), times exp(``age_log_slope`` x (age - 78))."""
    ratio = paths()["female_ratio"]
    men = 1.0 / (0.55 * ratio + 0.45)
    sex = np.where(female, ratio * men, men)
    return sex * np.exp(paths()["age_log_slope"] * (age - REFERENCE_AGE))


def discharge_paths(rng: np.random.Generator, n: int) -> np.ndarray:
    """Discharge status codes drawn at the table's shares: SNF 03, IRF 62, home health 06, else
    home 01 (no discharge to hospice: this line has no hospice care to follow it)."""
    p = paths()
    shares = [p["discharge_snf"], p["discharge_irf"], p["discharge_home_health"]]
    codes = np.array(["03", IRF_DISPOSITION, "06", "01"], dtype=object)
    cum = np.cumsum(shares)
    return codes[np.searchsorted(cum, rng.random(n), side="right")]


def hip_fractures(ctx: ServiceContext) -> None:
    """The year's hip-fracture operations (Poisson per member at each MS-DRG's rate x the sex
    and age factor), their admissions (mostly through the ED), IRF stays, one round of 30-day
    readmissions and SNF / home health. ``ctx`` must carry ``fracture_params``."""
    table = fracture_table()
    rng, offset = ctx.rng, ctx.params.drgs.height - table.height
    factor = rate_factor(ctx.people.female, ctx.yf.age)
    members, drg_idx = [], []
    for j, rate in enumerate(table["rate_per_1000"].to_list()):
        p = np.repeat(np.arange(ctx.people.n), counts(ctx, rate / 1000 * factor, SURGICAL_EXPONENT))
        members.append(p)
        drg_idx.append(np.full(len(p), offset + j))
    p, idx = np.concatenate(members), np.concatenate(drg_idx)
    if len(p) == 0:
        return
    day = ctx.yf.dates(rng, p)
    via_ed = rng.random(len(p)) < paths()["via_ed"]
    status = discharge_paths(rng, len(p))
    price = stay_payment(idx - offset, ctx.params.behaviour["price_level"])
    admit(
        ctx,
        p,
        day,
        idx,
        via_ed=via_ed,
        terminal=np.zeros(len(p), dtype=bool),
        recode=False,
        disposition=status,
        stay_payment=price,
    )
    person, discharge, disposition = ctx.discharges[-1]
    irf_stays(
        ctx, person[disposition == IRF_DISPOSITION], discharge[disposition == IRF_DISPOSITION]
    )
    readmissions(ctx, np.ones(len(person)))
    post_acute(ctx)


def stay_payment(row: np.ndarray, price_level: float) -> np.ndarray:
    """Each operation's mean facility payment before the generator's price level: the table's
    ``stay_payment`` (the national mean Medicare payment per discharge of MS-DRG 480, and 481/482
    in proportion to their relative weights; sources in the table) divided by ``price_level``,
    which the claim book multiplies back, so the line's stays are paid at the sourced amounts
    rather than at the inpatient line's all-DRG ``IPPS_BASE_RATE`` per unit of weight."""
    return fracture_table()["stay_payment"].cast(pl.Float64).to_numpy()[row] / price_level


def irf_stays(ctx: ServiceContext, p: np.ndarray, start: np.ndarray) -> None:
    """IRF stays from the day of discharge: length ``irf_mean_los`` x Gamma(4, 0.25), ended by
    death or disenrollment; one claim (type of bill 111, revenue center 0024 with the payment,
    0118 room and board at zero) at ``irf_payment`` (lognormal, CV 0.25) prorated when cut short;
    then home health for ``irf_home_health`` of them."""
    if len(p) == 0:
        return
    rng, k = ctx.rng, paths()
    planned = np.maximum(np.round(k["irf_mean_los"] * rng.gamma(4.0, 0.25, len(p))), 3)
    last = np.minimum(ctx.people.death_day[p], ctx.people.leave_day[p] - 1)
    end = np.minimum(start + planned.astype(np.int64), np.maximum(last, start))
    days = np.maximum(end - start, 1)
    amount = paid(ctx, k["irf_payment"], 0.25, len(p)) * np.minimum(days / planned, 1.0)
    facility = ctx.pool.hospital_npi[ctx.people.hospital[p]]
    then_hh = rng.random(len(p)) < k["irf_home_health"]
    ctx.book.add(
        p,
        ctx.year,
        start,
        end,
        claim_type="institutional",
        bill_type_code="111",
        facility_npi=facility,
        billing_npi=facility,
        admission=start,
        discharge=end,
        admit_type_code="3",
        admit_source_code="1",
        discharge_disposition_code=np.where(then_hh, "06", "01"),
        principal="Z4789",
        n_dx=rng.integers(3, 9, len(p)),
        lines=[
            dict(
                revenue_center_code="0024",
                service_unit_quantity=days.astype(float),
                paid_amount=amount,
                allowed_amount=amount,
            ),
            dict(
                revenue_center_code="0118",
                service_unit_quantity=days.astype(float),
                paid_amount=0.0,
                allowed_amount=0.0,
            ),
        ],
    )
    alive = end < last
    hh = then_hh & alive
    home_health(ctx, p[hh], end[hh] + 1, rng.choice([1, 2], int(hh.sum()), p=[0.6, 0.4]))
