"""Workspace and dataset shared by the pages, with cached, progress-reporting loads, and the
first launch that fills every page."""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import hashlib
import importlib.util
import os
import pickle
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import polars as pl
import streamlit as st

from modeling.dataset import Dataset
from modeling.errors import VbcError
from modeling.marts.pmpm import PopulationOverview, overview
from modeling.synth import generate
from modeling.synth.defaults import DEFAULT_PANEL
from modeling.workspace import DEFAULT_DATASET, Workspace

# A workspace whose first launch has started and not finished holds this file; the next launch
# resumes it (the steps already done are skipped).
FIRST_LAUNCH_MARKER = ".first_launch_in_progress"


def workspace() -> Workspace:
    return Workspace.default()


@dataclass(frozen=True)
class LaunchStep:
    """One step of the first launch and its measured cost, in seconds per 10,000 members of the
    default panel on the project's 2-core machine (timed on 2026-12-01 for the 20,000-member
    default panel: see "The app in a browser" in benchmarks/RESULTS.md). The estimate shown starts from these
    figures and is rescaled by how fast this machine actually goes once the first step has run."""

    key: str
    label: str
    seconds_per_10k: float


LAUNCH_STEPS = (
    LaunchStep("panel", "generating the default synthetic panel", 14.5),
    LaunchStep("core", "deriving the core tables (member months, claim lines, conditions)", 6.0),
    LaunchStep("models", "training the risk models (cost, admission, ED, top 5%)", 20.0),
    LaunchStep("scores", "scoring the panel (risk models, CMS-HCC, recapture gaps)", 1.5),
    LaunchStep("quality", "measuring quality (every measure, risk-adjusted outcomes, trend)", 4.5),
    LaunchStep("finance", "completing claims and forecasting total cost of care", 3.5),
    LaunchStep("targeting", "planning care management for the default programs", 1.5),
    LaunchStep("contracts", "settling and simulating the default contracts", 3.0),
)


class LaunchClock:
    """Progress of the first launch over its steps, with a remaining-time estimate: the measured
    step costs (``LAUNCH_STEPS``), scaled by the speed observed so far."""

    def __init__(
        self,
        members: int,
        report: Callable[[float, str], None],
        *,
        clock: Callable[[], float] = time.perf_counter,
    ):
        self.expected = {s.key: s.seconds_per_10k * members / 10_000 for s in LAUNCH_STEPS}
        self.total = sum(self.expected.values())
        self.report = report
        self.clock = clock
        self.started = clock()
        self.done = 0.0  # expected seconds of the work finished

    def estimate_left(self) -> float:
        """Seconds left: the measured cost of the work not done yet, times how much slower (or
        faster) than measured this machine has gone so far (once 2 s have passed)."""
        elapsed = self.clock() - self.started
        if self.done <= 0 or elapsed < 2:
            return self.total - self.done
        return (self.total - self.done) * elapsed / self.done

    def step(self, key: str, fraction: float, detail: str = "") -> None:
        """Tell the display that step ``key`` is ``fraction`` done (``detail``: what it does now)."""
        index = next(i for i, s in enumerate(LAUNCH_STEPS) if s.key == key)
        before = sum(self.expected[s.key] for s in LAUNCH_STEPS[:index])
        self.done = before + self.expected[key] * min(max(fraction, 0.0), 1.0)
        left = self.estimate_left()
        text = (
            f"Step {index + 1} of {len(LAUNCH_STEPS)}: {LAUNCH_STEPS[index].label}"
            + (f" — {detail}" if detail else "")
            + f" · about {_seconds(left)} left"
        )
        self.report(self.done / self.total, text)


def _seconds(s: float) -> str:
    s = max(5, round(s / 5) * 5)
    return f"{s} s" if s < 90 else f"{s / 60:.0f} min"


def first_launch_pending(ws: Workspace) -> bool:
    return DEFAULT_DATASET not in ws.dataset_names() or (ws.path / FIRST_LAUNCH_MARKER).is_file()


