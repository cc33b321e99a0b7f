"""The care managers' worklist: who to call, for which program, why, and in what order.

Contact priority: members discharged within ``urgent_days`` of the data's end come first, the
most recent discharge first (transitional care is time-critical); then everyone else by
expected net savings, highest first. Reasons are the member's tier, a recent discharge, the
program's qualifying conditions and the risk model's top drivers, plus any open care gaps
given in ``gaps`` (person_id, gap; the quality measures' gaps plug in here when available).
Against a ``previous`` worklist (person_id, and tier when it has it) each row says whether the
member is new since that plan and whether their tier changed.
"""

from __future__ import annotations

import polars as pl

from modeling.validation import require_columns
from risk_stratification.targeting.plan import TargetingPlan

WORKLIST_COLUMNS = (
    "person_id",
    "program",
    "expected_net_savings",
    "priority",
    "reasons",
    "provider_npi",
)


def worklist(
    plan: TargetingPlan,
    members: pl.DataFrame,
    *,
    previous: pl.DataFrame | None = None,
    gaps: pl.DataFrame | None = None,
    urgent_days: int = 14,
) -> pl.DataFrame:
    """One row per placed member: ``WORKLIST_COLUMNS`` first, then program label, tier, expected
    gross savings and its sd, cost, days since discharge, provider name, and the change flags
    ``new_since_last_plan``, ``previous_tier`` and ``tier_changed`` (null without ``previous``)."""
    labels = pl.DataFrame(
        {
            "program": [p.name for p in plan.programs],
            "program_label": [p.label for p in plan.programs],
        }
    )
    conditions = pl.DataFrame(
        {
            "program": [p.name for p in plan.programs],
            "program_conditions": [list(p.eligibility.conditions) for p in plan.programs],
        },
        schema={"program": pl.String, "program_conditions": pl.List(pl.String)},
    )
    keep = [
        c
        for c in (
            "tier",
            "days_since_discharge",
            "condition_list",
            "provider_npi",
            "provider_name",
            "driver_1",
            "driver_2",
            "driver_3",
        )
        if c in members.columns
    ]
    rows = (
        plan.assignments.select(
            "person_id",
            "program",
            "expected_net_savings",
            "expected_gross_savings",
            "gross_savings_sd",
            "cost",
        )
        .join(members.select("person_id", *keep), on="person_id", how="left")
        .join(labels, on="program", how="left")
        .join(conditions, on="program", how="left")
    )
    for c in ("provider_npi", "provider_name", "driver_1", "driver_2", "driver_3"):
        if c not in rows.columns:
            rows = rows.with_columns(pl.lit(None, dtype=pl.String).alias(c))
    matched = pl.col("program_conditions").list.set_intersection(pl.col("condition_list"))
    recent = pl.col("days_since_discharge")
    parts = [
        pl.format("{} risk tier", pl.col("tier")),
        pl.when(recent.is_not_null()).then(
            pl.format("discharged {} days before the data end", recent)
        ),
        pl.when(matched.list.len() > 0).then(matched.list.join(", ").str.replace_all("_", " ")),
        pl.col("driver_1"),
        pl.col("driver_2"),
        pl.col("driver_3"),
    ]
    if gaps is not None:
        require_columns(gaps, ("person_id", "gap"), where="worklist gaps")
        open_gaps = gaps.group_by("person_id").agg(pl.col("gap").str.join("; ").alias("_gaps"))
        rows = rows.join(open_gaps, on="person_id", how="left")
        parts.append(
            pl.when(pl.col("_gaps").is_not_null()).then(
                pl.format("open care gaps: {}", pl.col("_gaps"))
            )
        )
    urgent = (recent <= urgent_days).fill_null(False)
    rows = rows.with_columns(
        pl.concat_str(parts, separator="; ", ignore_nulls=True).alias("reasons"),
        urgent.alias("_urgent"),
    ).sort(
        ["_urgent", "days_since_discharge", "expected_net_savings"],
        descending=[True, False, True],
        nulls_last=True,
    )
    rows = rows.with_columns(
        pl.int_range(1, pl.len() + 1).alias("priority"),
        pl.col("expected_net_savings").round(2),
        pl.col("expected_gross_savings").round(2),
        pl.col("gross_savings_sd").round(2),
    )
    if previous is not None:
        require_columns(previous, ("person_id",), where="worklist previous plan")
        prev = previous.select(
            "person_id", *(["tier"] if "tier" in previous.columns else [])
        ).unique("person_id")
        prev = (
            prev.rename({"tier": "previous_tier"})
            if "tier" in prev.columns
            else prev.with_columns(pl.lit(None, dtype=pl.String).alias("previous_tier"))
        )
        rows = rows.join(
            prev.with_columns(pl.lit(True).alias("_was")), on="person_id", how="left"
        ).with_columns(
            pl.col("_was").is_null().alias("new_since_last_plan"),
            (
                pl.col("previous_tier").is_not_null() & (pl.col("previous_tier") != pl.col("tier"))
            ).alias("tier_changed"),
        )
    else:
        rows = rows.with_columns(
            pl.lit(None, dtype=pl.Boolean).alias("new_since_last_plan"),
            pl.lit(None, dtype=pl.String).alias("previous_tier"),
            pl.lit(None, dtype=pl.Boolean).alias("tier_changed"),
        )
    return rows.select(
        *WORKLIST_COLUMNS,
        "program_label",
        "tier",
        "expected_gross_savings",
        "gross_savings_sd",
        "cost",
        "days_since_discharge",
        "provider_name",
        "new_since_last_plan",
        "previous_tier",
        "tier_changed",
    )
