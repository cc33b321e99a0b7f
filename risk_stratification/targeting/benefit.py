"""Expected benefit of each program for each eligible member, with its uncertainty.

The rule, for member i and program p (``expected_benefit``):

    gross_ip = engagement_p x sum over the program's effects c of reduction_pc x base_ic
    net_ip   = gross_ip - cost_per_member_p

where ``base_ic`` is member i's expected next-year cost in service category c
(``member_inputs``), read from the registered risk models' predictions:

- acute inpatient: P(any admission next year) x the panel's mean acute-inpatient spending of
  a member with any (in the feature year);
- emergency department: P(any ED visit) x the panel's mean ED spending of a member with any;
- any other category: predicted cost x that category's share of the panel's medical spending.

Each base is capped at the member's predicted cost. The published effects are reductions of
all-cause admissions and ED visits (the trials' outcomes), taken as the same relative reduction
of the category's cost; the avoidable share (e.g. ambulatory-care-sensitive admissions) is thus
what the trials measured, not modeled apart.

Uncertainty comes from the program's parameters, not the members: engagement e and each
reduction r_c are independent, normal with the sd their 95% range implies. For a sum
X = sum_c r_c b_c (mean m, variance v = sum_c sd_c^2 b_c^2), Var(e X) = e^2 v + m^2 sd_e^2 +
sd_e^2 v. The same parameters apply to every member of a program, so a plan's program totals
use the formula with b_c summed over the program's members (``plan_uncertainty``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import numpy as np
import polars as pl

from modeling.core.panel import Panel
from modeling.core.service_categories import CATEGORIES
from modeling.core.spend import money_sum
from modeling.dataset import Dataset
from modeling.errors import DatasetError, ParameterError
from modeling.validation import require_columns
from risk_stratification.targeting.programs import Program

SCORED_COLUMNS = (
    "person_id",
    "tier",
    "pred_cost",
    "pred_admission",
    "pred_ed_visit",
    "full_dual",
    "partial_dual",
    "conditions",
    "prediction_year",
)
INPATIENT, ED = "acute inpatient", "emergency department"


def base_column(category: str) -> str:
    """The column of ``member_inputs`` holding a member's expected cost in ``category``."""
    return "base_" + category.replace("/", "_").replace(" ", "_")


def category_means(source: Panel | Dataset, *, feature_year: int) -> pl.DataFrame:
    """category, share of the feature year's medical spending, and mean spending per member
    with any spending in it (from the core's categorized claim lines)."""
    panel = Panel.of(source)
    by_person = (
        panel.scan("claim_lines")
        .filter(pl.col("claim_start_date").dt.year() == feature_year)
        .group_by("person_id", "service_category")
        .agg(money_sum("paid_amount").alias("paid"))
        .collect()
    )
    if by_person.is_empty():
        raise DatasetError(f"No claims in {feature_year} to price the programs' effects from.")
    total = float(by_person["paid"].sum())
    stats = (
        by_person.filter(pl.col("paid") > 0)
        .group_by("service_category")
        .agg(pl.col("paid").sum().alias("spend"), pl.col("paid").mean().alias("mean_if_any"))
    )
    return (
        pl.DataFrame({"service_category": list(CATEGORIES)})
        .join(stats, on="service_category", how="left")
        .with_columns(
            (pl.col("spend").fill_null(0) / total).alias("share"),
            pl.col("mean_if_any").fill_null(0.0),
        )
        .select("service_category", "share", "mean_if_any")
    )


def member_inputs(source: Panel | Dataset, scored: pl.DataFrame) -> pl.DataFrame:
    """One row per scored member (``risk_stratification.ml.pipeline.score``): tier, predictions,
    dual status, chronic conditions, days from the last acute discharge to the end of the
    feature year (null: none that year), attributed provider, top drivers, and the expected
    next-year cost ``base_<category>`` of every service category (module docstring)."""
    require_columns(scored, SCORED_COLUMNS, where="member_inputs (scored members)")
    if scored.is_empty():
        raise DatasetError("No scored members to target.")
    panel = Panel.of(source)
    feature_year = int(scored["prediction_year"][0]) - 1
    means = {
        r["service_category"]: r
        for r in category_means(panel, feature_year=feature_year).iter_rows(named=True)
    }
    end = dt.date(feature_year, 12, 31)
    discharges = (
        panel.scan("inpatient_stays")
        .filter(pl.col("discharge_date").dt.year() == feature_year)
        .group_by("person_id")
        .agg(pl.col("discharge_date").max().alias("last_discharge_date"))
        .with_columns(
            (pl.lit(end) - pl.col("last_discharge_date"))
            .dt.total_days()
            .cast(pl.Int32)
            .alias("days_since_discharge")
        )
        .collect()
    )
    pred = pl.col("pred_cost")
    bases = []
    for c in CATEGORIES:
        if c == INPATIENT:
            expr = pl.col("pred_admission") * means[c]["mean_if_any"]
        elif c == ED:
            expr = pl.col("pred_ed_visit") * means[c]["mean_if_any"]
        else:
            expr = pred * means[c]["share"]
        bases.append(pl.min_horizontal(expr, pred).alias(base_column(c)))
    extra = [
        c
        for c in ("provider_npi", "provider_name", "driver_1", "driver_2", "driver_3")
        if c in scored.columns
    ]
    return (
        scored.select(*SCORED_COLUMNS, *extra)
        .with_columns(
            ((pl.col("full_dual") == 1) | (pl.col("partial_dual") == 1)).alias("dual"),
            pl.col("conditions")
            .fill_null("")
            .str.split(", ")
            .list.eval(pl.element().str.replace_all(" ", "_"))
            .alias("condition_list"),
        )
        .join(discharges, on="person_id", how="left")
        .with_columns(bases)
        .sort("person_id")
    )


