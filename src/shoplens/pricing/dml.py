"""Double machine learning of per-product elasticities (cross-fitted, LightGBM nuisance models).

The partially linear model on the multiplicative (log-link) scale::

    E[units | log price D, controls X] = exp(theta_p · D + g(X))

with controls X: product, category, department, day of week, day of year, year, promotion state, and
the department's demand that day from the *other* products (a leave-one-out demand index that carries
holidays, traffic and seasons). Two nuisance functions are learnt by LightGBM with cross-fitting:
``m(X) = E[D | X]`` and ``l(X) = E[units | X]`` (Poisson objective). With ``v = D - m(X)``, the demand
given price is ``l(X) exp(theta v) / E[exp(theta v)]``, and ``theta_p`` solves the Neyman-orthogonal
moment ``sum_t w_t v_t (units_t - l_t exp(theta v_t) / c_p(theta)) = 0`` per product, weighted for the
overdispersion (``w = 1 / (1 + kappa l)``). Zero-unit days stay in.

Folds are random blocks of (product, two weeks), not single days, so that a persistent demand shock
does not leak from the training folds into the predictions. The standard errors cluster the scores by
the same blocks. No continuous time index enters X: the nuisances could otherwise learn each product's
price path and leave no variation to identify ``theta``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from shoplens.pricing.fixed_effects import MIN_LOG_PRICE_SD
from shoplens.pricing.panel import PricePanel, price_spread

BLOCK_DAYS = 14
CATEGORICAL = ["product", "category", "department"]


@dataclass
class DMLResult:
    elasticity: np.ndarray
    se: np.ndarray
    kappa: float
    rows: int


def fit_dml(panel: PricePanel, *, folds: int = 4, trees: int = 300, learning_rate: float = 0.05,
            n_jobs: int = 2, random_state: int = 0) -> DMLResult:
    """Cross-fitted orthogonal estimates of each product's elasticity, with block-clustered standard errors."""
    import lightgbm as lgb

    weight_a = np.where(panel.ambiguous, 0.5, 1.0)  # no demand model to weigh a change point with
    log_price, promo = panel.expected_state(weight_a)
    usable = panel.usable
    rows, cols = np.nonzero(usable)
    features = _features(panel, promo, rows, cols)
    units, treatment = panel.units[rows, cols], log_price[rows, cols]
    blocks = panel.n_days // BLOCK_DAYS + 1
    rng = np.random.default_rng(random_state)
    fold = rng.integers(0, folds, panel.n_products * blocks)[rows * blocks + cols // BLOCK_DAYS]
    params = {"n_estimators": trees, "learning_rate": learning_rate, "num_leaves": 63, "min_child_samples": 50,
              "subsample": 0.8, "subsample_freq": 1, "colsample_bytree": 0.9, "n_jobs": n_jobs, "verbose": -1,
              "random_state": random_state}
    price_hat, demand_hat = np.zeros(len(rows)), np.zeros(len(rows))
    for k in range(folds):
        train, test = fold != k, fold == k
        if not test.any():
            continue
        price_model = lgb.LGBMRegressor(**params).fit(features[train], treatment[train],
                                                       categorical_feature=CATEGORICAL)
        price_hat[test] = price_model.predict(features[test])
        demand_model = lgb.LGBMRegressor(objective="poisson", **params).fit(features[train], units[train],
                                                                              categorical_feature=CATEGORICAL)
        demand_hat[test] = demand_model.predict(features[test])
    residual = treatment - price_hat
    theta, se, kappa = _solve_moment(panel.n_products, rows, cols, units, residual, np.maximum(demand_hat, 1e-9))
    varies = price_spread(log_price, usable) >= MIN_LOG_PRICE_SD
    return DMLResult(elasticity=np.where(varies, theta, np.nan), se=np.where(varies, se, np.nan), kappa=kappa,
                     rows=len(rows))


def _features(panel: PricePanel, promo: np.ndarray, rows: np.ndarray, cols: np.ndarray) -> pd.DataFrame:
    departments, department_of = np.unique(panel.departments(), return_inverse=True)
    _, category_of = np.unique(panel.categories, return_inverse=True)
    usable = panel.usable
    units = np.where(usable, panel.units, 0.0)
    onehot = (department_of[None, :] == np.arange(len(departments))[:, None]).astype(float)
    total, present = onehot @ units, onehot @ usable.astype(float)
    others = (total[department_of] - units) / np.maximum(present[department_of] - 1, 1)
    days = panel.days
    return pd.DataFrame({
        "product": pd.Categorical(rows), "category": pd.Categorical(category_of[rows]),
        "department": pd.Categorical(department_of[rows]), "day_of_week": days.dayofweek[cols],
        "day_of_year": days.dayofyear[cols], "year": cols // 365, "promo": promo[rows, cols],
        "department_demand": np.log1p(others[rows, cols]),
    })


def _solve_moment(n: int, rows: np.ndarray, cols: np.ndarray, units: np.ndarray, residual: np.ndarray,
                  demand_hat: np.ndarray, max_iter: int = 50) -> tuple[np.ndarray, np.ndarray, float]:
    kappa = max(float(((units - demand_hat) ** 2 - demand_hat).sum() / (demand_hat**2).sum()), 0.0)
    weight = 1.0 / (1.0 + kappa * demand_hat)
    count = np.bincount(rows, minlength=n).clip(min=1)
    theta = np.zeros(n)
    for _ in range(max_iter):
        shift = np.exp(np.clip(theta[rows] * residual, -20, 20))
        mean_shift = np.bincount(rows, shift, n) / count
        mu = demand_hat * shift / mean_shift[rows]
        score = np.bincount(rows, weight * residual * (units - mu), n)
        info = np.bincount(rows, weight * residual**2 * mu, n) + 1e-12
        step = np.clip(score / info, -1.0, 1.0)
        theta += step
        if np.abs(step).max() < 1e-7:
            break
    shift = np.exp(np.clip(theta[rows] * residual, -20, 20))
    mu = demand_hat * shift / (np.bincount(rows, shift, n) / count)[rows]
    scores = weight * residual * (units - mu)
    blocks = cols.max() // BLOCK_DAYS + 1 if len(cols) else 1
    clustered = np.bincount(rows * blocks + cols // BLOCK_DAYS, scores, n * blocks).reshape(n, blocks)
    info = np.bincount(rows, weight * residual**2 * mu, n)
    se = np.sqrt((clustered**2).sum(axis=1)) / np.maximum(info, 1e-12)
    return theta, se, kappa
