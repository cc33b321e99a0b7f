"""Care-management programs as data: who is eligible, how many members fit, what a member costs,
how many engage, and what the program does to the cost of those who engage.

Presets live in ``risk_stratification/data/programs/*.toml``, one program a file, each number
with the published study behind it (``source``) and how far it is confirmed (``status``:
"published", "assumption", ...). A user's file holds one program, or several as ``[[program]]``
tables, in the same shape:

```toml
name = "transitional_care"
label = "Transitional care after discharge"
horizon_months = 12
[eligibility]            # all given criteria must hold; an empty section: everyone
tiers = ["highest", "high"]          # risk tiers (risk_stratification.ml.tiers)
conditions = ["heart_failure"]       # any of these CCW chronic conditions
discharged_within_days = 60          # an acute discharge this many days before the data end
[capacity]               # slots = care_managers x members_per_care_manager, or slots = N
care_managers = 1
members_per_care_manager = 350
[cost]
per_member = 450.0       # dollars per member placed in the program over the horizon
[engagement]
rate = 0.26              # share of the members placed who take part
low = 0.2                # range, read as a 95% interval
high = 0.5
[[effect]]               # relative reduction in a service category's cost for engaged members
category = "acute inpatient"
reduction = 0.08
low = 0.02
high = 0.13
```
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field, replace
from functools import cache
from importlib.resources import files
from pathlib import Path
from typing import Any

from modeling.core.service_categories import CATEGORIES
from modeling.errors import ParameterError
from risk_stratification.ml.features import ccw_conditions
from risk_stratification.ml.tiers import TIERS

Z95 = (
    1.959963984540054  # a range given as low-high is read as a 95% interval: sd = (high-low)/(2 z)
)


@dataclass(frozen=True)
class Ranged:
    """A central value with the range around it (a 95% interval) and where it comes from."""

    value: float
    low: float
    high: float
    source: str = ""
    status: str = ""

    @property
    def sd(self) -> float:
        """Standard deviation implied by reading ``low``-``high`` as a 95% normal interval."""
        return (self.high - self.low) / (2 * Z95)


@dataclass(frozen=True)
class Effect:
    """A relative reduction of one service category's cost for members who engage."""

    category: str
    reduction: Ranged


@dataclass(frozen=True)
class Eligibility:
    tiers: tuple[str, ...] = ()
    conditions: tuple[str, ...] = ()
    discharged_within_days: int | None = None


@dataclass(frozen=True)
class Program:
    """One care-management program (see the module docstring for the file format)."""

    name: str
    label: str
    eligibility: Eligibility
    slots: int
    care_managers: float | None
    members_per_care_manager: float | None
    cost_per_member: float
    engagement: Ranged
    effects: tuple[Effect, ...]
    horizon_months: int = 12
    sources: dict[str, str] = field(default_factory=dict)

    def with_care_managers(self, care_managers: float) -> Program:
        """The same program with another number of care managers (capacity rescaled)."""
        if self.members_per_care_manager is None:
            raise ParameterError(
                f"Program '{self.name}' gives its capacity as a slot count, not care managers x caseload."
            )
        return replace(
            self,
            care_managers=care_managers,
            slots=int(care_managers * self.members_per_care_manager),
        )

    def with_slots(self, slots: int) -> Program:
        return replace(self, slots=int(slots), care_managers=None)


def _number(d: dict, key: str, where: str, *, low: float, high: float) -> float:
    if key not in d:
        raise ParameterError(f"{where}: '{key}' is missing.")
    v = d[key]
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not low <= v <= high:
        raise ParameterError(
            f"{where}: '{key}' must be a number from {low:g} to {high:g} (got {v!r})."
        )
    return float(v)


def _ranged(d: dict, key: str, where: str, *, low: float, high: float) -> Ranged:
    value = _number(d, key, where, low=low, high=high)
    lo = _number(d, "low", where, low=low, high=high) if "low" in d else value
    hi = _number(d, "high", where, low=low, high=high) if "high" in d else value
    if not lo <= value <= hi:
        raise ParameterError(f"{where}: need low <= {key} <= high (got {lo} <= {value} <= {hi}).")
    return Ranged(value, lo, hi, str(d.get("source", "")), str(d.get("status", "")))