def run_first_launch(ws: Workspace) -> None:
    """Fill the default workspace so that every page has something to show: the default panel
    generated, its core derived, the risk models trained, registered and scored, the CMS-HCC
    scores and gaps computed, the quality measures of every year computed and the default year's
    outcomes risk-adjusted, the Finance page's completion, trend and forecast at its default
    valuation date, the Targeting page's plan for the default programs (all three kept on disk
    too: ``stored_result``), and the default contracts
    settled, simulated and compared by risk level (the results stay in this server's caches; the
    panel, the core, the models and the quality results stay on disk). One progress display, with the time
    left. A step that cannot run on the data (e.g. training on fewer than three years) is said
    and skipped; the page concerned then says what to do."""
    ws.path.mkdir(parents=True, exist_ok=True)
    (ws.path / FIRST_LAUNCH_MARKER).write_text("started\n")
    total = LaunchClock(DEFAULT_PANEL.members, lambda f, t: None).total
    with st.status(
        f"First launch: preparing the default workspace ({DEFAULT_PANEL.members:,} members, "
        f"{DEFAULT_PANEL.years} years) — about {_seconds(total)} on a 2-core machine; later launches open in seconds.",
        expanded=True,
    ) as status:
        bar = st.progress(0.0, text="starting")
        clock = LaunchClock(DEFAULT_PANEL.members, lambda f, t: bar.progress(min(f, 1.0), text=t))
        skipped = _launch_steps(ws, clock)
        for note in skipped:
            status.write(note)
        bar.progress(1.0, text=f"Done in {clock.clock() - clock.started:.0f} s")
        status.update(label="Default workspace ready", state="complete", expanded=bool(skipped))
    (ws.path / FIRST_LAUNCH_MARKER).unlink(missing_ok=True)


def _launch_steps(ws: Workspace, clock: LaunchClock) -> list[str]:
    from modeling.core.panel import Panel

    clock.step("panel", 0.0)
    ds = ws.ensure_default_dataset(
        lambda folder: generate(
            DEFAULT_PANEL,
            folder,
            progress=lambda done, n: clock.step("panel", done / n, f"chunk {done} of {n}"),
        )
    )
    clock.step("core", 0.0)
    Panel.of(ds, progress=lambda msg: clock.step("core", 0.5, msg)).materialize()
    skipped: list[str] = []
    clock.step("models", 0.0)
    trained = version = None
    try:
        trained, version = _ensure_models(ws, ds, lambda msg: clock.step("models", 0.5, msg))
        clock.step("scores", 0.0, "risk models")
        risk_scores(ds, trained, version)
    except VbcError as exc:
        trained = None
        skipped.append(f"Risk models not trained: {exc}")
    try:
        clock.step("scores", 0.4, "CMS-HCC")
        warm_risk_adjustment(ds)
        dataset_overview(ds)
    except VbcError as exc:
        skipped.append(f"Not precomputed: {exc}")
    try:
        clock.step("quality", 0.0)
        warm_quality(ds)
    except VbcError as exc:
        skipped.append(f"Quality measures not precomputed: {exc}")
    try:
        clock.step("finance", 0.0)
        warm_finance(ds)
    except VbcError as exc:
        skipped.append(f"Finance not precomputed: {exc}")
    if trained is not None and version is not None:
        try:
            clock.step("targeting", 0.0)
            warm_targeting(ds, trained, version)
        except VbcError as exc:
            skipped.append(f"Targeting not precomputed: {exc}")
    try:
        clock.step("contracts", 0.0)
        warm_default_contracts(ds)
    except VbcError as exc:
        skipped.append(f"Contracts not precomputed: {exc}")
    clock.step("contracts", 1.0)
    return skipped


def _ensure_models(ws: Workspace, ds: Dataset, say: Callable[[str], None]):
    from risk_stratification.ml.pipeline import load_registered, register, train

    with ws.store(read_only=True) as store:
        try:
            return load_registered(store)
        except VbcError:
            pass
    trained = train(ds, progress=say)
    with ws.store() as store:
        register(trained, store)
        return load_registered(store)


def active_dataset() -> Dataset:
    """The dataset chosen in the sidebar; on first launch the default workspace is filled
    (``run_first_launch``)."""
    ws = workspace()
    if first_launch_pending(ws):
        run_first_launch(ws)
    names = ws.dataset_names()
    current = st.session_state.get("dataset") or ws.active_dataset_name()
    choice = st.sidebar.selectbox(
        "Dataset", names, index=names.index(current) if current in names else 0
    )
    if choice != st.session_state.get("dataset"):
        ws.set_active(choice)  # the CLI's commands use the dataset chosen here
    st.session_state["dataset"] = choice
    return ws.dataset(choice)


@st.cache_data(show_spinner="Computing population metrics...", max_entries=8)
def cached_overview(path: str, content_hash: str) -> PopulationOverview:
    return overview(Dataset(path))


def dataset_overview(ds: Dataset) -> PopulationOverview:
    return cached_overview(str(ds.path), ds.manifest["content_hash"])


@st.cache_data(show_spinner="Scoring the panel with CMS-HCC...", max_entries=6)
def _panel_scores(path: str, content_hash: str, payment_year: int):
    from risk_stratification.hcc.panel import score_panel

    return score_panel(Dataset(path), payment_year)


def panel_scores(ds: Dataset, payment_year: int):
    """CMS-HCC scores of a dataset's panel for a payment year (cached per dataset content)."""
    return _panel_scores(str(ds.path), ds.manifest["content_hash"], payment_year)


