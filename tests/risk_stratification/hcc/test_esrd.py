"""CMS-HCC ESRD V24 model: differential test against hccinfhir and hand-computed segments."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest
from hccinfhir.model_calculate import calculate_raf

from risk_stratification.hcc import load_tables, score

MODEL = "ESRD_V24"


def coef(name: str) -> float:
    return load_tables(MODEL).coefficients.filter(pl.col("name") == name)["coefficient"][0]


def generated_esrd_people(n: int, seed: int) -> tuple[pl.DataFrame, pl.DataFrame]:
    """ESRD beneficiaries on dialysis or with a functioning graft 4-40 months old, spanning
    ages 18-100, both sexes, every dual code and OREC, LTI and new enrollees, with diagnoses
    drawn from the ESRD mapping (15% from codes that carry age/sex edits)."""
    rng = np.random.default_rng(seed)
    tables = load_tables(MODEL)
    codes = tables.dx_to_cc["diagnosis_code"].unique().sort().to_numpy()
    edit_codes = tables.edits["diagnosis_code"].unique().sort().to_numpy()
    status = rng.choice(["dialysis", "graft"], n)
    people = pl.DataFrame(
        {
            "person_id": [f"e{i:05d}" for i in range(n)],
            "age": rng.integers(18, 101, n),
            "gender": rng.choice(["female", "male"], n),
            "orec": rng.choice(["0", "1", "2", "3"], n),
            "dual_status_code": rng.choice(
                ["NA", "00", "01", "02", "03", "04", "05", "06", "08"], n
            ),
            "lti": rng.random(n) < 0.15,
            "new_enrollee": rng.random(n) < 0.12,
            "esrd_status": status,
            "graft_months": pl.Series(
                np.where(status == "graft", rng.integers(4, 41, n), -1)
            ).replace(-1, None),
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


def esrd_agrees_with_hccinfhir(n: int) -> None:
    """Dialysis (DI), dialysis new enrollee (DNE), graft community (GFA, GFN, GNPA, GNPN) and
    graft institutional (GI): identical HCC sets and raw scores within 0.0005.

    Differences by design, each following CMS's ESRD V24 software rather than the reference:
    - dialysis AND long-term institutional (DI, DNE): the dialysis model's institutional terms
      are DI_LTI_Aged / DI_LTI_NonAged (D24 coefficient table); hccinfhir adds the
      functioning-graft institutional add-on LTI_GE65 / LTI_LT65 to them as well. That add-on
      is subtracted from the reference score for these people.
    - dialysis new enrollees aged 85+: the DNE cells' top band is 85_GT (DNE_*_NE{F,M}85_GT in
      the D24 table); hccinfhir looks up 85_89/90_94/95_GT cells that do not exist and scores 0.
      For them the expected score is the published DNE_..._85_GT coefficient.
    - dialysis new enrollees aged 64 whose entitlement is by age (OREC 0): CMS's new-enrollee
      age rule puts them in the 65-69 cell (they turn 65 during the payment year; the same rule
      as the CMS-HCC NE cells); hccinfhir uses 60_64. Expected: the DNE_..._NE{F,M}65_69
      coefficient.
    - graft new enrollees (GNE) are not compared: hccinfhir looks up grouped NE cells (the GNE
      cells are single years 65-69: GNE_..._G_NE{F,M}65) and applies no actuarial adjustment,
      so it scores them 0; they are checked by hand below.
    """
    people, dx = generated_esrd_people(n, seed=2023)
    ours = score(people, dx, model=MODEL, payment_year=2026).scores
    rows = people.join(
        dx.group_by("person_id").agg("diagnosis_code"), on="person_id", how="left"
    ).join(ours, on="person_id", suffix="_ours")
    segments, problems = set(), []
    for r in rows.iter_rows(named=True):
        segments.add(r["segment"])
        if r["segment"] == "GNE":
            continue
        sex = "F" if r["gender"] == "female" else "M"
        if r["segment"] == "DNE" and (r["age"] >= 85 or (r["age"] == 64 and r["orec"] == "0")):
            expected, expected_hccs = coef(f"DNE_{r['demographic_cell']}"), []
        else:
            ref = calculate_raf(
                r["diagnosis_code"] or [],
                model_name="CMS-HCC ESRD Model V24",
                age=r["age"],
                sex=sex,
                dual_elgbl_cd=r["dual_status_code"],
                orec=r["orec"],
                crec="2",
                new_enrollee=r["new_enrollee"],
                lti=r["lti"],
                graft_months=r["graft_months"],
            )
            extra = (
                coef("LTI_GE65" if r["age"] >= 65 else "LTI_LT65")
                if r["segment"] in ("DI", "DNE") and r["lti"]
                else 0.0
            )
            # new enrollees are scored on demographics: hccinfhir lists their HCCs but does not score them
            expected, expected_hccs = (
                ref.risk_score - extra,
                [] if r["new_enrollee"] else sorted(ref.hcc_list),
            )
        if abs(expected - r["raw_score"]) > 0.0005 or sorted(r["hccs"]) != expected_hccs:
            problems.append(
                (r["person_id"], r["segment"], expected, r["raw_score"], expected_hccs, r["hccs"])
            )
    assert problems == [], problems[:5]
    assert segments == {"DI", "DNE", "GFA", "GFN", "GNPA", "GNPN", "GI", "GNE"}


def test_esrd_agrees_with_hccinfhir_on_2000_people():
    """The differential test of the default suite; the 20,000-person run is marked slow."""
    esrd_agrees_with_hccinfhir(2_000)


@pytest.mark.slow
def test_esrd_agrees_with_hccinfhir_on_20000_people():
    esrd_agrees_with_hccinfhir(20_000)


def esrd_person(**kw) -> dict:
    base = dict(
        person_id="A",
        age=70,
        gender="female",
        orec="2",
        dual_status_code="NA",
        lti=False,
        new_enrollee=False,
        esrd_status="dialysis",
        graft_months=None,
    )
    base.update(kw)
    return base


def run(people: list[dict], dx: list[tuple[str, str]] = ()) -> pl.DataFrame:
    frame = pl.DataFrame(people, schema_overrides={"graft_months": pl.Int32})
    return score(
        frame,
        pl.DataFrame(
            list(dx), schema={"person_id": pl.String, "diagnosis_code": pl.String}, orient="row"
        ),
        model=MODEL,
        payment_year=2026,
    ).scores


def test_dialysis_score_by_hand():
    """Woman, 70 on Feb 1 2026, entitled originally by ESRD, full dual, on dialysis, with
    diabetes with chronic complications (E11.22 -> HCC18), heart failure (I50.22 -> HCC85) and
    CKD stage 5 (N18.5 -> HCC136, a renal HCC the ESRD model does not assign)."""
    out = run(
        [esrd_person(dual_status_code="02")], [("A", "E1122"), ("A", "I5022"), ("A", "N185")]
    ).row(0, named=True)
    expected = (
        coef("DI_F70_74")
        + coef("DI_Originally_ESRD_Female")
        + coef("DI_FBDual_Female_Aged")
        + coef("DI_HCC18")
        + coef("DI_HCC85")
        + coef("DI_DIABETES_CHF")
    )
    assert out["segment"] == "DI"
    assert sorted(out["hccs"]) == ["18", "85"]
    assert out["raw_score"] == pytest.approx(expected, abs=1e-9)
    assert expected == pytest.approx(0.624 - 0.024 + 0.060 + 0.084 + 0.063 + 0.0, abs=1e-9)


def test_transplant_months_are_flat_scores_without_diagnoses():
    out = run(
        [
            esrd_person(esrd_status="transplant", graft_months=m, person_id=f"T{m}")
            for m in (1, 2, 3)
        ],
        [("T1", "I5022")],
    )
    assert out.sort("person_id")["raw_score"].to_list() == [5.985, 0.941, 0.941]
    assert out["segment"].unique().to_list() == ["TRANSPLANT"]
    assert out["hccs"].to_list() == [[], [], []]


def test_functioning_graft_community_with_duration_add_on_and_partial_dual_flag():
    """Man, 50, partial dual (03), graft 6 months old: GNPN cell + HCC85 + FGC add-on for
    under-65 months 4-9 non/partial dual + the partial-dual flag."""
    out = run(
        [
            esrd_person(
                age=50,
                gender="male",
                orec="0",
                dual_status_code="03",
                esrd_status="graft",
                graft_months=6,
            )
        ],
        [("A", "I5022")],
    ).row(0, named=True)
    expected = (
        coef("GNPN_M45_54")
        + coef("GNPN_HCC85")
        + coef("FGC_LT65_DUR4_9_ND_PBD")
        + coef("FGC_PBD_LT65_flag")
    )
    assert out["segment"] == "GNPN"
    assert out["raw_score"] == pytest.approx(expected, abs=1e-9)


def test_functioning_graft_institutional_adds_lti_and_fgi_terms():
    out = run(
        [
            esrd_person(
                age=80, gender="male", orec="0", lti=True, esrd_status="graft", graft_months=30
            )
        ],
        [("A", "L89154")],
    ).row(0, named=True)
    expected = (
        coef("GI_M80_84") + coef("GI_HCC157") + coef("FGI_GE65_DUR10PL_ND_PBD") + coef("LTI_GE65")
    )
    assert out["segment"] == "GI"
    assert out["raw_score"] == pytest.approx(expected, abs=1e-9)


def test_graft_new_enrollee_divides_by_the_actuarial_adjustment():
    """Woman turning 66, aged in, non-dual, graft 12 months old: (GNE cell + FGC add-on for
    aged months 10+) / ActAdj_DUR10PL, and no HCCs (new enrollee)."""
    out = run(
        [esrd_person(age=66, orec="0", new_enrollee=True, esrd_status="graft", graft_months=12)],
        [("A", "I5022")],
    ).row(0, named=True)
    expected = (coef("GNE_ND_PBD_NORIGDIS_G_NEF66") + coef("FGC_GE65_DUR10PL_ND_PBD")) / coef(
        "ActAdj_DUR10PL"
    )
    assert out["segment"] == "GNE"
    assert out["hccs"] == []
    assert out["raw_score"] == pytest.approx(expected, abs=1e-9)


def test_dialysis_new_enrollee_64_entitled_by_age_uses_the_65_69_cell():
    out = run([esrd_person(age=64, orec="0", new_enrollee=True, dual_status_code="02")]).row(
        0, named=True
    )
    assert out["demographic_cell"] == "FBD_NORIGDIS_NEF65_69"
    assert out["raw_score"] == pytest.approx(coef("DNE_FBD_NORIGDIS_NEF65_69"))


def test_explanation_lines_sum_to_the_score():
    people = pl.DataFrame(
        [
            esrd_person(age=66, orec="0", new_enrollee=True, esrd_status="graft", graft_months=5),
            esrd_person(person_id="B", dual_status_code="02", lti=True),
        ],
        schema_overrides={"graft_months": pl.Int32},
    )
    result = score(
        people,
        pl.DataFrame({"person_id": ["B", "B"], "diagnosis_code": ["E1122", "I5022"]}),
        model=MODEL,
        payment_year=2026,
    )
    for pid in ("A", "B"):
        lines = result.explain(pid)
        assert lines["coefficient"].sum() == pytest.approx(
            result.scores.filter(pl.col("person_id") == pid)["raw_score"][0], abs=1e-9
        )


def test_esrd_payment_scores_use_the_series_factor_and_coding_adjustment():
    from risk_stratification.hcc.esrd import esrd_payment_scores

    raw = pl.DataFrame(
        {
            "person_id": ["d", "t", "g"],
            "segment": ["DI", "TRANSPLANT", "GNPA"],
            "raw_score": [1.2345, 5.985, 2.5],
        }
    )
    out = esrd_payment_scores(raw, 2026).sort("person_id")
    # dialysis series 1.062 (dialysis and transplant months), graft series 1.104; coding adjustment 5.9%
    assert out["normalized_ESRD_V24"].to_list() == [
        round(1.2345 / 1.062, 3),
        round(2.5 / 1.104, 3),
        round(5.985 / 1.062, 3),
    ]
    assert out["payment_score"].to_list() == [
        round(round(1.2345 / 1.062, 3) * 0.941, 3),
        round(round(2.5 / 1.104, 3) * 0.941, 3),
        round(round(5.985 / 1.062, 3) * 0.941, 3),
    ]
    assert out["payment_model"].to_list() == ["ESRD dialysis", "ESRD graft", "ESRD transplant"]
    missing = esrd_payment_scores(raw, 2024)
    assert missing["payment_score"].null_count() == 3
    assert missing["payment_model"].str.ends_with("(no 2024 normalization factor)").all()
