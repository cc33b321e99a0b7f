"""Hand-built claims for the bundle tests: a few lines per claim, categorized as the core does."""

from __future__ import annotations

import datetime as dt

import polars as pl

from modeling.core.service_categories import with_service_category

D = dt.date
FIRST_DAY, LAST_DAY = D(2025, 1, 1), D(2026, 12, 31)


def claim(
    claim_id: str,
    person: str,
    start: dt.date,
    end: dt.date | None = None,
    *,
    kind: str = "ip",
    drg: str | None = None,
    hcpcs: str | None = None,
    paid: float = 1000.0,
    facility: str = "H1",
    npi: str | None = None,
    disposition: str | None = None,
    revenue: str | None = None,
    line: int = 1,
) -> dict:
    """One claim line. kind: ip (acute 111), irf (111 + revenue 0024), snf (211), hh (329),
    op (131), pb (professional)."""
    end = end or start
    bill = {"ip": "111", "irf": "111", "snf": "211", "hh": "329", "op": "131", "pb": None}[kind]
    rev = revenue or {"irf": "0024", "snf": "0022", "hh": "0023", "op": "0360"}.get(kind, "0120")
    institutional = kind != "pb"
    return {
        "claim_id": claim_id,
        "claim_line_number": line,
        "claim_type": "institutional" if institutional else "professional",
        "person_id": person,
        "claim_start_date": start,
        "claim_end_date": end,
        "admission_date": start if kind in ("ip", "irf", "snf") else None,
        "discharge_date": end if kind in ("ip", "irf", "snf") else None,
        "discharge_disposition_code": disposition or ("01" if kind in ("ip", "irf") else None),
        "bill_type_code": bill,
        "place_of_service_code": None if institutional else "21",
        "drg_code": drg,
        "revenue_center_code": rev if institutional else None,
        "hcpcs_code": hcpcs,
        "facility_npi": facility if institutional else None,
        "rendering_npi": npi if not institutional else None,
        "paid_amount": paid,
    }


def lines(*rows: dict) -> pl.LazyFrame:
    schema = {
        "claim_id": pl.String,
        "claim_line_number": pl.Int32,
        "claim_type": pl.String,
        "person_id": pl.String,
        "claim_start_date": pl.Date,
        "claim_end_date": pl.Date,
        "admission_date": pl.Date,
        "discharge_date": pl.Date,
        "discharge_disposition_code": pl.String,
        "bill_type_code": pl.String,
        "place_of_service_code": pl.String,
        "drg_code": pl.String,
        "revenue_center_code": pl.String,
        "hcpcs_code": pl.String,
        "facility_npi": pl.String,
        "rendering_npi": pl.String,
        "paid_amount": pl.Float64,
    }
    return with_service_category(pl.DataFrame(list(rows), schema=schema).lazy())


def span(
    person: str,
    start: dt.date = FIRST_DAY,
    end: dt.date = LAST_DAY,
    *,
    payer_type: str = "medicare",
    status: str = "10",
    death: dt.date | None = None,
) -> dict:
    return {
        "person_id": person,
        "payer_type": payer_type,
        "medicare_status_code": status,
        "death_date": death,
        "enrollment_start_date": start,
        "enrollment_end_date": end,
    }


def eligibility(*rows: dict) -> pl.LazyFrame:
    schema = {
        "person_id": pl.String,
        "payer_type": pl.String,
        "medicare_status_code": pl.String,
        "death_date": pl.Date,
        "enrollment_start_date": pl.Date,
        "enrollment_end_date": pl.Date,
    }
    return pl.DataFrame(list(rows), schema=schema).lazy()


# ---------------------------------------------------------------------------------------------
import pytest  # noqa: E402
from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from contracts.bundles.build import episodes_with_spending  # noqa: E402
from contracts.bundles.definitions import definition, parse_commercial_bundle  # noqa: E402
from contracts.bundles.episodes import build_episodes, chained_stays, inpatient_claims  # noqa: E402
from contracts.bundles.spending import prorated_amount, winsorize  # noqa: E402

TEAM = definition("team", performance_year=2026)
BPCI = definition("bpci-advanced", performance_year=2025)
GMLOS = pl.DataFrame({"drg_code": ["470", "193", "003"], "gmlos": [2.0, 4.0, 20.0]})


def one(frame: pl.DataFrame, episode_id: str) -> dict:
    return frame.filter(pl.col("episode_id") == episode_id).row(0, named=True)


