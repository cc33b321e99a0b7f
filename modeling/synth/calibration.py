"""Calibration report: each figure of ``shared/reference/calibration.md`` measured from the claims.

Figures are measured from the canonical tables, not the generator's latent variables:

- population shares are per member-year (members with at least one member month in the year),
  by the member's last month in the year; ``share_new`` counts members whose first enrollment
  starts in the year, over the years after the first (the first year has no history);
  long-term institutional status is inferred as an analyst would from claims: nursing-facility
  E&M visits (place of service 32 or CPT 99304-99310) spanning 90 days or more in the year;
- spending means are Parts A+B paid / person-years (annualized by months enrolled); shares of
  spending, zero spenders and the year-over-year correlation use each member-year's total;
  the correlation pairs members enrolled all 12 months of consecutive years;
- chronic-condition prevalence: a member-year has the condition if any claim in the year
  carries a code in the condition's ICD-10 families (``ccw_conditions.csv``); CCW's own
  algorithms add claim-count and lookback rules that are not applied here;
- risk scores: CMS-HCC V28 raw scores from ``hccinfhir.calculate_raf`` (an independent
  implementation) on a seeded random sample of full-year non-ESRD members of the last complete
  year, with diagnoses from risk-adjustment-eligible claims of that year
  (``modeling.core.conditions``) and age as of February 1 of the following year.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from modeling.codes import FULL_OR_PARTIAL_DUAL
from modeling.core.conditions import risk_adjustment_diagnoses
from modeling.core.encounters import long_term_institutional
from modeling.core.member_months import member_months
from modeling.core.panel import Panel
from modeling.core.spend import medical_spend, pharmacy_spend
from modeling.dataset import Dataset
from modeling.marts.pmpm import utilization_by_year
from modeling.marts.quality.adherence import pdc_rows
from modeling.marts.quality.hospital import readmission_rows
from modeling.marts.quality.pqi import pqi_rows
from modeling.marts.quality.screening import breast_screening_rows, colorectal_screening_rows
from modeling.schema import DIAGNOSIS_COLUMNS
from modeling.synth.params import read_table

CATEGORY_FIGURES = {
    "cat_acute_inpatient": ["acute inpatient"],
    "cat_snf": ["skilled nursing facility"],
    "cat_home_health": ["home health"],
    "cat_hospice": ["hospice"],
    "cat_outpatient": ["outpatient hospital", "emergency department"],
    "cat_professional": ["office/professional"],
    "cat_dme": ["durable medical equipment"],
    "cat_ambulance": ["ambulance"],
}


def _total(column: pl.Series) -> float:
    """The sum of a numeric column as a float (polars types a sum as int, float or Decimal)."""
    return float(column.sum())


def targets() -> pl.DataFrame:
    return read_table("calibration_targets.csv")


def member_years(dataset: Dataset) -> pl.DataFrame:
    """One row per person-year: months enrolled, enrollment type and status in the year's last month."""
    mm = member_months(dataset.scan("eligibility"))
    return (
        mm.sort("person_id", "year_month")
        .group_by("person_id", "year")
        .agg(
            pl.len().alias("months"),
            pl.col("enrollment_type").last(),
            pl.col("medicare_status_code").last(),
            pl.col("dual_status_code").last(),
            pl.col("original_reason_entitlement_code").last(),
            pl.col("gender").last(),
            pl.col("birth_date").last(),
            pl.col("death_date").last(),
            pl.col("year_month").min().alias("first_month"),
        )
        .collect()
    )


def _institutional(dataset: Dataset) -> pl.DataFrame:
    return (
        long_term_institutional(dataset.scan("medical_claim"))
        .with_columns(pl.lit(True).alias("institutional"))
        .collect()
    )


