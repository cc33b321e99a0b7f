"""Contract commands: presets, itemized settlement, the Monte Carlo distribution of outcomes."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from app.cli._common import (
    SEED_MAX,
    DatasetOption,
    WorkspaceOption,
    console,
    fail,
    finite,
    open_dataset,
    open_workspace,
    out_file,
    wide,
)
from app.export import write_csv, write_text
from app.format import loss, money, pct, signed_pct
from modeling.errors import VbcError
from modeling.workspace import Workspace

MAX_DRAWS = 1_000_000  # the app offers up to 10,000; a million simulated years is ample for a tail

app = typer.Typer()
contracts_app = typer.Typer(help="Contract presets and specs.", no_args_is_help=True)
app.add_typer(contracts_app, name="contracts")
reproduce_app = typer.Typer(
    help="Reproduce CMS's published settlements (MSSP and ACO REACH PUFs) with the project's settle.",
    no_args_is_help=True,
)
app.add_typer(reproduce_app, name="reproduce")


@contracts_app.command("list")
def contracts_list() -> None:
    """The shipped contract presets, by program and performance year."""
    from contracts.specs import preset, preset_names

    table = Table(title="Contract presets (use the name with vbc settle --contract)")
    for col in ("preset", "family", "performance year", "name"):
        table.add_column(col, no_wrap=col == "preset")
    for name in preset_names():
        spec = preset(name)
        table.add_row(name, spec.family, str(spec.performance_year), spec.name)
    console.print(table)
    console.print(
        "A spec file (TOML or JSON) you write is used the same way: vbc settle --contract my_contract.toml ..."
    )


@app.command()
def settle(
    dataset: DatasetOption = None,
    contract: Annotated[
        list[str] | None,
        typer.Option(
            "--contract",
            help="Preset name or spec file (TOML/JSON); repeat to compare. Default: every MSSP level, ENHANCED and the commercial corridors for the year after the data.",
        ),
    ] = None,
    assumptions: Annotated[
        Path | None,
        typer.Option(
            help="Assumptions file (TOML/JSON): cost_trend, initiatives, coding_risk_change, attribution_scale, quality_score..."
        ),
    ] = None,
    out: Annotated[
        Path | None,
        typer.Option(help="Write every line of every settlement to this CSV.", callback=out_file),
    ] = None,
    workspace: WorkspaceOption = None,
) -> None:
    """Itemized settlement of one or more contracts on a dataset's panel: actual when the
    performance year is in the data, projected for the year after it."""
    from app.reports.contracts import settlement_table
    from contracts.history import panel_history
    from contracts.projection import (
        Assumptions,
        comparison,
        load_assumptions,
        payment_score_years,
        project,
        settlement_lines,
    )
    from contracts.specs import default_presets, load_spec
    from modeling.core.panel import Panel

    try:
        a = load_assumptions(assumptions) if assumptions else Assumptions()
        panel = Panel(open_dataset(open_workspace(workspace), dataset))
        names = contract or default_presets(panel.years()[-1] + 1)
        specs = [load_spec(c) for c in names]
        with console.status("reading the panel...") as status:
            history = panel_history(
                panel,
                payment_score_years=payment_score_years(specs),
                progress=lambda msg: status.update(msg),
            )
        results = [project(spec, history, a) for spec in specs]
    except VbcError as exc:
        fail(exc)
    for p in results:
        table = Table(
            title=f"{p.spec.name} — performance year {p.spec.performance_year} ({p.mode})",
            show_header=False,
        )
        table.add_column("line")
        table.add_column("value", justify="right")
        for row in settlement_table(p.settlement).iter_rows(named=True):
            table.add_row(row["line"], row["value"])
        verdict = (
            "paid to the provider"
            if p.settlement.amount > 0
            else ("owed by the provider" if p.settlement.amount < 0 else "no payment either way")
        )
        table.add_row("[bold]Settlement[/]", f"[bold]{money(p.settlement.amount)}[/] ({verdict})")
        console.print(table)
    shown = set()
    for p in results:
        for note in p.notes:
            if note not in shown:
                console.print(f"[dim]- {note}[/]", soft_wrap=True)
                shown.add(note)
    compare = Table(title="Side by side")
    for col in (
        "contract",
        "benchmark / person-year",
        "expenditures / person-year",
        "savings rate",
        "settlement",
        "pays once costs change by",
        "costs once costs change by",
    ):
        compare.add_column(col, justify="right" if col != "contract" else "left")
    for row in comparison(results).iter_rows(named=True):
        compare.add_row(
            row["contract"],
            money(row["benchmark_per_capita"]),
            money(row["expenditure_per_capita"]),
            pct(row["savings_rate"], digits=2),
            money(row["settlement"]),
            signed_pct(row["pays_once_costs_change_by"]),
            signed_pct(row["costs_once_costs_change_by"]),
        )
    wide().print(compare)  # seven columns
    if out:
        write_csv(settlement_lines(results), out)
        console.print(f"wrote {out}")


@app.command()
def simulate(
    contract: Annotated[
        list[str],
        typer.Option(
            "--contract",
            help="Preset name or spec file (TOML/JSON); repeat to compare risk levels on the same simulated years.",
        ),
    ],
    dataset: DatasetOption = None,
    draws: Annotated[
        int,
        typer.Option(
            help=f"Number of simulated performance years (1 to {MAX_DRAWS:,}).",
            min=1,
            max=MAX_DRAWS,
        ),
    ] = 10_000,
    seed: Annotated[
        int, typer.Option(help="Random seed (same seed, same results).", min=0, max=SEED_MAX)
    ] = 1,
    assumptions: Annotated[
        Path | None, typer.Option(help="Assumptions file (TOML/JSON), as for vbc settle.")
    ] = None,
    exact: Annotated[
        bool,
        typer.Option(
            help="Redraw every member's cost in every scenario instead of the fast sum approximation."
        ),
    ] = False,
    out: Annotated[
        Path | None,
        typer.Option(
            help="Write the scenario (spec, assumptions, seed, draws, summary, histogram, tornado) as JSON, and a one-page Markdown summary beside it.",
            callback=out_file,
        ),
    ] = None,
    cvar_limit: Annotated[
        float | None,
        typer.Option(
            help="With several contracts: the largest CVaR (95%) loss you accept, in dollars; picks the best option and mix within it.",
            callback=finite,
        ),
    ] = None,
    use_model: Annotated[
        bool,
        typer.Option(
            help="Draw member costs around the registered risk model's predictions with its held-out residuals (vbc train first)."
        ),
    ] = False,
    workspace: WorkspaceOption = None,
) -> None:
    """The distribution of a contract's settlement: expected value, chance of savings and of
    losses, value at risk, and the assumptions that move it most."""
    import json

    from app.reports.contracts import simulation_markdown
    from contracts.history import panel_history
    from contracts.projection import Assumptions, load_assumptions, payment_score_years
    from contracts.simulation import histogram, tornado
    from contracts.simulation import simulate as run_simulation
    from contracts.specs import load_spec, spec_to_dict

    ws = open_workspace(workspace)
    if len(contract) > 1:
        _compare_risk_levels(ws, dataset, contract, draws, seed, assumptions, cvar_limit)
        return
    try:
        ds = open_dataset(ws, dataset)
        spec = load_spec(contract[0])
        a = load_assumptions(assumptions) if assumptions else Assumptions()
        with console.status("reading the panel...") as status:
            history = panel_history(
                ds,
                payment_score_years=payment_score_years([spec]),
                progress=lambda msg: status.update(msg),
            )
            members = None
            if use_model:
                from contracts.simulation import members_from_model
                from risk_stratification.ml.pipeline import load_registered

                status.update("scoring members with the registered risk model")
                with ws.store() as store:
                    trained, _ = load_registered(store)
                members = members_from_model(ds, trained)
            status.update(f"simulating {draws:,} performance years")
            result = run_simulation(
                spec, history, a, draws=draws, seed=seed, exact_members=exact, members=members
            )
            status.update("sensitivity: each assumption low and high")
            bars = tornado(spec, history, a).bars
    except VbcError as exc:
        fail(exc)
    s = result.summary()
    source = (
        "the risk model's predictions and held-out residuals"
        if use_model
        else "the panel's own cost spread by enrollment type"
    )
    table = Table(
        title=f"{spec.name}: {draws:,} simulated performance years (seed {seed}; member noise from {source})",
        show_header=False,
    )
    table.add_column("figure")
    table.add_column("value", justify="right")
    rows = [
        (
            "Expected settlement",
            f"{money(s.expected_settlement)} (standard error {money(s.standard_error)})",
        ),
        ("Deterministic projection", money(s.deterministic_settlement)),
        ("Chance of earning shared savings", f"{s.p_shared_savings:.1%}"),
        ("Chance of owing losses", f"{s.p_owes_losses:.1%}"),
        ("Chance of hitting the payment limit", f"{s.p_hits_payment_limit:.1%}"),
        ("Chance of hitting the loss cap", f"{s.p_hits_loss_cap:.1%}"),
        ("Value at risk (95%)", loss(s.value_at_risk_95)),
        ("CVaR (95%)", loss(s.cvar_95)),
        (
            "5th / 50th / 95th percentile",
            f"{money(s.p05)} / {money(s.median)} / {money(s.p95)}",
        ),
        ("Expected savings rate", f"{s.expected_savings_rate:.2%}"),
        (
            "Starts to pay once costs change by (median, 10th-90th pct)",
            f"{s.break_even_median:+.2%} ({s.break_even_p10:+.2%} to {s.break_even_p90:+.2%})",
        ),
    ]
    for name, value in rows:
        table.add_row(name, value)
    console.print(table)
    hist = histogram(result, bins=12)
    peak = max(hist["scenarios"].max(), 1)
    for r in hist.iter_rows(named=True):
        console.print(
            f"{money(r['bin_start']):>14} .. {money(r['bin_end']):>14} {'#' * round(40 * r['scenarios'] / peak)} {r['scenarios']:,}"
        )
    tor = Table(title="What moves it (deterministic, one assumption at a time)")
    for col in ("assumption", "low", "settlement", "high", "settlement "):
        tor.add_column(col, justify="left" if col in ("assumption", "low", "high") else "right")
    for r in bars.iter_rows(named=True):
        tor.add_row(
            r["assumption"],
            r["low"],
            money(r["settlement_low"]),
            r["high"],
            money(r["settlement_high"]),
        )
    console.print(tor)
    if out:
        scenario = {
            "dataset": str(ds.path),
            "contract": spec_to_dict(spec),
            "assumptions": a.model_dump(mode="json"),
            "seed": seed,
            "draws": draws,
            "exact_members": exact,
            "summary": s.to_dict(),
            "histogram": histogram(result).to_dicts(),
            "tornado": bars.to_dicts(),
        }
        write_text(json.dumps(scenario, indent=2), out)
        write_text(simulation_markdown(result, bars), out.with_suffix(".md"))
        console.print(f"wrote {out} and {out.with_suffix('.md')}")


def _compare_risk_levels(
    ws: Workspace,
    dataset: str | None,
    contracts: list[str],
    draws: int,
    seed: int,
    assumptions: Path | None,
    cvar_limit: float | None,
) -> None:
    from contracts.history import panel_history
    from contracts.projection import Assumptions, load_assumptions, payment_score_years
    from contracts.simulation import choose_risk_level
    from contracts.simulation import simulate as run_simulation
    from contracts.specs import load_spec

    try:
        specs = [load_spec(c) for c in contracts]
        a = load_assumptions(assumptions) if assumptions else Assumptions()
        with console.status("reading the panel...") as status:
            history = panel_history(
                open_dataset(ws, dataset),
                payment_score_years=payment_score_years(specs),
                progress=lambda msg: status.update(msg),
            )
            results = []
            for spec in specs:
                status.update(f"simulating {spec.name}")
                results.append(run_simulation(spec, history, a, draws=draws, seed=seed))
            limit = cvar_limit if cvar_limit is not None else 0.0
            status.update("choosing the risk level (CVaR-constrained)")
            choice = choose_risk_level(results, limit)
    except VbcError as exc:
        fail(exc)
    table = Table(
        title=f"Options on the same {draws:,} simulated years (seed {seed}); CVaR limit {money(limit)}"
    )
    for col in (
        "option",
        "expected settlement",
        "CVaR (95%)",
        "chance of owing",
        "within the limit",
    ):
        table.add_column(col, justify="left" if col == "option" else "right")
    for r in choice.options.iter_rows(named=True):
        table.add_row(
            r["option"],
            money(r["expected"]),
            money(r["cvar_95"]),
            f"{r['p_owes_losses']:.1%}",
            "yes" if r["within_limit"] else "no",
        )
    console.print(table)
    console.print(f"best single option within the limit: [bold]{choice.best_single or 'none'}[/]")
    if choice.mix is not None:
        weights = ", ".join(f"{k} {v:.0%}" for k, v in choice.mix.items() if v > 0.005)
        console.print(
            f"best mix (e.g. across payers sharing one downside budget): {weights}; expected {money(choice.mix_expected)}, CVaR {money(choice.mix_cvar)}"
        )
    frontier = Table(title="Efficient frontier: the best expected settlement for each CVaR limit")
    frontier.add_column("CVaR limit", justify="right")
    frontier.add_column("expected settlement", justify="right")
    for r in choice.frontier.iter_rows(named=True):
        frontier.add_row(money(r["cvar_limit"]), money(r["expected"]))
    console.print(frontier)
    if cvar_limit is None:
        console.print(
            "(no --cvar-limit given: a limit of $0, no loss in the worst years, was used)"
        )


PufFile = Annotated[
    Path,
    typer.Argument(help="The PUF as a CSV in CMS's layout (columns matched by name, any case)."),
]
PufYear = Annotated[
    int | None,
    typer.Option(
        help="The performance year, for a single-year file from CMS that has no year column."
    ),
]
ReproduceOut = Annotated[
    Path | None,
    typer.Option(
        help="Write one row per ACO-year (published, computed, difference, reproduced, note) to this CSV.",
        callback=out_file,
    ),
]


def _print_reproduction(result, out: Path | None) -> None:
    table = Table(title=f"{result.program.upper()}: CMS's published settlements reproduced")
    for col in ("performance year", "track", "ACO-years", "reproduced", "share"):
        table.add_column(col, justify="left" if col == "track" else "right")
    for row in result.summary.iter_rows(named=True):
        table.add_row(
            str(row["performance_year"]),
            row["track"],
            f"{row['rows']:,}",
            f"{row['reproduced']:,}",
            pct(row["share_reproduced"], digits=1),
        )
    n, ok = result.rows.height, int(result.rows["reproduced"].sum())
    table.add_row(
        "[bold]all[/]",
        "",
        f"[bold]{n:,}[/]",
        f"[bold]{ok:,}[/]",
        f"[bold]{pct(ok / max(n, 1), digits=2)}[/]",
    )
    wide(100).print(table)
    exceptions = result.rows.filter(~result.rows["reproduced"])
    for row in exceptions.iter_rows(named=True):
        computed = "-" if row["computed_amount"] is None else money(row["computed_amount"])
        console.print(
            f"[dim]- {row['performance_year']} {row['track']} {row['aco_id'] or row['aco_name']}: published "
            f"{money(row['published_amount'])}, computed {computed}: {row['note']}[/]",
            soft_wrap=True,
        )
    if out:
        write_csv(result.rows, out)
        console.print(f"wrote {out}")


@reproduce_app.command("mssp")
def reproduce_mssp_command(
    file: PufFile, out: ReproduceOut = None, performance_year: PufYear = None
) -> None:
    """Settle every ACO-year of an MSSP financial and quality results PUF and compare with CMS's
    EarnSaveLoss; prints the share reproduced by performance year and track."""
    from contracts.reproduce import reproduce_mssp

    try:
        result = reproduce_mssp(file, performance_year=performance_year)
    except VbcError as exc:
        fail(exc)
    _print_reproduction(result, out)


@reproduce_app.command("reach")
def reproduce_reach_command(
    file: PufFile, out: ReproduceOut = None, performance_year: PufYear = None
) -> None:
    """Settle every ACO-year of an ACO REACH financial PUF and compare with CMS's shared_savings
    (before sequestration); prints the share reproduced by performance year and risk option."""
    from contracts.reproduce import reproduce_reach

    try:
        result = reproduce_reach(file, performance_year=performance_year)
    except VbcError as exc:
        fail(exc)
    _print_reproduction(result, out)