def eligible(members: pl.DataFrame, program: Program) -> pl.Series:
    """Whether each member meets every eligibility criterion of ``program``."""
    e = program.eligibility
    mask = pl.lit(True)
    if e.tiers:
        mask = mask & pl.col("tier").is_in(list(e.tiers))
    if e.conditions:
        mask = mask & pl.any_horizontal(
            [pl.col("condition_list").list.contains(c) for c in e.conditions]
        )
    if e.discharged_within_days is not None:
        mask = mask & (pl.col("days_since_discharge") <= e.discharged_within_days).fill_null(False)
    return members.select(mask.alias("eligible"))["eligible"]


def _program_terms(program: Program) -> tuple[list[str], np.ndarray, np.ndarray]:
    cols = [base_column(e.category) for e in program.effects]
    r = np.array([e.reduction.value for e in program.effects])
    sd = np.array([e.reduction.sd for e in program.effects])
    return cols, r, sd


def product_sd(e: float, sd_e: float, mean_x: np.ndarray, var_x: np.ndarray) -> np.ndarray:
    """sd of e x X for independent e (mean e, sd sd_e) and X (mean mean_x, variance var_x)."""
    return np.sqrt(e**2 * var_x + mean_x**2 * sd_e**2 + sd_e**2 * var_x)


def expected_benefit(members: pl.DataFrame, programs: Sequence[Program]) -> pl.DataFrame:
    """One row per eligible (member, program): expected gross savings, its sd, by-category
    expected savings (``save_<category>`` columns for the program's categories, 0 elsewhere),
    the program's cost per member and the expected net savings (module docstring)."""
    if not programs:
        raise ParameterError("Give at least one program to target.")
    require_columns(
        members,
        ("person_id", "tier", "condition_list", "days_since_discharge", "prediction_year"),
        where="expected_benefit (member inputs)",
    )
    saves = [f"save_{base_column(c)[5:]}" for c in CATEGORIES]
    parts = []
    for k, p in enumerate(programs):
        rows = members.filter(eligible(members, p))
        if rows.is_empty():
            continue
        cols, r, sd = _program_terms(p)
        b = rows.select(cols).to_numpy()
        e = p.engagement.value
        mean_x = b @ r
        gross = e * mean_x
        gross_sd = product_sd(e, p.engagement.sd, mean_x, (b**2) @ (sd**2))
        by_cat = {s: np.zeros(rows.height) for s in saves}
        for j, eff in enumerate(p.effects):
            by_cat[f"save_{base_column(eff.category)[5:]}"] = e * r[j] * b[:, j]
        parts.append(
            pl.DataFrame(
                {
                    "person_id": rows["person_id"],
                    "program": pl.Series([p.name] * rows.height, dtype=pl.String),
                    "program_index": pl.Series([k] * rows.height, dtype=pl.Int32),
                    "expected_gross_savings": gross,
                    "gross_savings_sd": gross_sd,
                    "cost": np.full(rows.height, p.cost_per_member),
                    "expected_net_savings": gross - p.cost_per_member,
                    **by_cat,
                }
            )
        )
    if not parts:
        return pl.DataFrame(
            schema={
                "person_id": pl.String,
                "program": pl.String,
                "program_index": pl.Int32,
                "expected_gross_savings": pl.Float64,
                "gross_savings_sd": pl.Float64,
                "cost": pl.Float64,
                "expected_net_savings": pl.Float64,
                **{s: pl.Float64 for s in saves},
            }
        )
    return pl.concat(parts).sort("person_id", "program_index")


def plan_uncertainty(
    chosen: pl.DataFrame, members: pl.DataFrame, programs: Sequence[Program]
) -> pl.DataFrame:
    """service category, expected savings and sd of a plan's savings in it (the sd from the
    programs' shared parameters: within a program every member moves together; programs are
    independent). ``chosen`` has person_id and program."""
    by_name = {p.name: p for p in programs}
    rows = []
    for c in CATEGORIES:
        mean, var = 0.0, 0.0
        for name, group in chosen.group_by("program"):
            p = by_name[str(name[0])]
            eff = next((x for x in p.effects if x.category == c), None)
            if eff is None:
                continue
            b = float(group.join(members, on="person_id")[base_column(c)].sum())
            e, sd_e = p.engagement.value, p.engagement.sd
            m = eff.reduction.value * b
            v = (eff.reduction.sd * b) ** 2
            mean += e * m
            var += float(product_sd(e, sd_e, np.array([m]), np.array([v]))[0]) ** 2
        rows.append({"service_category": c, "expected_savings": mean, "sd": float(np.sqrt(var))})
    return pl.DataFrame(rows)
