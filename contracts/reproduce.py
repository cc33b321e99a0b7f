"""CMS's published settlements reproduced with the project's ``settle``.

CMS publishes every MSSP ACO's settlement inputs and result ("Performance Year Financial and
Quality Results" PUF) and every ACO REACH ACO's (the financial and quality results PUF). This
module reads those files in CMS's layout, by column name and case-insensitively (CMS's files for
different years differ in which columns exist), settles each ACO-year with ``settle`` and says,
row by row, whether the published amount is reproduced within the rounding of the published
inputs, and, when it is not, which input CMS does not publish.

Rules used, each from ``contracts/data`` (nothing here is fitted to rows):

- MSSP: the track's maximum sharing rate, payment limit, loss rate and limit by performance year;
  the size-based MSR of 42 CFR 425.604(b) for one-sided ACOs with 5,000 or more beneficiaries
  (the published ``MinSavPerc`` is rounded, from PY2019 to 4 decimals) and for two-sided ACOs
  whose published rate is not one of the elected options; otherwise the published rate; the
  year's quality rule; sequestration by payment year; the published extreme and uncontrollable
  circumstances adjustment (``DisAdj``). ``EarnSaveLoss`` is the figure reproduced.
- ACO REACH: the published final benchmark (discount and withhold already applied), plus the
  PY2023 health equity benchmark adjustment, against the net total cost of care, through the
  year's risk corridors; ``shared_savings`` (before sequestration) is the figure reproduced.

Each row is one call of ``settle`` (about 2,000 rows: a loop over rows, not a hot path).
"""

from __future__ import annotations

import io
import math
import re
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path

import polars as pl

from contracts.parameters import mssp_rules, size_based_msr
from contracts.settlement import Performance, settle
from contracts.specs import ELECTED_MSR_OPTIONS, MsspSpec, ReachSpec
from modeling.errors import ParameterError, SchemaError

MSSP_REQUIRED = (
    "performance_year",
    "aco_name",
    "n_ab",
    "abtotbnchmk",
    "abtotexp",
    "minsavperc",
    "earnsaveloss",
    "met_qps",
    "qualscore",
)
REACH_REQUIRED = (
    "perf_year",
    "aco_id",
    "aco_name",
    "risk_arrangement",
    "final_benchmark",
    "tot_cost_care_net",
    "shared_savings",
)
# CMS's own files carry the track as flags instead of the shared file's derived ``track``
TRACK_FLAGS = {
    "current_track_1": "track_1",
    "current_track_1_plus": "track_1_plus",
    "current_track_2": "track_2",
    "current_track_3": "track_3",
    "current_basic_a": "basic_a",
    "current_basic_b": "basic_b",
    "current_basic_c": "basic_c",
    "current_basic_d": "basic_d",
    "current_basic_e": "basic_e",
    "current_enhanced": "enhanced",
}
OUTPUT_COLUMNS = (
    "performance_year",
    "aco_id",
    "aco_name",
    "published_amount",
    "computed_amount",
    "difference",
    "reproduced",
    "note",
    "track",
    "tolerance",
)
# one unit in the last published digit of QualScore / FinalShareRate (4 decimals): half of it is
# the rounding; whole-dollar totals add up to a dollar each side
QUALITY_ROUNDING = 0.00005
DOLLAR_ROUNDING = 2.0
# the REACH PUF publishes cents, but CMS rounds its intermediate figures (net cost after stop-loss,
# gross savings, each corridor's amount) to cents on the way: a dollar covers them
REACH_ROUNDING = 1.0


SAMPLE_FILES = {
    "mssp": "mssp_aco_puf_2014_2021.csv",
    "reach": "reach_financial_puf_2021_2023.csv",
}


