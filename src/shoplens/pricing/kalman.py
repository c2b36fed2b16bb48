"""Whitening of product time series whose noise is white plus a persistent AR(1) demand shock.

On the log scale a product's daily demand deviates from its expectation by white noise (Poisson and
overdispersion; variance ``v_t`` that depends on the expected units) plus a shock that persists from day to
day (AR(1), persistence ``phi``, innovation variance ``q``). Least squares on such data counts a month of
correlated days as thirty independent ones: intervals come out too narrow. Generalised least squares
removes that by regressing the one-step prediction errors of a Kalman filter, scaled to unit variance;
the filter's gain depends only on ``v``, ``phi`` and ``q``, so the same recursion applies to the response
and to every column of the design. Days outside the data (not live, unknown price) are skipped.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class NoiseModel:
    """Noise of log demand: white variance ``1/mu + kappa`` plus an AR(1) shock (``phi``, innovation ``q``)."""

    phi: float = 0.0
    q: float = 0.0
    kappa: float = 0.0

    @property
    def shock_variance(self) -> float:
        """Stationary variance of the AR(1) shock."""
        return self.q / (1 - self.phi**2) if self.phi < 1 else float("inf")

    def block_variance(self, units_per_day: float | np.ndarray, days: int) -> float | np.ndarray:
        """Variance of the log of mean demand over ``days`` consecutive days (white part plus shock)."""
        lags = np.arange(1, days)
        shock_share = (days + 2 * np.sum((days - lags) * self.phi**lags)) / days**2 if days > 1 else 1.0
        white = (1 / np.maximum(units_per_day, 1e-9) + self.kappa) / days
        return white + self.shock_variance * shock_share

    def to_dict(self) -> dict[str, float]:
        return {"phi": self.phi, "q": self.q, "kappa": self.kappa}


def whiten(columns: np.ndarray, white_variance: np.ndarray, observed: np.ndarray, noise: NoiseModel) -> np.ndarray:
    """One-step prediction errors of each column, divided by their standard deviation.

    ``columns``: products × days × c (response and design side by side); ``white_variance``: products × days;
    ``observed``: products × days bool. Unobserved days come back as zero rows.
    """
    n, t, c = columns.shape
    out = np.zeros_like(columns)
    mean = np.zeros((n, c))
    var = np.full(n, noise.shock_variance if noise.q > 0 else 0.0)
    for day in range(t):
        if day:
            mean *= noise.phi
            var = noise.phi**2 * var + noise.q
        seen = observed[:, day]
        total = var + white_variance[:, day]
        error = columns[:, day, :] - mean
        out[:, day, :] = np.where(seen[:, None], error / np.sqrt(total)[:, None], 0.0)
        gain = np.where(seen, var / total, 0.0)
        mean += gain[:, None] * error * seen[:, None]
        var *= 1 - gain
    return out


def estimate_noise(residual: np.ndarray, expected: np.ndarray, observed: np.ndarray,
                   max_weight: float = 50.0) -> NoiseModel:
    """Moments of relative residuals ``e = (u - mu) / mu`` pooled over products: ``E[e_t e_t+h] = s2 phi^h``
    for h >= 1 (the shock) and ``E[e_t^2] = 1/mu + kappa + s2``. Days are weighted by their expected units
    (capped), since a relative residual on a day expecting 0.1 units is mostly Poisson noise."""
    t = residual.shape[1]
    weight = np.where(observed, np.minimum(expected, max_weight), 0.0)
    rel = np.where(observed, residual / np.maximum(expected, 1e-9), 0.0)

    def autocov(lag: int) -> float:
        w = np.sqrt(weight[:, lag:] * weight[:, : t - lag])
        total = w.sum()
        return float((rel[:, lag:] * rel[:, : t - lag] * w).sum() / total) if total > 0 else 0.0

    c1, c2, c3 = autocov(1), autocov(2), autocov(3)
    total = weight.sum()
    excess = float(((rel**2 - 1 / np.maximum(expected, 1e-9)) * weight).sum() / total) if total > 0 else 0.0
    if c1 <= 0 or c2 <= 0:
        return NoiseModel(kappa=max(excess, 0.0))
    phi = float(np.clip((c2 + max(c3, 0.0)) / (c1 + c2), 0.0, 0.98))
    if phi < 0.05:
        return NoiseModel(kappa=max(excess, 0.0))
    shock = c1 / phi
    return NoiseModel(phi=phi, q=shock * (1 - phi**2), kappa=max(excess - shock, 0.0))
