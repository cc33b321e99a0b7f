"""The app as a person meets it, in headless Chromium: the first launch, every page (read from
streamlit_app.py's navigation), the main flows, each CSV export, uploads, the drill-downs.

Each test opens a new browser session on the same server (whose first launch ran once, in the
``first_launch`` fixture). A test fails when a page shows an exception or error element, when a
flow's visible result does not change, or when an export is empty.
"""

from __future__ import annotations

import csv
import io
import re
import sys
import zipfile

import pytest

from modeling.workspace import Workspace

harness = sys.modules["vbc_browser_harness"]  # loaded by conftest.py
PAGES = harness.navigation_pages()


def _by_title(title: str):
    return next(p for p in PAGES if p.title == title)


def _tabs(session) -> list:
    return session.page.get_by_role("tab").all()


def test_navigation_lists_every_page():
    scripts = [p.script for p in PAGES]
    assert scripts[0] == "app/pages/overview.py" and PAGES[0].default
    assert len(set(scripts)) == len(scripts) >= 5
    for page in PAGES:
        assert (harness.ROOT / page.script).is_file(), page


def test_first_launch_fills_the_workspace_with_one_progress_display(first_launch, app):
    said = first_launch["progress"]
    assert said, "no progress display was seen during the first launch"
    assert all(re.search(r"Step \d of \d", t) for t in said[:-1]), said
    assert any("left" in t for t in said), said
    steps = {int(m.group(1)) for t in said if (m := re.search(r"Step (\d) of", t))}
    assert len(steps) >= 3, f"the progress display skipped most steps: {said}"
    ws = Workspace(app.workspace)
    assert ws.dataset_names() == ["default"]
    with ws.store() as store:
        assert [m.name for m in store.list_models()], "first launch registered no risk model"
    assert not (app.workspace / ".first_launch_in_progress").exists()


def test_every_page_renders_cold_and_warm_and_is_screenshotted(session, shots, timings):
    times: dict[str, dict[str, float]] = {}
    for page in PAGES:
        cold = session.visit(page)
        session.check(page.title)
        assert session.title(), f"{page.title}: no title"
        session.screenshot(shots / f"{harness.slug(page.title)}.png")
        for tab in _tabs(session)[1:]:
            session.show(tab)
            session.check(f"{page.title}, tab {tab.inner_text()}")
            session.screenshot(
                shots / f"{harness.slug(page.title)}__{harness.slug(tab.inner_text())}.png"
            )
        times[page.title] = {"cold": round(cold, 2)}
    for page in PAGES:
        times[page.title]["warm"] = round(session.visit(page), 2)
        session.check(page.title)
    timings["pages"] = times


def test_later_session_opens_settled(session, timings):
    timings["open_new_session"] = round(session.open(), 2)
    session.check("reopened")
    assert session.metric("Members")


def test_train_the_risk_models(session):
    session.visit(_by_title("Risk stratification"))
    sidebar = session.page.locator('[data-testid="stSidebar"]')
    expander = sidebar.locator('[data-testid="stExpander"]').filter(has_text="Models")
    if not expander.get_by_role("button", name=re.compile("train", re.I)).is_visible():
        session.show(expander.locator("summary"))
    before = expander.inner_text()
    version = int(re.search(r"version (\d+)", before).group(1))
    session.act(session.button("Retrain on this dataset").click, timeout=600)
    # the run that trains ends in st.rerun(): the new version shows in the run after it
    from playwright.sync_api import expect

    sidebar = session.page.locator('[data-testid="stSidebar"]')
    expect(sidebar).to_contain_text(f"version {version + 1}", timeout=120_000)
    main = session.page.locator('[data-testid="stMain"]')
    expect(main).to_contain_text("scored for", timeout=120_000)
    session.check("after retraining")
    after = sidebar.inner_text()
    assert f"version {version + 1}" in after, after
    assert "scored for" in session.page.locator('[data-testid="stMain"]').inner_text()


