"""Fusing ranking signals into one score, and the known-item metrics that judge a ranking.

Each signal is a ``(queries, products)`` score matrix (BM25, a dense cosine …). Signals live on different scales,
so each is standardised per query (z-score over the products, missing scores at the row's minimum) before a
weighted sum. :class:`LinearFusion` learns the weights on validation queries by coordinate ascent on MRR@10
(a handful of weights, a few hundred queries: a grid per weight is enough and cannot overfit much);
:func:`reciprocal_rank_fusion` is the untrained equal-weight baseline.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from shoplens.base import Params
from shoplens.errors import InputError

GRID = (0.0, 0.1, 0.2, 0.35, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0)
RRF_K = 60


def standardize(scores: np.ndarray) -> np.ndarray:
    """Per-row z-scores; non-finite entries (no score) become the row's finite minimum first."""
    scores = np.atleast_2d(np.asarray(scores, dtype=np.float64))
    finite = np.isfinite(scores)
    low = np.where(finite, scores, np.inf).min(axis=1, keepdims=True)
    low = np.where(np.isfinite(low), low, 0.0)
    filled = np.where(finite, scores, low)
    std = filled.std(axis=1, keepdims=True)
    return (filled - filled.mean(axis=1, keepdims=True)) / np.where(std > 0, std, 1.0)


def target_ranks(scores: np.ndarray, targets: Sequence[int]) -> np.ndarray:
    """1-based rank of each query's target product, ties counted pessimistically (a tie ranks ahead)."""
    scores = np.atleast_2d(np.asarray(scores, dtype=np.float64))
    scores = np.where(np.isfinite(scores), scores, -np.inf)
    own = scores[np.arange(len(scores)), np.asarray(targets)]
    return (scores >= own[:, None]).sum(axis=1)


def known_item_metrics(scores: np.ndarray, targets: Sequence[int], k: int = 10) -> dict[str, float]:
    """``recall@k`` (target in the top k) and ``mrr@k`` (1 / its rank, 0 beyond k), averaged over queries."""
    ranks = target_ranks(scores, targets)
    return {f"recall@{k}": float((ranks <= k).mean()), f"mrr@{k}": float(np.where(ranks <= k, 1.0 / ranks, 0).mean())}


def reciprocal_rank_fusion(signals: Sequence[np.ndarray], k: int = RRF_K) -> np.ndarray:
    """Σ 1 / (k + rank) over the signals (ranks per query, best = 1; ties share the better rank)."""
    total = 0.0
    for scores in signals:
        scores = np.where(np.isfinite(scores), scores, -np.inf)
        order = np.argsort(-scores, axis=1, kind="stable")
        ranks = np.empty_like(order)
        np.put_along_axis(ranks, order, np.arange(1, scores.shape[1] + 1)[None, :].repeat(len(scores), 0), axis=1)
        total = total + 1.0 / (k + ranks)
    return np.asarray(total)


@dataclass(eq=False, repr=False)
class LinearFusion(Params):
    """Σ weight × standardised signal. ``fit`` learns the weights on validation queries (coordinate ascent over
    :data:`GRID`, best MRR@``k``, ties to the smaller total weight); ``weights`` given here are the start."""

    weights: dict[str, float] = field(default_factory=dict)
    k: int = 10
    rounds: int = 3

    def fit(self, signals: Mapping[str, np.ndarray], targets: Sequence[int]) -> LinearFusion:
        names = list(signals)
        if not names:
            raise InputError("fusion needs at least one signal")
        z = {name: standardize(signals[name]) for name in names}
        weights = {name: float(self.weights.get(name, 1.0)) for name in names}

        def quality(w: dict[str, float]) -> float:
            if not any(w.values()):
                return -1.0
            return known_item_metrics(sum(w[n] * z[n] for n in names), targets, self.k)[f"mrr@{self.k}"]

        best = quality(weights)
        for _ in range(self.rounds):
            improved = False
            for name in names:
                for value in GRID:
                    trial = {**weights, name: value}
                    score = quality(trial)
                    if score > best + 1e-9:
                        best, weights, improved = score, trial, True
            if not improved:
                break
        self.weights_ = weights
        self.validation_mrr_ = best
        return self

    def score(self, signals: Mapping[str, np.ndarray]) -> np.ndarray:
        weights = getattr(self, "weights_", self.weights)
        missing = [n for n, w in weights.items() if w and n not in signals]
        if missing:
            raise InputError(f"fusion needs the signal(s) {', '.join(missing)}")
        return sum(w * standardize(signals[n]) for n, w in weights.items() if w)