def mean_risk_score(ds: Dataset, payment_year: int) -> float | None:
    from risk_stratification.hcc.payment import payment_year_parameters

    if payment_year not in set(payment_year_parameters()["payment_year"].to_list()):
        return None
    try:
        return float(panel_scores(ds, payment_year).scores["payment_score"].mean())
    except VbcError:  # e.g. the dataset has no enrollment in the collection year
        return None


@st.cache_data(show_spinner="Finding and pricing recapture gaps...", max_entries=6)
def cached_gaps(path: str, content_hash: str, year: int, base_rate: float):
    """Recapture gaps of a dataset for a payment year (cached per dataset content and base rate)."""
    from risk_stratification.hcc.gaps import recapture_gaps

    return recapture_gaps(Dataset(path), year, annual_base_rate=base_rate)


DEFAULT_BASE_RATE = 12_000.0  # the Risk adjustment page's starting base rate, $ per point


def warm_risk_adjustment(ds: Dataset) -> None:
    """What the Risk adjustment and Overview pages show first: CMS-HCC scores of the latest
    scorable payment year (and the year the Overview's latest year feeds), recapture gaps."""
    from risk_stratification.hcc.panel import scorable_payment_years

    years = scorable_payment_years(ds)
    if years:
        panel_scores(ds, years[-1])
        cached_gaps(str(ds.path), ds.manifest["content_hash"], years[-1], DEFAULT_BASE_RATE)
    latest = dataset_overview(ds).summary["year"].max()
    mean_risk_score(ds, int(latest) + 1)


@st.cache_data(show_spinner="Scoring the panel with the risk models...", max_entries=4)
def _risk_scores(path: str, content_hash: str, model_version: int, _trained):
    """Cached on the dataset's content and the model's version (the model itself, unhashable, is
    the one registered under that version)."""
    from risk_stratification.ml.pipeline import score

    return score(Dataset(path), _trained)


def risk_scores(ds: Dataset, trained, version: int):
    """The panel scored by the registered risk model ``version`` (cached)."""
    return _risk_scores(str(ds.path), ds.manifest["content_hash"], version, trained)


@st.cache_resource(
    show_spinner="Reading the panel's expenditures and risk scores...", max_entries=4
)
def _contract_history(path: str, content_hash: str):
    from contracts.history import panel_history

    return panel_history(Dataset(path))


def contract_history(ds: Dataset):
    """The panel's expenditure and risk history that every contract is settled on (cached)."""
    return _contract_history(str(ds.path), ds.manifest["content_hash"])


@st.cache_data(show_spinner="Scoring the panel with CMS-HCC to price the premium...")
def _payment_score(path: str, content_hash: str, year: int) -> float | None:
    from contracts.history import mean_payment_score

    return mean_payment_score(Dataset(path), year)


def with_payment_scores(ds: Dataset, history, specs):
    """``history`` with the mean CMS payment scores the contracts ``specs`` need (cached)."""
    from contracts.projection import payment_score_years

    return history.with_payment_scores(
        {
            y: _payment_score(str(ds.path), ds.manifest["content_hash"], y)
            for y in payment_score_years(specs)
        }
    )


def default_contract_names(performance_year: int, available: list[str]) -> list[str]:
    """The contracts the Contracts page compares first: MSSP BASIC A and E and ENHANCED."""
    wanted = (
        f"mssp-basic-a-{performance_year}",
        f"mssp-basic-e-{performance_year}",
        f"mssp-enhanced-{performance_year}",
    )
    return [n for n in wanted if n in available]


# The Contracts page's first view: its widgets' starting values, in one place so the first
# launch precomputes exactly what the page then asks for.
DEFAULT_ASSUMPTIONS: dict[str, Any] = {
    "cost_trend": None,  # the panel's own trend
    "initiatives": {},
    "coding_risk_change": 0.0,
    "attribution_scale": 1.0,
    "quality_score": 0.85,
    "meets_quality_standard": True,
    "meets_alternative_quality_standard": False,
    "participant_revenue_share": 0.35,
    "minimum_savings_rate": None,
}
DEFAULT_UNCERTAINTY = (0.02, 0.03, 0.05)  # sd of the cost trend, attribution, quality score
SIMULATION_DRAWS = (1_000, 5_000, 10_000)  # the choices offered; the last is the default
RISK_LEVEL_DRAWS = (1_000, 2_000, 5_000)  # the middle one is the default
DEFAULT_SEED = 1
DEFAULT_CVAR_LIMIT = 2_000_000.0


def settle_default_contracts(ds: Dataset) -> list:
    """Settle the Contracts page's first view (the default contracts of the projected year,
    default assumptions); warms the caches it reads."""
    return _default_contracts(ds)[0]


def _default_contracts(ds: Dataset):
    from contracts.projection import parse_assumptions, project
    from contracts.specs import preset, preset_names

    history = contract_history(ds)
    year = history.years[-1] + 1
    specs = [preset(n) for n in default_contract_names(year, preset_names())]
    history = with_payment_scores(ds, history, specs)
    assumptions = parse_assumptions(DEFAULT_ASSUMPTIONS)
    return [project(spec, history, assumptions) for spec in specs], history, assumptions