def test_transfer_chains_into_one_anchor_priced_on_the_final_leg():
    claims = lines(
        claim("A", "P1", D(2026, 3, 1), D(2026, 3, 4), drg="193", facility="H1", paid=8000),
        claim("B", "P1", D(2026, 3, 4), D(2026, 3, 7), drg="470", facility="H2", paid=15000),
    )
    table = episodes_with_spending(claims, eligibility(span("P1")), TEAM, gmlos=GMLOS)
    ep = table.episodes
    assert ep.height == 1
    row = ep.row(0, named=True)
    assert (row["episode_id"], row["status"]) == ("team:B", "kept")
    assert (row["anchor_start"], row["anchor_end"]) == (D(2026, 3, 1), D(2026, 3, 7))
    assert row["facility_npi"] == "H2" and row["episode_category"] == "LEJR"
    assert row["window_end"] == D(2026, 4, 5)  # discharge day is day 1 of 30
    assert row["spend_anchor"] == 23000 and row["spend_readmission"] == 0


def test_not_a_transfer_when_the_next_admission_is_a_day_later():
    claims = lines(
        claim("A", "P1", D(2026, 3, 1), D(2026, 3, 4), drg="470", paid=15000),
        claim("B", "P1", D(2026, 3, 5), D(2026, 3, 7), drg="193", paid=8000),
    )
    row = episodes_with_spending(claims, eligibility(span("P1")), TEAM, gmlos=GMLOS).episodes.row(
        0, named=True
    )
    assert row["anchor_end"] == D(2026, 3, 4)
    assert row["spend_anchor"] == 15000 and row["spend_readmission"] == 8000


def test_straddling_snf_and_ipps_stays_are_prorated_as_cms_does():
    # window: discharge 1 Mar 2026 is day 1, so it ends 30 Mar (worked case 5)
    claims = lines(
        claim("A", "P1", D(2026, 2, 27), D(2026, 3, 1), drg="470", paid=15000),
        claim("S", "P1", D(2026, 3, 20), D(2026, 4, 8), kind="snf", paid=12000),
        claim("R", "P1", D(2026, 3, 29), D(2026, 4, 5), drg="193", paid=10000),
    )
    table = episodes_with_spending(claims, eligibility(span("P1")), TEAM, gmlos=GMLOS)
    row = table.episodes.row(0, named=True)
    assert row["window_end"] == D(2026, 3, 30)
    assert row["spend_snf"] == pytest.approx(12000 * 11 / 20)  # case 5(a): $6,600
    # case 5(c): 2 days inside, GMLOS 4 -> min(3 x 10,000/4, 10,000) = $7,500
    assert row["spend_readmission"] == pytest.approx(7500)
    assert row["total_spending"] == pytest.approx(15000 + 6600 + 7500)


def test_worked_case_5_proration_figures():
    frame = pl.DataFrame(
        {
            "setting": ["snf", "readmission", "readmission", "readmission"],
            "start": [D(2026, 3, 20), D(2026, 3, 27), D(2026, 3, 29), D(2026, 3, 26)],
            "end": [D(2026, 4, 8), D(2026, 4, 3), D(2026, 4, 5), D(2026, 4, 9)],
            "paid": [12000.0, 10000.0, 10000.0, 24000.0],
            "gmlos": [1.0, 4.0, 4.0, 8.0],
            "outlier": [0.0, 0.0, 0.0, 6000.0],
        }
    )
    got = frame.select(
        prorated_amount(
            pl.col("setting"),
            pl.col("start"),
            pl.col("end"),
            pl.lit(D(2026, 3, 30)),
            pl.col("paid"),
            pl.col("gmlos"),
            pl.col("outlier"),
        )
    ).to_series()
    assert got.to_list() == pytest.approx([6600.0, 10000.0, 7500.0, 15500.0])


def test_death_rules_differ_by_model():
    during = lines(claim("A", "P1", D(2026, 3, 1), D(2026, 3, 4), drg="470", disposition="20"))
    after = lines(claim("B", "P2", D(2026, 3, 1), D(2026, 3, 4), drg="470"))
    elig = eligibility(
        span("P1", end=D(2026, 3, 4), death=D(2026, 3, 4)),
        span("P2", end=D(2026, 3, 20), death=D(2026, 3, 20)),
    )
    team = build_episodes(pl.concat([during, after]), elig, TEAM)
    bpci = build_episodes(pl.concat([during, after]), elig, BPCI)
    assert one(team, "team:A")["status"] == "cancelled"
    assert "died during the anchor" in one(team, "team:A")["reason"]
    assert one(bpci, "bpci-advanced:A")["status"] == "excluded"
    # death after discharge: kept, window truncated at the death (not cancelled for leaving)
    p2 = team.filter(pl.col("person_id") == "P2").row(0, named=True)
    assert (p2["status"], p2["window_end"]) == ("kept", D(2026, 3, 20))