def sample_puf(program: str) -> pl.DataFrame:
    """The PUF sample shipped with the package (about half of CMS's published ACO-years: MSSP
    PY2014-2021, ACO REACH PY2021-2023; ``contracts/data/puf/README.md``), columns lower-cased."""
    if program not in SAMPLE_FILES:
        raise ParameterError(f"program must be 'mssp' or 'reach' (got {program!r}).")
    raw = files("contracts").joinpath("data", "puf", SAMPLE_FILES[program]).read_bytes()
    return read_puf(pl.read_csv(raw, infer_schema=False), program=program)


@dataclass(frozen=True)
class Reproduction:
    """One row per ACO-year (``rows``, columns ``OUTPUT_COLUMNS``) and the share reproduced by
    performance year and track (``summary``)."""

    program: str
    rows: pl.DataFrame
    summary: pl.DataFrame

    @property
    def share_reproduced(self) -> float:
        return int(self.rows["reproduced"].sum()) / max(self.rows.height, 1)


def read_puf(
    source: str | Path | pl.DataFrame, *, program: str, performance_year: int | None = None
) -> pl.DataFrame:
    """A PUF (CSV path or frame) with lower-case column names, checked for the program's
    required columns (``mssp`` or ``reach``); a missing one is a ``SchemaError`` naming it. An
    MSSP file without the derived ``track`` gets it from CMS's Current_Track_* flags.

    CMS's own single-year files carry no year column: ``performance_year`` supplies it (it never
    overrides a year the file has). Rate columns that CMS published in percent in some years
    (any value above 1.5 in ``minsavperc``, ``qualscore``, ``finalsharerate``, ``maxsharerate``,
    ``sav_rate``) are read as percent and divided by 100, column by column."""
    if program not in ("mssp", "reach"):
        raise ParameterError(f"program must be 'mssp' or 'reach' (got {program!r}).")
    if isinstance(source, pl.DataFrame):
        frame, where = source, "the PUF frame"
    else:
        path = Path(source)
        if not path.is_file():
            raise SchemaError(
                f"No PUF file at {path}: give the CSV downloaded from data.cms.gov (or the shared sample)."
            )
        try:
            text = path.read_bytes().decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise SchemaError(
                f"{path} is not UTF-8 text (byte {exc.start:,} cannot be read as UTF-8), so its "
                "ACO names would be read wrongly: re-save the file as UTF-8 (data.cms.gov's CSV "
                "downloads are UTF-8)."
            ) from None
        try:
            frame = pl.read_csv(io.BytesIO(text.encode("utf-8")), infer_schema=False)
        except pl.exceptions.PolarsError as exc:
            raise SchemaError(f"{path} is not a readable CSV: {exc}.") from None
        where = str(path)
    lower = [c.strip().lower() for c in frame.columns]
    dupes = sorted({c for c in lower if lower.count(c) > 1})
    if dupes:
        raise SchemaError(
            f"{where} has columns that differ only in case: {', '.join(dupes)}; keep one of each."
        )
    frame = frame.rename(dict(zip(frame.columns, lower, strict=True)))
    year_column = "performance_year" if program == "mssp" else "perf_year"
    if performance_year is not None and year_column not in frame.columns:
        frame = frame.with_columns(pl.lit(str(performance_year)).alias(year_column))
    if program == "mssp":
        frame = _fractions(frame)
    required = MSSP_REQUIRED if program == "mssp" else REACH_REQUIRED
    missing = [c for c in required if c not in frame.columns]
    if (
        program == "mssp"
        and "track" not in frame.columns
        and not (set(TRACK_FLAGS) & set(frame.columns))
    ):
        missing.append(
            "track (or CMS's Current_Track_* / Current_BASIC_* / Current_ENHANCED flags)"
        )
    if missing:
        raise SchemaError(
            f"{where} is missing the required {program.upper()} PUF column(s) {', '.join(missing)} "
            "(names are matched case-insensitively); see shared/reference/puf/README.md for the layout"
            + (
                "; a single-year file from CMS has no year column: give the performance year."
                if year_column in missing
                else "."
            )
        )
    return _track_column(frame) if program == "mssp" else frame