def warm_default_contracts(ds: Dataset) -> None:
    """The Contracts page's first view, whole: the default contracts settled, the first one's
    simulated years, tornado and two-way grid, and the risk-level choice among them."""
    projections, history, assumptions = _default_contracts(ds)
    if not projections:
        return
    first = projections[0]
    simulation(
        ds,
        first,
        history,
        assumptions,
        DEFAULT_UNCERTAINTY,
        draws=SIMULATION_DRAWS[-1],
        seed=DEFAULT_SEED,
    )
    sensitivity(ds, first.spec, history, assumptions, "tornado")
    sensitivity(ds, first.spec, history, assumptions, "two_way")
    if len(projections) >= 2:
        risk_level(
            ds,
            projections,
            history,
            assumptions,
            draws=RISK_LEVEL_DRAWS[1],
            seed=DEFAULT_SEED,
            limit=DEFAULT_CVAR_LIMIT,
        )


# --- engine results cached by their inputs (warm pages re-read them instead of recomputing) ---


def dataset_problems(ds: Dataset) -> list[str]:
    """``Dataset.verify()``, re-run only when a table file's size or modification time changes."""
    stamp = []
    for entry in ds.manifest["tables"].values():
        f = ds.path / entry["file"]
        stat = f.stat() if f.exists() else None
        stamp.append(
            (entry["file"], stat.st_size if stat else -1, stat.st_mtime_ns if stat else -1)
        )
    return _dataset_problems(str(ds.path), ds.manifest["content_hash"], tuple(stamp))


@st.cache_data(show_spinner="Checking the files against the manifest...", max_entries=8)
def _dataset_problems(path: str, content_hash: str, stamp: tuple) -> list[str]:
    return Dataset(path).verify()


def registered_model():
    """The workspace's latest registered risk model and its version, or (None, None)."""
    from risk_stratification.ml.pipeline import MODEL_NAME

    ws = workspace()
    with ws.store(read_only=True) as store:
        versions = [m.version for m in store.list_models() if m.name == MODEL_NAME]
    if not versions:
        return None, None
    return _registered_model(str(ws.path), max(versions)), max(versions)


@st.cache_resource(show_spinner="Loading the registered risk model...", max_entries=4)
def _registered_model(workspace_path: str, version: int):
    from risk_stratification.ml.pipeline import load_registered

    with Workspace.at(workspace_path).store(read_only=True) as store:
        return load_registered(store, version)[0]


@st.cache_data(show_spinner="Explaining predicted cost (SHAP on a sample)...", max_entries=4)
def _importance(path: str, content_hash: str, version: int, feature_year: int, _trained):
    from risk_stratification.ml.pipeline import importance

    return importance(Dataset(path), _trained, feature_year=feature_year)


def model_importance(ds: Dataset, trained, version: int, feature_year: int):
    """Mean |SHAP| of predicted cost on a sample of the panel (cached per model version)."""
    return _importance(str(ds.path), ds.manifest["content_hash"], version, feature_year, trained)


def _contract_key(ds: Dataset, spec, assumptions) -> tuple[str, str, str, str]:
    import json

    from contracts.specs import spec_to_dict

    return (
        str(ds.path),
        ds.manifest["content_hash"],
        json.dumps(spec_to_dict(spec), sort_keys=True, default=str),
        assumptions.model_dump_json(),
    )


@st.cache_resource(max_entries=1)
def _computed() -> set:
    """The inputs of every simulation, sensitivity and risk-level choice this server computed
    (their results are in the caches below, unless evicted: then asking recomputes them)."""
    return set()


def _simulation_inputs(ds, projection, assumptions, uncertainty, draws, seed, version) -> tuple:
    key = _contract_key(ds, projection.spec, assumptions)
    return ("simulation", key, uncertainty, int(draws), int(seed), version)


@st.cache_resource(show_spinner="Simulating performance years...", max_entries=32)
def _simulation(key, uncertainty, draws, seed, model_version, _args):
    from contracts.simulation import Uncertainty, simulate

    spec, history, assumptions, projection, members = _args
    _computed().add(("simulation", key, uncertainty, draws, seed, model_version))
    return simulate(
        spec,
        history,
        assumptions,
        None
        if uncertainty is None
        else Uncertainty(
            trend_sd=uncertainty[0], attribution_sd=uncertainty[1], quality_sd=uncertainty[2]
        ),
        draws=draws,
        seed=seed,
        projection=projection,
        members=members,
        **({} if uncertainty is not None else {"break_even_sample": 0}),
    )


