"""Who is in the synthetic panel: demographics, entitlement, dual status, providers.

Shares follow the calibration targets in ``shared/reference/calibration.md`` (87% aged, 12%
disabled, about 1% ESRD, 18% dual, 2% long-term institutional) and the age structure of
Medicare enrollment (CMS Medicare Enrollment Dashboard, 2023: about half of aged enrollees are
65-74). Latent health at entry is standard normal plus the status shifts of
``modeling/data/synth_behaviour.csv`` (the same shifts the yearly AR(1) returns to). Every array is
indexed by the member's position in the chunk.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from modeling.codes import FULL_DUAL
from modeling.synth.params import load_params

EPOCH = np.datetime64("1970-01-01", "D")
AGED, DISABLED, ESRD_ONLY = 0, 1, 2
RACES = np.array(
    ["white", "black", "hispanic", "asian", "american indian or alaska native", "other", "unknown"]
)
RACE_SHARES = np.array([0.76, 0.10, 0.07, 0.035, 0.007, 0.018, 0.01])
AGED_BANDS = [
    (65, 69, 0.27),
    (70, 74, 0.25),
    (75, 79, 0.20),
    (80, 84, 0.13),
    (85, 89, 0.09),
    (90, 94, 0.045),
    (95, 100, 0.015),
]
DISABLED_BANDS = [(21, 34, 0.08), (35, 44, 0.12), (45, 54, 0.28), (55, 64, 0.52)]
FULL_DUAL_CODES = np.array(FULL_DUAL)
PARTIAL_DUAL_CODES = np.array(["01", "03", "06"])
MBI_LETTERS = np.array(list("ACDEFGHJKMNPQRTUVWXY"))
MBI_DIGITS = np.array(list("0123456789"))


def day(year: int, month: int = 1, dom: int = 1) -> int:
    return int((np.datetime64(f"{year:04d}-{month:02d}-{dom:02d}", "D") - EPOCH).astype(int))


def years_between(start_days: np.ndarray, end_days: np.ndarray) -> np.ndarray:
    return (end_days - start_days) / 365.25


def _band_ages(rng: np.random.Generator, n: int, bands: list[tuple[int, int, float]]) -> np.ndarray:
    shares = np.array([b[2] for b in bands])
    idx = rng.choice(len(bands), size=n, p=shares / shares.sum())
    lo = np.array([b[0] for b in bands])[idx]
    hi = np.array([b[1] for b in bands])[idx]
    return lo + rng.random(n) * (hi - lo + 1)


def luhn_npi(base9: np.ndarray) -> np.ndarray:
    """Valid 10-digit NPIs from 9-digit bases: check digit by the Luhn rule over '80840' + base."""
    digits = np.array([[int(c) for c in f"{b:09d}"] for b in base9])
    doubled = digits[:, ::-1].copy()
    doubled[:, 0::2] *= 2
    doubled[doubled > 9] -= 9
    total = 24 + doubled.sum(axis=1)  # 24 = Luhn contribution of the '80840' prefix
    check = (10 - total % 10) % 10
    return np.array([f"{b:09d}{c}" for b, c in zip(base9, check, strict=True)])


@dataclass(frozen=True)
class ProviderPool:
    """Providers shared by every chunk of a dataset (fixed by the seed, not the chunk)."""

    pcp_npi: np.ndarray
    pcp_tin: np.ndarray
    pcp_name: np.ndarray
    specialist_npi: np.ndarray
    hospital_npi: np.ndarray
    snf_npi: np.ndarray
    hha_npi: np.ndarray
    hospice_npi: np.ndarray
    dialysis_npi: np.ndarray
    supplier_npi: np.ndarray
    ambulance_npi: np.ndarray
    pharmacy_npi: np.ndarray

    def pcp_effects(self, seed: int, salt: int, sd: float) -> dict[str, float]:
        """Each PCP's practice effect on the logit scale, normal with mean 0 and ``sd``, drawn
        from the stream ``[seed, salt]`` of the line that uses it: the same in every chunk."""
        rng = np.random.default_rng([seed, salt])
        return dict(
            zip(self.pcp_npi.tolist(), rng.normal(0.0, sd, len(self.pcp_npi)).tolist(), strict=True)
        )


def provider_pool(seed: int, n_pcp: int = 400, n_tin: int = 60) -> ProviderPool:
    rng = np.random.default_rng([seed, 9_999_991])
    sizes = dict(
        pcp=n_pcp,
        specialist=900,
        hospital=24,
        snf=60,
        hha=30,
        hospice=15,
        dialysis=12,
        supplier=10,
        ambulance=8,
        pharmacy=80,
    )
    bases = 100_000_000 + rng.choice(899_999_999, size=sum(sizes.values()), replace=False)
    npis = luhn_npi(np.sort(bases))
    rng.shuffle(npis)
    out, at = {}, 0
    for kind, n in sizes.items():
        out[kind] = npis[at : at + n]
        at += n
    tins = np.array(
        [f"{t:09d}" for t in 100_000_000 + rng.choice(899_999_999, size=n_tin, replace=False)]
    )
    pcp_tin = tins[rng.integers(0, n_tin, n_pcp)]
    surnames = np.array(
        [
            "Garcia",
            "Smith",
            "Nguyen",
            "Patel",
            "Johnson",
            "Williams",
            "Brown",
            "Lee",
            "Khan",
            "Davis",
            "Lopez",
            "Miller",
            "Wilson",
            "Moore",
            "Taylor",
            "Thomas",
            "Martin",
            "Clark",
            "Lewis",
            "Walker",
        ]
    )
    names = np.array([f"Dr. {surnames[i % 20]} {chr(65 + (i // 20) % 26)}." for i in range(n_pcp)])
    return ProviderPool(
        out["pcp"],
        pcp_tin,
        names,
        out["specialist"],
        out["hospital"],
        out["snf"],
        out["hha"],
        out["hospice"],
        out["dialysis"],
        out["supplier"],
        out["ambulance"],
        out["pharmacy"],
    )


def mbis(rng: np.random.Generator, n: int) -> np.ndarray:
    """Medicare Beneficiary Identifiers in CMS's 11-character format (C A AN N A AN N A A N N)."""
    alnum = np.concatenate([MBI_LETTERS, MBI_DIGITS])
    cols = [
        np.char.mod("%d", rng.integers(1, 10, n)),
        rng.choice(MBI_LETTERS, n),
        rng.choice(alnum, n),
        rng.choice(MBI_DIGITS, n),
        rng.choice(MBI_LETTERS, n),
        rng.choice(alnum, n),
        rng.choice(MBI_DIGITS, n),
        rng.choice(MBI_LETTERS, n),
        rng.choice(MBI_LETTERS, n),
        rng.choice(MBI_DIGITS, n),
        rng.choice(MBI_DIGITS, n),
    ]
    out = cols[0].astype("<U11")
    for c in cols[1:]:
        out = np.char.add(out, c)
    return out