PERCENT_COLUMNS = ("minsavperc", "qualscore", "finalsharerate", "maxsharerate", "sav_rate")


def _fractions(frame: pl.DataFrame) -> pl.DataFrame:
    """Rate columns as fractions: a column with any value above 1.5 is in percent."""
    out = frame
    for c in PERCENT_COLUMNS:
        if c not in frame.columns:
            continue
        values = frame[c].cast(pl.Float64, strict=False)
        top = values.max()
        if top is not None and float(top) > 1.5:  # type: ignore[arg-type]
            out = out.with_columns((values / 100).cast(pl.String).alias(c))
    return out


def _num(value: object) -> float | None:
    if value is None or value == "":
        return None
    try:
        out = float(str(value).replace(",", "").replace("$", "").replace("%", ""))
    except ValueError:
        return None
    return None if math.isnan(out) else out


def _track_column(frame: pl.DataFrame) -> pl.DataFrame:
    if "track" in frame.columns:
        return frame
    flags = [c for c in TRACK_FLAGS if c in frame.columns]
    expr = pl.lit(None, dtype=pl.String)
    for c in reversed(flags):
        expr = (
            pl.when(pl.col(c).cast(pl.Float64, strict=False) == 1)
            .then(pl.lit(TRACK_FLAGS[c]))
            .otherwise(expr)
        )
    return frame.with_columns(expr.alias("track"))


def _spec_track(track: str) -> tuple[str, str | None]:
    t = track.strip().lower()
    if t.startswith("basic_") and len(t) == 7:
        return "BASIC", t[-1].upper()
    return t.upper(), None


def _msr(two_sided: bool, n: int, published: float | None) -> float:
    """The MSR CMS applied: the 425.604(b) table for one-sided ACOs of 5,000 or more and for
    two-sided ACOs whose published rate is not an elected option; otherwise the published one."""
    elected = published is not None and any(abs(published - o) < 1e-9 for o in ELECTED_MSR_OPTIONS)
    if n >= 5000 and (not two_sided or not elected):
        return size_based_msr(n)
    if published is None:
        raise ParameterError("no published MSR for an ACO below 5,000 beneficiaries")
    return published


def _two_sided_year(row: dict, performance_year: int) -> int | None:
    """The performance year of the current agreement, from ``current_start_date`` (any format
    with a four-digit year); Track 2 agreements are two-sided from their first year."""
    found = re.search(r"(19|20)\d\d", str(row.get("current_start_date") or ""))
    return None if found is None else max(1, performance_year - int(found.group(0)) + 1)


def _meets_standard(row: dict) -> bool:
    """``Met_QPS`` where published; the PY2014-2015 files do not carry it, and there a positive
    ``FinalShareRate`` (zero when the standard is failed) says the standard was met."""
    met = _num(row.get("met_qps"))
    if met is not None:
        return met == 1
    final = _num(row.get("finalsharerate"))
    return final is not None and final > 0