def simulation(ds: Dataset, projection, history, assumptions, uncertainty, *, draws, seed, **kw):
    """``contracts.simulation.simulate`` of ``projection``'s contract, cached on the dataset, the
    contract, the assumptions and the simulation's own inputs. ``uncertainty`` is
    (trend sd, attribution sd, quality sd), or None for the simulator's defaults without the
    break-even distribution (the risk-level comparison)."""
    key = _contract_key(ds, projection.spec, assumptions)
    members, version = kw.get("members"), kw.get("model_version")
    return _simulation(
        key,
        uncertainty,
        int(draws),
        int(seed),
        version,
        (projection.spec, history, assumptions, projection, members),
    )


@st.cache_resource(show_spinner="Moving one assumption at a time...", max_entries=16)
def _sensitivity(key, what: str, _args):
    from contracts.simulation import tornado, two_way_grid

    spec, history, assumptions = _args
    _computed().add(("sensitivity", key, what))
    return (tornado if what == "tornado" else two_way_grid)(spec, history, assumptions)


def sensitivity(ds: Dataset, spec, history, assumptions, what: str):
    """The tornado (``what="tornado"``) or the two-way grid (``"two_way"``), cached by inputs."""
    return _sensitivity(_contract_key(ds, spec, assumptions), what, (spec, history, assumptions))


@st.cache_resource(show_spinner="Choosing the risk level...", max_entries=16)
def _risk_level(keys, limit: float, _results):
    from contracts.simulation import choose_risk_level

    _computed().add(("risk_level", keys, limit))
    return choose_risk_level(list(_results), limit)


def risk_level(ds: Dataset, projections, history, assumptions, *, draws, seed, limit):
    """The contracts' simulations on the same years and the best option and mix within the CVaR
    ``limit`` (``contracts.simulation.choose_risk_level``), cached by inputs."""
    results = [
        simulation(ds, p, history, assumptions, None, draws=draws, seed=seed) for p in projections
    ]
    keys = tuple(_contract_key(ds, p.spec, assumptions) for p in projections)
    return _risk_level((keys, int(draws), int(seed)), float(limit), tuple(results))


# --- results kept on disk in the workspace, keyed by dataset content and code version ---

RESULTS_DIR = "results"  # <workspace>/results/<name>-<content hash>-<code version>.pkl
RESULT_PACKAGES = ("modeling", "risk_stratification", "contracts")
T = TypeVar("T")


@functools.cache
def code_version(packages: tuple[str, ...] = RESULT_PACKAGES) -> str:
    """A digest of every file (source and data) of ``packages`` and of this module (which
    composes the stored results): a stored result computed by other code, or from other
    reference data, is never served."""
    digest = hashlib.blake2b(digest_size=8)
    digest.update(Path(__file__).read_bytes())  # how this module composes the engines' results
    for name in packages:
        spec = importlib.util.find_spec(name)
        if spec is None or spec.origin is None:
            continue
        root = Path(spec.origin).parent
        for f in sorted(root.rglob("*")):
            if f.is_file() and "__pycache__" not in f.parts and f.suffix not in (".pyc", ".tmp"):
                digest.update(f.relative_to(root).as_posix().encode())
                digest.update(f.read_bytes())
    return digest.hexdigest()


def stored_result(ds: Dataset, name: str, compute: Callable[[], T]) -> T:
    """``compute()``, kept in the workspace's ``results/`` folder under the dataset's content hash
    and ``code_version()``: a later launch (a new server process) reads it instead of computing
    it again. A dataset whose manifest carries no plain hex content hash, a file that cannot be
    read back (e.g. written by another library version) and a workspace that cannot be written
    only mean computing it."""
    content = str(ds.manifest.get("content_hash", ""))
    if not re.fullmatch(r"[0-9a-f]{16,128}", content) or not re.fullmatch(r"[a-z0-9_-]+", name):
        return compute()
    f = workspace().path / RESULTS_DIR / f"{name}-{content[:16]}-{code_version()}.pkl"
    if f.is_file():
        try:
            with f.open("rb") as fh:
                return pickle.load(fh)  # noqa: S301 - written by this app, in its own workspace
        except Exception:  # noqa: BLE001 - any unreadable file is recomputed and replaced
            f.unlink(missing_ok=True)
    value = compute()
    try:
        f.parent.mkdir(parents=True, exist_ok=True)
        partial = f.with_name(f".{f.name}.{os.getpid()}.tmp")
        partial.write_bytes(pickle.dumps(value))
        os.replace(partial, f)  # readers never see half a file
    except OSError:
        pass
    return value


# --- the Quality page's results: every measure of a year, risk-adjusted outcomes, the trend ---


def quality_years(ds: Dataset) -> tuple[list[int], int | None]:
    """The years the Quality page can measure (a year needs the one before for its risk
    factors) and the one it opens on (the latest), or ([], None) below two years of data."""
    years = sorted({int(y) for y in dataset_overview(ds).summary["year"].to_list()})
    return (years[1:], years[-1]) if len(years) >= 2 else ([], None)


