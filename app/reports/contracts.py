"""Contract reports: a settlement's lines as people read them, and the one-page summary of a
simulated distribution (Markdown for a board deck). Figures come from ``contracts``; this module
only writes them with ``app.format``."""

from __future__ import annotations

import polars as pl

from app.format import MISSING, count, money, pct
from contracts.settlement import Line, Settlement
from contracts.simulation import SimulationResult


def _line_text(line: Line) -> str:
    v = line.value
    if v is None:
        return MISSING
    if line.kind == "flag":
        return "yes" if v else "no"
    if line.kind == "rate":
        return pct(v, digits=2)
    if line.kind == "count":
        return count(v)
    if line.kind == "per_capita":
        return money(v, cents=True)
    return money(v)


def settlement_table(settlement: Settlement) -> pl.DataFrame:
    """line, value, key: one row per displayed line of the settlement, the value formatted as
    people read it (dollars, per-capita dollars with cents, rates, counts, yes/no)."""
    shown = [line for line in settlement.lines if line.kind != "hidden"]
    return pl.DataFrame(
        {
            "line": [line.label for line in shown],
            "value": [_line_text(line) for line in shown],
            "key": [line.key for line in shown],
        },
        schema={"line": pl.String, "value": pl.String, "key": pl.String},
    )


def simulation_markdown(
    result: SimulationResult, bars: pl.DataFrame | None, *, title: str | None = None
) -> str:
    """A one-page summary for a board deck: the distribution's figures and, with ``bars`` (the
    tornado's rows), what moves the settlement."""
    s = result.summary()
    lines = [
        f"# {title or result.contract}: {result.draws:,} simulated performance years (seed {result.seed})",
        "",
        f"- Expected settlement: **{money(s.expected_settlement)}** (standard error {money(s.standard_error)}); the deterministic projection: {money(s.deterministic_settlement)}",
        f"- Chance of earning shared savings: **{pct(s.p_shared_savings, digits=0)}**; of owing losses: **{pct(s.p_owes_losses, digits=0)}**",
        f"- Chance of hitting the payment limit: {pct(s.p_hits_payment_limit)}; the loss cap: {pct(s.p_hits_loss_cap)}",
        f"- In a bad year (5% chance or worse): at least **{money(-s.value_at_risk_95)}**; on average in those years (CVaR 95%): {money(-s.cvar_95)}",
        f"- 90% of outcomes between {money(s.p05)} and {money(s.p95)}; median {money(s.median)}",
    ]
    if bars is not None:
        lines += [
            "",
            "| assumption | low | settlement | high | settlement |",
            "|---|---|---|---|---|",
        ]
        lines += [
            f"| {r['assumption']} | {r['low']} | {money(r['settlement_low'])} | {r['high']} | {money(r['settlement_high'])} |"
            for r in bars.iter_rows(named=True)
        ]
    return "\n".join(lines) + "\n"