def parse_program(data: dict[str, Any], where: str = "program") -> Program:
    """A validated program from its TOML/JSON table; a bad field is a ``ParameterError`` naming it."""
    if not isinstance(data, dict):
        raise ParameterError(f"{where}: a program is a table of fields.")
    name = data.get("name")
    if not isinstance(name, str) or not name.strip():
        raise ParameterError(
            f"{where}: 'name' is missing (a short identifier, e.g. 'transitional_care')."
        )
    where = f"{where} '{name}'"
    known = {
        "name",
        "label",
        "horizon_months",
        "eligibility",
        "capacity",
        "cost",
        "engagement",
        "effect",
    }
    unknown = sorted(set(data) - known)
    if unknown:
        raise ParameterError(f"{where}: unknown fields {unknown}; use any of {sorted(known)}.")
    elig = data.get("eligibility", {}) or {}
    tiers = tuple(elig.get("tiers", ()))
    bad_tiers = sorted(set(tiers) - set(TIERS))
    if bad_tiers:
        raise ParameterError(f"{where}: unknown tiers {bad_tiers}; use any of {', '.join(TIERS)}.")
    days = elig.get("discharged_within_days")
    if days is not None and (
        isinstance(days, bool) or not isinstance(days, int) or not 1 <= days <= 366
    ):
        raise ParameterError(
            f"{where}: eligibility.discharged_within_days must be a whole number of days from 1 to 366."
        )
    conditions = tuple(elig.get("conditions", ()))
    known_conditions = set(ccw_conditions()["condition"].to_list())
    bad_conditions = sorted(set(conditions) - known_conditions)
    if bad_conditions:
        raise ParameterError(
            f"{where}: unknown conditions {bad_conditions}; use any of {', '.join(sorted(known_conditions))}."
        )
    eligibility = Eligibility(tiers, conditions, days)

    cap = data.get("capacity")
    if not isinstance(cap, dict):
        raise ParameterError(
            f"{where}: the 'capacity' table is missing: give slots, or care_managers and members_per_care_manager."
        )
    if "slots" in cap:
        slots = int(_number(cap, "slots", f"{where} capacity", low=0, high=1e8))
        cms = per = None
    else:
        cms = _number(cap, "care_managers", f"{where} capacity", low=0, high=1e5)
        per = _number(cap, "members_per_care_manager", f"{where} capacity", low=1, high=1e6)
        slots = int(cms * per)
    cost = data.get("cost")
    if not isinstance(cost, dict):
        raise ParameterError(
            f"{where}: the 'cost' table is missing: give per_member (dollars per member placed)."
        )
    per_member = _number(cost, "per_member", f"{where} cost", low=0, high=1e6)
    eng = data.get("engagement")
    if not isinstance(eng, dict):
        raise ParameterError(
            f"{where}: the 'engagement' table is missing: give rate (share of placed members who take part)."
        )
    engagement = _ranged(eng, "rate", f"{where} engagement", low=0, high=1)
    effects_raw = data.get("effect", [])
    if not isinstance(effects_raw, list) or not effects_raw:
        raise ParameterError(f"{where}: give at least one 'effect' table (category and reduction).")
    effects = []
    for k, e in enumerate(effects_raw, 1):
        w = f"{where} effect {k}"
        if e.get("category") not in CATEGORIES:
            raise ParameterError(
                f"{w}: category must be one of {', '.join(CATEGORIES)} (got {e.get('category')!r})."
            )
        effects.append(Effect(e["category"], _ranged(e, "reduction", w, low=-1, high=1)))
    if len({e.category for e in effects}) != len(effects):
        raise ParameterError(f"{where}: each service category may have one effect.")
    horizon = data.get("horizon_months", 12)
    if horizon != 12:
        raise ParameterError(
            f"{where}: horizon_months must be 12: the effects apply to next year's predicted costs."
        )
    sources = {
        "cost": str(cost.get("source", "")),
        "cost_status": str(cost.get("status", "")),
        "capacity": str(cap.get("members_per_care_manager_source", cap.get("source", ""))),
        "capacity_status": str(cap.get("members_per_care_manager_status", cap.get("status", ""))),
    }
    return Program(
        name=name,
        label=str(data.get("label", name)),
        eligibility=eligibility,
        slots=slots,
        care_managers=cms,
        members_per_care_manager=per,
        cost_per_member=per_member,
        engagement=engagement,
        effects=tuple(effects),
        horizon_months=12,
        sources=sources,
    )


def parse_programs(data: dict[str, Any], where: str = "programs") -> tuple[Program, ...]:
    """Programs from a file's table: several as ``[[program]]``, or the file itself as one."""
    raw = data.get("program") if "program" in data else [data]
    if isinstance(raw, dict):
        raw = [raw]
    if not isinstance(raw, list) or not raw:
        raise ParameterError(f"{where}: no program found; give one or more 'program' tables.")
    programs = tuple(parse_program(p, where) for p in raw)
    names = [p.name for p in programs]
    if len(set(names)) != len(names):
        raise ParameterError(f"{where}: program names must be distinct (got {names}).")
    return programs


def load_programs(path: str | Path) -> tuple[Program, ...]:
    """Programs from a TOML file (``[[program]]`` tables, or one program) or a folder of them."""
    p = Path(path)
    if p.is_dir():
        found = sorted(p.glob("*.toml"))
        if not found:
            raise ParameterError(f"No program files (*.toml) in {p}.")
        programs = tuple(prog for f in found for prog in load_programs(f))
        names = [x.name for x in programs]
        if len(set(names)) != len(names):
            raise ParameterError(f"{p}: program names must be distinct (got {names}).")
        return programs
    if not p.is_file():
        raise ParameterError(f"No programs file {p}: give a TOML file of programs.")
    try:
        data = tomllib.loads(p.read_text())
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ParameterError(f"{p} is not valid TOML: {exc}.") from None
    return parse_programs(data, where=str(p))


@cache
def preset_programs() -> tuple[Program, ...]:
    """The preset programs of ``risk_stratification/data/programs``, in file-name order."""
    folder = files("risk_stratification").joinpath("data", "programs")
    out = []
    for entry in sorted(folder.iterdir(), key=lambda e: e.name):
        if entry.name.endswith(".toml"):
            out.extend(
                parse_programs(tomllib.loads(entry.read_text()), where=f"preset {entry.name}")
            )
    return tuple(out)