def _prevalence(dataset: Dataset, my: pl.DataFrame) -> dict[str, float]:
    ccw = read_table("ccw_conditions.csv")
    dx = (
        dataset.scan("medical_claim")
        .select("person_id", pl.col("claim_start_date").dt.year().alias("year"), *DIAGNOSIS_COLUMNS)
        .unpivot(index=["person_id", "year"], value_name="code")
        .filter(pl.col("code").is_not_null())
        .select(
            "person_id",
            "year",
            pl.col("code").str.slice(0, 3).alias("c3"),
            pl.col("code").str.slice(0, 4).alias("c4"),
        )
        .unique()
        .collect()
    )
    out = {}
    denominator = my.height
    for row in ccw.iter_rows(named=True):
        prefixes = row["icd10_prefixes"].split()
        hit = dx.filter(
            pl.col("c3").is_in([p for p in prefixes if len(p) == 3])
            | pl.col("c4").is_in([p for p in prefixes if len(p) == 4])
        )
        n = (
            hit.select("person_id", "year")
            .unique()
            .join(my.select("person_id", "year"), on=["person_id", "year"])
            .height
        )
        out[f"prev_{row['condition']}"] = n / denominator
    return out


def _risk_scores(dataset: Dataset, my: pl.DataFrame, sample: int, seed: int) -> dict[str, float]:
    from hccinfhir.model_calculate import calculate_raf

    years = sorted(my["year"].unique().to_list())
    full = my.filter((pl.col("months") == 12) & (pl.col("enrollment_type") != "esrd"))
    year = max((y for y in years if full.filter(pl.col("year") == y).height), default=None)
    if year is None:
        return {}
    people = full.filter(pl.col("year") == year)
    if people.height > sample:
        people = people.sample(sample, seed=seed)
    claims = dataset.scan("medical_claim").filter(
        pl.col("person_id").is_in(people["person_id"].implode())
    )
    dx = (
        risk_adjustment_diagnoses(claims, min(year, 2027))
        .select("person_id", pl.col("diagnosis_code").alias("code"))
        .unique()
        .group_by("person_id")
        .agg(pl.col("code"))
        .collect()
    )
    inst = _institutional(dataset).filter(pl.col("year") == year)
    frame = people.join(dx, on="person_id", how="left").join(
        inst.select("person_id", "institutional"), on="person_id", how="left"
    )
    feb1 = np.datetime64(f"{year + 1}-02-01")
    scores, counts = [], []
    for r in frame.iter_rows(named=True):
        age = int((feb1 - np.datetime64(r["birth_date"])).astype(int) // 365.25)
        res = calculate_raf(
            r["code"] or [],
            model_name="CMS-HCC Model V28",
            age=age,
            sex="F" if r["gender"] == "female" else "M",
            dual_elgbl_cd=r["dual_status_code"]
            if r["dual_status_code"] not in (None, "NA", "00")
            else "NA",
            orec=r["original_reason_entitlement_code"] or "0",
            crec=r["original_reason_entitlement_code"] or "0",
            lti=bool(r["institutional"]),
        )
        scores.append(res.risk_score)
        counts.append(len(res.hcc_list))
    counts_arr = np.array(counts)
    return {
        "v28_mean_raw": float(np.mean(scores)),
        "share_no_hcc": float(np.mean(counts_arr == 0)),
        "share_4plus_hcc": float(np.mean(counts_arr >= 4)),
    }


def _screening(dataset: Dataset, year: int) -> dict[str, float]:
    """The claims-based screening rates of the quality engine in ``year`` (the panel's last)."""
    panel = Panel(dataset)
    out = {}
    for key, rows in (
        ("screening_breast", breast_screening_rows),
        ("screening_colorectal", colorectal_screening_rows),
    ):
        f = rows(panel, year).select(pl.col("numerator").sum(), pl.col("denominator").sum())
        n, d = f.collect().row(0)
        out[key] = n / d if d else float("nan")
    return out


def _adherence(dataset: Dataset, year: int) -> dict[str, float]:
    """The share of members with PDC >= 80% in each Part D adherence measure in ``year`` (the
    panel's last), by the quality engine."""
    shares = (
        pdc_rows(Panel(dataset), year)
        .group_by("measure_id")
        .agg((pl.col("numerator").sum() / pl.col("denominator").sum()).alias("share"))
        .collect()
    )
    return {f"adherence_{m.removeprefix('pdc_')}": s for m, s in shares.iter_rows()}


PQI_FIGURES = {
    "pqi_overall_oe": "pqi_90",
    "pqi_pneumonia_oe": "pqi_11",
    "pqi_diabetes_oe": "pqi_93",
    "pqi_hypertension_oe": "pqi_07",
    "pqi_amputation_oe": "pqi_16",
}


def _avoidable_hospital_use(dataset: Dataset, year: int) -> dict[str, float]:
    """AHRQ PQI 90 (overall), 11 (community-acquired pneumonia), 93 (diabetes composite), 07
    (hypertension) and 16 (diabetic lower-extremity amputation) observed over AHRQ's age/sex expected admissions, and the hospital-wide 30-day readmission
    rate of index stays 65+ (#479 style), by the quality engine in ``year`` (the panel's last)."""
    panel = Panel(dataset)
    pqi = (
        pqi_rows(panel, year)
        .filter(pl.col("measure_id").is_in(list(PQI_FIGURES.values())))
        .group_by("measure_id")
        .agg(pl.col("numerator").sum(), pl.col("expected").sum())
        .collect()
    )
    oe = {m: n / e if e else float("nan") for m, n, e in pqi.iter_rows()}
    out = {figure: oe.get(m, float("nan")) for figure, m in PQI_FIGURES.items()}
    n, d = (
        readmission_rows(panel, year)
        .select(pl.col("numerator").sum(), pl.col("denominator").sum())
        .collect()
        .row(0)
    )
    out["hwr_readmission"] = n / d if d else float("nan")
    return out


def measure(dataset: Dataset, *, risk_sample: int = 4_000, seed: int = 0) -> pl.DataFrame:
    """Achieved value of every calibration figure beside its target and tolerance."""
    my = member_years(dataset)
    inst = _institutional(dataset)
    my = my.join(inst, on=["person_id", "year"], how="left").with_columns(
        pl.col("institutional").fill_null(False)
    )
    years = sorted(my["year"].unique().to_list())
    spend_by_category = medical_spend(dataset.scan("medical_claim")).collect()
    spend = spend_by_category.group_by("person_id", "year").agg(
        pl.col("paid_amount").sum().alias("cost")
    )
    my = my.join(spend, on=["person_id", "year"], how="left").with_columns(
        pl.col("cost").fill_null(0.0)
    )
    fig: dict[str, float] = {}
    fig["share_aged"] = my.select(
        pl.col("enrollment_type").is_in(["aged_dual", "aged_non_dual"]).mean()
    ).item()
    fig["share_disabled"] = my.select((pl.col("enrollment_type") == "disabled").mean()).item()
    fig["share_esrd"] = my.select((pl.col("enrollment_type") == "esrd").mean()).item()
    fig["share_dual"] = my.select(
        pl.col("dual_status_code").is_in(FULL_OR_PARTIAL_DUAL).mean()
    ).item()
    fig["share_institutional"] = my.select(pl.col("institutional").mean()).item()
    fig["mortality"] = my.select(
        (pl.col("death_date").dt.year() == pl.col("year")).fill_null(False).mean()
    ).item()
    first_start = my.group_by("person_id").agg(pl.col("first_month").min().alias("first_ever"))
    later = my.filter(pl.col("year") > years[0]).join(first_start, on="person_id")
    fig["share_new"] = (
        later.select((pl.col("first_ever").dt.year() == pl.col("year")).mean()).item()
        if later.height
        else float("nan")
    )

    person_years_total = _total(my["months"]) / 12
    fig["spend_mean"] = _total(my["cost"]) / person_years_total
    for key, etype in (
        ("spend_aged_non_dual", "aged_non_dual"),
        ("spend_aged_dual", "aged_dual"),
        ("spend_disabled", "disabled"),
        ("spend_esrd", "esrd"),
    ):
        g = my.filter(pl.col("enrollment_type") == etype)
        fig[key] = _total(g["cost"]) / (_total(g["months"]) / 12) if g.height else float("nan")
    fig["share_zero_spend"] = my.select((pl.col("cost") <= 0).mean()).item()
    shares: dict[str, list[float]] = {
        "top1_share": [],
        "top5_share": [],
        "top10_share": [],
        "bottom50_share": [],
    }
    for y in years:
        c = np.sort(my.filter(pl.col("year") == y)["cost"].to_numpy())[::-1]
        total, n = c.sum(), len(c)
        shares["top1_share"].append(c[: max(1, n // 100)].sum() / total)
        shares["top5_share"].append(c[: max(1, n // 20)].sum() / total)
        shares["top10_share"].append(c[: max(1, n // 10)].sum() / total)
        shares["bottom50_share"].append(c[n - n // 2 :].sum() / total)
    fig.update({k: float(np.mean(v)) for k, v in shares.items()})
    full = my.filter(pl.col("months") == 12).select(
        "person_id", "year", pl.col("cost").log1p().alias("lc")
    )
    pairs = full.join(
        full.with_columns(pl.col("year") - 1), on=["person_id", "year"], suffix="_next"
    )
    fig["yoy_correlation"] = (
        pairs.select(pl.corr("lc", "lc_next")).item() if pairs.height > 2 else float("nan")
    )
    rx = pharmacy_spend(dataset.scan("pharmacy_claim")).collect()
    fig["part_d_mean"] = _total(rx["allowed_amount"]) / person_years_total

    by_cat = spend_by_category.group_by("service_category").agg(pl.col("paid_amount").sum())
    total = _total(by_cat["paid_amount"])
    for key, cats in CATEGORY_FIGURES.items():
        fig[key] = (
            _total(by_cat.filter(pl.col("service_category").is_in(cats))["paid_amount"]) / total
        )

    util = utilization_by_year(dataset)
    py = _total(util["person_years"])
    fig["admits_per_1000"] = _total(util["admissions"]) / py * 1000
    fig["alos"] = _total(util["mean_length_of_stay"] * util["admissions"]) / _total(
        util["admissions"]
    )
    fig["readmission_rate"] = _total(util["readmission_rate"] * util["index_stays"]) / _total(
        util["index_stays"]
    )
    fig["ed_per_1000"] = _total(util["ed_visits"]) / py * 1000
    fig["snf_per_1000"] = _total(util["snf_stays"]) / py * 1000
    fig["hh_per_1000"] = _total(util["home_health_episodes"]) / py * 1000
    fig["joint_per_1000"] = _total(util["joint_replacements"]) / py * 1000
    em = (
        dataset.scan("medical_claim")
        .filter(
            (pl.col("claim_type") == "professional")
            & pl.col("hcpcs_code").str.contains(r"^99(20[2-5]|21[1-5]|30[4-9]|310)$")
            & ~pl.col("place_of_service_code").is_in(["21", "23"])
        )
        .select(pl.col("service_unit_quantity").sum())
        .collect()
        .item()
    )
    fig["em_per_py"] = (em or 0.0) / py

    fig.update(_prevalence(dataset, my))
    fig.update(_risk_scores(dataset, my, risk_sample, seed))
    fig.update(_screening(dataset, years[-1]))
    fig.update(_adherence(dataset, years[-1]))
    fig.update(_avoidable_hospital_use(dataset, years[-1]))
    t = targets()
    return t.with_columns(
        pl.col("figure")
        .replace_strict(fig, default=None, return_dtype=pl.Float64)
        .alias("achieved")
    ).with_columns(
        pl.col("achieved")
        .is_between(pl.col("low"), pl.col("high"))
        .fill_null(False)
        .alias("within_tolerance")
    )
