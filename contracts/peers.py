"""Where a panel stands among CMS's published ACOs of a track and year.

The MSSP financial PUF carries, beside each ACO's settlement, CMS's profile of its assigned
beneficiaries: per-capita expenditures by setting (``capann_*``), admissions and ED visits per
1,000 person-years, the mean CMS-HCC risk score, the quality score and the savings rate. The same
figures are computed for the panel from the core and set against the peers' distribution
(percentiles, and the panel's percentile rank).

How the panel's figures are made comparable (stated, not hidden):

- per-capita expenditures by setting are the panel's Parts A and B paid amounts per person-year
  of its service categories (``modeling.core.service_categories``) mapped to CMS's settings:
  acute inpatient -> ``capann_inp_all``; outpatient hospital + emergency department ->
  ``capann_opd``; office/professional -> ``capann_pb``; ambulance -> ``capann_ambpay``; SNF, home
  health, hospice and DME one to one; "other" has no CMS setting and is left out;
- dollars are the panel's own year's; the PUF's are its performance year's (not trended);
- the risk score is the panel's mean CMS-HCC V28 raw score (CMS publishes its renormalized
  prospective score: both are about 1.0 for an average Medicare population, but not identical);
- admissions are acute inpatient stays (``inpatient_stays``) and ED visits are ED person-days
  (``ed_visits``) per 1,000 person-years.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from contracts.history import PanelHistory
from modeling.core.panel import Panel
from modeling.dataset import Dataset
from modeling.errors import ParameterError, SchemaError

# key, PUF column (lower case), label, kind (dollars, rate, count, score)
PEER_METRICS: tuple[tuple[str, str, str, str], ...] = (
    ("savings_rate", "sav_rate", "Savings rate (of the benchmark)", "rate"),
    ("earned_per_capita", "", "Settlement per assigned beneficiary", "dollars"),
    (
        "expenditure_per_capita",
        "per_capita_exp_total_py",
        "Expenditures per person-year",
        "dollars",
    ),
    ("capann_inp_all", "capann_inp_all", "Inpatient per capita", "dollars"),
    ("capann_opd", "capann_opd", "Outpatient hospital per capita", "dollars"),
    ("capann_pb", "capann_pb", "Physician/professional per capita", "dollars"),
    ("capann_snf", "capann_snf", "SNF per capita", "dollars"),
    ("capann_hha", "capann_hha", "Home health per capita", "dollars"),
    ("capann_hsp", "capann_hsp", "Hospice per capita", "dollars"),
    ("capann_dme", "capann_dme", "DME per capita", "dollars"),
    ("capann_ambpay", "capann_ambpay", "Ambulance per capita", "dollars"),
    ("admissions_per_1000", "adm", "Admissions per 1,000", "count"),
    ("ed_visits_per_1000", "p_edv_vis", "ED visits per 1,000", "count"),
    ("risk_score", "cms_hcc_riskscore_py", "Mean CMS-HCC risk score", "score"),
    ("quality_score", "qualscore", "Quality score", "rate"),
)
SETTINGS = {
    "capann_inp_all": ("acute inpatient",),
    "capann_opd": ("outpatient hospital", "emergency department"),
    "capann_pb": ("office/professional",),
    "capann_snf": ("skilled nursing facility",),
    "capann_hha": ("home health",),
    "capann_hsp": ("hospice",),
    "capann_dme": ("durable medical equipment",),
    "capann_ambpay": ("ambulance",),
}


@dataclass(frozen=True)
class PeerComparison:
    """The peers (one row per published ACO, metric columns by key) and, per metric, the panel's
    value, the peers' percentiles and the panel's percentile rank (``placement``)."""

    performance_year: int
    track: str
    peers: pl.DataFrame
    placement: pl.DataFrame


def puf_tracks(puf: pl.DataFrame) -> pl.DataFrame:
    """performance_year, track, ACOs: what a PUF (``contracts.reproduce.read_puf``) offers."""
    for c in ("performance_year", "track"):
        if c not in puf.columns:
            raise SchemaError(
                f"The PUF has no '{c}' column; read it with contracts.reproduce.read_puf."
            )
    return (
        puf.group_by(pl.col("performance_year").cast(pl.Int64, strict=False), "track")
        .agg(pl.len().alias("acos"))
        .sort("performance_year", "track")
    )


def peer_metrics(puf: pl.DataFrame, *, performance_year: int, track: str) -> pl.DataFrame:
    """aco_id, aco_name and every metric of ``PEER_METRICS`` (as numbers) for the published ACOs
    of one performance year and track (e.g. ``basic_e``, ``enhanced``)."""
    rows = puf.filter(
        (pl.col("performance_year").cast(pl.Int64, strict=False) == performance_year)
        & (pl.col("track") == track)
    )
    if rows.is_empty():
        offered = puf_tracks(puf)
        raise ParameterError(
            f"The PUF has no {track} ACOs in performance year {performance_year}; it has "
            + ", ".join(
                f"{r['performance_year']} {r['track']}" for r in offered.iter_rows(named=True)
            )
            + "."
        )

    def num(c: str) -> pl.Expr:
        if c in rows.columns:
            return pl.col(c).cast(pl.Float64, strict=False)
        return pl.lit(None, pl.Float64)

    cols = [
        pl.col("aco_id") if "aco_id" in rows.columns else pl.lit(""),
        pl.col("aco_name") if "aco_name" in rows.columns else pl.lit(""),
    ]
    metrics = [
        (num("earnsaveloss") / num("n_ab")).alias(key)
        if key == "earned_per_capita"
        else num(column).alias(key)
        for key, column, _, _ in PEER_METRICS
    ]
    return rows.select(cols[0].alias("aco_id"), cols[1].alias("aco_name"), *metrics)


def panel_metrics(
    source: Panel | Dataset,
    history: PanelHistory,
    *,
    calendar_year: int,
    savings_rate: float | None = None,
    earned_per_capita: float | None = None,
    quality_score: float | None = None,
) -> dict[str, float | None]:
    """The panel's figures for ``calendar_year`` in the PUF's terms (see the module docstring);
    the savings rate, settlement per capita and quality score come from the user's projection."""
    if calendar_year not in history.years:
        raise ParameterError(
            f"The panel has no {calendar_year}; it covers {history.years[0]}-{history.years[-1]}."
        )
    spend = history.expenditures.filter(pl.col("year") == calendar_year)
    person_years = float(spend["months"].sum()) / 12
    out: dict[str, float | None] = {
        "savings_rate": savings_rate,
        "earned_per_capita": earned_per_capita,
        "quality_score": quality_score,
        "expenditure_per_capita": float(spend["paid"].sum()) / person_years,
    }
    for key, categories in SETTINGS.items():
        present = [c for c in categories if c in spend.columns]
        out[key] = (
            float(spend.select(present).sum().sum_horizontal()[0]) / person_years
            if present
            else None
        )
    panel = Panel.of(source)
    for key, table in (
        ("admissions_per_1000", "inpatient_stays"),
        ("ed_visits_per_1000", "ed_visits"),
    ):
        n = (
            panel.scan(table)
            .filter(pl.col("year") == calendar_year)
            .select(pl.len())
            .collect()
            .item()
        )
        out[key] = 1000 * n / person_years
    risk = history.risk.get(calendar_year)
    out["risk_score"] = (
        None
        if risk is None
        else float((risk["risk"] * risk["scored"]).sum()) / float(risk["scored"].sum())
    )
    return out


def compare_to_peers(
    puf: pl.DataFrame,
    panel: dict[str, float | None],
    *,
    performance_year: int,
    track: str,
) -> PeerComparison:
    """The panel's metrics placed among the published ACOs of a track and year: for each metric
    the peers' 10th/25th/50th/75th/90th percentiles and the share of peers at or below the panel."""
    peers = peer_metrics(puf, performance_year=performance_year, track=track)
    records = []
    for key, _, label, kind in PEER_METRICS:
        values = peers[key].drop_nulls()
        value = panel.get(key)
        q: dict[str, float | None] = {}
        for p in (0.1, 0.25, 0.5, 0.75, 0.9):
            found = values.quantile(p, "linear") if values.len() else None
            q[f"p{round(p * 100)}"] = None if found is None else float(found)
        rank = (
            None
            if value is None or values.len() == 0
            else int((values <= value).sum()) / values.len()
        )
        records.append(
            {
                "metric": key,
                "label": label,
                "kind": kind,
                "panel": value,
                "peers": values.len(),
                **q,
                "percentile_rank": rank,
            }
        )
    return PeerComparison(performance_year, track, peers, pl.DataFrame(records))