@st.cache_data(show_spinner="Computing every quality measure...", max_entries=6)
def _quality_rows(path: str, content_hash: str, year: int) -> pl.DataFrame:
    from modeling.marts.quality import measure_rows

    ds = Dataset(path)
    return stored_result(ds, f"quality_rows_{year}", lambda: measure_rows(ds, year).collect())


def quality_rows(ds: Dataset, year: int) -> pl.DataFrame:
    """``modeling.marts.quality.measure_rows`` of ``year`` (cached in memory and on disk)."""
    return _quality_rows(str(ds.path), ds.manifest["content_hash"], year)


@st.cache_data(show_spinner="Risk-adjusting the outcome measures...", max_entries=6)
def _quality_adjusted(path: str, content_hash: str, year: int, by: str):
    from modeling.core.panel import Panel
    from modeling.marts.quality.base import attributed_practice
    from risk_stratification.quality import adjusted_results, by_unit

    ds = Dataset(path)

    def compute():
        results, fitted = adjusted_results(
            ds, year, by=by, measure_frame=_quality_rows(path, content_hash, year)
        )
        practices = attributed_practice(Panel(ds), year).collect()
        return results, {
            m: (f.by_provider, f.calibration, f.c_statistic, f.model, by_unit(f, practices))
            for m, f in fitted.items()
        }

    return stored_result(ds, f"quality_adjusted_{year}_{by}", compute)


def quality_adjusted(ds: Dataset, year: int, by: str = "panel"):
    """``risk_stratification.quality.adjusted_results`` of ``year``: the results table and, per
    fitted outcome measure, (by provider, calibration, c-statistic, model, by practice: the
    providers pooled by their TIN) (cached in memory and on disk)."""
    return _quality_adjusted(str(ds.path), ds.manifest["content_hash"], year, by)


@st.cache_data(show_spinner="Computing the trend...", max_entries=6)
def _quality_trend(path: str, content_hash: str, years: tuple[int, ...]) -> pl.DataFrame:
    from modeling.marts.quality import quality_results

    ds = Dataset(path)
    return stored_result(
        ds,
        "quality_trend_" + "_".join(map(str, years)),
        lambda: pl.concat(
            [
                quality_results(ds, y, measure_frame=_quality_rows(path, content_hash, y))
                for y in years
            ]
        ),
    )


def quality_trend(ds: Dataset, years: list[int]) -> pl.DataFrame:
    """``quality_results`` of each of ``years``, stacked (cached in memory and on disk)."""
    return _quality_trend(str(ds.path), ds.manifest["content_hash"], tuple(years))


@st.cache_data(show_spinner="Ranking members by CMS-HCC risk...", max_entries=6)
def _quality_tiers(path: str, content_hash: str, year: int) -> pl.DataFrame:
    from risk_stratification.quality.tiers import hcc_risk_tiers

    ds = Dataset(path)
    return stored_result(ds, f"quality_tiers_{year}", lambda: hcc_risk_tiers(ds, year))


def quality_tiers(ds: Dataset, year: int) -> pl.DataFrame:
    """CMS-HCC risk tiers of ``year``'s members for the care-gap worklist (cached)."""
    return _quality_tiers(str(ds.path), ds.manifest["content_hash"], year)


def warm_quality(ds: Dataset) -> None:
    """What the Quality page shows first: the trend over every year (so every year's measure
    rows), the latest year's risk-adjusted outcomes and its members' risk tiers."""
    years, default = quality_years(ds)
    if default is None:
        return
    all_years = sorted({years[0] - 1, *years})
    quality_trend(ds, all_years)
    quality_adjusted(ds, default)
    quality_tiers(ds, default)


# --- the Finance page's first view: completion, trend bridge inputs, forecast as of a date ---


def finance_default_as_of(ds: Dataset) -> dt.date:
    """The valuation date the Finance page opens on: June 30 of the panel's latest year."""
    return dt.date(_panel_years(str(ds.path), ds.manifest["content_hash"])[-1], 6, 30)


@st.cache_data(max_entries=8)
def _panel_years(path: str, content_hash: str) -> list[int]:
    from modeling.core.panel import Panel

    return Panel(Dataset(path)).years()


