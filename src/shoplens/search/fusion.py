"""Fusing ranking signals into one score, and the known-item metrics that judge a ranking.

Each signal is a ``(queries, products)`` score matrix (BM25, a dense cosine …). Signals live on different scales,
so each is standardised per query (z-score over the products, missing scores at the row's minimum) before a
weighted sum. :class:`LinearFusion` learns the weights on validation queries by coordinate ascent on MRR@10
(or on Recall@10, or on their mean: ``objective``), a handful of weights over a few hundred queries: a grid per
weight is enough and cannot overfit much;
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
OBJECTIVES = ("mrr", "recall", "mrr+recall")


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
    return rank_metrics(target_ranks(scores, targets), k)


def rank_metrics(ranks: np.ndarray, k: int = 10) -> dict[str, float]:
    """``recall@k`` and ``mrr@k`` of the targets' 1-based ranks."""
    return {f"recall@{k}": float((ranks <= k).mean()), f"mrr@{k}": float(np.where(ranks <= k, 1.0 / ranks, 0).mean())}


class _TrialRanks:
    """The targets' ranks under trial weights of standardised (finite) signals, as :func:`target_ranks` of
    ``Σ w × z`` gives them, without new query × candidate arrays per trial: the coordinate ascent changes one
    weight at a time, so the other signals' sum is kept (:meth:`rest`) and each trial adds one scaled signal to
    it in place. On the assistant's 372 validation questions × 26,500 passages a trial took ~0.3 s (mostly
    allocating); the sums are the same, term for term, up to the order of the additions. ``z`` must be finite
    (:func:`standardize` makes it so), as :func:`target_ranks` would otherwise make it."""

    def __init__(self, z: Mapping[str, np.ndarray], targets: Sequence[int]) -> None:
        self.z = z
        first = next(iter(z.values()))
        self.rows, self.targets = np.arange(len(first)), np.asarray(targets)
        self.total = np.empty_like(first)
        self.above = np.empty(first.shape, dtype=bool)

    def rest(self, weights: Mapping[str, float], name: str) -> np.ndarray:
        rest = np.zeros_like(self.total)
        for other, weight in weights.items():
            if other != name and weight:
                rest += weight * self.z[other]
        return rest

    def ranks_with(self, rest: np.ndarray, name: str, value: float) -> np.ndarray:
        np.multiply(self.z[name], value, out=self.total)
        self.total += rest
        own = self.total[self.rows, self.targets]
        np.greater_equal(self.total, own[:, None], out=self.above)
        return self.above.sum(axis=1)

    def ranks(self, weights: Mapping[str, float]) -> np.ndarray:
        name = next(iter(weights))
        return self.ranks_with(self.rest(weights, name), name, weights[name])


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
    :data:`GRID`, ties to the earlier weights); ``weights`` given here are the start. ``objective`` is what the
    ascent maximises at ``k``: ``"mrr"``, ``"recall"`` or ``"mrr+recall"`` (their mean, which breaks recall's
    many ties by rank). ``validation_mrr_`` is the fitted weights' MRR@``k``, ``validation_score_`` the objective's."""

    weights: dict[str, float] = field(default_factory=dict)
    k: int = 10
    rounds: int = 3
    objective: str = "mrr"

    def fit(self, signals: Mapping[str, np.ndarray], targets: Sequence[int]) -> LinearFusion:
        names = list(signals)
        if not names:
            raise InputError("fusion needs at least one signal")
        if self.objective not in OBJECTIVES:
            raise InputError(f"fusion objective must be one of {', '.join(OBJECTIVES)}, got {self.objective!r}")
        parts = {"mrr": (f"mrr@{self.k}",), "recall": (f"recall@{self.k}",),
                 "mrr+recall": (f"mrr@{self.k}", f"recall@{self.k}")}[self.objective]
        z = {name: standardize(signals[name]) for name in names}
        weights = {name: float(self.weights.get(name, 1.0)) for name in names}
        ranker = _TrialRanks(z, targets)

        def metrics(w: dict[str, float]) -> dict[str, float]:
            return known_item_metrics(sum(w[n] * z[n] for n in names), targets, self.k)

        def quality(ranks: np.ndarray) -> float:
            found = rank_metrics(ranks, self.k)
            return sum(found[p] for p in parts) / len(parts)

        best = quality(ranker.ranks(weights)) if any(weights.values()) else -1.0
        for _ in range(self.rounds):
            improved = False
            for name in names:
                rest = ranker.rest(weights, name)  # the other signals' weighted sum, once per coordinate
                for value in GRID:
                    trial = {**weights, name: value}
                    score = quality(ranker.ranks_with(rest, name, value)) if any(trial.values()) else -1.0
                    if score > best + 1e-9:
                        best, weights, improved = score, trial, True  # only ``name`` moved: ``rest`` holds
            if not improved:
                break
        self.weights_ = weights
        self.validation_score_ = best
        self.validation_mrr_ = metrics(weights)[f"mrr@{self.k}"] if any(weights.values()) else 0.0
        return self

    def score(self, signals: Mapping[str, np.ndarray]) -> np.ndarray:
        weights = getattr(self, "weights_", self.weights)
        missing = [n for n, w in weights.items() if w and n not in signals]
        if missing:
            raise InputError(f"fusion needs the signal(s) {', '.join(missing)}")
        return sum(w * standardize(signals[n]) for n, w in weights.items() if w)
