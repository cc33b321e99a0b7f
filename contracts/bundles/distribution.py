"""The distribution of a hospital's reconciliation: Monte Carlo of volume, per-episode
spending, quality and post-acute initiatives, settled by ``reconcile_arrays`` and summarized
by the contracts simulator's own ``SimulationResult`` (expected amount, chance of repayment,
chance a cap binds, VaR/CVaR), not a second simulator.

Each simulated year draws:

- **volume**: the number of episodes, Poisson with the hospital's performance-year count as
  mean (times ``volume_scale``);
- **episodes**: that many of the hospital's own priced episodes, drawn with replacement, each
  with its spending and target price, so the spending distribution is the panel's own,
  heavy tail included (bootstrap);
- **quality**: the CQS, normal around ``quality_score`` with ``quality_sd``, within 0-100;
- **initiatives**: spending in a setting cut by a share (``{"snf": 0.10}`` cuts SNF spending
  by 10%), applied to every drawn episode.

The post-episode excess of the deterministic reconciliation is carried into every year.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from contracts.bundles.definitions import SETTINGS
from contracts.bundles.hospital import HospitalYear
from contracts.bundles.reconciliation import ReconciliationRules, reconcile_arrays
from contracts.simulation.monte_carlo import SimulationResult
from modeling.errors import ParameterError


@dataclass(frozen=True)
class BundleUncertainty:
    """What varies from one simulated year to the next."""

    quality_score: float = 50.0
    quality_sd: float = 10.0
    volume_scale: float = 1.0
    initiatives: dict[str, float] = field(default_factory=dict)  # setting -> share cut

    def __post_init__(self) -> None:
        if not 0 <= self.quality_score <= 100 or self.quality_sd < 0 or self.volume_scale <= 0:
            raise ParameterError(
                "quality_score must be 0-100, quality_sd >= 0 and volume_scale > 0 "
                f"(got {self.quality_score}, {self.quality_sd}, {self.volume_scale})."
            )
        for setting, cut in self.initiatives.items():
            if setting not in SETTINGS or not 0 <= cut <= 1:
                raise ParameterError(
                    f"initiative {setting}={cut}: the setting must be one of {', '.join(SETTINGS)} "
                    "and the cut a share between 0 and 1."
                )


CHUNK_PICKS = 1 << 19  # episodes drawn at a time: arrays of a few MB, reused, not ~100 MB


def _bootstrap_sums(
    rng: np.random.Generator, volume: np.ndarray, values: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """For each simulated year y, the sums of both columns of ``values`` (one row per
    episode) over ``volume[y]`` rows drawn with replacement. The draws are made a block of
    years at a time (blocks of about ``CHUNK_PICKS`` episodes), which consumes the generator
    exactly as one draw of every year's episodes at once would (NumPy's bounded 64-bit
    integers are drawn element by element), with memory bounded by the block, not by
    years x episodes; each year's sum is its segment's ``np.add.reduceat``."""
    sums = np.zeros((volume.size, values.shape[1]))
    ends = np.cumsum(volume)
    start = 0
    while start < volume.size:
        base = ends[start] - volume[start]
        stop = int(np.searchsorted(ends, base + CHUNK_PICKS, side="right"))
        stop = max(stop, start + 1)
        block = volume[start:stop]
        picks = rng.integers(0, values.shape[0], int(block.sum()))
        if picks.size:
            offsets = np.cumsum(block) - block
            drawn = values[picks]
            filled = block > 0
            sums[start:stop][filled] = np.add.reduceat(drawn, offsets[filled], axis=0)
        start = stop
    return sums[:, 0], sums[:, 1]


def simulate_reconciliation(
    year: HospitalYear,
    rules: ReconciliationRules,
    uncertainty: BundleUncertainty | None = None,
    *,
    draws: int = 10_000,
    seed: int = 1,
) -> SimulationResult:
    """``draws`` simulated performance years of the hospital (module docstring)."""
    if draws < 2:
        raise ParameterError(f"draws must be at least 2 (got {draws}).")
    u = uncertainty or BundleUncertainty()
    rng = np.random.default_rng(seed)
    ep = year.episodes
    spend = ep["winsorized_spending"].to_numpy().astype(float)
    for setting, cut in u.initiatives.items():
        spend = spend - cut * ep[f"spend_{setting}"].fill_null(0.0).to_numpy()
    target = ep["target_price"].to_numpy().astype(float)
    volume = rng.poisson(ep.height * u.volume_scale, draws)
    spending, targets = _bootstrap_sums(rng, volume, np.column_stack([spend, target]))
    quality = (
        np.clip(rng.normal(u.quality_score, u.quality_sd, draws), 0, 100)
        if u.quality_sd
        else np.full(draws, u.quality_score)
    )
    o = reconcile_arrays(
        targets,
        spending,
        quality,
        rules,
        post_episode_excess=year.reconciliation.post_episode_excess,
    )
    rates = np.divide(targets - spending, targets, out=np.zeros(draws), where=targets > 0)
    base = reconcile_arrays(
        year.reconciliation.target_amount,
        year.reconciliation.spending,
        u.quality_score,
        rules,
        post_episode_excess=year.reconciliation.post_episode_excess,
    )
    return SimulationResult(
        contract=f"{rules.model} track {rules.track} {year.facility_npi}",
        draws=draws,
        seed=seed,
        amounts=o.amount,
        savings_rates=rates,
        hit_payment_limit=o.hits_stop_gain,
        hit_loss_cap=o.hits_stop_loss,
        deterministic=float(base.amount),
    )