def _finance_results(ds: Dataset, as_of: dt.date):
    """Completion as of ``as_of`` (300 bootstrap draws), monthly cost, the year-to-date trend
    bridge with the CMS-HCC risk factor, the seasonal index and the 18-month forecast: what the
    Finance page draws (computed in ``modeling.marts.finance`` and ``contracts.year_end``)."""
    from contracts.year_end import person_year_risk
    from modeling.core.panel import Panel
    from modeling.marts.finance.completion import CompletionOptions, complete
    from modeling.marts.finance.forecast import ForecastOptions, forecast
    from modeling.marts.finance.trend import bridge, monthly_cost, risk_by_month, seasonal_index

    panel = Panel(ds)
    done = complete(panel, as_of=as_of, options=CompletionOptions(draws=300))
    monthly = monthly_cost(panel, completion=done)
    fc = forecast(monthly, panel, options=ForecastOptions(months=18))
    # year to date against the same months of the years before (seasonality is not trend)
    through = monthly["incurred_month"].max()
    ytd = monthly.filter(pl.col("incurred_month").dt.month() <= through.month)
    # the risk factor: members' CMS-HCC V28 scores by year (contracts.year_end.person_year_risk)
    risk = risk_by_month(person_year_risk(panel, panel.years()), panel.scan("member_months"))
    trend = bridge(ytd, risk=risk if risk.height else None, grain="year", whole_periods_only=False)
    return done, monthly, trend, seasonal_index(monthly), fc


@st.cache_resource(show_spinner="Completing claims and forecasting...", max_entries=4)
def _finance_view(path: str, content_hash: str, as_of: dt.date):
    ds = Dataset(path)
    if as_of != finance_default_as_of(ds):  # another date: kept in this server's memory only
        return _finance_results(ds, as_of)
    return stored_result(ds, f"finance_{as_of:%Y%m%d}", lambda: _finance_results(ds, as_of))


def finance_view(ds: Dataset, as_of: dt.date):
    """(completion, monthly cost, trend bridge, seasonal index, forecast) as of ``as_of``, cached
    in memory; the default valuation date's (what the first launch computes) is kept on disk too,
    so a later launch opens the Finance page without completing or forecasting again."""
    return _finance_view(str(ds.path), ds.manifest["content_hash"], as_of)


def warm_finance(ds: Dataset) -> None:
    """What the Finance page shows first: its results at the default valuation date and the
    panel history its year-end settlement reads."""
    finance_view(ds, finance_default_as_of(ds))
    contract_history(ds)


# --- the Targeting page's first view: members' inputs, the plan, its effect on a contract ---

TARGETING_CONTRACT = "mssp-enhanced-{year}"  # the contract the plan's effect is shown on first


def targeting_editor_rows(presets) -> pl.DataFrame:
    """The Targeting page's program table as it opens: every preset offered, at its own
    care managers, caseload, cost and engagement."""
    return pl.DataFrame(
        {
            "include": [True] * len(presets),
            "program": [p.label for p in presets],
            "care_managers": [p.care_managers or 0.0 for p in presets],
            "members_per_care_manager": [p.members_per_care_manager or 0.0 for p in presets],
            "cost_per_member": [p.cost_per_member for p in presets],
            "engagement": [p.engagement.value for p in presets],
        }
    )


def targeting_programs(presets, rows: pl.DataFrame) -> list:
    """The programs offered in ``rows`` (the page's program table): each preset with the care
    managers, caseload, cost per member and engagement rate typed there (the engagement's range
    widened to include the rate)."""
    from dataclasses import replace

    programs = []
    for p, r in zip(presets, rows.iter_rows(named=True), strict=True):
        if not r["include"]:
            continue
        rate = float(r["engagement"])
        eng = replace(
            p.engagement,
            value=rate,
            low=min(p.engagement.low, rate),
            high=max(p.engagement.high, rate),
        )
        programs.append(
            replace(
                replace(
                    p, members_per_care_manager=float(r["members_per_care_manager"])
                ).with_care_managers(float(r["care_managers"])),
                cost_per_member=float(r["cost_per_member"]),
                engagement=eng,
            )
        )
    return programs


def _default_targeting():
    from risk_stratification.targeting import Constraints, preset_programs

    presets = preset_programs()
    return targeting_programs(presets, targeting_editor_rows(presets)), Constraints()


def _model_id(version: int) -> str:
    """The registry id of the workspace's risk model ``version`` (unique per registration, so a
    re-created workspace's version 1 is another model)."""
    from risk_stratification.ml.pipeline import MODEL_NAME

    with workspace().store(read_only=True) as store:
        ids = [m.id for m in store.list_models() if m.name == MODEL_NAME and m.version == version]
    return ids[0] if ids else f"v{version}"


@st.cache_data(show_spinner="Scoring the panel with the risk models...", max_entries=4)
def _targeting_members(path: str, content_hash: str, model_id: str, version: int, _trained):
    from risk_stratification.targeting import member_inputs

    ds = Dataset(path)
    name = "targeting_members_" + re.sub(r"[^a-z0-9]", "", model_id.lower())
    return stored_result(ds, name, lambda: member_inputs(ds, risk_scores(ds, _trained, version)))