def test_contract_assumption_moves_the_settlement_and_the_chart(session, timings):
    session.visit(_by_title("Contracts"))
    first = session.page.locator('[data-testid="stMetric"]').first
    label = first.locator('[data-testid="stMetricLabel"]').inner_text()
    figure = first.locator('[data-testid="stMetricValue"]').inner_text()
    chart = session.page.locator('[data-testid="stVegaLiteChart"]').first
    picture = session.element_png(chart)
    slider = session.slider("Inpatient cost change")
    slider.focus()
    seconds = session.act(lambda: slider.press("Home"))
    session.check("after moving the inpatient assumption")
    assert session.slider_value("Inpatient cost change") == "-0.25"
    moved = session.page.locator('[data-testid="stMetric"]').first
    assert moved.locator('[data-testid="stMetricLabel"]').inner_text() == label
    assert moved.locator('[data-testid="stMetricValue"]').inner_text() != figure, (
        f"{label}: the settlement stayed {figure} with inpatient costs 25% lower"
    )
    assert session.element_png(chart) != picture, "the settlement chart did not change"
    timings["contract_assumption_seconds"] = round(seconds, 2)
    # the simulated years and the risk-level choice wait for their buttons, then follow
    main = session.page.locator('[data-testid="stMain"]')
    assert "Expected settlement" not in main.inner_text()
    simulate = session.button("Simulate these assumptions")
    simulate.scroll_into_view_if_needed()
    timings["simulate_on_request_seconds"] = round(session.act(simulate.click, timeout=300), 2)
    session.check("after simulating the moved assumptions")
    assert session.metric("Expected settlement")
    compare = session.button("Compare risk levels for these assumptions")
    compare.scroll_into_view_if_needed()
    timings["risk_level_on_request_seconds"] = round(session.act(compare.click, timeout=300), 2)
    session.check("after comparing risk levels")
    assert "Best option within the limit" in main.inner_text()


def test_saved_scenario_reopens_after_a_reload(session):
    contracts = _by_title("Contracts")
    session.visit(contracts)
    slider = session.slider("Skilled nursing cost change")
    slider.focus()
    session.act(lambda: slider.press("Home"))
    name = session.page.get_by_label("Scenario name")
    name.fill("browser test scenario")
    session.act(lambda: name.press("Enter"))
    session.act(session.button("Save scenario").click)
    session.check("after saving")
    assert "Saved scenario 'browser test scenario'" in session.page.inner_text("body")

    session.reload()
    session.visit(contracts)
    assert session.slider_value("Skilled nursing cost change") == "0.00"
    sidebar = session.page.locator('[data-testid="stSidebar"]')
    session.show(sidebar.locator("summary").filter(has_text="Saved scenarios"))
    choice = sidebar.locator('[data-testid="stSelectbox"]').filter(has_text="Scenario")
    if "browser test scenario" not in _selected(choice):
        _pick(session, choice, "browser test scenario")
    session.act(session.button("Open scenario").click)
    # opening reruns the page once more (st.rerun): wait for its visible result, then settle
    session.page.get_by_text("Opened scenario").wait_for(timeout=60_000)
    session.act(lambda: None, grace=1.0)
    session.check("after reopening")
    assert "Opened scenario browser test scenario" in session.page.inner_text("body")
    assert session.slider_value("Skilled nursing cost change") == "-0.25"


def test_saved_simulations_stay_listed_while_the_section_waits(session, shots):
    """Save the first view's simulation, then move an assumption: the simulated figures wait for
    their button, and the saved simulations stay listed (with reopen and export) meanwhile."""
    session.visit(_by_title("Contracts"))
    main = session.page.locator('[data-testid="stMain"]')
    save = session.button("Save simulation")
    save.scroll_into_view_if_needed()
    session.act(save.click)
    session.check("after saving a simulation")
    assert "Saved simulation '" in main.inner_text()
    slider = session.slider("Inpatient cost change")
    slider.focus()
    session.act(lambda: slider.press("End"))
    session.check("after moving the inpatient assumption")
    text = main.inner_text()
    assert "Expected settlement" not in text
    assert session.button("Simulate these assumptions").is_visible()
    assert "Saved simulations, side by side" in text and "Reopen a saved simulation" in text
    listed = session.page.get_by_text("Saved simulations, side by side")
    listed.scroll_into_view_if_needed()
    session.screenshot(shots / "contracts__saved_simulations_while_waiting.png")


def _csv_rows(path) -> tuple[list[str], list[list[str]]]:
    rows = list(csv.reader(io.StringIO(path.read_text())))
    return rows[0], rows[1:]


def test_every_csv_export_has_a_header_and_rows(session):
    checked: dict[str, int] = {}
    for page in PAGES:
        session.visit(page)
        for tab in [None, *_tabs(session)[1:]]:
            if tab is not None:
                session.show(tab)
            for button in session.page.locator('[data-testid="stDownloadButton"]').all():
                label = button.inner_text()
                if "CSV" not in label or not button.is_visible():
                    continue
                header, rows = _csv_rows(session.download(button))
                where = f"{page.title}: {label}"
                assert header and all(header), f"{where}: no header"
                assert rows, f"{where}: no rows"
                assert {len(r) for r in rows} == {len(header)}, f"{where}: ragged rows"
                checked[where] = len(rows)
    assert len(checked) >= 6, checked
    summary = checked["Overview: Download summary by year (CSV)"]
    assert summary == 3  # the default panel's three years
    scores = checked["Risk adjustment: Download all member scores (CSV)"]
    session.visit(_by_title("Risk adjustment"))
    assert scores == int(session.metric("Members scored").replace(",", ""))