def test_overlap_keeps_the_earlier_team_episode_and_the_later_bpci_joint():
    claims = lines(
        claim("A", "P1", D(2026, 3, 1), D(2026, 3, 3), drg="470"),
        claim("B", "P1", D(2026, 3, 20), D(2026, 3, 22), drg="470"),
        claim("C", "P1", D(2026, 5, 1), D(2026, 5, 3), drg="470"),
    )
    elig = eligibility(span("P1"))
    team = build_episodes(claims, elig, TEAM)
    assert one(team, "team:A")["status"] == "kept"
    assert one(team, "team:B")["status"] == "excluded"
    assert "window of episode team:A" in one(team, "team:B")["reason"]
    assert one(team, "team:C")["status"] == "kept"  # after A's window
    bpci = build_episodes(claims, elig, BPCI)
    # MJRLE after MJRLE: the later is kept, the earlier superseded; C starts in B's 90 days too
    assert one(bpci, "bpci-advanced:A")["status"] == "excluded"
    assert "superseded" in one(bpci, "bpci-advanced:A")["reason"]
    assert one(bpci, "bpci-advanced:B")["status"] == "excluded"
    assert one(bpci, "bpci-advanced:C")["status"] == "kept"


def test_bpci_medical_overlap_drops_the_later_episode():
    claims = lines(
        claim("A", "P1", D(2025, 3, 1), D(2025, 3, 5), drg="291"),
        claim("B", "P1", D(2025, 4, 1), D(2025, 4, 5), drg="193"),
    )
    bpci = build_episodes(claims, eligibility(span("P1")), BPCI)
    assert one(bpci, "bpci-advanced:A")["status"] == "kept"
    assert one(bpci, "bpci-advanced:B")["status"] == "excluded"


def test_excluded_readmission_and_its_professional_claims_cost_nothing():
    claims = lines(
        claim("A", "P1", D(2026, 3, 1), D(2026, 3, 3), drg="470", paid=15000),
        claim("X", "P1", D(2026, 3, 10), D(2026, 3, 14), drg="003", paid=90000),
        claim("XP", "P1", D(2026, 3, 11), kind="pb", hcpcs="99232", paid=80, npi="N9"),
        claim("R", "P1", D(2026, 3, 20), D(2026, 3, 22), drg="193", paid=9000),
        claim("OP", "P1", D(2026, 3, 25), kind="op", hcpcs="J9999", paid=300),
    )
    table = episodes_with_spending(claims, eligibility(span("P1")), TEAM, gmlos=GMLOS)
    row = table.episodes.row(0, named=True)
    assert row["spend_readmission"] == 9000
    assert row["spend_professional"] == 0 and row["spend_outpatient"] == 300
    excluded = table.claims.filter(pl.col("excluded").is_not_null())
    assert set(excluded["claim_id"]) == {"X", "XP"}


def test_excluded_part_b_drug_lines_are_left_out():
    claims = lines(
        claim("A", "P1", D(2026, 3, 1), D(2026, 3, 3), drg="470", paid=15000),
        claim("OP", "P1", D(2026, 3, 10), kind="op", hcpcs="J7186", paid=5000),  # clotting factor
        claim("OP", "P1", D(2026, 3, 10), kind="op", hcpcs="96365", paid=200, line=2),
    )
    row = episodes_with_spending(claims, eligibility(span("P1")), TEAM, gmlos=GMLOS).episodes.row(
        0, named=True
    )
    assert row["spend_outpatient"] == 200


def test_outpatient_anchor_followed_by_admission_is_one_inpatient_episode():
    claims = lines(
        claim("O", "P1", D(2026, 3, 1), kind="op", hcpcs="27447", paid=9000),
        claim("S", "P1", D(2026, 3, 1), kind="pb", hcpcs="27447", paid=1300, npi="SURG"),
        claim("A", "P1", D(2026, 3, 3), D(2026, 3, 5), drg="470", paid=15000),
    )
    table = episodes_with_spending(claims, eligibility(span("P1")), TEAM, gmlos=GMLOS)
    op, ip = one(table.episodes, "team:O"), one(table.episodes, "team:A")
    assert op["status"] == "excluded" and "part of team:A" in op["reason"]
    assert ip["status"] == "kept" and ip["anchor_start"] == D(2026, 3, 1)
    assert ip["spend_outpatient"] == 9000 and ip["spend_professional"] == 1300
    assert ip["surgeon_npi"] == "SURG"
    # BPCI Advanced has no such rule: both trigger, the later overlaps (MJRLE: later kept)
    bpci = build_episodes(claims, eligibility(span("P1")), BPCI)
    assert one(bpci, "bpci-advanced:O")["status"] == "excluded"
    assert one(bpci, "bpci-advanced:A")["status"] == "kept"


