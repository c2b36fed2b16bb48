"""Log-log demand with fixed effects, fitted as a quasi-likelihood GLM with an AR(1) working covariance.

For product p on day t::

    log E[units] = a_p + season[dept(p), t] + e_p · log price[p, t] + promo_lift[dept(p)] · promo[p, t]
                   + trend_p · t  (+ product-specific extra regressors, e.g. other products' prices)

- ``season`` is a shop-wide day effect (weekdays, holidays, traffic) plus a department × week effect
  (each department's yearly season), whatever their shape; or, optionally, a department × day effect.
  Prices that move with the season (and promotions run out of season) therefore do not masquerade as
  price effects.
- ``promo_lift`` is the lift of a promotion beyond its lower price (display, newsletter, badge), shared by
  a department's products; a product's own promotions then contribute their depth as price variation.
- Zero-unit days stay in (log-link quasi-likelihood rather than OLS on log units, which must drop them).
- The variance is ``mu + kappa mu^2`` (overdispersion) and the log-scale noise carries a persistent AR(1)
  shock: each product's iteratively reweighted least-squares step is generalised least squares through
  :func:`shoplens.pricing.kalman.whiten`, so standard errors account for weeks of correlated days.
- Days whose price is ambiguous (a change inside a run of zero days) enter with the expected state under
  the posterior of the change point, updated as the fit improves (:func:`~shoplens.pricing.panel.change_posterior`).

Products are fitted jointly with the shared season and promotion effects by block coordinate ascent:
per-product Newton steps (vectorised over products), then closed-form Fisher steps for the fixed effects.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np

from shoplens.pricing.kalman import NoiseModel, estimate_noise, whiten
from shoplens.pricing.panel import PricePanel, change_posterior, change_prior, price_spread

# A product's price "never moved" when the spread of its log price is below this (well under a cent in 10).
MIN_LOG_PRICE_SD = 1e-3
MAX_LOG_MU = 20.0
RIDGE = 1e-8
FIXED_COEF_RIDGE = 1e8  # pins the price coefficient of a product whose price never moved at zero
SANDWICH_BLOCK_DAYS = 28


@dataclass
class FixedEffectsResult:
    """Per-product coefficients with standard errors, the shared effects and the fitted noise model."""

    coef: np.ndarray  # N × k: intercept, log price, [trend], extra columns
    se: np.ndarray  # N × k standard errors (GLS, inflated by the residual variance when above 1)
    columns: list[str]
    identifiable: np.ndarray  # N bool: the price moved
    departments: np.ndarray  # D names
    department_of: np.ndarray  # N indexes into departments
    season: np.ndarray  # D × T log effects (mean zero over each department's days)
    promo_lift: np.ndarray  # D
    noise: NoiseModel
    weight_a: np.ndarray  # N × T posterior probability of state a on ambiguous days (1 elsewhere)
    price_center: np.ndarray  # N: mean log price the price column is centred on
    time_center: np.ndarray  # N: mean day index (in years) the trend is centred on
    iterations: int
    converged: bool

    @property
    def elasticity(self) -> np.ndarray:
        return np.where(self.identifiable, self.coef[:, 1], np.nan)

    @property
    def elasticity_se(self) -> np.ndarray:
        return np.where(self.identifiable, self.se[:, 1], np.nan)

    def select(self, rows: np.ndarray) -> FixedEffectsResult:
        """The fit of some products (by position), sharing the season, promotion lift and noise model."""
        return replace(self, coef=self.coef[rows], se=self.se[rows], identifiable=self.identifiable[rows],
                       department_of=self.department_of[rows], weight_a=self.weight_a[rows],
                       price_center=self.price_center[rows], time_center=self.time_center[rows])

    def log_mean(self, panel: PricePanel, log_price: np.ndarray, promo: np.ndarray,
                 extra: np.ndarray | None = None) -> np.ndarray:
        """Fitted log expected units for given log prices and promotion states (N × T)."""
        design = _design(panel, log_price, self.price_center, self.time_center, self.identifiable,
                         "trend" in self.columns, extra)
        return _log_mean(design, self.coef, self.season, self.department_of, self.promo_lift, promo)


def fit_fixed_effects(panel: PricePanel, *, trend: bool = True, ar: bool = True, max_iter: int = 60,
                      tol: float = 1e-5, extra: np.ndarray | None = None, extra_names: tuple[str, ...] = (),
                      hold: FixedEffectsResult | None = None, weekly_season: bool = True,
                      on_iteration: Callable[[int], None] | None = None) -> FixedEffectsResult:
    """Fit the model above. ``extra``: N × T × m product-specific regressors (centred here); ``hold``: an
    earlier fit whose season, promotion lift, noise model and change posterior are kept fixed;
    ``weekly_season``: shop-wide day effects plus department × week effects instead of department × day."""
    usable = panel.usable
    units = np.where(usable, panel.units, 0.0)
    if hold is not None:
        departments, department_of = hold.departments, hold.department_of
    else:
        departments, department_of = np.unique(panel.departments(), return_inverse=True)
    onehot = (department_of[None, :] == np.arange(len(departments))[:, None]).astype(float)  # D × N
    weight_a = hold.weight_a.copy() if hold is not None else change_prior(panel)
    log_price, promo = panel.expected_state(weight_a)
    days = usable.sum(axis=1).clip(min=1)
    price_center = (log_price * usable).sum(axis=1) / days
    identifiable = price_spread(log_price, usable) >= MIN_LOG_PRICE_SD
    years = np.arange(panel.n_days) / 365.0
    time_center = (years[None, :] * usable).sum(axis=1) / days
    extra_c = _centred(extra, usable) if extra is not None else None
    columns = ["intercept", "log_price"] + (["trend"] if trend else []) + list(extra_names)
    coef = np.zeros((panel.n_products, len(columns)))
    coef[:, 0] = np.log(np.maximum(units.sum(axis=1) / days, 1e-3))
    season = hold.season.copy() if hold is not None else np.zeros((len(departments), panel.n_days))
    lift = hold.promo_lift.copy() if hold is not None else np.zeros(len(departments))
    noise = hold.noise if hold is not None else NoiseModel(kappa=0.3)
    ridge = _ridge(len(columns), identifiable)
    converged, iteration = False, 0
    for iteration in range(1, max_iter + 1):
        design = _design(panel, log_price, price_center, time_center, identifiable, trend, extra_c)
        step = _product_step(design, units, usable, coef, season, department_of, lift, promo, noise, ar, ridge)
        coef += np.clip(step, -1.0, 1.0)
        change = float(np.abs(step[:, 1]).max())
        if hold is None:
            # the shared effects settle within a small cycle (their normalisation against the intercepts);
            # the elasticities are what must converge
            season_change = _season_step(design, units, usable, coef, season, department_of, onehot, lift, promo,
                                         noise, weekly_season)
            change = max(change, season_change / 100)
            _lift_step(design, units, usable, coef, season, department_of, onehot, lift, promo, noise)
            if panel.ambiguous.any():
                weight_a = _change_weights(panel, coef, season, department_of, lift, price_center, time_center,
                                           identifiable, trend, extra_c, noise)
                log_price, promo = panel.expected_state(weight_a)
            if iteration % 3 == 0:
                mu = np.exp(_log_mean(design, coef, season, department_of, lift, promo))
                fitted = estimate_noise(units - mu, mu, usable)
                noise = fitted if ar else NoiseModel(kappa=fitted.kappa + fitted.shock_variance)
        if on_iteration is not None:
            on_iteration(iteration)
        if iteration > 5 and change < tol:
            converged = True
            break
    design = _design(panel, log_price, price_center, time_center, identifiable, trend, extra_c)
    se = _standard_errors(design, units, usable, coef, season, department_of, lift, promo, noise, ar, ridge)
    return FixedEffectsResult(coef=coef, se=se, columns=columns, identifiable=identifiable, departments=departments,
                              department_of=department_of, season=season, promo_lift=lift, noise=noise,
                              weight_a=weight_a, price_center=price_center, time_center=time_center,
                              iterations=iteration, converged=converged)


def _centred(extra: np.ndarray, usable: np.ndarray) -> np.ndarray:
    days = usable.sum(axis=1).clip(min=1)[:, None]
    mean = (extra * usable[..., None]).sum(axis=1) / days
    return (extra - mean[:, None, :]) * usable[..., None]


def _ridge(k: int, identifiable: np.ndarray) -> np.ndarray:
    ridge = np.broadcast_to(RIDGE * np.eye(k), (len(identifiable), k, k)).copy()
    ridge[~identifiable, 1, 1] = FIXED_COEF_RIDGE
    return ridge


def _design(panel: PricePanel, log_price: np.ndarray, price_center: np.ndarray, time_center: np.ndarray,
            identifiable: np.ndarray, trend: bool, extra: np.ndarray | None) -> np.ndarray:
    usable = panel.usable
    centred = (log_price - price_center[:, None]) * identifiable[:, None]
    parts = [np.ones(usable.shape), centred]
    if trend:
        parts.append(np.arange(panel.n_days)[None, :] / 365.0 - time_center[:, None])
    design = np.stack(parts, axis=-1)
    if extra is not None:
        design = np.concatenate([design, extra], axis=-1)
    return design * usable[..., None]


def _log_mean(design: np.ndarray, coef: np.ndarray, season: np.ndarray, department_of: np.ndarray,
              lift: np.ndarray, promo: np.ndarray) -> np.ndarray:
    eta = np.einsum("ntk,nk->nt", design, coef) + season[department_of] + lift[department_of][:, None] * promo
    return np.clip(eta, -MAX_LOG_MU, MAX_LOG_MU)


def _whitened(design: np.ndarray, units: np.ndarray, usable: np.ndarray, coef: np.ndarray, season: np.ndarray,
              department_of: np.ndarray, lift: np.ndarray, promo: np.ndarray, noise: NoiseModel,
              ar: bool) -> tuple[np.ndarray, np.ndarray]:
    """The IRLS working response (minus the shared effects) and design, whitened per product."""
    eta = _log_mean(design, coef, season, department_of, lift, promo)
    mu = np.exp(eta)
    offset = eta - np.einsum("ntk,nk->nt", design, coef)
    working = eta + (units - mu) / mu - offset
    stacked = np.concatenate([working[..., None], design], axis=-1) * usable[..., None]
    white = 1.0 / mu + noise.kappa
    if ar and noise.q > 0:
        out = whiten(stacked, white, usable, noise)
    else:
        out = stacked / np.sqrt(white + noise.shock_variance)[..., None] * usable[..., None]
    return out[..., 0], out[..., 1:]


def _product_step(design: np.ndarray, units: np.ndarray, usable: np.ndarray, coef: np.ndarray,
                  season: np.ndarray, department_of: np.ndarray, lift: np.ndarray, promo: np.ndarray,
                  noise: NoiseModel, ar: bool, ridge: np.ndarray) -> np.ndarray:
    response, white_design = _whitened(design, units, usable, coef, season, department_of, lift, promo, noise, ar)
    hessian = np.einsum("ntk,ntl->nkl", white_design, white_design) + ridge
    target = np.einsum("ntk,nt->nk", white_design, response)
    return np.linalg.solve(hessian, target[..., None])[..., 0] - coef


def _quasi_weights(mu: np.ndarray, noise: NoiseModel) -> np.ndarray:
    return 1.0 / (1.0 + (noise.kappa + noise.shock_variance) * mu)


def _season_step(design: np.ndarray, units: np.ndarray, usable: np.ndarray, coef: np.ndarray, season: np.ndarray,
                 department_of: np.ndarray, onehot: np.ndarray, lift: np.ndarray, promo: np.ndarray,
                 noise: NoiseModel, weekly: bool) -> float:
    """Fisher steps for the shared effects; returns the largest change. ``weekly``: a shop-wide day effect
    plus a department × week effect (parsimonious: a small shop cannot estimate department × day effects
    without fitting each product's own noise); otherwise department × day."""
    largest = 0.0
    groupings = (_day_groups, _department_week_groups) if weekly else (_department_day_groups,)
    for grouping in groupings:
        mu = np.exp(_log_mean(design, coef, season, department_of, lift, promo)) * usable
        weight = _quasi_weights(mu, noise)
        score = onehot @ ((units - mu) * weight * usable)
        info = onehot @ (mu * weight)
        step = grouping(score, info)
        season += step
        largest = max(largest, float(np.abs(step).max()))
    present = (onehot @ usable.astype(float)) > 0
    mean = (season * present).sum(axis=1) / present.sum(axis=1).clip(min=1)
    season -= mean[:, None] * present  # the products' intercepts carry the level
    coef[:, 0] += mean[department_of]
    return largest


def _bounded(score: np.ndarray, info: np.ndarray) -> np.ndarray:
    return np.where(info > 1e-9, np.clip(score / np.maximum(info, 1e-9), -1.0, 1.0), 0.0)


def _department_day_groups(score: np.ndarray, info: np.ndarray) -> np.ndarray:
    return _bounded(score, info)


def _day_groups(score: np.ndarray, info: np.ndarray) -> np.ndarray:
    return np.broadcast_to(_bounded(score.sum(axis=0), info.sum(axis=0)), score.shape)


def _department_week_groups(score: np.ndarray, info: np.ndarray) -> np.ndarray:
    weeks = np.arange(score.shape[1]) // 7
    n_weeks = weeks[-1] + 1
    by_week_score = np.stack([np.bincount(weeks, row, n_weeks) for row in score])
    by_week_info = np.stack([np.bincount(weeks, row, n_weeks) for row in info])
    return _bounded(by_week_score, by_week_info)[:, weeks]


def _lift_step(design: np.ndarray, units: np.ndarray, usable: np.ndarray, coef: np.ndarray, season: np.ndarray,
               department_of: np.ndarray, onehot: np.ndarray, lift: np.ndarray, promo: np.ndarray,
               noise: NoiseModel) -> None:
    """A Fisher step for each department's promotion lift."""
    mu = np.exp(_log_mean(design, coef, season, department_of, lift, promo)) * usable
    weight = _quasi_weights(mu, noise)
    score = onehot @ ((units - mu) * weight * promo * usable).sum(axis=1)
    info = onehot @ (mu * weight * promo**2).sum(axis=1)
    lift += np.where(info > 1e-9, np.clip(score / np.maximum(info, 1e-9), -1.0, 1.0), 0.0)


def _change_weights(panel: PricePanel, coef: np.ndarray, season: np.ndarray, department_of: np.ndarray,
                    lift: np.ndarray, price_center: np.ndarray, time_center: np.ndarray, identifiable: np.ndarray,
                    trend: bool, extra: np.ndarray | None, noise: NoiseModel) -> np.ndarray:
    """Probability of state a on ambiguous days: half the posterior under the current fit (negative binomial
    zeros), half the uniform prior."""
    usable = panel.usable
    log_a = np.log(np.where(usable, panel.price_a, 1.0))
    log_b = np.log(np.where(usable & np.isfinite(panel.price_b), panel.price_b, np.where(usable, panel.price_a, 1.0)))
    dispersion = max(noise.kappa + noise.shock_variance, 1e-6)
    log_zero = []
    for log_price, promo in ((log_a, panel.promo_a), (log_b, panel.promo_b)):
        design = _design(panel, log_price, price_center, time_center, identifiable, trend, extra)
        mu = np.exp(_log_mean(design, coef, season, department_of, lift, promo))
        log_zero.append(-np.log1p(dispersion * mu) / dispersion)
    return (change_prior(panel) + change_posterior(panel, log_zero[0], log_zero[1])) / 2  # see panel.py


def _standard_errors(design: np.ndarray, units: np.ndarray, usable: np.ndarray, coef: np.ndarray,
                     season: np.ndarray, department_of: np.ndarray, lift: np.ndarray, promo: np.ndarray,
                     noise: NoiseModel, ar: bool, ridge: np.ndarray) -> np.ndarray:
    """The larger of the GLS standard error (inflated by the whitened residual variance where it exceeds one)
    and a sandwich one clustered by four-week blocks, which stays honest when the noise model is off (sparse
    sales leave its AR part unestimated)."""
    response, white_design = _whitened(design, units, usable, coef, season, department_of, lift, promo, noise, ar)
    hessian = np.einsum("ntk,ntl->nkl", white_design, white_design) + ridge
    inverse = np.linalg.inv(hessian)
    residual = response - np.einsum("ntk,nk->nt", white_design, coef)
    dof = (usable.sum(axis=1) - coef.shape[1]).clip(min=1)
    scale = np.maximum((residual**2).sum(axis=1) / dof, 1.0)
    model_var = np.clip(np.diagonal(inverse, axis1=1, axis2=2), 0, None) * scale[:, None]
    n, t, k = white_design.shape
    blocks = -(-t // SANDWICH_BLOCK_DAYS)
    scores = np.zeros((n, blocks * SANDWICH_BLOCK_DAYS, k))
    scores[:, :t] = white_design * residual[..., None]
    per_block = scores.reshape(n, blocks, SANDWICH_BLOCK_DAYS, k).sum(axis=2)
    meat = np.einsum("nbk,nbl->nkl", per_block, per_block)
    robust_var = np.clip(np.diagonal(inverse @ meat @ inverse, axis1=1, axis2=2), 0, None)
    return np.sqrt(np.maximum(model_var, robust_var))