def _small_cclf_zip(tmp_path) -> bytes:
    from modeling.synth import SynthSpec, generate
    from modeling.synth.cclf_writer import write_cclf

    ds = generate(SynthSpec(members=150, start_year=2025, years=1, seed=3), tmp_path / "small")
    write_cclf(ds, tmp_path / "cclf", seed=1)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        for f in sorted((tmp_path / "cclf").rglob("*")):
            if f.is_file():
                zf.write(f, f.relative_to(tmp_path / "cclf"))
    return buffer.getvalue()


def test_upload_a_cclf_zip_and_a_bad_file(session, tmp_path, shots):
    data = _by_title("Data")
    session.visit(data)
    uploader = session.page.locator('[data-testid="stFileUploader"]').first
    name = session.page.get_by_label("New dataset name").first
    name.fill("browser_cclf")
    session.act(lambda: name.press("Enter"))
    try:
        payload = _small_cclf_zip(tmp_path)
        files = {"name": "delivery.zip", "mimeType": "application/zip", "buffer": payload}
        session.act(lambda: uploader.locator("input[type=file]").set_input_files(files))
        # the button is enabled once the script has seen the uploaded file: under load the
        # upload can land after the run that set_input_files started has settled
        read = session.button("Read CCLF")
        read.and_(session.page.locator("button:enabled")).wait_for(timeout=120_000)
        session.act(read.click, timeout=300)
        main = session.page.locator('[data-testid="stMain"]')
        main.get_by_text("CCLF reconciliation").first.wait_for(timeout=300_000)
        session.check("after reading the CCLF zip")
        body = main.inner_text()
        assert "CCLF reconciliation" in body and "Dataset: browser_cclf" in body
        assert "Lines reconcile" in body
        session.screenshot(shots / "data__after_cclf_upload.png")

        bad = {"name": "CCLF1_bad.zip", "mimeType": "application/zip", "buffer": b"not a zip"}
        uploader = session.page.locator('[data-testid="stFileUploader"]').first
        session.act(lambda: uploader.locator("input[type=file]").set_input_files(bad))
        session.act(session.button("Read CCLF").click, timeout=120)
        errors = session.page.locator('[data-testid="stAlertContentError"]').all_inner_texts()
        assert not session.page.locator('[data-testid="stException"]').count()
        assert any("CCLF1_bad.zip" in e and "zip" in e for e in errors), errors
        session.screenshot(shots / "data__bad_upload.png")
        session.visit(_by_title("Overview"))  # the app still works
        session.check("Overview after a bad upload")
    finally:  # the other tests expect the default panel to be the active dataset
        box = session.page.locator('[data-testid="stSidebar"] [data-testid="stSelectbox"]').first
        if _selected(box) != "default":
            _pick(session, box, "default")


def _selected(selectbox) -> str:
    """What a selectbox shows as chosen (a combobox whose input holds the choice)."""
    return selectbox.get_by_role("combobox").input_value()


def _pick(session, selectbox, text: str) -> None:
    """Open a selectbox and choose the first option containing ``text``."""
    selectbox.get_by_role("combobox").click()
    option = session.page.get_by_role("option").filter(has_text=text).first
    session.act(option.click, grace=2.0)


def test_member_drill_downs(session, shots):
    session.visit(_by_title("Risk adjustment"))
    session.show(session.tab("Member drill-down"))
    main = session.page.locator('[data-testid="stMain"]')
    first = main.inner_text()
    assert "score, line by line" in first and "From raw to payment score" in first
    box = main.locator('[data-testid="stSelectbox"]').filter(has_text="Member")
    person = _selected(box)
    box.get_by_role("combobox").click()
    other = session.page.get_by_role("option").nth(3)
    other_name = other.inner_text()
    session.act(other.click)
    session.check("after choosing another member")
    assert other_name != person and other_name in main.inner_text()
    session.screenshot(shots / "risk_adjustment__member_drill_down.png")

    session.visit(_by_title("Risk stratification"))
    session.show(session.tab("Patient"))
    text = main.inner_text()
    assert "Why:" in text and "Tier" in text
    session.check("risk stratification patient")


@pytest.mark.parametrize("page", PAGES, ids=[p.title for p in PAGES])
def test_page_opens_directly_by_its_address(app, chromium_browser, first_launch, page):
    s = harness.Session(chromium_browser, app)
    try:
        s.open(page.url_path)
        s.check(page.title)
    finally:
        s.close()
