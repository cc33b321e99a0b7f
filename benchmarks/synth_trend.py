"""Where the synthetic panel's year-over-year cost trend comes from (issue 20).

Usage:
    python benchmarks/synth_trend.py [--members 12500] [--years 8] [--seed 20240601]
    python benchmarks/synth_trend.py --panel DATASET

Without ``--panel``: the generator's member model alone (no services), run from the
generator's own functions (``make_people``, ``year_frame``, ``evolve``, ``initial_levels``,
``advance_levels``, ``decide_deaths``, ``cost_intensity``) on one chunk's stream, for more years
than a panel has, printing by year the exposure-weighted means of the latent state among the
enrolled: latent health, the number of conditions present, of conditions at level 2 or above,
the prevalence of the most costly conditions, the log cost intensity split into its terms
(health, the conditions' level-1 weights, their weights above level 1, the rest), and the drug
cost per 30 days of the drugs a member is on (split into drugs that start at level 1 and drugs
that need level 2 or above). The split shows which mechanism moves the cost. It runs on a
generator with the condition history (``conditions.history_health``) or without it.

With ``--panel``: the dataset's paid PMPM by service category (``modeling.core`` claim lines
and member months) and year, and each year's change; pharmacy beside medical.
"""

from __future__ import annotations

import argparse

import numpy as np
import polars as pl

from modeling.core.panel import Panel
from modeling.synth import conditions as cond
from modeling.synth.enrollment import cost_intensity, decide_deaths, evolve, year_frame
from modeling.synth.params import load_params
from modeling.synth.people import AGED, FULL_DUAL_CODES, PARTIAL_DUAL_CODES, make_people

SHOWN = ("diabetes", "ckd", "heart_failure", "copd", "depression", "dementia")


