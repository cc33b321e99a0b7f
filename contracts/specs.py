"""Contract specs: typed, validated, loadable from TOML or JSON.

One pydantic model per contract family, told apart by ``family``:

- ``mssp``: Medicare Shared Savings Program, BASIC levels A-E or ENHANCED (42 CFR 425);
- ``reach``: ACO REACH-style global or professional risk (discount, corridors, quality withhold);
- ``shared_savings``: commercial upside-only shared savings with a quality gate and a payout cap;
- ``risk_corridors``: commercial two-sided risk corridors (provider share by band) with a loss cap;
- ``ma_percent_of_premium``: Medicare Advantage percent-of-premium capitation with surplus and
  deficit shares.

Program numbers (sharing and loss rates, caps, the MSR table, REACH discounts) are not in the
specs: they come from ``contracts/data`` by performance year. A user's commercial contract states
its own terms and is as first-class as a preset.
"""

from __future__ import annotations

import json
import tomllib
from importlib.resources import files
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Annotated, Literal

from pydantic import (
    ConfigDict,
    Field,
    TypeAdapter,
    ValidationError,
    field_validator,
    model_validator,
)

from contracts._validation import SHORT_REPR, VbcModel
from modeling.errors import ParameterError

ELECTED_MSR_OPTIONS = (0.0, 0.005, 0.01, 0.015, 0.02)


