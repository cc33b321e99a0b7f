"""Program parameters as data: the MSSP sharing/loss rules by performance year and level, the
size-based minimum savings rate table, and ACO REACH parameters, each row with its source.

A performance year or level missing from a table is a ``ParameterError`` that says which file
to extend; nothing falls back silently to another year.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from importlib.resources import files

import polars as pl

from modeling.errors import ParameterError


@cache
def _csv(name: str) -> pl.DataFrame:
    return pl.read_csv(files("contracts").joinpath("data", name).read_bytes(), infer_schema=False)


def _float(value: str | None) -> float | None:
    return None if value in (None, "") else float(value)


@dataclass(frozen=True)
class MsspRules:
    """The sharing and loss rules of one MSSP track/level for one performance year."""

    performance_year: int
    track: str
    level: str | None
    two_sided: bool
    max_sharing_rate: float
    payment_limit_pct_benchmark: float
    shared_loss_rate: (
        float | None
    )  # fixed (BASIC); None when derived from the sharing rate (ENHANCED)
    loss_rate_min: float | None
    loss_rate_max: float | None
    loss_cap_pct_revenue: float | None
    loss_cap_pct_benchmark: float | None
    loss_cap_schedule: tuple[
        float, ...
    ]  # Track 2: by performance year of two-sided risk (1st, 2nd, 3rd+)
    quality_rule: (
        str  # score_scaled | standard | standard_or_sliding (see settlement._mssp_sharing_rate)
    )
    low_revenue_below_msr: bool  # 42 CFR 425.605(h): a low revenue BASIC ACO shares below its MSR
    source: str
    status: str


@cache
def _mssp_table() -> pl.DataFrame:
    return _csv("mssp_parameters.csv")


@cache
def mssp_rules(performance_year: int, track: str, level: str | None) -> MsspRules:
    table = _mssp_table()
    rows = table.filter(
        (pl.col("performance_year") == str(performance_year))
        & (pl.col("track") == track)
        & ((pl.col("level") == (level or "")) | (pl.col("level").is_null() & (level is None)))
    )
    if rows.is_empty():
        years = sorted(set(table["performance_year"].to_list()))
        raise ParameterError(
            f"No MSSP rules for performance year {performance_year}, track {track}{' level ' + level if level else ''} "
            f"(contracts/data/mssp_parameters.csv has {', '.join(years)}). Add the row with its 42 CFR 425 source."
        )
    r = rows.row(0, named=True)
    return MsspRules(
        performance_year=performance_year,
        track=track,
        level=level,
        two_sided=r["two_sided"] == "true",
        max_sharing_rate=float(r["max_sharing_rate"]),
        payment_limit_pct_benchmark=float(r["payment_limit_pct_benchmark"]),
        shared_loss_rate=_float(r["shared_loss_rate"]),
        loss_rate_min=_float(r["loss_rate_min"]),
        loss_rate_max=_float(r["loss_rate_max"]),
        loss_cap_pct_revenue=_float(r["loss_cap_pct_revenue"]),
        loss_cap_pct_benchmark=_float(r["loss_cap_pct_benchmark"]),
        loss_cap_schedule=tuple(float(x) for x in (r["loss_cap_schedule"] or "").split(";") if x),
        quality_rule=r["quality_rule"],
        low_revenue_below_msr=r["low_revenue_below_msr"] == "true",
        source=r["source"],
        status=r["status"] or "",
    )


@cache
def size_based_msr(assigned_beneficiaries: int) -> float:
    """Minimum savings (or loss) rate for an ACO's number of assigned beneficiaries, from the
    42 CFR 425.604(b) table: within each band the rate moves linearly from the band's low-end
    value (at its first count) toward the next band's first count; 60,000 and more is 2.0%.

    The table starts at 5,000 (the program's minimum); below that CMS determines the rate
    itself, so the rate must be given explicitly.
    """
    table = _csv("mssp_msr.csv")
    if assigned_beneficiaries < int(table["assigned_from"][0]):
        raise ParameterError(
            f"{assigned_beneficiaries:,} assigned beneficiaries is below the 5,000 where the 42 CFR 425.604(b) minimum savings rate "
            "table starts; give the rate CMS determined for the ACO explicitly (msr / mlr)."
        )
    for r in table.iter_rows(named=True):
        low, high = int(r["assigned_from"]), r["assigned_to"]
        if high is None or assigned_beneficiaries <= int(high):
            lo_rate, hi_rate = float(r["msr_low_end"]), float(r["msr_high_end"])
            if high is None:
                return lo_rate
            width = int(high) + 1 - low
            return lo_rate + (hi_rate - lo_rate) * (assigned_beneficiaries - low) / width
    raise AssertionError("unreachable: the last band is open-ended")


@dataclass(frozen=True)
class ReachRules:
    performance_year: int
    risk_option: str
    shared_rate: float
    discount: float
    quality_withhold: float
    corridors: tuple[
        tuple[float, float | None, float], ...
    ]  # (from, to, share retained by the ACO) of gross savings/losses as % of benchmark
    source: str


@cache
def reach_rules(performance_year: int, risk_option: str) -> ReachRules:
    table = _csv("reach_parameters.csv")
    rows = table.filter(
        (pl.col("performance_year") == str(performance_year))
        & (pl.col("risk_option") == risk_option)
    )
    if rows.is_empty():
        partial = _csv("reach_partial.csv").filter(
            (pl.col("performance_year") == str(performance_year))
            & (pl.col("risk_option") == risk_option)
        )
        if not partial.is_empty():
            p = partial.row(0, named=True)
            raise ParameterError(
                f"ACO REACH {performance_year} {risk_option} option is only partly published. Known: {p['known']}. "
                f"Not found in any source at hand: {p['unknown']} ({p['source']}). Write the year's terms into a "
                "commercial risk_corridors spec, or add the row to contracts/data/reach_parameters.csv and reach_corridors.csv with its source."
            )
        raise ParameterError(
            f"No ACO REACH parameters for performance year {performance_year}, {risk_option} option "
            f"(contracts/data/reach_parameters.csv covers {', '.join(sorted(set(table['performance_year'])))}). Add the row with its source."
        )
    r = rows.row(0, named=True)
    bands = _csv("reach_corridors.csv").filter(
        (pl.col("performance_year") == str(performance_year))
        & (pl.col("risk_option") == risk_option)
    )
    if bands.is_empty():
        raise ParameterError(
            f"No sourced ACO REACH risk corridors for performance year {performance_year}, {risk_option} option "
            "(contracts/data/reach_corridors.csv). For PY2026 CMS narrowed the Global option's first corridor from 25% to 10% of the "
            "benchmark (PY2026 Model Update - Quick Reference) without, in the sources at hand, the other bands: add them from the PY2026 "
            "Financial Methodology paper, or write the corridors into a commercial risk_corridors spec."
        )
    corridors = tuple(
        (float(b["band_from"]), _float(b["band_to"]), float(b["share"]))
        for b in bands.iter_rows(named=True)
    )
    if corridors[0][2] != float(r["shared_rate"]):
        raise ParameterError(
            f"ACO REACH {performance_year} {risk_option}: the shared rate {r['shared_rate']} in reach_parameters.csv and the first "
            f"corridor's share {corridors[0][2]} in reach_corridors.csv must agree (the ACO keeps the option's rate in the first band)."
        )
    return ReachRules(
        performance_year,
        risk_option,
        float(r["shared_rate"]),
        float(r["discount"]),
        float(r["quality_withhold"]),
        corridors,
        r["source"],
    )


def mssp_regional(agreement_period: int) -> dict[str, float]:
    """Regional and prior-savings adjustment weights and caps for an agreement period (3 = third
    and later), from ``contracts/data/mssp_regional.csv``."""
    table = _csv("mssp_regional.csv")
    rows = table.filter(pl.col("agreement_period") == str(min(max(agreement_period, 1), 3)))
    if agreement_period < 1 or rows.is_empty():
        raise ParameterError(f"Agreement period must be 1, 2 or 3+ (got {agreement_period}).")
    return {
        k: float(v)
        for k, v in rows.row(0, named=True).items()
        if k not in ("agreement_period", "source")
    }


def acpt_weight(performance_year: int) -> float:
    """Weight of the Accountable Care Prospective Trend in the MSSP benchmark update."""
    table = _csv("mssp_update.csv")
    rows = table.filter(pl.col("performance_year") == str(performance_year))
    if rows.is_empty():
        raise ParameterError(
            f"No MSSP update blend for performance year {performance_year} in contracts/data/mssp_update.csv."
        )
    return float(rows["acpt_weight"][0])


def sequestration_rate(performance_year: int) -> float:
    """Share of a shared savings payment (MSSP or ACO REACH) withheld by Medicare sequestration, by
    the year the payment is made (the year after the performance year); losses owed are never
    sequestered.
    From ``contracts/data/mssp_sequestration.csv`` (none during the CARES Act moratorium)."""
    table = _csv("mssp_sequestration.csv")
    rows = table.filter(pl.col("performance_year") == str(performance_year))
    if rows.is_empty():
        raise ParameterError(
            f"No sequestration rate for MSSP performance year {performance_year} in contracts/data/mssp_sequestration.csv "
            f"(it covers {table['performance_year'][0]}-{table['performance_year'][-1]}); add the payment year's rate with its source."
        )
    return float(rows["savings_reduction"][0])


def euc_affected_share(performance_year: int) -> float | None:
    """Program-wide extreme and uncontrollable circumstances share (months affected / 12 x share of
    assigned beneficiaries in an affected area) where CMS applied it to every ACO (the COVID-19
    emergency in PY2020-2021); None when the year has no program-wide determination."""
    rows = _csv("mssp_euc.csv").filter(pl.col("performance_year") == str(performance_year))
    return None if rows.is_empty() else float(rows["affected_share"][0])