def test_beneficiary_inclusion():
    claims = lines(
        claim("E", "ESRD", D(2026, 3, 1), D(2026, 3, 3), drg="470"),
        claim("M", "MA", D(2026, 3, 1), D(2026, 3, 3), drg="470"),
        claim("L", "LEFT", D(2026, 3, 1), D(2026, 3, 3), drg="470"),
        claim("T", "LATE", D(2026, 12, 20), D(2026, 12, 22), drg="470"),
    )
    elig = eligibility(
        span("ESRD", status="31"),
        span("MA", payer_type="medicare advantage"),
        span("LEFT", end=D(2026, 3, 15)),
        span("LEFT", start=D(2026, 3, 16), payer_type="medicare advantage"),
        span("LATE"),
    )
    ep = build_episodes(claims, elig, TEAM)
    assert one(ep, "team:E")["status"] == "excluded" and "ESRD" in one(ep, "team:E")["reason"]
    assert one(ep, "team:M")["status"] == "excluded"
    assert "Medicare Advantage" in one(ep, "team:M")["reason"]
    assert one(ep, "team:L")["status"] == "cancelled"
    assert one(ep, "team:T")["status"] == "excluded" and "incomplete" in one(ep, "team:T")["reason"]


def test_commercial_bundle_from_its_definition():
    spec, terms = parse_commercial_bundle(
        {
            "bundle": {
                "name": "Knee",
                "window_days": 10,
                "anchor_hcpcs": ["27447"],
                "price": 20000,
                "payer_types": ["commercial"],
                "included_settings": ["anchor", "professional"],
            }
        }
    )
    claims = lines(
        claim("O", "P1", D(2026, 3, 1), kind="op", hcpcs="27447", paid=9000),
        claim("S", "P1", D(2026, 3, 1), kind="pb", hcpcs="27447", paid=1300, npi="SURG"),
        claim("H", "P1", D(2026, 3, 5), D(2026, 3, 20), kind="hh", paid=3000),
    )
    table = episodes_with_spending(
        claims, eligibility(span("P1", payer_type="commercial")), spec, gmlos=GMLOS
    )
    row = table.episodes.row(0, named=True)
    assert row["window_end"] == D(2026, 3, 10) and row["status"] == "kept"
    assert row["total_spending"] == 10300  # home health is outside the bundle's settings
    assert terms.price == 20000


def test_winsorize_caps_within_episode_type():
    frame = pl.DataFrame(
        {
            "status": ["kept"] * 5 + ["excluded"],
            "episode_category": ["X"] * 6,
            "priced_as": ["1"] * 6,
            "anchor_year": [2026] * 6,
            "total_spending": [1.0, 2.0, 3.0, 4.0, 100.0, 500.0],
        }
    )
    out = winsorize(frame, lower=None, upper=0.75)
    assert out["winsorized_spending"].to_list() == [1.0, 2.0, 3.0, 4.0, 4.0, 500.0]


DRGS = ["470", "193", "291", "003", "480"]


@st.composite
def random_claims(draw):
    rows = []
    for i in range(draw(st.integers(1, 25))):
        person = f"P{draw(st.integers(1, 4))}"
        start = D(2026, 1, 1) + dt.timedelta(days=draw(st.integers(0, 300)))
        kind = draw(st.sampled_from(["ip", "ip", "op", "snf", "pb"]))
        length = draw(st.integers(0, 12)) if kind in ("ip", "snf") else 0
        rows.append(
            claim(
                f"C{i}",
                person,
                start,
                start + dt.timedelta(days=length),
                kind=kind,
                drg=draw(st.sampled_from(DRGS)) if kind == "ip" else None,
                hcpcs="27447" if kind == "op" else None,
                paid=float(draw(st.integers(0, 20000))),
            )
        )
    return rows


