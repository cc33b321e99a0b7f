"""What defines an episode: triggers, window, death and overlap rules, who is included, which
settings count. ``definition("team", performance_year=2026)`` reads CMS's rules from the data
files; ``load_commercial_bundle(path)`` reads a user's commercial bundle from TOML.

A commercial bundle file::

    [bundle]
    name = "Knee replacement, Acme Health Plan"
    window_days = 90                 # days after discharge (or the procedure), discharge = day 1
    anchor_drgs = ["469", "470"]     # MS-DRG triggers (inpatient)
    anchor_hcpcs = ["27447"]         # HCPCS triggers (outpatient hospital)
    price = 27500.0                  # the bundle price per episode
    payer_types = ["medicare", "commercial"]   # optional; default: every payer type
    included_settings = ["anchor", "readmission", "snf", "irf", "home_health",
                         "outpatient", "professional", "other"]  # optional; default: all
    savings_share = 0.5              # share of savings paid to the provider (optional, 1.0)
    loss_share = 0.5                 # share of losses the provider repays (optional, 1.0)
    stop_gain = 0.10                 # cap on the payment as a share of the target (optional)
    stop_loss = 0.10                 # cap on the repayment as a share of the target (optional)
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from contracts.bundles.parameters import parameter, triggers
from modeling.errors import ParameterError

SETTINGS = (
    "anchor",
    "readmission",
    "snf",
    "irf",
    "home_health",
    "outpatient",
    "professional",
    "other",
)
DEATH_IN_ANCHOR = ("cancel", "exclude", "keep")
DEATH_AFTER_ANCHOR = ("truncate", "cancel")
OVERLAP_RULES = ("keep_prior", "bpci")
PAYER_TYPES = ("medicare", "medicaid", "commercial", "medicare advantage", "aca", "other")


@dataclass(frozen=True)
class EpisodeDefinition:
    """How one model builds episodes in one performance year.

    ``triggers`` has episode_category, anchor_type ("inpatient"/"outpatient"), code,
    medical_surgical and priced_as_drg (the MS-DRG an outpatient anchor is priced with).
    """

    model: str
    performance_year: int
    window_days: int
    outpatient_to_admission_days: int
    max_anchor_los: int
    death_in_anchor: str
    death_after_anchor: str
    overlap_rule: str
    triggers: pl.DataFrame
    payer_types: tuple[str, ...]
    exclude_esrd: bool
    cms_exclusions: bool  # excluded readmission DRGs and MDCs, excluded Part B drugs
    included_settings: tuple[str, ...] = SETTINGS
    price: float | None = None  # commercial bundles: the price per episode

    def __post_init__(self) -> None:
        checks = (
            (self.window_days >= 1, f"window_days must be at least 1 (got {self.window_days})"),
            (self.max_anchor_los >= 1, "max_anchor_los must be at least 1"),
            (
                self.death_in_anchor in DEATH_IN_ANCHOR,
                f"death_in_anchor must be one of {DEATH_IN_ANCHOR}",
            ),
            (
                self.death_after_anchor in DEATH_AFTER_ANCHOR,
                f"death_after_anchor must be one of {DEATH_AFTER_ANCHOR}",
            ),
            (self.overlap_rule in OVERLAP_RULES, f"overlap_rule must be one of {OVERLAP_RULES}"),
            (
                set(self.included_settings) <= set(SETTINGS),
                f"included_settings must be among {SETTINGS}",
            ),
            (self.triggers.height > 0, "a bundle needs at least one trigger code"),
        )
        for ok, message in checks:
            if not ok:
                raise ParameterError(f"Episode definition {self.model!r}: {message}.")


def definition(model: str, *, performance_year: int) -> EpisodeDefinition:
    """TEAM or BPCI Advanced episode rules for ``performance_year`` from the data files."""
    if model not in ("team", "bpci-advanced"):
        raise ParameterError(
            f"Unknown bundle model {model!r}: use 'team', 'bpci-advanced' or a commercial bundle TOML file."
        )

    def value(name: str) -> str:
        return parameter(model, performance_year, name).value

    trig = triggers(model).select(
        "episode_category", "anchor_type", "code", "medical_surgical", "priced_as_drg"
    )
    return EpisodeDefinition(
        model=model,
        performance_year=performance_year,
        window_days=int(value("window_days")),
        outpatient_to_admission_days=int(value("outpatient_to_admission_days")),
        max_anchor_los=int(value("max_anchor_los")),
        death_in_anchor=value("death_in_anchor"),
        death_after_anchor=value("death_after_anchor"),
        overlap_rule=value("overlap_rule"),
        triggers=trig,
        payer_types=("medicare",),
        exclude_esrd=True,
        cms_exclusions=True,
    )


@dataclass(frozen=True)
class CommercialTerms:
    """A commercial bundle's price and risk sharing."""

    price: float
    savings_share: float
    loss_share: float
    stop_gain: float | None
    stop_loss: float | None