def _mssp_row(row: dict) -> dict:
    py = int(_num(row["performance_year"]) or 0)
    track, level = _spec_track(str(row.get("track") or ""))
    published = _num(row["earnsaveloss"]) or 0.0
    out = {
        "performance_year": py,
        "aco_id": row.get("aco_id") or "",
        "aco_name": row.get("aco_name") or "",
        "published_amount": published,
        "track": str(row.get("track") or ""),
    }
    n = int(_num(row["n_ab"]) or 0)
    bench, exp = _num(row["abtotbnchmk"]), _num(row["abtotexp"])
    if not track or bench is None or exp is None or n <= 0 or bench <= 0:
        return out | {
            "computed_amount": None,
            "tolerance": None,
            "note": "benchmark, expenditures, beneficiaries or track not published",
        }
    try:
        rules = mssp_rules(py, track, level)
        quality = _num(row["qualscore"])
        final_rate = _num(row.get("finalsharerate"))
        if quality is None and final_rate is not None:
            # FinalShareRate is "QualPerfShare multiplied by QualScore" (CMS data dictionary)
            quality = final_rate / rules.max_sharing_rate
        quality = None if quality is None else min(max(quality, 0.0), 1.0)
        msr = _msr(rules.two_sided, n, _num(row["minsavperc"]))
        euc = _num(row.get("disadj"))
        revenue_limit = _num(row.get("revlosslimit")) == 1
        spec = MsspSpec(
            name=str(out["aco_name"]),
            performance_year=py,
            track=track,  # type: ignore[arg-type]
            level=level,  # type: ignore[arg-type]
            sequestration=True,
            two_sided_year=_two_sided_year(row, py) if track == "TRACK_2" else None,
        )
        perf = Performance(
            benchmark_per_capita=bench / n,
            expenditure_per_capita=exp / n,
            person_years=n,
            assigned_beneficiaries=n,
            quality_score=quality,
            meets_quality_standard=_meets_standard(row),
            msr=msr,
            mlr=msr if rules.two_sided else None,
            revenue_loss_limit_applies=False,
            euc_loss_adjustment=euc if euc else None,
        )
        unknown_year = track == "TRACK_2" and spec.two_sided_year is None
        if not unknown_year:
            result = settle(spec, perf)
        else:
            # the file does not say which year of two-sided risk the ACO was in: the loss limit
            # (5%, 7.5%, 10%) matters only when the shared loss reaches the smallest of them
            first = settle(spec.model_copy(update={"two_sided_year": 1}), perf)
            third = settle(spec.model_copy(update={"two_sided_year": 3}), perf)
            result = first
    except ParameterError as exc:
        return out | {"computed_amount": None, "tolerance": None, "note": str(exc)}
    if unknown_year and first.amount != third.amount:
        return out | {
            "computed_amount": None,
            "tolerance": None,
            "note": "Track 2 loss limit: the ACO's year of two-sided risk (current_start_date) is not published "
            f"(computed {first.amount:,.0f} at 5% to {third.amount:,.0f} at 10% of the benchmark)",
        }
    savings = abs(bench - exp)
    tolerance = DOLLAR_ROUNDING
    if quality is not None and (rules.quality_rule == "score_scaled" or published < 0):
        tolerance += savings * rules.max_sharing_rate * QUALITY_ROUNDING
    note = ""
    computed = result.amount
    if abs(computed - published) > tolerance:
        if revenue_limit and published < 0:
            note = (
                "revenue-based loss limit: ACO participants' total Parts A and B FFS revenue is not published "
                f"(computed with the benchmark-based limit, {result['loss_cap']:,.0f})"
            )
        elif (result.get("msr_met") is False or result.get("mlr_met") is False) and abs(
            savings / bench - msr
        ) < 0.00005:
            note = "savings rate within rounding of the published (rounded) MSR: the unrounded rate CMS used is not published"
        else:
            note = "not reproduced by the year's rule"
    return out | {"computed_amount": computed, "tolerance": tolerance, "note": note}


def _finish(program: str, records: list[dict]) -> Reproduction:
    rows = pl.DataFrame(
        records,
        schema={
            "performance_year": pl.Int64,
            "aco_id": pl.String,
            "aco_name": pl.String,
            "published_amount": pl.Float64,
            "computed_amount": pl.Float64,
            "track": pl.String,
            "tolerance": pl.Float64,
            "note": pl.String,
        },
    ).with_columns(
        (pl.col("computed_amount") - pl.col("published_amount")).alias("difference"),
    )
    rows = rows.with_columns(
        (pl.col("difference").abs() <= pl.col("tolerance")).fill_null(False).alias("reproduced")
    ).select(OUTPUT_COLUMNS)
    summary = (
        rows.group_by("performance_year", "track")
        .agg(pl.len().alias("rows"), pl.col("reproduced").sum().alias("reproduced"))
        .with_columns((pl.col("reproduced") / pl.col("rows")).alias("share_reproduced"))
        .sort("performance_year", "track")
    )
    return Reproduction(program, rows, summary)


