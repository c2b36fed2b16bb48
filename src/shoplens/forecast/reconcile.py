"""Hierarchical reconciliation: bottom-up and MinT with a shrunk error covariance (Wickramasuriya,
Athanasopoulos & Hyndman 2019; shrinkage of Schäfer & Strimmer 2005).

Forecasts of every node (aggregates and bottom series) are made independently; reconciliation maps them
to coherent ones (each aggregate equals the sum of its series): ỹ = S G ŷ. Bottom-up uses only the
bottom forecasts; MinT weighs every node by its error covariance, estimated from rolling-origin errors.
"""

from __future__ import annotations

from typing import Literal

import numpy as np

Method = Literal["bottom_up", "mint_shrink", "ols"]
METHODS: tuple[str, ...] = ("bottom_up", "mint_shrink", "ols")


def bottom_up_matrix(summing: np.ndarray) -> np.ndarray:
    """G of bottom-up: picks the bottom rows (the last ``n_bottom`` nodes)."""
    n_nodes, n_bottom = summing.shape
    return np.hstack([np.zeros((n_bottom, n_nodes - n_bottom)), np.eye(n_bottom)])


def shrunk_covariance(errors: np.ndarray) -> np.ndarray:
    """Covariance of ``errors`` (samples × nodes) shrunk towards its diagonal with the Schäfer–Strimmer λ."""
    t = errors.shape[0]
    centred = errors - errors.mean(axis=0)
    cov = centred.T @ centred / t
    sd = np.sqrt(np.clip(np.diag(cov), 1e-12, None))
    std = centred / sd
    corr = std.T @ std / t
    # the variance over samples of each product std_i·std_j, as E[(std_i·std_j)²] − corr²: without the
    # samples × nodes × nodes array of the products (41.7 GB for 10,000 nodes and 56 samples)
    second_moment = (std ** 2).T @ (std ** 2) / t
    var_corr = (second_moment - corr ** 2) * t / max(t - 1, 1) ** 2 * t
    off = ~np.eye(len(sd), dtype=bool)
    denom = float((corr[off] ** 2).sum())
    lam = 1.0 if denom <= 0 else float(np.clip(var_corr[off].sum() / denom, 0.0, 1.0))
    shrunk = lam * np.eye(len(sd)) + (1 - lam) * corr
    np.fill_diagonal(shrunk, 1.0)
    return shrunk * np.outer(sd, sd)


def reconciliation_matrix(summing: np.ndarray, method: Method, errors: np.ndarray | None = None) -> np.ndarray:
    """G (bottom × nodes) for ``method``; MinT needs ``errors`` (samples × nodes, node order of S)."""
    if method == "bottom_up":
        return bottom_up_matrix(summing)
    if method == "ols":
        weights = np.eye(summing.shape[0])
    else:
        if errors is None or errors.shape[0] < 2:
            return bottom_up_matrix(summing)
        weights = shrunk_covariance(errors)
    inverse = np.linalg.pinv(weights)
    return np.linalg.solve(summing.T @ inverse @ summing + 1e-9 * np.eye(summing.shape[1]), summing.T @ inverse)


def reconcile(forecasts: np.ndarray, summing: np.ndarray, g_matrix: np.ndarray) -> np.ndarray:
    """Coherent forecasts of every node: rows of ``forecasts`` are periods, columns nodes (order of S)."""
    return forecasts @ g_matrix.T @ summing.T
