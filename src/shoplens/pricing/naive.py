"""The naive baseline: log units on log price, product by product, on days with a sale, no controls.

This is the regression most shops run first. It is biased by everything that moves price and demand
together: promotions come with unrecorded display and newsletter lifts (too elastic), prices follow the
season (either way), and leaving out zero-unit days drops the high-price days that sold nothing (too
inelastic). Kept as the baseline every evaluation reports beside ours.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from shoplens.pricing.fixed_effects import MIN_LOG_PRICE_SD
from shoplens.pricing.panel import PricePanel

MIN_SALE_DAYS = 3


@dataclass
class NaiveResult:
    elasticity: np.ndarray  # per product; NaN where the price never moved or too few sale days
    se: np.ndarray
    pooled: float  # one slope for all products' sale days (no product effects)


def fit_naive(panel: PricePanel) -> NaiveResult:
    """Per-product OLS slopes with classical standard errors, and the pooled slope."""
    sale = panel.sale
    x = np.where(sale, np.log(np.where(sale, panel.price_a, 1.0)), 0.0)
    y = np.where(sale, np.log(np.where(sale, panel.units, 1.0)), 0.0)
    n = sale.sum(axis=1)
    safe_n = np.maximum(n, 1)
    x_mean, y_mean = x.sum(axis=1) / safe_n, y.sum(axis=1) / safe_n
    dx = np.where(sale, x - x_mean[:, None], 0.0)
    dy = np.where(sale, y - y_mean[:, None], 0.0)
    sxx, sxy = (dx**2).sum(axis=1), (dx * dy).sum(axis=1)
    ok = (n >= MIN_SALE_DAYS) & (np.sqrt(sxx / safe_n) >= MIN_LOG_PRICE_SD)
    slope = np.where(ok, sxy / np.where(ok, sxx, 1.0), np.nan)
    residual = np.where(sale, dy - slope[:, None] * dx, 0.0)
    sigma2 = (residual**2).sum(axis=1) / np.maximum(n - 2, 1)
    se = np.where(ok, np.sqrt(sigma2 / np.where(ok, sxx, 1.0)), np.nan)
    all_x, all_y = x[sale], y[sale]
    pooled = float(np.polyfit(all_x, all_y, 1)[0]) if len(all_x) > 2 and np.std(all_x) > 0 else float("nan")
    return NaiveResult(elasticity=slope, se=se, pooled=pooled)
