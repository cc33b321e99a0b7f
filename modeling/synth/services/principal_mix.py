"""The principal diagnoses of the main inpatient stream's ambulatory-care-sensitive stays,
brought to AHRQ's expected Prevention Quality Indicator rates (issue 18).

The main stream draws every stay's principal diagnosis from its MS-DRG's codes
(``synth_drgs.csv``); the pneumonia, diabetes, COPD and UTI DRGs draw only codes that are in
AHRQ's PQI numerator lists, so the default panel had AHRQ PQI 90 at about 3 times its age/sex
expected rate (PQI 11 about 11.6 times, PQI 01 and 14 about 9). ``synth_principal_recodes.csv``
gives, for each such principal code, the shares of its stays that take another principal
diagnosis of the same MS-DRG: a code outside every PQI list (viral pneumonia, other specified
COPD, other cystitis, type 2 diabetes without complications) or a code of the PQI that had no
stays (diabetes with long-term complications, PQI 03). Targets are chosen to map to the same
CMS-HCCs as the code they replace where such a code exists (the table says where not).

The choice is a deterministic rule, drawn from no random stream: a number in [0, 1) from a hash
of the member's position in the chunk, the admission day and this module's salt; a stay whose
number falls in a row's slice (rows of one code in file order, each ``share`` wide) takes the
row's ``target_code``, the rest keep theirs. Nothing else about a stay changes (MS-DRG,
payment, length of stay, discharge status, the number of claims), so every other column and row
of the generator is as before; only ``diagnosis_code_1`` of the recoded stays' claims moves.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from modeling.errors import ParameterError
from modeling.synth.params import read_table

SALT = 1822  # this rule's own hash salt
TABLE = "synth_principal_recodes.csv"


def unit_hash(person: np.ndarray, day: np.ndarray, salt: int = SALT) -> np.ndarray:
    """A number in [0, 1) from a member's position, a day and a salt: the same on every run and
    drawn from no random stream (a 64-bit multiply-xorshift mix of the three integers)."""
    x = person.astype(np.uint64) * np.uint64(0x9E3779B97F4A7C15)
    x ^= day.astype(np.int64).astype(np.uint64) * np.uint64(0xD6E8FEB86659FD93)
    x ^= np.uint64((salt * 0xC2B2AE3D27D4EB4F) % (1 << 64))
    x ^= x >> np.uint64(31)
    x *= np.uint64(0xBF58476D1CE4E5B9)
    x ^= x >> np.uint64(29)
    x *= np.uint64(0x94D049BB133111EB)
    x ^= x >> np.uint64(32)
    return (x >> np.uint64(11)).astype(np.float64) / float(1 << 53)


@lru_cache(maxsize=1)
def principal_recodes() -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """``synth_principal_recodes.csv`` as {principal code: (upper bounds of the rows' slices,
    target codes)}; a code's shares must add up to at most 1."""
    table = read_table(TABLE, infer_schema=False)
    out: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    for code in dict.fromkeys(table["principal_code"].to_list()):
        rows = table.filter(table["principal_code"] == code)
        shares = np.array([float(s) for s in rows["share"].to_list()])
        if (shares < 0).any() or shares.sum() > 1 + 1e-12:
            raise ParameterError(
                f"{TABLE}: the shares of principal code {code} must be >= 0 and add up to at "
                f"most 1 (they add up to {shares.sum():.4f}); fix the rows of {code}."
            )
        out[code] = (np.cumsum(shares), np.array(rows["target_code"].to_list(), dtype=object))
    return out


def recoded_principal(principal: np.ndarray, person: np.ndarray, day: np.ndarray) -> np.ndarray:
    """``principal`` with ``synth_principal_recodes.csv`` applied to the stays of members
    ``person`` admitted on ``day`` (see the module's docstring)."""
    out = principal.copy()
    if len(out) == 0:
        return out
    u = unit_hash(person, day)
    for code, (bounds, targets) in principal_recodes().items():
        at = np.flatnonzero(principal == code)
        if len(at) == 0:
            continue
        slot = np.searchsorted(bounds, u[at], side="right")
        moved = slot < len(targets)
        out[at[moved]] = targets[slot[moved]]
    return out
