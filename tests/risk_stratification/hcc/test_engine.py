"""CMS-HCC engine: differential test against hccinfhir, hand-computed scores."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest
from hccinfhir.model_calculate import calculate_raf

from risk_stratification.hcc import (
    CommunityModel,
    EsrdModel,
    cc_index,
    load_tables,
    score,
    segment_model,
)


def generated_people(model: str, n: int, seed: int) -> tuple[pl.DataFrame, pl.DataFrame]:
    """People spanning every segment, age band, sex, dual code and OREC, with diagnoses drawn from
    the model's mapping table and (for ~15% of codes) from codes that carry age/sex edits."""
    rng = np.random.default_rng(seed)
    tables = load_tables(model)
    codes = tables.dx_to_cc["diagnosis_code"].unique().sort().to_numpy()
    edit_codes = tables.edits["diagnosis_code"].unique().sort().to_numpy()
    people = pl.DataFrame(
        {
            "person_id": [f"p{i:05d}" for i in range(n)],
            "age": rng.integers(0, 101, n),
            "gender": rng.choice(["female", "male"], n),
            "orec": rng.choice(["0", "1", "2", "3"], n, p=[0.6, 0.3, 0.05, 0.05]),
            "dual_status_code": rng.choice(
                ["NA", "00", "01", "02", "03", "04", "05", "06", "08"], n
            ),
            "lti": rng.random(n) < 0.12,
            "new_enrollee": rng.random(n) < 0.12,
            "snp": rng.random(n) < 0.3,
        }
    )
    k = rng.integers(0, 16, n)
    total = int(k.sum())
    dx = pl.DataFrame(
        {
            "person_id": np.repeat(people["person_id"].to_numpy(), k),
            "diagnosis_code": np.where(
                rng.random(total) < 0.15, rng.choice(edit_codes, total), rng.choice(codes, total)
            ),
        }
    )
    return people, dx


def agrees_with_hccinfhir(model: str, n: int) -> None:
    """Every person's HCC set is identical and the raw score agrees within 0.0005.

    Two differences are by design, each following CMS rather than the reference library:
    - new enrollee AND long-term institutional: CMS scores anyone with under 12 months of Part B
      in the data collection year with the new-enrollee model (there is no institutional NE
      segment; CY2026 Rate Announcement, Attachment VI); hccinfhir picks INS first. The reference
      is called with lti=False for these people.
    - institutional, aged and originally disabled: CMS's V28/V24 institutional segment has the
      ORIGDS variable (ORIGDS = OREC '1' and not disabled; coefficient INS_ORIGDS in the CMS
      coefficient table); hccinfhir does not create it. The INS_ORIGDS coefficient is added to the
      reference score for these people.
    - an age edit that invalidates a diagnosis mapping to two CCs (90 V28 codes, MCE age edits):
      CMS's edit invalidates the diagnosis, so neither CC is assigned (V28 edit macro V28I0ED3 /
      MCE age conditions); hccinfhir removes only one of the two CCs, chosen by set iteration
      order. Such diagnoses are removed from the reference input for the people whose age fires
      the edit.
    - new enrollees entitled by ESRD (OREC 2 or 3): hccinfhir switches them to the grouped
      65_69 cells, which have no NE coefficient, and scores 0; CMS's NE variables depend on age,
      sex, Medicaid and originally-disabled status only (NE cells of the CMS-HCC software). The
      reference is called with the OREC that yields the same NE cell (1 below 65, 0 from 65).
    """
    people, dx = generated_people(model, n, seed=2026 if model == "V28" else 2020)
    ours = score(people, dx, model=model, payment_year=2026).scores
    tables = load_tables(model)
    origds = tables.coefficients.filter(pl.col("key") == "ins_origds")["coefficient"][0]
    multi_cc = tables.dx_to_cc.group_by("diagnosis_code").len().filter(pl.col("len") > 1)
    invalidating = {
        r["diagnosis_code"]: (r["age_min"], r["age_max"])
        for r in tables.edits.join(multi_cc, on="diagnosis_code")
        .filter(pl.col("action") == "invalid")
        .iter_rows(named=True)
    }

    def cms_valid(code: str, age: int) -> bool:
        if code not in invalidating:
            return True
        lo, hi = invalidating[code]
        return not ((hi is not None and age <= hi) or (lo is not None and age >= lo))

    rows = people.join(
        dx.group_by("person_id").agg("diagnosis_code"), on="person_id", how="left"
    ).join(ours, on="person_id", suffix="_ours")
    segments, problems = set(), []
    for r in rows.iter_rows(named=True):
        codes = [c for c in (r["diagnosis_code"] or []) if cms_valid(c, r["age"])]
        orec = r["orec"]
        if r["new_enrollee"] and orec in ("2", "3"):
            orec = "1" if r["age"] < 65 else "0"
        ref = calculate_raf(
            codes,
            model_name=f"CMS-HCC Model {model}",
            age=r["age"],
            sex="F" if r["gender"] == "female" else "M",
            dual_elgbl_cd=r["dual_status_code"],
            orec=orec,
            crec=orec,
            new_enrollee=r["new_enrollee"],
            snp=r["snp"],
            lti=r["lti"] and not r["new_enrollee"],
        )
        expected = ref.risk_score + (
            origds if r["segment"] == "INS" and r["orec"] == "1" and r["age"] >= 65 else 0.0
        )
        expected_hccs = [] if r["new_enrollee"] else sorted(ref.hcc_list)
        segments.add(r["segment"])
        if abs(expected - r["raw_score"]) > 0.0005 or sorted(r["hccs"]) != expected_hccs:
            problems.append(
                (r["person_id"], r["segment"], expected, r["raw_score"], expected_hccs, r["hccs"])
            )
    assert problems == [], problems[:5]
    assert segments == {"CNA", "CND", "CFA", "CFD", "CPA", "CPD", "INS", "NE", "SNPNE"}