@dataclass
class People:
    """Static and slowly-changing member attributes for one chunk."""

    n: int
    entry_day: np.ndarray
    birth_day: np.ndarray
    female: np.ndarray
    race: np.ndarray
    group: np.ndarray  # AGED / DISABLED / ESRD_ONLY at entry
    esrd: np.ndarray
    orec: np.ndarray
    dual: np.ndarray  # "" non-dual, else the dual status code
    lti: np.ndarray
    health: np.ndarray  # latent health state; updated yearly
    care_seeking: np.ndarray
    avoids_care: (
        np.ndarray
    )  # rarely seeks elective care (Medicare has ~8% zero-claim members a year)
    pcp: np.ndarray
    hospital: np.ndarray
    mbi: np.ndarray
    death_day: np.ndarray  # int max when alive through the panel
    leave_day: np.ndarray  # disenrollment (e.g. to Medicare Advantage)


NEVER = np.iinfo(np.int64).max // 4


def make_people(
    rng: np.random.Generator, n_base: int, start_year: int, years: int, n_pcp: int, n_hospital: int
) -> People:
    """Members enrolled in the first year plus those who join in later years (about 5% a year)."""
    new_per_year = [int(rng.binomial(n_base, 0.05)) for _ in range(years)]
    n_new_first = new_per_year[0]
    n_later = sum(new_per_year[1:])
    n = n_base + n_later
    group = rng.choice(3, size=n, p=[0.875, 0.12, 0.005])
    female = np.where(group == AGED, rng.random(n) < 0.55, rng.random(n) < 0.46)
    jan1 = day(start_year)
    age0 = np.empty(n)
    aged = group == AGED
    age0[aged] = _band_ages(rng, aged.sum(), AGED_BANDS)
    age0[~aged] = _band_ages(rng, (~aged).sum(), DISABLED_BANDS)
    entry = np.full(n, jan1, dtype=np.int64)
    # new enrollees: a random subset of the first-year members and everyone added later
    new_first = np.zeros(n, dtype=bool)
    new_first[rng.choice(n_base, size=n_new_first, replace=False)] = True
    entry_year = np.full(n, start_year)
    at = n_base
    for k, m in enumerate(new_per_year[1:], start=1):
        entry_year[at : at + m] = start_year + k
        at += m
    is_new = new_first | (np.arange(n) >= n_base)
    month = rng.integers(1, 13, n)
    entry_new = np.array(
        [day(int(y), int(mo)) for y, mo in zip(entry_year[is_new], month[is_new], strict=True)],
        dtype=np.int64,
    )
    entry[is_new] = entry_new
    birth = np.empty(n, dtype=np.int64)
    birth[~is_new] = jan1 - (age0[~is_new] * 365.25).astype(np.int64)
    # aged-in members turn 65 in the month their entitlement starts
    ne_aged = is_new & aged
    birth[ne_aged] = entry[ne_aged] - int(65 * 365.25) + rng.integers(0, 28, ne_aged.sum())
    ne_other = is_new & ~aged
    birth[ne_other] = entry[ne_other] - (age0[ne_other] * 365.25).astype(np.int64)

    esrd = np.where(
        group == ESRD_ONLY, True, np.where(aged, rng.random(n) < 0.004, rng.random(n) < 0.01)
    )
    orig_disabled = aged & (rng.random(n) < 0.10) & ~is_new
    orec = np.where(
        aged,
        np.where(orig_disabled, "1", "0"),
        np.where(group == ESRD_ONLY, "2", np.where(esrd, "3", "1")),
    )
    p_dual = np.where(aged, 0.145, 0.40)
    is_dual = rng.random(n) < p_dual
    full = rng.random(n) < 0.68
    dual = np.where(
        is_dual,
        np.where(
            full,
            rng.choice(FULL_DUAL_CODES, n, p=[0.6, 0.15, 0.25]),
            rng.choice(PARTIAL_DUAL_CODES, n, p=[0.5, 0.3, 0.2]),
        ),
        "",
    )
    age_now = (jan1 - birth) / 365.25
    p_lti = np.select(
        [age_now >= 85, age_now >= 80, age_now >= 75, age_now >= 65],
        [0.11, 0.037, 0.016, 0.006],
        0.01,
    )
    p_lti = p_lti * np.where(np.isin(dual, FULL_DUAL_CODES), 3.0, 0.55)
    lti = (rng.random(n) < p_lti) & ~is_new
    b = load_params().behaviour
    health = (
        rng.standard_normal(n)
        + b["health_shift_dual"] * (dual != "")
        + b["health_shift_lti"] * lti
        + b["health_shift_disabled"] * (group == DISABLED)
        + b["health_shift_esrd"] * esrd
    )
    return People(
        n=n,
        entry_day=entry,
        birth_day=birth,
        female=female,
        race=RACES[rng.choice(len(RACES), n, p=RACE_SHARES)],
        group=group,
        esrd=esrd,
        orec=orec,
        dual=dual.astype("<U2"),
        lti=lti,
        health=health,
        care_seeking=rng.normal(0.0, 0.55, n),
        avoids_care=rng.random(n) < 0.14,
        pcp=rng.integers(0, n_pcp, n),
        hospital=rng.integers(0, n_hospital, n),
        mbi=mbis(rng, n),
        death_day=np.full(n, NEVER, dtype=np.int64),
        leave_day=np.full(n, NEVER, dtype=np.int64),
    )
