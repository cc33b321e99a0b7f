"""Acute inpatient care: admissions with an MS-DRG, length of stay and discharge disposition,
30-day readmissions, terminal stays and rare catastrophic stays.

Payment follows Medicare's structure: DRG relative weight x ``IPPS_BASE_RATE`` (with a small
lognormal spread), or for the MS-DRGs of ``synth_drg_payments.csv`` their sourced mean payment
per discharge (surgical DRGs whose published payment per unit of weight is well below the
all-DRG level; the same draws, so no random stream moves), plus an outlier amount per day
beyond three times the DRG's mean stay, less the Part A deductible on the member's first
admission of the year. Each admission has a facility claim and an attending physician's claim
(initial, subsequent and discharge day codes), a surgeon's claim when the DRG carries
procedures, and, when admitted through the emergency department, an ED physician claim and
sometimes an ambulance. Discharges are recorded in the context for post-acute care.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import polars as pl

from modeling.synth import conditions as cond
from modeling.synth.params import read_table
from modeling.synth.services import principal_mix
from modeling.synth.services.ambulatory import ambulance
from modeling.synth.services.base import (
    ServiceContext,
    condition_mask,
    counts,
    expand,
    intensity_term,
    paid,
    specialist,
)

IPPS_BASE_RATE = 10_800.0  # average Medicare payment per unit of MS-DRG weight incl. IME, DSH, uncompensated care and outliers (approx.; MedPAC data book 2024 puts inpatient payment per FFS discharge near $15,000)
OUTLIER_PER_DAY = 1_400.0
JOINT_DRGS = ("469", "470")  # major hip and knee joint replacement: planned, see post_acute


def choose_drg(ctx: ServiceContext, p: np.ndarray) -> np.ndarray:
    """Index into ``synth_drgs.csv`` of a medical DRG for each admission: the table's base shares,
    with condition DRGs open only to members who have the condition."""
    drgs = ctx.params.drgs
    base = drgs["base_share"].to_numpy().astype(float)
    weights = np.tile(base, (len(p), 1))
    for j, c in enumerate(drgs["condition"].to_list()):
        if c is not None:
            weights[:, j] = 0.09 * condition_mask(ctx, c)[p]
    joint = np.isin(drgs["drg_code"].to_numpy(), list(JOINT_DRGS))
    weights[:, joint] = 0.0
    cum = weights.cumsum(axis=1)
    u = ctx.rng.random(len(p)) * cum[:, -1]
    return (cum < u[:, None]).sum(axis=1)


def admit(
    ctx: ServiceContext,
    p: np.ndarray,
    admission: np.ndarray,
    drg_idx: np.ndarray,
    *,
    via_ed: np.ndarray,
    terminal: np.ndarray,
    recode: bool = True,
    disposition: np.ndarray | None = None,
    stay_payment: np.ndarray | None = None,
) -> None:
    """Inpatient claims (facility + professional) for admissions; records discharges for post-acute care.

    ``recode`` applies ``synth_drg_recodes.csv`` to the admissions (the medical-admission mix's
    hip-fracture DRGs; a line that draws those DRGs on purpose passes False); ``disposition``
    (discharge status codes) replaces the drawn discharge status, and its draws, when given;
    ``stay_payment`` (the mean facility payment of each admission, before the price level)
    replaces ``listed_payment`` (relative weight x ``IPPS_BASE_RATE``, or the sourced payment
    of ``synth_drg_payments.csv``) when given, with the same draws."""
    rng, n = ctx.rng, len(p)
    if n == 0:
        return
    people = ctx.people
    drgs = ctx.params.drgs
    mean_los = drgs["mean_los"].to_numpy()[drg_idx]
    los = np.maximum(1, np.round(mean_los * rng.gamma(2.5, 0.5, n))).astype(np.int64)
    last_day = np.minimum(people.death_day[p], people.leave_day[p] - 1)
    discharge = np.where(
        terminal,
        people.death_day[p],
        np.minimum(admission + los, np.maximum(last_day, admission)),
    )
    admission = np.where(terminal, np.maximum(discharge - los, ctx.yf.start[p]), admission)
    los = np.maximum(discharge - admission, 1)
    weight = drgs["relative_weight"].to_numpy()[drg_idx]
    drg_code = drgs["drg_code"].to_numpy()[drg_idx]
    mean_payment = (
        listed_payment(drg_code, weight, ctx.params.behaviour["price_level"])
        if stay_payment is None
        else stay_payment
    )
    allowed = (
        mean_payment * rng.lognormal(0, 0.08, n)
        + np.maximum(los - 3 * mean_los, 0) * OUTLIER_PER_DAY
    )
    first = _first_admission_of_year(ctx, p)
    facility_paid = np.maximum(
        allowed - np.where(first, ctx.cost_sharing["part_a_inpatient_deductible"], 0.0), 0.0
    )
    if disposition is None:
        disposition = _disposition(ctx, p, terminal)
    surgical = drgs["procedures"].to_numpy()[drg_idx]
    pcs, surgeon_code = _procedures(ctx, surgical)
    has_pcs = pcs.astype(bool)
    facility = ctx.pool.hospital_npi[people.hospital[p]]
    principal = principal_mix.recoded_principal(_principal_codes(ctx, drg_idx), p, admission)
    if recode:
        drg_code, principal, pcs, surgeon_code = recoded(
            p, admission, drg_code, principal, pcs, surgeon_code
        )
    ctx.book.add(
        p,
        ctx.year,
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
                paid_amount=facility_paid * 0.55,
                allowed_amount=allowed * 0.55,
            ),
            dict(
                revenue_center_code="0250",
                service_unit_quantity=1.0,
                paid_amount=facility_paid * 0.15,
                allowed_amount=allowed * 0.15,
            ),
            dict(
                revenue_center_code="0300",
                service_unit_quantity=1.0,
                paid_amount=facility_paid * 0.10,
                allowed_amount=allowed * 0.10,
            ),
            dict(
                revenue_center_code="0360",
                service_unit_quantity=1.0,
                paid_amount=facility_paid * 0.20,
                allowed_amount=allowed * 0.20,
                mask=has_pcs,
            ),
            dict(
                revenue_center_code="0450",
                service_unit_quantity=1.0,
                paid_amount=facility_paid * 0.20,
                allowed_amount=allowed * 0.20,
                mask=~has_pcs,
            ),
        ],
    )
    doc = specialist(ctx, n)
    subsequent = np.maximum(los - 1, 0).astype(float)
    ctx.book.add(
        p,
        ctx.year,
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
                paid_amount=paid(ctx, 205.0, 0.1, n),
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
                paid_amount=paid(ctx, 98.0, 0.1, n),
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
        sdoc = specialist(ctx, len(sp))
        ctx.book.add(
            sp,
            ctx.year,
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
        doc = specialist(ctx, int(ed.sum()))
        ctx.book.add(
            p[ed],
            ctx.year,
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
        arrive = ed & (rng.random(n) < ctx.params.behaviour["admission_ambulance_share"])
        ambulance(ctx, p[arrive], admission[arrive])
    ctx.discharges.append((p, discharge, disposition))


@lru_cache(maxsize=1)
def drg_payments() -> dict[str, float]:
    """``synth_drg_payments.csv``: the sourced mean Medicare payment per discharge (dollars, at
    the claims' price) of the MS-DRGs not paid at the all-DRG ``IPPS_BASE_RATE``."""
    table = read_table("synth_drg_payments.csv", schema_overrides={"drg_code": pl.String})
    return dict(zip(table["drg_code"], table["stay_payment"].cast(pl.Float64), strict=True))


def listed_payment(drg_code: np.ndarray, weight: np.ndarray, price_level: float) -> np.ndarray:
    """Each admission's mean facility payment before the price level: the MS-DRG's sourced
    payment of ``synth_drg_payments.csv`` divided by ``price_level`` (which the claim book
    multiplies back, so the claims carry the table's dollars), else relative weight x
    ``IPPS_BASE_RATE``. Computed from the drawn MS-DRG, before any recode, and drawing nothing."""
    payment = weight * IPPS_BASE_RATE
    for code, dollars in drg_payments().items():
        payment = np.where(drg_code == code, dollars / price_level, payment)
    return payment


@lru_cache(maxsize=1)
def drg_recodes() -> tuple[tuple[str, str, float, tuple[str, ...], tuple[str, ...]], ...]:
    """``synth_drg_recodes.csv``: (drg_code, recode_drg, keep_share, principal codes,
    ``pcs:cpt`` procedures) per recoded MS-DRG."""
    table = read_table("synth_drg_recodes.csv", infer_schema=False)
    return tuple(
        (
            r["drg_code"],
            r["recode_drg"],
            float(r["keep_share"]),
            tuple(r["principal_codes"].split()),
            tuple(r["procedures"].split()),
        )
        for r in table.iter_rows(named=True)
    )


def unit_hash(person: np.ndarray, day: np.ndarray) -> np.ndarray:
    """A number in [0, 1) from a member's position and a day, the same on every run and drawn
    from no random stream (a 64-bit multiply-xorshift mix of the two integers)."""
    x = person.astype(np.uint64) * np.uint64(0x9E3779B97F4A7C15) + day.astype(np.uint64)
    x ^= x >> np.uint64(31)
    x *= np.uint64(0xBF58476D1CE4E5B9)
    x ^= x >> np.uint64(29)
    return (x >> np.uint64(11)).astype(np.float64) / float(1 << 53)


def recoded(
    p: np.ndarray,
    admission: np.ndarray,
    drg_code: np.ndarray,
    principal: np.ndarray,
    pcs: np.ndarray,
    surgeon_code: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The admissions' codes with ``synth_drg_recodes.csv`` applied: an admission of a listed
    MS-DRG whose ``unit_hash`` of (member, admission day) is at or above the row's
    ``keep_share`` takes the row's MS-DRG, principal diagnosis and ``pcs:cpt`` procedure (picked
    by the same hash). Everything drawn for the admission (stay, payment, discharge status,
    claims and their number) is left as it was, so no random stream moves."""
    drg_code, principal = drg_code.copy(), principal.copy()
    pcs, surgeon_code = pcs.copy(), surgeon_code.copy()
    u = unit_hash(p, admission)
    for code, target, keep, principals, procedures in drg_recodes():
        sel = (drg_code == code) & (u >= keep)
        if not sel.any():
            continue
        pick = (u[sel] * 1_000_003).astype(np.int64)
        drg_code[sel] = target
        principal[sel] = np.array(principals, dtype=object)[pick % len(principals)]
        pcs_cpt = np.array([x.split(":") for x in procedures], dtype=object)[pick % len(procedures)]
        pcs[sel], surgeon_code[sel] = pcs_cpt[:, 0], pcs_cpt[:, 1]
    return drg_code, principal, pcs, surgeon_code


def _principal_codes(ctx: ServiceContext, drg_idx: np.ndarray) -> np.ndarray:
    out = np.empty(len(drg_idx), dtype=object)
    for j, codes in enumerate(ctx.params.drgs["principal_codes"].to_list()):
        sel = drg_idx == j
        if sel.any():
            out[sel] = ctx.rng.choice(np.array(codes.split(), dtype=object), sel.sum())
    return out


def _first_admission_of_year(ctx: ServiceContext, p: np.ndarray) -> np.ndarray:
    """Admissions that are a member's first of the year (the Part A deductible applies once)."""
    seen = ctx.admitted
    order = np.argsort(p, kind="stable")
    first = np.zeros(len(p), dtype=bool)
    sp = p[order]
    is_first_in_batch = np.r_[True, sp[1:] != sp[:-1]]
    first[order] = is_first_in_batch & ~seen[sp]
    seen[p] = True
    return first


def _disposition(ctx: ServiceContext, p: np.ndarray, terminal: np.ndarray) -> np.ndarray:
    """Discharge status codes: SNF 03, home health 06, hospice 50, home 01, rehabilitation 62,
    left against advice 07, short-term hospital 02; died 20 for terminal stays."""
    rng, n, b = ctx.rng, len(p), ctx.params.behaviour
    az = cond.age_z(ctx.yf.age[p])
    p_snf = np.clip(
        b["discharge_snf_base"]
        + b["discharge_snf_age"] * az
        + b["discharge_snf_lti"] * ctx.people.lti[p],
        0.03,
        0.6,
    )
    p_hh = np.full(n, b["discharge_home_health"])
    p_hospice = np.full(n, b["discharge_hospice"])
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


def _procedures(ctx: ServiceContext, specs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """ICD-10-PCS and surgeon CPT codes drawn from each DRG's ``pcs:cpt`` list (none if empty)."""
    pcs = np.full(len(specs), None, dtype=object)
    hcpcs = np.full(len(specs), None, dtype=object)
    for i, spec in enumerate(specs):
        if spec:
            pcs_code, cpt = ctx.rng.choice(spec.split()).split(":")
            pcs[i], hcpcs[i] = pcs_code, cpt
    return pcs, hcpcs


def inpatient(ctx: ServiceContext) -> None:
    """Acute admissions at the year's rate plus terminal stays (decedents who die in hospital),
    then 30-day readmissions in two rounds, so that readmissions can themselves be readmitted."""
    rng, yf, people, b = ctx.rng, ctx.yf, ctx.people, ctx.params.behaviour
    p = expand(ctx, counts(ctx, b["inpatient_rate"], b["inpatient_exponent"]))
    # terminal admissions: about a third of decedents die in hospital
    terminal_p = np.flatnonzero(yf.dies & (rng.random(people.n) < b["terminal_admission_share"]))
    ctx.terminal = np.zeros(people.n, dtype=bool)
    ctx.terminal[terminal_p] = True
    p = np.concatenate([p, terminal_p])
    terminal = np.r_[
        np.zeros(len(p) - len(terminal_p), dtype=bool), np.ones(len(terminal_p), dtype=bool)
    ]
    admission = yf.dates(rng, p)
    drg = choose_drg(ctx, p)
    admit(
        ctx, p, admission, drg, via_ed=rng.random(len(p)) < b["admission_via_ed"], terminal=terminal
    )
    # 30-day readmissions, two rounds so that readmissions can themselves be readmitted
    for _ in range(2):
        person, discharge, disposition = ctx.discharges[-1]
        alive = ~np.isin(disposition, ["20", "50", "07"])
        risk = np.clip(
            b["readmission_base"]
            * np.exp(b["readmission_health"] * np.clip(people.health[person], -3, 3)),
            0,
            b["readmission_cap"],
        )
        again = alive & (rng.random(len(person)) < risk)
        rp = person[again]
        when = discharge[again] + rng.integers(1, 31, len(rp))
        ok = when <= np.minimum(
            np.minimum(people.death_day[rp], people.leave_day[rp] - 1),
            yf.end[rp] + 40,
        )
        rp, when = rp[ok], when[ok]
        first_key = ctx.book.next_key
        admit(
            ctx,
            rp,
            when,
            choose_drg(ctx, rp),
            via_ed=rng.random(len(rp)) < b["readmission_via_ed"],
            terminal=np.zeros(len(rp), dtype=bool),
        )
        ctx.book.readmission_spans.append((first_key, ctx.book.next_key))


def catastrophic_stays(ctx: ServiceContext) -> None:
    """Rare prolonged critical-care stays (prolonged mechanical ventilation, ECMO) that give
    Medicare spending its extreme tail (MS-DRGs 003/004)."""
    rng, yf, b = ctx.rng, ctx.yf, ctx.params.behaviour
    chance = np.where(
        yf.active & (yf.days > 30),
        b["catastrophic_rate"] * yf.exposure * intensity_term(ctx, b["catastrophic_exponent"]),
        0.0,
    )
    p = np.flatnonzero(rng.random(ctx.people.n) < np.clip(chance, 0, 0.2))
    if len(p) == 0:
        return
    codes = ctx.params.drgs["drg_code"].to_list()
    drg = np.where(rng.random(len(p)) < 0.7, codes.index("004"), codes.index("003"))
    admit(
        ctx,
        p,
        yf.dates(rng, p),
        drg,
        via_ed=rng.random(len(p)) < b["catastrophic_via_ed"],
        terminal=np.zeros(len(p), dtype=bool),
    )