@pytest.mark.parametrize("model", ["V28", "V24"])
def test_agrees_with_hccinfhir_on_2000_people(model):
    """The differential test of the default suite; the 20,000-person run is marked slow."""
    agrees_with_hccinfhir(model, 2_000)


@pytest.mark.slow
@pytest.mark.parametrize("model", ["V28", "V24"])
def test_agrees_with_hccinfhir_on_20000_people(model):
    agrees_with_hccinfhir(model, 20_000)


def person(**kw) -> dict:
    base = dict(
        person_id="A",
        age=72,
        gender="female",
        orec="0",
        dual_status_code="NA",
        lti=False,
        new_enrollee=False,
        snp=False,
    )
    base.update(kw)
    return base


def run(people: list[dict], dx: list[tuple[str, str]], model: str = "V28") -> pl.DataFrame:
    return score(
        pl.DataFrame(people),
        pl.DataFrame(dx, schema=["person_id", "diagnosis_code"], orient="row"),
        model=model,
        payment_year=2026,
    ).scores


def coef(model: str, key: str) -> float:
    return load_tables(model).coefficients.filter(pl.col("key") == key.lower())["coefficient"][0]


def test_hand_computed_community_score_with_hierarchy_interaction_and_count():
    # diabetes with complications (E1122 -> HCC37) beats HCC38 (E119) by hierarchy;
    # heart failure (I5022 -> HCC226); so DIABETES_HF_V28 applies and there are 2 payment HCCs.
    out = run([person()], [("A", "E1122"), ("A", "E119"), ("A", "I50.22")]).row(0, named=True)
    expected = (
        coef("V28", "CNA_F70_74")
        + coef("V28", "CNA_HCC37")
        + coef("V28", "CNA_HCC226")
        + coef("V28", "CNA_DIABETES_HF_V28")
        + coef("V28", "CNA_D2")
    )
    assert out["hccs"] == ["37", "226"]
    assert out["raw_score"] == pytest.approx(expected, abs=1e-9)
    assert out["segment"] == "CNA"


def test_disabled_full_dual_community_and_disabled_interaction_in_institutional():
    out = run(
        [person(age=50, orec="1", dual_status_code="02", gender="male")], [("A", "I5022")]
    ).row(0, named=True)
    assert out["segment"] == "CFD"
    assert out["raw_score"] == pytest.approx(
        coef("V28", "CFD_M45_54") + coef("V28", "CFD_HCC226") + coef("V28", "CFD_D1"), abs=1e-9
    )
    ins = run([person(age=50, orec="1", gender="male", lti=True)], [("A", "I5022")]).row(
        0, named=True
    )
    expected = (
        coef("V28", "INS_M45_54")
        + coef("V28", "INS_HCC226")
        + coef("V28", "INS_DISABLED_HF_V28")
        + coef("V28", "INS_D1")
    )
    assert ins["segment"] == "INS"
    assert ins["raw_score"] == pytest.approx(expected, abs=1e-9)


def test_institutional_segment_with_medicaid_and_originally_disabled():
    out = run([person(age=80, orec="1", dual_status_code="01", lti=True)], [("A", "J449")]).row(
        0, named=True
    )
    expected = (
        coef("V28", "INS_F80_84")
        + coef("V28", "INS_HCC280")
        + coef("V28", "INS_LTIMCAID")
        + coef("V28", "INS_ORIGDS")
        + coef("V28", "INS_D1")
    )
    assert out["segment"] == "INS"
    assert out["raw_score"] == pytest.approx(expected, abs=1e-9)


def test_new_enrollee_is_demographic_only():
    # the pitfall: a V24 new enrollee with disease codes must still score on demographics alone
    out = run(
        [person(age=66, new_enrollee=True, dual_status_code="02")],
        [("A", "I5022"), ("A", "E1122")],
        model="V24",
    ).row(0, named=True)
    assert out["raw_score"] == pytest.approx(coef("V24", "NE_MCAID_NORIGDIS_NEF66"), abs=1e-9)
    assert out["hccs"] == []


def test_age_sex_edit_changes_the_condition_category():
    # D66 (hereditary factor VIII deficiency) in a female is reassigned by CMS's V28 edit to CC112
    rule = load_tables("V28").edits.filter(pl.col("diagnosis_code") == "D66").row(0, named=True)
    female = run([person()], [("A", "D66")]).row(0, named=True)
    male = run([person(gender="male")], [("A", "D66")]).row(0, named=True)
    assert female["hccs"] == [str(rule["cc_override"])]
    assert male["hccs"] != female["hccs"]


def test_people_without_diagnoses_get_demographic_scores():
    out = run([person(), person(person_id="B", age=90, gender="male")], [("A", "I5022")])
    b = out.filter(pl.col("person_id") == "B").row(0, named=True)
    assert b["raw_score"] == pytest.approx(coef("V28", "CNA_M90_94"), abs=1e-9)
    assert b["hccs"] == []


def test_segment_model_is_chosen_by_the_model_name():
    assert isinstance(segment_model("V24"), CommunityModel)
    assert isinstance(segment_model("V28"), CommunityModel)
    assert isinstance(segment_model("ESRD_V24"), EsrdModel)


def test_cached_cc_index_cannot_be_changed_by_a_caller():
    index = cc_index("V28")
    with pytest.raises(ValueError, match="read-only"):
        index.values[0] = 0
