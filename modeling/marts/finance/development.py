"""The development (chain-ladder) method on one lag triangle, Mack's standard errors and the
over-dispersed Poisson bootstrap.

Rules (incurred month ``i``, lag ``k``, cumulative paid ``C[i, k]``, latest observed diagonal
``V``; ASOP No. 5 section 3.4.1, the development or lag method):

- link factor ``f_k = sum C[i, k+1] / sum C[i, k]`` over the cells of the latest ``window``
  diagonals (volume-weighted; ``i + k + 1 > V - window``); ``f_k = 1`` where nothing was paid.
  A cell with nothing paid yet at lag k counts too (its later payments are development);
  chainladder's weighted-regression form gives such a cell weight 0 and leaves it out, the one
  place the two differ (without such cells the factors are equal);
- cumulative development factor ``CDF_k = prod_{j >= k} f_j`` (tail 1 beyond the oldest lag),
  completion factor ``CF_k = 1 / CDF_k``, ultimate ``U_i = C[i, V-i] * CDF_{V-i}``;
- Mack (1993): ``sigma_k^2 = sum C[i,k] (C[i,k+1]/C[i,k] - f_k)^2 / (n_k - 1)`` over the same
  cells; a lag with a single ratio gets the log-linear extrapolation of the others (the default
  of R ChainLadder's ``MackChainLadder`` and of chainladder-python); the standard error of
  ``f_k`` is ``sigma_k / sqrt(sum C[i,k])``; the reserve's mean squared error is
  ``U_i^2 sum_{k >= V-i} (sigma_k^2 / f_k^2)(1 / C^[i,k] + 1 / sum C[j,k])`` (process + parameter),
  and the total adds the parameter covariance
  ``2 U_i U_j sum_k (sigma_k^2 / f_k^2) / sum C[j,k]`` between incurred months;
- bootstrap (England & Verrall 2002, over-dispersed Poisson): Pearson residuals of the
  incremental cells against the chain-ladder fit (bias-adjusted by ``sqrt(N / (N - p))``),
  resampled into pseudo triangles, refitted with the same window, and each future cell drawn
  from a gamma with the fitted mean and variance ``phi`` x mean.

``chainladder`` (casact) is the test oracle: factors, sigmas and Mack errors equal its
``Development(average="volume", n_periods=window)`` and ``MackChainladder`` on the same triangle.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from modeling.errors import ParameterError
from modeling.marts.finance.triangles import Triangle


@dataclass(frozen=True)
class Development:
    """Factors of one triangle by lag ``k`` (``link[k]`` develops lag k to k+1)."""

    link: np.ndarray  # (lags - 1,)
    sigma: np.ndarray  # (lags - 1,)
    link_se: np.ndarray  # (lags - 1,)
    weight: np.ndarray  # (lags - 1,) sum of C[i, k] over the cells used
    cdf: np.ndarray  # (lags,) cumulative to ultimate from lag k

    @property
    def completion(self) -> np.ndarray:
        return 1.0 / self.cdf


def _window_mask(
    shape: tuple[int, int], valuation: int, window: int, exclude: tuple[int, ...] = ()
) -> np.ndarray:
    """Link-ratio cells (i, k): C[i, k+1] observed and on one of the latest ``window`` diagonals
    (paid months) that are not in ``exclude``; the window reaches back past excluded ones, so it
    still holds ``window`` diagonals where the history has them."""
    i, k = np.indices((shape[0], shape[1] - 1))
    end = i + k + 1
    kept = [d for d in range(valuation, 0, -1) if d not in exclude][:window]
    return np.isin(end, kept) & (end <= valuation)


def _loglinear_fill(sigma: np.ndarray) -> np.ndarray:
    """Undefined sigmas from a least-squares line through log sigma over lag (zeros as 1e-320)."""
    defined = ~np.isnan(sigma)
    if defined.all() or defined.sum() < 2:
        return np.nan_to_num(sigma)
    x = np.arange(len(sigma), dtype=float)
    y = np.log(np.where(sigma[defined] == 0, 1e-320, sigma[defined]))
    slope, intercept = np.polyfit(x[defined], y, 1)
    return np.where(defined, sigma, np.exp(intercept + slope * x))


def develop(tri: Triangle, *, window: int = 12, exclude: tuple[int, ...] = ()) -> Development:
    """Link factors, sigmas and development factors of ``tri`` from its latest ``window``
    diagonals, leaving out the link ratios that end on the diagonals in ``exclude`` (paid
    months distorted by a processing slow-down or its catch-up; indices as ``tri.valuation``)."""
    if window < 1:
        raise ParameterError(f"window must be at least 1 diagonal (got {window}).")
    cum = np.cumsum(tri.paid, axis=1)
    lags = cum.shape[1]
    if lags < 2:
        return Development(np.empty(0), np.empty(0), np.empty(0), np.empty(0), np.ones(1))
    mask = _window_mask(cum.shape, tri.valuation, window, exclude)
    now, nxt = cum[:, :-1], cum[:, 1:]
    used = mask & (now > 0)
    weight = np.where(used, now, 0.0).sum(axis=0)
    # volume-weighted over every window cell: a month with nothing paid yet at lag k still
    # develops (a home-health period is rarely paid in its own month)
    link = np.where(
        weight > 0, np.where(mask, nxt, 0.0).sum(axis=0) / np.where(weight > 0, weight, 1), 1.0
    )
    n = used.sum(axis=0)
    ratio = np.where(used, nxt / np.where(now > 0, now, 1.0), 0.0)
    dev2 = np.where(used, now * (ratio - link) ** 2, 0.0).sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        sigma = np.where(n > 1, np.sqrt(dev2 / np.maximum(n - 1, 1)), np.nan)
    sigma = np.where(n == 0, 0.0, sigma)
    sigma = _loglinear_fill(sigma)
    link_se = np.where(weight > 0, sigma / np.sqrt(np.where(weight > 0, weight, 1.0)), 0.0)
    cdf = np.ones(lags)
    cdf[:-1] = np.cumprod(link[::-1])[::-1]
    return Development(link, sigma, link_se, weight, cdf)


@dataclass(frozen=True)
class ChainLadder:
    """Development-method estimates by incurred month of one triangle."""

    latest: np.ndarray  # paid to date
    latest_lag: np.ndarray
    ultimate: np.ndarray
    mack_se: np.ndarray  # of the reserve (= of the ultimate)
    total_mack_se: float


def chain_ladder(tri: Triangle, dev: Development) -> ChainLadder:
    """Ultimates and Mack standard errors of every incurred month (Mack 1993, see module)."""
    latest, k0 = tri.latest(), tri.latest_lag()
    lags = tri.paid.shape[1]
    ultimate = latest * dev.cdf[k0]
    # projected cumulative C^[i, k] for k >= latest lag (the observed value at the latest lag)
    proj = np.empty((tri.origins, lags))
    proj[:, 0] = 0
    k = np.arange(lags)
    grow = np.concatenate([[1.0], np.cumprod(dev.link)]) if lags > 1 else np.ones(1)
    proj = latest[:, None] * grow[None, :] / grow[k0][:, None]
    future = k[None, :-1] >= k0[:, None]  # lags k whose development k -> k+1 is still to come
    s2f2 = (dev.sigma**2 / np.where(dev.link > 0, dev.link, 1.0) ** 2)[None, :]
    with np.errstate(divide="ignore", invalid="ignore"):
        process = np.where(future & (proj[:, :-1] > 0), s2f2 / proj[:, :-1], 0.0).sum(axis=1)
        param_k = np.where(dev.weight > 0, s2f2[0] / dev.weight, 0.0)
    param = np.where(future, param_k[None, :], 0.0).sum(axis=1)
    mse = ultimate**2 * (process + param)
    # parameter covariance between incurred months: the older month's future lags are shared
    cov = 0.0
    for i in range(tri.origins):
        younger = ultimate[i + 1 :].sum()
        if younger and ultimate[i]:
            cov += ultimate[i] * younger * 2 * param_k[k[:-1] >= k0[i]].sum()
    return ChainLadder(latest, k0, ultimate, np.sqrt(mse), float(np.sqrt(mse.sum() + cov)))


def _fitted_incremental(tri: Triangle, dev: Development) -> np.ndarray:
    """The chain-ladder fit of the observed incremental cells: cumulative back-cast from the
    latest diagonal through the link factors, differenced."""
    k0 = tri.latest_lag()
    lags = tri.paid.shape[1]
    grow = np.concatenate([[1.0], np.cumprod(dev.link)])[:lags]
    cum = tri.latest()[:, None] * grow[None, :] / np.where(grow[k0] > 0, grow[k0], 1.0)[:, None]
    inc = np.diff(cum, axis=1, prepend=0.0)
    return np.where(tri.observed, inc, 0.0)


def _develop_many(
    cum: np.ndarray, valuation: int, window: int, exclude: tuple[int, ...] = ()
) -> np.ndarray:
    """Volume-weighted link factors of many cumulative triangles at once: (sims, lags - 1)."""
    mask = _window_mask(cum.shape[1:], valuation, window, exclude)
    now, nxt = cum[:, :, :-1], cum[:, :, 1:]
    w = np.where(mask[None], now, 0.0).sum(axis=1)
    return np.where(
        w > 0, np.where(mask[None], nxt, 0.0).sum(axis=1) / np.where(w > 0, w, 1.0), 1.0
    )


@dataclass(frozen=True)
class Bootstrap:
    """Simulated reserves by incurred month: ``reserves[s, i]``, and the link factors of each
    pseudo triangle (``links[s, k]``), for BF reserves from simulated completion."""

    reserves: np.ndarray
    cdf: np.ndarray  # (sims, lags)
    phi: float


def odp_bootstrap(
    tri: Triangle,
    dev: Development,
    *,
    window: int,
    draws: int,
    rng: np.random.Generator,
    exclude: tuple[int, ...] = (),
) -> Bootstrap:
    """The over-dispersed Poisson bootstrap of the development method (see module)."""
    lags = tri.paid.shape[1]
    obs = tri.observed
    fit = _fitted_incremental(tri, dev)
    pos = obs & (fit > 0)
    resid = np.where(pos, (tri.paid - fit) / np.sqrt(np.where(pos, fit, 1.0)), 0.0)
    n_cells = int(pos.sum())
    n_par = tri.origins + lags - 1
    dof = max(n_cells - n_par, 1)
    phi = float((resid[pos] ** 2).sum() / dof) if n_cells else 0.0
    pool = resid[pos] * np.sqrt(n_cells / dof) if n_cells else np.zeros(1)
    k0 = tri.latest_lag()
    draw = pool[rng.integers(0, len(pool), (draws, *tri.paid.shape))]
    pseudo = np.where(pos[None], fit[None] + draw * np.sqrt(np.where(pos, fit, 0.0))[None], 0.0)
    pseudo = np.where(obs[None] & ~pos[None], tri.paid[None], pseudo)
    cum = np.cumsum(pseudo, axis=2)
    links = _develop_many(cum, tri.valuation, window, exclude) if lags > 1 else np.ones((draws, 0))
    grow = np.concatenate([np.ones((draws, 1)), np.cumprod(links, axis=1)], axis=1)
    latest = cum[:, np.arange(tri.origins), k0]
    base = grow[:, k0]
    proj = latest[:, :, None] * grow[:, None, :] / np.where(base > 0, base, 1.0)[:, :, None]
    inc = np.diff(proj, axis=2, prepend=0.0)
    future = ~obs[None] & (inc > 0)
    mean = np.where(future, inc, 0.0)
    if phi > 0:
        shape = np.where(future, mean / phi, 1.0)
        noisy = np.where(future, rng.gamma(shape, phi), 0.0)
    else:
        noisy = mean
    cdf = np.ones((draws, lags))
    if lags > 1:
        cdf[:, :-1] = np.cumprod(links[:, ::-1], axis=1)[:, ::-1]
    return Bootstrap(noisy.sum(axis=2), cdf, phi)