@settings(max_examples=40, deadline=None)
@given(random_claims())
def test_every_trigger_is_accounted_for(rows):
    claims = lines(*rows)
    elig = eligibility(*(span(f"P{i}") for i in range(1, 5)))
    for spec in (TEAM, BPCI):
        ep = build_episodes(claims, elig, spec)
        assert ep["episode_id"].is_unique().all()
        assert set(ep["status"]) <= {"kept", "cancelled", "excluded"}
        assert ep.filter(pl.col("status") != "kept")["reason"].null_count() == 0
        kept = ep.filter(pl.col("status") == "kept").sort("person_id", "anchor_start")
        # kept episodes of a person never start inside each other's windows
        for _, g in kept.group_by("person_id"):
            g = g.sort("anchor_start")
            starts, ends = g["anchor_start"].to_list(), g["window_end"].to_list()
            assert all(s > e for s, e in zip(starts[1:], ends[:-1], strict=True))
    # trigger count: OP trigger claims with paid > 0, plus chained stays ending in a trigger DRG
    op = sum(1 for r in rows if r["hcpcs_code"] == "27447" and r["paid_amount"] > 0)
    ep = build_episodes(claims, elig, TEAM)
    assert ep.filter(pl.col("anchor_type") == "outpatient").height == op


def test_irf_and_home_health_settings_and_day_proration():
    claims = lines(
        claim("A", "P1", D(2026, 2, 27), D(2026, 3, 1), drg="470", paid=15000),
        claim("I", "P1", D(2026, 3, 2), D(2026, 3, 12), kind="irf", drg="560", paid=20000),
        claim("H", "P1", D(2026, 3, 21), D(2026, 4, 19), kind="hh", paid=3000),  # 30 days, 10 in
    )
    row = episodes_with_spending(claims, eligibility(span("P1")), TEAM, gmlos=GMLOS).episodes.row(
        0, named=True
    )
    assert row["spend_irf"] == 20000 and row["spend_readmission"] == 0
    assert row["spend_home_health"] == pytest.approx(3000 * 10 / 30)


def test_post_episode_spending_is_the_30_days_after_the_window():
    claims = lines(
        claim("A", "P1", D(2026, 2, 27), D(2026, 3, 1), drg="470", paid=15000),  # ends 30 Mar
        claim("IN", "P1", D(2026, 3, 30), kind="pb", hcpcs="99213", paid=100, npi="N1"),
        claim("P1", "P1", D(2026, 3, 31), kind="pb", hcpcs="99213", paid=200, npi="N1"),
        claim("P2", "P1", D(2026, 4, 29), kind="pb", hcpcs="99213", paid=400, npi="N1"),
        claim("P3", "P1", D(2026, 4, 30), kind="pb", hcpcs="99213", paid=800, npi="N1"),
    )
    row = episodes_with_spending(claims, eligibility(span("P1")), TEAM, gmlos=GMLOS).episodes.row(
        0, named=True
    )
    assert row["spend_professional"] == 100
    assert row["post_episode_spending"] == 600  # 31 Mar - 29 Apr


def test_anchor_chaining_is_not_the_core_stay_rule():
    """Why the episodes chain the core's ``acute_legs`` instead of reading ``inpatient_stays`` /
    ``inpatient_stay_codes``: the core merges a stay admitted the day after a discharge into the
    stay (interim bills), while the episode rule (shadow bundles ``c3``: a transfer is an
    admission on or before the previous discharge) keeps them apart, and the core's stays keep
    no leg's own MS-DRG and hospital, which an episode needs (priced on the final leg,
    attributed to its hospital, excluded when any leg is in an excluded MDC). Both leave IRF
    bills out. The same claims give
    three core stays and four episode anchors, so the switch would change episodes; both read
    the core, one source per rule."""
    from modeling.core.encounters import inpatient_stays

    claims = lines(
        claim("a1", "P1", D(2025, 3, 1), D(2025, 3, 5), drg="470"),
        claim("a2", "P1", D(2025, 3, 6), D(2025, 3, 9), drg="193", facility="H2"),  # next day
        claim("b1", "P2", D(2025, 4, 1), D(2025, 4, 6), drg="481"),
        claim("b2", "P2", D(2025, 4, 6), D(2025, 4, 18), kind="irf"),  # IRF from discharge day
        claim("c1", "P3", D(2025, 5, 1), D(2025, 5, 3), drg="291"),
        claim("c2", "P3", D(2025, 5, 3), D(2025, 5, 7), drg="291", facility="H3"),  # transfer
    )
    core = inpatient_stays(claims.with_columns(pl.lit("1").alias("admit_type_code"))).collect()
    episode = chained_stays(inpatient_claims(claims)).collect()
    assert core.height == 3
    assert sorted(map(tuple, core["claim_ids"].to_list())) == [("a1", "a2"), ("b1",), ("c1", "c2")]
    assert episode.height == 4  # a1 | a2 | b1 (b2 is post-acute) | c1 + c2
    assert sorted(map(tuple, episode["claim_ids"].to_list())) == [
        ("a1",),
        ("a2",),
        ("b1",),
        ("c1", "c2"),
    ]