class _Spec(VbcModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(description="What the contract is called in lists and charts.")
    performance_year: int = Field(ge=2000, le=2100)
    truncation_percentile: float | None = Field(
        default=0.99,
        gt=0.5,
        le=1.0,
        description="Per-person annual expenditures are capped at this percentile (by enrollment type), as MSSP truncates; None for no cap.",
    )
    stop_loss_attachment: float | None = Field(
        default=None,
        ge=1_000,
        description="Per-member annual cost above this dollar amount is excluded (stop-loss); at least $1,000 (a plausibility bound of ours: below it nearly every member's cost is capped and the benchmark is meaningless).",
    )
    baseline_weights: tuple[float, ...] = Field(
        default=(0.1, 0.3, 0.6), description="Weights of the baseline years, oldest first."
    )
    annual_trend: float | None = Field(
        default=None,
        gt=-0.5,
        lt=0.5,
        description="Annual expenditure trend used to bring baseline years forward and to update the benchmark; None uses the panel's own per-capita growth.",
    )
    risk_adjust: bool = Field(
        default=True,
        description="Adjust the benchmark by the change in the panel's CMS-HCC risk score.",
    )

    @field_validator("baseline_weights")
    @classmethod
    def _weights_sum_to_one(cls, v: tuple[float, ...]) -> tuple[float, ...]:
        if not v or any(w < 0 for w in v) or abs(sum(v) - 1) > 1e-9:
            raise ValueError(f"baseline weights must be non-negative and sum to 1 (got {list(v)})")
        return v


MSSP_TRACKS = ("TRACK_1", "TRACK_2", "TRACK_3", "TRACK_1_PLUS", "BASIC", "ENHANCED")


class MsspSpec(_Spec):
    """An MSSP track for a performance year: Track 1, Track 2, Track 3 and Track 1+ (agreement
    periods before July 2019), BASIC level A-E or ENHANCED (from July 2019). Rates and caps come
    from ``contracts/data/mssp_parameters.csv`` by performance year and track."""

    family: Literal["mssp"] = "mssp"
    track: Literal["TRACK_1", "TRACK_2", "TRACK_3", "TRACK_1_PLUS", "BASIC", "ENHANCED"]
    level: Literal["A", "B", "C", "D", "E"] | None = None
    msr_mlr: Literal["size_based"] | float = Field(
        default="size_based",
        description="Two-sided ACOs elect a symmetric MSR/MLR of 0%, 0.5%, 1%, 1.5% or 2%, or the size-based table; one-sided levels always use the table.",
    )
    low_revenue_aco: bool = Field(
        default=False,
        description="BASIC low-revenue ACO: may share savings below the MSR at half the rate (42 CFR 425.605(h)).",
    )
    prospective_trend: float | None = Field(
        default=None,
        gt=-0.5,
        lt=0.5,
        description="The Accountable Care Prospective Trend (annual) CMS set for the agreement period; blended one-third into the benchmark update (42 CFR 425.652(b)).",
    )
    agreement_period: int = Field(
        default=1,
        ge=1,
        description="The ACO's agreement period (1, 2, 3+): sets the regional adjustment weights.",
    )
    risk_growth_cap: float = Field(
        default=0.03,
        ge=0,
        description="Cap on growth of the prospective HCC risk score between BY3 and the performance year (42 CFR 425.652(a)(5)(iii)).",
    )
    sequestration: bool = Field(
        default=False,
        description="Reduce shared savings by the payment year's sequestration (2%; none in the CARES Act moratorium; never on losses), as CMS pays them (contracts/data/mssp_sequestration.csv).",
    )
    performance_period_months: Literal[6, 12] = Field(
        default=12,
        description="6 for the January-June or July-December 2019 performance periods (42 CFR 425.609): the figures given are for all of CY2019 and the shared savings or losses are pro-rated by 6/12.",
    )
    two_sided_year: int | None = Field(
        default=None,
        ge=1,
        description="Track 2 only: the ACO's performance year of two-sided risk (1, 2, 3+), which sets its loss limit (5%, 7.5%, 10% of the benchmark, 42 CFR 425.606(g)).",
    )

    @model_validator(mode="after")
    def _level_matches_track(self) -> MsspSpec:
        if self.track == "BASIC" and self.level is None:
            raise ValueError("a BASIC track contract needs a level (A, B, C, D or E)")
        if self.performance_period_months == 6 and self.performance_year != 2019:
            raise ValueError(
                "a six-month performance period exists only in 2019 (42 CFR 425.609: January-June and July-December 2019)"
            )
        if self.track != "BASIC" and self.level is not None:
            raise ValueError(f"the {self.track} track has no levels; remove 'level'")
        if self.msr_mlr != "size_based":
            if not any(abs(self.msr_mlr - o) < 1e-12 for o in ELECTED_MSR_OPTIONS):
                raise ValueError(
                    f"msr_mlr must be 'size_based' or one of {', '.join(f'{o:.1%}' for o in ELECTED_MSR_OPTIONS)} (got {self.msr_mlr})"
                )
            if (self.track == "BASIC" and self.level in ("A", "B")) or self.track == "TRACK_1":
                raise ValueError(
                    "one-sided tracks (Track 1, BASIC levels A and B) use the size-based MSR; an elected MSR/MLR is for two-sided ones"
                )
        return self


class ReachSpec(_Spec):
    """ACO REACH-style global or professional risk (parameters from ``contracts/data/reach_*.csv``)."""

    family: Literal["reach"] = "reach"
    risk_option: Literal["global", "professional"]
    sequestration: bool = Field(
        default=False,
        description="Reduce a positive settlement by the payment year's Medicare sequestration (2%; none in the CARES Act moratorium; never on losses).",
    )
    benchmark_basis: Literal["unadjusted", "final"] = Field(
        default="unadjusted",
        description="'unadjusted': the benchmark before the discount and quality withhold (the engine applies them); 'final': CMS's final benchmark, discount and withhold already applied (as in CMS's financial PUF).",
    )


class Corridor(VbcModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    from_rate: float = Field(alias="from", ge=0)
    to_rate: float | None = Field(default=None, alias="to")
    provider_share: float = Field(ge=0, le=1)

    @model_validator(mode="after")
    def _ordered(self) -> Corridor:
        if self.to_rate is not None and self.to_rate <= self.from_rate:
            raise ValueError(
                f"a corridor's 'to' ({self.to_rate}) must be above its 'from' ({self.from_rate})"
            )
        return self


def _check_bands(bands: tuple[Corridor, ...], what: str) -> None:
    if not bands:
        return
    if bands[0].from_rate != 0:
        raise ValueError(f"{what} must start at 0 (the first starts at {bands[0].from_rate})")
    for a, b in zip(bands, bands[1:], strict=False):
        if a.to_rate != b.from_rate:
            raise ValueError(
                f"{what} must be contiguous: one ends at {a.to_rate} and the next starts at {b.from_rate}"
            )
    if bands[-1].to_rate is not None:
        raise ValueError(f"the last of the {what} must be open-ended (no 'to')")


class SharedSavingsSpec(_Spec):
    """Commercial upside-only shared savings against a PMPM target."""

    family: Literal["shared_savings"] = "shared_savings"
    target_pmpm: float | None = Field(
        default=None,
        ge=1,
        le=100_000,
        description="Contract PMPM target ($1 to $100,000, plausibility bounds); None builds it from the panel's risk-adjusted history and trend.",
    )
    minimum_savings_rate: float = Field(default=0.02, ge=0, lt=1)
    sharing_rate: float = Field(default=0.5, ge=0, le=1)
    share_from_first_dollar: bool = Field(
        default=True,
        description="Once the threshold is met, share all savings (True) or only savings above the threshold (False).",
    )
    quality_gate: float | None = Field(
        default=None, ge=0, le=1, description="Minimum quality score (0-1) to share at all."
    )
    quality_scales_share: bool = Field(
        default=False, description="Multiply the sharing rate by the quality score."
    )
    payout_cap_pct_target: float | None = Field(
        default=0.10,
        gt=0,
        le=1,
        description="Cap on the payout as a share of the total target (at most 1: savings never exceed the target, so a larger cap never binds).",
    )
    care_management_pmpm: float = Field(
        default=0.0,
        ge=0,
        le=10_000,
        description="Care-management fee paid regardless of outcome (PMPM, at most $10,000, a plausibility bound), netted from shared savings.",
    )


class RiskCorridorsSpec(_Spec):
    """Commercial two-sided risk corridors: the provider's share of savings (and of losses) by band
    of the savings (loss) rate; losses optionally capped."""

    family: Literal["risk_corridors"] = "risk_corridors"
    target_pmpm: float | None = Field(
        default=None, ge=1, le=100_000, description="Contract PMPM target ($1 to $100,000)."
    )
    corridors: tuple[Corridor, ...] = Field(
        min_length=1, description="Bands of the savings rate, from 0 up; at least one."
    )
    loss_corridors: tuple[Corridor, ...] | None = Field(
        default=None,
        description="Bands for losses; None uses the same bands as savings (symmetric).",
    )
    loss_cap_pct_target: float | None = Field(
        default=None,
        gt=0,
        le=1,
        description="Cap on the provider's losses as a share of the total target (at most 1, a plausibility bound; leave it out for no cap).",
    )
    payout_cap_pct_target: float | None = Field(
        default=None,
        gt=0,
        le=1,
        description="Cap on the payout as a share of the total target (at most 1: savings never exceed the target).",
    )

    @model_validator(mode="after")
    def _contiguous(self) -> RiskCorridorsSpec:
        _check_bands(self.corridors, "savings corridors")
        _check_bands(self.loss_corridors or (), "loss corridors")
        return self


class MaPercentOfPremiumSpec(_Spec):
    """Medicare Advantage percent-of-premium capitation: the provider receives a share of the
    plan's premium, pays the members' covered costs, and keeps/owes the surplus/deficit share."""

    family: Literal["ma_percent_of_premium"] = "ma_percent_of_premium"
    percent_of_premium: float = Field(gt=0, le=1)
    premium_pmpm: float | None = Field(
        default=None,
        ge=1,
        le=100_000,
        description="Plan premium PMPM ($1 to $100,000, plausibility bounds); None: base_rate_pmpm x the panel's mean payment risk score.",
    )
    base_rate_pmpm: float | None = Field(
        default=None,
        ge=1,
        le=100_000,
        description="MA base rate PMPM at a risk score of 1.0 ($1 to $100,000) (used when premium_pmpm is not given).",
    )
    surplus_share: float = Field(default=1.0, ge=0, le=1)
    deficit_share: float = Field(default=1.0, ge=0, le=1)
    deficit_cap_pct_revenue: float | None = Field(
        default=None,
        gt=0,
        le=1,
        description="Cap on the deficit the provider owes as a share of its revenue (at most 1, a plausibility bound; leave it out for no cap).",
    )

    @model_validator(mode="after")
    def _premium_source(self) -> MaPercentOfPremiumSpec:
        if self.premium_pmpm is None and self.base_rate_pmpm is None:
            raise ValueError(
                "give premium_pmpm, or base_rate_pmpm to derive the premium from the panel's risk score"
            )
        return self


ContractSpec = Annotated[
    MsspSpec | ReachSpec | SharedSavingsSpec | RiskCorridorsSpec | MaPercentOfPremiumSpec,
    Field(discriminator="family"),
]
_ADAPTER = TypeAdapter(ContractSpec)
FAMILIES = ("mssp", "reach", "shared_savings", "risk_corridors", "ma_percent_of_premium")


def describe_errors(exc: ValidationError, *, skip: int = 0, whole: str = "spec") -> str:
    """Pydantic's errors as "field = value: problem; ..." (``skip`` leading location parts, e.g.
    the union tag): each names the field, the value given and the rule it breaks (the allowed
    range, for a number)."""
    problems = []
    for e in exc.errors():
        field = ".".join(str(p) for p in e["loc"][skip:]) or whole
        if e["type"] == "missing" or field == whole or isinstance(e["input"], dict):
            problems.append(f"{field}: {e['msg']}")
        else:
            problems.append(f"{field} = {SHORT_REPR.repr(e['input'])}: {e['msg']}")
    return "; ".join(problems)


def parse_spec(data: dict, where: str = "contract spec") -> ContractSpec:
    """Validate a spec from a dict; errors name the field, the problem and the fix."""
    if not isinstance(data, dict) or data.get("family") not in FAMILIES:
        given = (
            f" (got {data.get('family')!r})" if isinstance(data, dict) and "family" in data else ""
        )
        raise ParameterError(
            f"{where}: a contract spec needs 'family', one of {', '.join(FAMILIES)}{given}."
        )
    try:
        return _ADAPTER.validate_python(data)
    except ValidationError as exc:
        raise ParameterError(
            f"{where} is not a valid {data.get('family')} contract: {describe_errors(exc, skip=1)}."
        ) from None


def load_spec(path: str | Path) -> ContractSpec:
    """A spec from a TOML or JSON file, or the name of a shipped preset."""
    p = Path(path)
    if not p.exists():
        if str(path) in preset_names():
            return preset(str(path))
        raise ParameterError(
            f"No contract spec file {p} and no preset named '{path}'. Presets: {', '.join(preset_names())}."
        )
    return parse_spec(read_settings_file(p), where=str(p))


def read_settings_file(path: Path) -> dict:
    """The dict in a JSON file (by suffix) or a TOML file (otherwise); a folder, text that is not
    UTF-8 (a byte-order mark is allowed), bad syntax, nesting too deep or a top level that is not
    a table is a clear error."""
    kind = "JSON" if path.suffix.lower() == ".json" else "TOML"
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except IsADirectoryError:
        raise ParameterError(f"{path} is a folder; give the {kind} file of the spec.") from None
    except UnicodeDecodeError as exc:
        raise ParameterError(
            f"{path} is not UTF-8 text (byte {exc.start:,}): a binary file, or saved in another "
            "encoding; re-save it as UTF-8."
        ) from None
    try:
        data = json.loads(text) if kind == "JSON" else tomllib.loads(text)
    except (json.JSONDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ParameterError(f"{path} is not valid {kind}: {exc}.") from None
    except RecursionError:
        raise ParameterError(f"{path} is nested too deeply to be a spec.") from None
    if not isinstance(data, dict):
        raise ParameterError(f"{path}: the top level must be a table of settings, not a list.")
    return data


def spec_to_dict(spec: ContractSpec) -> dict:
    return spec.model_dump(mode="json", by_alias=True)


def _preset_files() -> dict[str, Traversable]:
    folder = files("contracts").joinpath("data", "presets")
    return {f.name.removesuffix(".toml"): f for f in folder.iterdir() if f.name.endswith(".toml")}


def preset_names() -> list[str]:
    return sorted(_preset_files())


def default_presets(performance_year: int) -> list[str]:
    """The contracts a panel is settled against when none is named: every MSSP level and
    ENHANCED, and the commercial corridors, for ``performance_year``."""
    names = [
        n
        for n in preset_names()
        if n.endswith(f"-{performance_year}")
        and (n.startswith("mssp-") or n.startswith("commercial-corridors"))
    ]
    if not names:
        raise ParameterError(
            f"No shipped contract presets for performance year {performance_year}; name the "
            "contracts to settle (presets: vbc contracts list) or write a spec file."
        )
    return names


def preset(name: str) -> ContractSpec:
    found = _preset_files().get(name)
    if found is None:
        raise ParameterError(f"No preset named '{name}'. Presets: {', '.join(preset_names())}.")
    return parse_spec(tomllib.loads(found.read_text()), where=f"preset {name}")
