"""Targeting command: which members go into which care-management program under capacity and
budget, what the plan is worth, and what it does to a contract's settlement."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import polars as pl
import typer
from rich.table import Table

from app.cli._common import (
    DatasetArgument,
    WorkspaceOption,
    console,
    fail,
    open_dataset,
    open_workspace,
    out_file,
    output,
)
from app.export import write_csv
from app.format import count, money, pct
from modeling.errors import ParameterError, VbcError

app = typer.Typer()


def _people(path: Path | None, what: str) -> pl.DataFrame | None:
    if path is None:
        return None
    if not path.is_file():
        raise ParameterError(f"No {what} file {path}.")
    try:
        frame = pl.read_csv(path, infer_schema_length=0, glob=False)
    except pl.exceptions.PolarsError as exc:
        raise ParameterError(f"{path} is not a readable CSV: {exc}.") from None
    if "person_id" not in frame.columns:
        raise ParameterError(f"{path} needs a person_id column ({what}).")
    return frame


@app.command()
def target(
    dataset: DatasetArgument = None,
    programs: Annotated[
        Path | None,
        typer.Option(
            help="Programs file (TOML, [[program]] tables) or a folder of them (default: the presets).",
            show_default=False,
        ),
    ] = None,
    out: Annotated[
        Path | None,
        typer.Option(
            help="Worklist CSV to write (default: worklist.csv in the workspace's outputs).",
            show_default=False,
            callback=out_file,
        ),
    ] = None,
    budget: Annotated[
        float | None, typer.Option(help="Total program budget in dollars (default: none).")
    ] = None,
    dual_floor: Annotated[
        bool,
        typer.Option(
            help="Dual-eligible members get at least their share of the filled slots (their share of the eligible members)."
        ),
    ] = False,
    must_include: Annotated[
        Path | None,
        typer.Option(
            help="CSV with a person_id column: members who must be placed in some program.",
            show_default=False,
        ),
    ] = None,
    previous: Annotated[
        Path | None,
        typer.Option(
            help="The last plan's worklist CSV: marks new members and tier changes.",
            show_default=False,
        ),
    ] = None,
    gaps: Annotated[
        Path | None,
        typer.Option(
            help="CSV of open care gaps (person_id, gap) to add to the reasons (e.g. from the quality measures).",
            show_default=False,
        ),
    ] = None,
    contract: Annotated[
        str | None,
        typer.Option(
            help="Contract preset or spec file to show the plan's effect on (default: MSSP ENHANCED for the prediction year)."
        ),
    ] = None,
    assumptions: Annotated[
        Path | None,
        typer.Option(
            help="Contract assumptions file (TOML/JSON, as for vbc settle), e.g. the MSR CMS determined below 5,000 beneficiaries.",
            show_default=False,
        ),
    ] = None,
    save: Annotated[
        str | None,
        typer.Option(
            help="Save the plan as a scenario under this name (the Contracts page can apply it)."
        ),
    ] = None,
    version: Annotated[
        int | None, typer.Option(help="Registered risk model version (default: the latest).")
    ] = None,
    workspace: WorkspaceOption = None,
) -> None:
    """Plan care management: members per program under capacity and budget (a MILP), its value,
    optimality gap and advantage over greedy lists, the value of one more care manager, the
    effect on a contract, and the worklist."""
    from contracts.care_plans import contract_effect, initiatives_of_plan, save_plan
    from contracts.history import panel_history
    from contracts.projection import load_assumptions
    from contracts.specs import load_spec, preset_names
    from risk_stratification.ml.pipeline import load_registered, score
    from risk_stratification.targeting import (
        Constraints,
        EquityFloor,
        load_programs,
        make_plan,
        member_inputs,
        preset_programs,
    )
    from risk_stratification.targeting.worklist import WORKLIST_COLUMNS, worklist

    try:
        ws = open_workspace(workspace)
        ds = open_dataset(ws, dataset)
        progs = load_programs(programs) if programs else preset_programs()
        must = _people(must_include, "must-include")
        prev = _people(previous, "previous worklist")
        open_gaps = _people(gaps, "care gaps")
        constraints = Constraints(
            budget=budget,
            equity_floors=(EquityFloor("dual"),) if dual_floor else (),
            must_include=tuple(must["person_id"].to_list()) if must is not None else (),
        )
        with ws.store() as store:
            trained, used = load_registered(store, version)
        with console.status("scoring the panel...") as status:
            say = lambda msg: status.update(msg)  # noqa: E731
            scored = score(ds, trained, progress=say)
            members = member_inputs(ds, scored)
            plan = make_plan(members, progs, constraints, progress=say)
            year = plan.prediction_year
            name = contract or (
                f"mssp-enhanced-{year}" if f"mssp-enhanced-{year}" in preset_names() else None
            )
            effect, effect_problem = None, None
            if name is not None:
                spec = load_spec(name)
                base = load_assumptions(assumptions) if assumptions else None
                say("reading the panel's history for the contract")
                history = panel_history(ds)
                initiatives = initiatives_of_plan(plan, history, spec)
                say("simulating the contract with and without the plan")
                try:
                    effect = contract_effect(spec, history, initiatives, base)
                except VbcError as exc:  # the plan stands; only its contract view is missing
                    effect_problem = str(exc)
            rows = worklist(plan, members, previous=prev, gaps=open_gaps)
    except VbcError as exc:
        fail(exc)
    _print_plan(plan, used)
    if effect_problem is not None:
        console.print(
            f"[yellow]effect on {spec.name} not shown:[/] {effect_problem} (pass --assumptions)",
            soft_wrap=True,
        )
    if effect is not None:
        _print_effect(effect, spec.name)
    s = plan.solution
    out = output(ws, ds, out, "worklist.csv")
    write_csv(rows, out)
    if save:
        with ws.store() as store:
            saved = save_plan(
                store,
                save,
                dataset=ds.path.name,
                prediction_year=year,
                savings_by_category=plan.savings_by_category,
                program_cost=plan.cost,
                members=plan.assignments.height,
                expected_net_savings=s.objective,
                gap=s.gap,
                programs=[
                    {"name": p.name, "slots": p.slots, "cost_per_member": p.cost_per_member}
                    for p in plan.programs
                ],
                constraints={
                    "budget": budget,
                    "dual_floor": dual_floor,
                    "must_include": len(constraints.must_include),
                },
            )
        console.print(f"saved the plan as scenario '{save}' ({saved.id})")
    console.print(
        f"wrote {count(rows.height)} members to {out} (columns {', '.join(WORKLIST_COLUMNS)}, ...)"
    )


def _print_plan(plan, used: int) -> None:
    """The plan's programs, value, gap, greedy comparison, marginal values and floors."""
    s = plan.solution
    table = Table(
        title=f"Care-management plan for {plan.prediction_year} (risk model version {used})"
    )
    for col in ("program", "care managers", "slots", "placed", "cost", "expected net savings"):
        table.add_column(col, justify="left" if col == "program" else "right")
    for r in plan.capacity.iter_rows(named=True):
        table.add_row(
            r["label"],
            "" if r["care_managers"] is None else f"{r['care_managers']:g}",
            count(r["slots"]),
            count(r["placed"]),
            money(r["cost"]),
            money(r["expected_net_savings"]),
        )
    console.print(table)
    sd = float(sum(v**2 for v in plan.savings_by_category["sd"].to_list()) ** 0.5)
    console.print(
        f"plan value: expected net savings {money(s.objective)} = gross {money(plan.expected_gross_savings)} "
        f"(sd {money(sd)}) - program cost {money(plan.cost)}; {count(plan.assignments.height)} members"
    )
    console.print(
        f"optimality gap {pct(s.gap or 0.0, digits=3)} (HiGHS MILP bound {money(s.bound or 0.0)}; "
        f"{count(s.candidates)} of {count(s.pairs)} eligible pairs after the exact reduction; {s.seconds:.2f} s; HiGHS status {s.status})"
    )
    comp = Table(title="Against greedy lists (same capacity and budget)")
    for col in ("method", "members", "cost", "expected net savings", "optimizer's advantage"):
        comp.add_column(col, justify="left" if col == "method" else "right")
    for r in plan.comparison.iter_rows(named=True):
        comp.add_row(
            r["method"],
            count(r["members"]),
            money(r["cost"]),
            money(r["expected_net_savings"]),
            money(r["optimizer_advantage"]),
        )
    console.print(comp)
    if plan.marginal is not None:
        marg = Table(title="What more capacity is worth (each measured by re-solving the MILP)")
        for col in ("constraint", "change", "value"):
            marg.add_column(col, justify="right" if col == "value" else "left")
        for r in plan.marginal.iter_rows(named=True):
            marg.add_row(r["constraint"], r["change"], money(r["value"]))
        console.print(marg)
    for r in plan.floors.iter_rows(named=True):
        console.print(
            f"equity floor {r['group']}: at least {pct(r['required_share'])} of the slots, got {pct(r['achieved_share'])}"
        )


def _print_effect(effect: pl.DataFrame, contract_name: str) -> None:
    """Settlement and chance of savings with and without the plan."""
    eff = Table(title=f"Effect on {contract_name} (2,000 simulated years, same seed)")
    for col in (
        "case",
        "settlement",
        "expected settlement",
        "chance of savings",
        "net of program cost",
    ):
        eff.add_column(col, justify="left" if col == "case" else "right")
    for r in effect.iter_rows(named=True):
        eff.add_row(
            r["case"],
            money(r["settlement"]),
            money(r["expected_settlement"]),
            pct(r["p_shared_savings"]),
            money(r["net_of_program_cost"]),
        )
    console.print(eff)