def reproduce_mssp(
    source: str | Path | pl.DataFrame, *, performance_year: int | None = None
) -> Reproduction:
    """Settle every ACO-year of an MSSP financial PUF with ``settle`` and compare with CMS's
    ``EarnSaveLoss``; ``reproduced`` is true within the rounding of the published inputs (two
    dollars for whole-dollar totals, plus half a unit in the 4th decimal of the quality score times
    the maximum rate on the savings or losses where the score enters)."""
    frame = read_puf(source, program="mssp", performance_year=performance_year)
    return _finish("mssp", [_mssp_row(r) for r in frame.iter_rows(named=True)])


def _reach_row(row: dict) -> dict:
    py = int(_num(row["perf_year"]) or 0)
    option = str(row.get("risk_arrangement") or "").strip().lower()
    published = _num(row["shared_savings"]) or 0.0
    out = {
        "performance_year": py,
        "aco_id": row.get("aco_id") or "",
        "aco_name": row.get("aco_name") or "",
        "published_amount": published,
        "track": option,
    }
    bench, cost = _num(row["final_benchmark"]), _num(row["tot_cost_care_net"])
    if bench is None or cost is None or bench <= 0 or option not in ("global", "professional"):
        return out | {
            "computed_amount": None,
            "tolerance": None,
            "note": "final benchmark, net cost or risk arrangement not published",
        }
    heba = (_num(row.get("heba_up_amt")) or 0.0) + (_num(row.get("heba_down_amt")) or 0.0)
    try:
        # the PUF publishes totals only: the ACO is settled as one unit (person_years = 1), which
        # leaves every total and rate as published
        spec = ReachSpec(
            name=str(out["aco_name"]),
            performance_year=py,
            risk_option=option,  # type: ignore[arg-type]
            benchmark_basis="final",
        )
        perf = Performance(
            benchmark_per_capita=bench,
            expenditure_per_capita=cost,
            person_years=1,
            health_equity_adjustment_per_capita=heba if heba else None,
        )
        result = settle(spec, perf)
    except ParameterError as exc:
        return out | {"computed_amount": None, "tolerance": None, "note": str(exc)}
    from contracts.parameters import reach_rules

    note = ""
    discount = _num(row.get("discount"))
    expected = reach_rules(py, option).discount
    if discount is not None and abs(discount / 100 - expected) > 1e-9:
        note = f"published discount {discount:g}% differs from the {expected:.1%} in contracts/data/reach_parameters.csv"
    tolerance = REACH_ROUNDING
    if abs(result.amount - published) > tolerance and not note:
        note = "not reproduced by the year's corridors"
    after = _num(row.get("shared_savings_seq"))
    if after is not None and not note:
        # the published amount after sequestration (2% of positive amounts by payment year)
        with_seq = settle(spec.model_copy(update={"sequestration": True}), perf).amount
        if abs(with_seq - after) > tolerance:
            note = (
                f"shared savings reproduced; the published amount after sequestration ({after:,.2f}) is not "
                f"2% less ({with_seq:,.2f} computed), and what else CMS withheld is not published"
            )
    return out | {"computed_amount": result.amount, "tolerance": tolerance, "note": note}


def reproduce_reach(
    source: str | Path | pl.DataFrame, *, performance_year: int | None = None
) -> Reproduction:
    """Settle every ACO-year of an ACO REACH financial PUF with ``settle`` and compare with CMS's
    ``shared_savings`` (before sequestration), to the cent the file publishes."""
    frame = read_puf(source, program="reach", performance_year=performance_year)
    return _finish("reach", [_reach_row(r) for r in frame.iter_rows(named=True)])