def _weights(params, levels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:  # type: ignore[no-untyped-def]
    """Per member: the summed cost weight of conditions at level 1, and the summed increment of
    higher levels above it."""
    first = np.zeros(levels.shape[1])
    above = np.zeros(levels.shape[1])
    for i, c in enumerate(params.conditions):
        w = np.array([0.0] + [lvl.cost_weight for lvl in c.levels])
        first += w[np.minimum(levels[i], 1)]
        above += w[levels[i]] - w[np.minimum(levels[i], 1)]
    return first, above


def member_model(members: int, years: int, seed: int, start_year: int = 2023) -> pl.DataFrame:
    params = load_params()
    b = params.behaviour
    thresholds = cond.reference_thresholds()
    rng = np.random.default_rng([seed, 0])
    people = make_people(rng, members, start_year, years, 400, 24)
    noise = rng.standard_normal((len(params.conditions), people.n))
    draw = rng.random((params.drugs.height, people.n))
    rows = []
    levels = None
    for t in range(years):
        yf = year_frame(rng, people, start_year + t, params)
        if levels is None:
            levels = cond.initial_levels(rng, params, people, yf.age, noise, thresholds=thresholds)
        else:
            evolve(rng, people, levels, params)
            lia = cond.liabilities(params, people, yf.age, levels, noise)
            levels = cond.advance_levels(
                rng, params, levels, lia, people.health, thresholds=thresholds
            )
        decide_deaths(rng, people, yf, levels, params)
        intensity = cost_intensity(people, yf, levels, params)
        a = yf.active & (yf.days > 0)
        w = yf.exposure[a]

        def mean(x: np.ndarray, a: np.ndarray = a, w: np.ndarray = w) -> float:
            return float(np.average(x[a], weights=w))

        first, above = _weights(params, levels)
        rx1, rx2 = np.zeros(people.n), np.zeros(people.n)
        for d, drug in enumerate(params.drugs.iter_rows(named=True)):
            ci = params.condition_index(drug["condition"])
            on = (levels[ci] >= drug["min_level"]) & (draw[d] < drug["share"])
            if drug["min_level"] <= 1:
                rx1 += on * drug["cost_per_30_days"]
            else:
                rx2 += on * drug["cost_per_30_days"]
        health_term = b["intensity_health"] * np.clip(people.health, -3, 4)
        cond_first = b["intensity_condition_scale"] * first
        cond_above = b["intensity_condition_scale"] * above
        other = (
            b["intensity_age"] * cond.age_z(yf.age)
            + b["intensity_under_65"] * (people.group != AGED)
            + b["intensity_full_dual"] * np.isin(people.dual, FULL_DUAL_CODES)
            + b["intensity_partial_dual"] * np.isin(people.dual, PARTIAL_DUAL_CODES)
            + b["intensity_lti"] * people.lti
            + b["intensity_esrd"] * people.esrd
            + b["intensity_year_of_death"] * yf.dies
        )
        row = {
            "year": start_year + t,
            "enrolled": int(a.sum()),
            "age": mean(yf.age),
            "health": mean(people.health),
            "conditions": mean((levels > 0).sum(0)),
            "level2_plus": mean((levels >= 2).sum(0)),
            **{f"prev_{c}": mean(levels[params.condition_index(c)] > 0) for c in SHOWN},
            "log_int_health": mean(health_term),
            "log_int_cond_level1": mean(cond_first),
            "log_int_cond_above1": mean(cond_above),
            "log_int_other": mean(other),
            "intensity": mean(intensity),
            "rx30_level1_drugs": mean(rx1),
            "rx30_level2_drugs": mean(rx2),
        }
        rows.append(row)
    return pl.DataFrame(rows)


def panel_pmpm(path: str) -> pl.DataFrame:
    panel = Panel(path)
    mm = panel.scan("member_months").group_by("year").agg(pl.len().alias("member_months"))
    lines = panel.scan("claim_lines").select(
        pl.col("claim_start_date").dt.year().alias("year"), "service_category", "paid_amount"
    )
    rx = panel.scan("pharmacy_claim").select(
        pl.col("dispensing_date").dt.year().alias("year"),
        pl.lit("pharmacy").alias("service_category"),
        pl.col("paid_amount").cast(pl.Float64),
    )
    paid = (
        pl.concat([lines.with_columns(pl.col("paid_amount").cast(pl.Float64)), rx])
        .group_by("year", "service_category")
        .agg(pl.col("paid_amount").sum().alias("paid"))
    )
    table = (
        paid.join(mm, on="year")
        .with_columns((pl.col("paid") / pl.col("member_months")).alias("pmpm"))
        .collect()
    )
    medical = (
        table.filter(pl.col("service_category") != "pharmacy")
        .group_by("year", "member_months")
        .agg(pl.col("paid").sum())
        .with_columns(
            pl.lit("medical (all)").alias("service_category"),
            (pl.col("paid") / pl.col("member_months")).alias("pmpm"),
        )
    )
    total = (
        table.group_by("year", "member_months")
        .agg(pl.col("paid").sum())
        .with_columns(
            pl.lit("total").alias("service_category"),
            (pl.col("paid") / pl.col("member_months")).alias("pmpm"),
        )
    )
    return (
        pl.concat([table, medical.select(table.columns), total.select(table.columns)])
        .sort("service_category", "year")
        .with_columns(
            (pl.col("pmpm") / pl.col("pmpm").shift(1).over("service_category") - 1)
            .mul(100)
            .round(2)
            .alias("change_pct"),
            pl.col("pmpm").round(2),
        )
        .pivot(on="year", index="service_category", values=["pmpm", "change_pct"])
    )


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--panel", default=None)
    ap.add_argument("--members", type=int, default=12_500)
    ap.add_argument("--years", type=int, default=8)
    ap.add_argument("--seed", type=int, default=20240601)
    args = ap.parse_args()
    pl.Config.set_tbl_rows(40)
    pl.Config.set_tbl_cols(20)
    pl.Config.set_tbl_width_chars(250)
    if args.panel:
        print(panel_pmpm(args.panel))
        return
    out = member_model(args.members, args.years, args.seed)
    print(out.with_columns(pl.exclude("year", "enrolled").round(4)))
    logs = out.select(
        "year", *[c for c in out.columns if c.startswith("log_int") or c.startswith("rx30")]
    )
    print("year-over-year change (log-intensity terms in points of log; drug cost in %):")
    print(
        logs.with_columns(
            *[pl.col(c).diff().round(4) for c in logs.columns if c.startswith("log_int")],
            *[
                (pl.col(c) / pl.col(c).shift(1) - 1).mul(100).round(2)
                for c in logs.columns
                if c.startswith("rx30")
            ],
        )
    )


if __name__ == "__main__":
    main()