def targeting_members(ds: Dataset, trained, version: int) -> pl.DataFrame:
    """``risk_stratification.targeting.member_inputs`` of the panel scored by the registered
    model ``version`` (cached in memory and on disk)."""
    return _targeting_members(
        str(ds.path), ds.manifest["content_hash"], _model_id(version), version, trained
    )


@dataclass(frozen=True)
class PlannedTargeting:
    """A care-management plan, the seconds making it took (the MILP, the greedy lists and the
    re-solves), and the key of its inputs."""

    plan: Any
    seconds: float
    key: str
    first_view: bool


@st.cache_resource(show_spinner="Planning care management (MILP)...", max_entries=16)
def _targeting_plan(key: str, first_view: bool, _args) -> PlannedTargeting:
    from risk_stratification.targeting import make_plan

    ds, model_id, members, programs, constraints = _args

    def compute() -> PlannedTargeting:
        started = time.perf_counter()
        plan = make_plan(members, programs, constraints)
        return PlannedTargeting(plan, time.perf_counter() - started, key, first_view)

    if not first_view:  # other programs or constraints: kept in this server's memory only
        return compute()
    name = "targeting_plan_" + re.sub(r"[^a-z0-9]", "", model_id.lower())
    return stored_result(ds, name, compute)


def targeting_plan(ds: Dataset, version: int, members, programs, constraints) -> PlannedTargeting:
    """``risk_stratification.targeting.make_plan`` of ``members`` under ``programs`` and
    ``constraints``, cached by those inputs; the default programs' plan (what the first launch
    computes) is kept on disk too."""
    model_id = _model_id(version)
    default_programs, default_constraints = _default_targeting()
    first_view = list(programs) == default_programs and constraints == default_constraints
    key = repr((str(ds.path), ds.manifest["content_hash"], model_id, list(programs), constraints))
    digest = hashlib.blake2b(key.encode(), digest_size=16).hexdigest()
    return _targeting_plan(digest, first_view, (ds, model_id, members, list(programs), constraints))


@st.cache_resource(
    show_spinner="Settling the contract with and without the plan...", max_entries=16
)
def _targeting_effect(plan_key: str, contract: str, msr: float, first_view: bool, _args):
    from contracts.care_plans import contract_effect, initiatives_of_plan
    from contracts.projection import Assumptions
    from contracts.specs import preset

    ds, plan = _args

    def compute():
        spec, history = preset(contract), contract_history(ds)
        initiatives = initiatives_of_plan(plan, history, spec)
        effect = contract_effect(
            spec, history, initiatives, Assumptions(minimum_savings_rate=msr or None)
        )
        return initiatives, effect

    if not first_view:
        return compute()
    return stored_result(ds, f"targeting_effect_{plan_key}_{contract}", compute)


def targeting_effect(ds: Dataset, planned: PlannedTargeting, contract: str, msr: float):
    """(initiatives, effect table): ``contracts.care_plans.plan_initiatives`` and
    ``contract_effect`` of ``planned``'s plan on the preset ``contract`` with the minimum
    savings rate ``msr`` (0: from the table), cached; the first view's is kept on disk too."""
    first_view = planned.first_view and msr == 0
    return _targeting_effect(planned.key, contract, float(msr), first_view, (ds, planned.plan))


def warm_targeting(ds: Dataset, trained, version: int) -> None:
    """What the Targeting page shows first: the members' inputs, the plan for the default
    programs and constraints, and its effect on the default contract of the prediction year
    (unless that contract cannot be settled at its defaults: the page then says why)."""
    from contracts.specs import preset_names

    members = targeting_members(ds, trained, version)
    programs, constraints = _default_targeting()
    planned = targeting_plan(ds, version, members, programs, constraints)
    contract = TARGETING_CONTRACT.format(year=int(members["prediction_year"][0]))
    # a contract that cannot be settled at its defaults (too few beneficiaries for the MSR
    # table): the page says so and asks for the rate
    if contract in preset_names():
        with contextlib.suppress(VbcError):
            targeting_effect(ds, planned, contract, 0.0)


def outcomes_computed(
    ds: Dataset, projection, assumptions, uncertainty, *, draws, seed, model_version=None
) -> bool:
    """Whether this server has already simulated ``projection`` with these inputs and computed
    its tornado and two-way grid (showing them again costs a cache read)."""
    key = _contract_key(ds, projection.spec, assumptions)
    return {
        _simulation_inputs(ds, projection, assumptions, uncertainty, draws, seed, model_version),
        ("sensitivity", key, "tornado"),
        ("sensitivity", key, "two_way"),
    } <= _computed()


def risk_level_computed(ds: Dataset, projections, assumptions, *, draws, seed, limit) -> bool:
    """Whether this server has already chosen the risk level among ``projections`` with these
    inputs."""
    keys = tuple(_contract_key(ds, p.spec, assumptions) for p in projections)
    return ("risk_level", (keys, int(draws), int(seed)), float(limit)) in _computed()