def _number(raw: dict, key: str, default: float | None, where: str) -> float | None:
    if key not in raw:
        return default
    v = raw[key]
    if not isinstance(v, int | float) or isinstance(v, bool) or v < 0:
        raise ParameterError(f"{where}: {key} must be a non-negative number (got {v!r}).")
    return float(v)


def parse_commercial_bundle(
    raw: dict, *, where: str = "bundle file"
) -> tuple[EpisodeDefinition, CommercialTerms]:
    """A commercial bundle's episode definition and terms from the parsed TOML (``[bundle]``)."""
    b = raw.get("bundle")
    if not isinstance(b, dict):
        raise ParameterError(
            f"{where}: needs a [bundle] table with name, window_days, anchor_drgs/anchor_hcpcs and price."
        )
    name = b.get("name")
    if not isinstance(name, str) or not name:
        raise ParameterError(f"{where}: [bundle] name must be a non-empty string.")
    drgs, hcpcs = b.get("anchor_drgs", []), b.get("anchor_hcpcs", [])
    if not all(isinstance(c, str) for c in [*drgs, *hcpcs]) or not (drgs or hcpcs):
        raise ParameterError(
            f"{where}: anchor_drgs and anchor_hcpcs must be lists of code strings, at least one code in all "
            '(e.g. anchor_drgs = ["469", "470"]).'
        )
    window = b.get("window_days")
    if not isinstance(window, int) or isinstance(window, bool):
        raise ParameterError(f"{where}: window_days must be a whole number of days (e.g. 90).")
    price = _number(b, "price", None, where)
    if price is None:
        raise ParameterError(f"{where}: price (per episode) is required.")
    payer_types = tuple(b.get("payer_types", PAYER_TYPES))
    if not set(payer_types) <= set(PAYER_TYPES):
        raise ParameterError(f"{where}: payer_types must be among {PAYER_TYPES}.")
    trig = pl.DataFrame(
        {
            "episode_category": [name] * (len(drgs) + len(hcpcs)),
            "anchor_type": ["inpatient"] * len(drgs) + ["outpatient"] * len(hcpcs),
            "code": [str(c).zfill(3) for c in drgs] + list(hcpcs),
            "medical_surgical": ["surgical"] * (len(drgs) + len(hcpcs)),
            "priced_as_drg": [""] * (len(drgs) + len(hcpcs)),
        }
    )
    spec = EpisodeDefinition(
        model=name,
        performance_year=int(b.get("performance_year", 0)),
        window_days=window,
        outpatient_to_admission_days=int(b.get("outpatient_to_admission_days", 0)),
        max_anchor_los=int(b.get("max_anchor_los", 59)),
        death_in_anchor=str(b.get("death_in_anchor", "exclude")),
        death_after_anchor=str(b.get("death_after_anchor", "truncate")),
        overlap_rule="keep_prior",
        triggers=trig,
        payer_types=payer_types,
        exclude_esrd=bool(b.get("exclude_esrd", False)),
        cms_exclusions=bool(b.get("cms_exclusions", False)),
        included_settings=tuple(b.get("included_settings", SETTINGS)),
        price=price,
    )
    share = {k: _number(b, k, 1.0, where) for k in ("savings_share", "loss_share")}
    for k, v in share.items():
        if v is not None and v > 1:
            raise ParameterError(f"{where}: {k} must be between 0 and 1 (got {v}).")
    terms = CommercialTerms(
        price=price,
        savings_share=share["savings_share"] or 0.0,
        loss_share=share["loss_share"] or 0.0,
        stop_gain=_number(b, "stop_gain", None, where),
        stop_loss=_number(b, "stop_loss", None, where),
    )
    return spec, terms


def load_commercial_bundle(path: str | Path) -> tuple[EpisodeDefinition, CommercialTerms]:
    """A commercial bundle from its TOML file (format in this module's docstring)."""
    p = Path(path)
    if not p.is_file():
        raise ParameterError(
            f"Bundle file {p} does not exist; write one as in `vbc bundles --help`."
        )
    try:
        raw = tomllib.loads(p.read_text())
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ParameterError(f"Bundle file {p} is not valid TOML: {exc}.") from exc
    return parse_commercial_bundle(raw, where=f"bundle file {p}")
