"""Matrix factorisation through the ``implicit`` library (extra ``shoplens[recommend]``): ALS (Hu, Koren &
Volinsky 2008) and BPR (Rendle et al. 2009). Scores are dot products of user and item factors; a new
history is folded in with implicit's own ``recalculate_user``."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp

from shoplens.errors import ShoplensError
from shoplens.recommend.base import Recommender
from shoplens.recommend.persist import register


def _implicit_module(name: str) -> Any:
    try:
        import importlib

        return importlib.import_module(f"implicit.cpu.{name}")
    except ImportError:
        raise ShoplensError("ALS and BPR need the implicit library: install shoplens[recommend]") from None


class _Factorization(Recommender):
    threads = 2
    user_rows = (*Recommender.user_rows, "user_factors_")

    def _make(self) -> Any:
        raise NotImplementedError

    def _fit(self, frame: pd.DataFrame) -> None:
        from threadpoolctl import threadpool_limits

        _implicit_module("als")  # loads implicit's BLAS before the limit below, so that the limit covers it
        with threadpool_limits(1, "blas"):  # implicit parallelises itself; nested BLAS threads slow it down
            model = self._make()
            model.fit(self._confidence(), show_progress=False)
        self.user_factors_ = np.asarray(model.user_factors, dtype=np.float32)
        self.item_factors_ = np.asarray(model.item_factors, dtype=np.float32)
        self._model = model

    def _confidence(self) -> sp.csr_matrix:
        return self.X_.astype(np.float32)

    def _after_load(self) -> None:
        self._model = None

    def _fold_in(self, rows: sp.csr_matrix) -> np.ndarray:
        """Factors of histories that are not training users (least squares against the item factors)."""
        item = self.item_factors_.astype(np.float64)
        gram = item.T @ item + 0.1 * np.eye(item.shape[1])
        return np.linalg.solve(gram, (rows @ item).T).T.astype(np.float32)

    def _score_rows(self, rows: sp.csr_matrix, users: np.ndarray) -> np.ndarray:
        factors = np.empty((rows.shape[0], self.item_factors_.shape[1]), dtype=np.float32)
        known = users >= 0
        factors[known] = self.user_factors_[users[known]]
        if (~known).any():
            factors[~known] = self._fold_in(rows[np.flatnonzero(~known)])
        return factors @ self.item_factors_.T

    def item_affinity(self, history_items: np.ndarray, items: np.ndarray) -> np.ndarray:
        left = self.item_factors_[history_items]
        right = self.item_factors_[items]
        norms = np.outer(np.linalg.norm(left, axis=1), np.linalg.norm(right, axis=1))
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(norms > 0, left @ right.T / norms, 0.0)


@register
class ALS(_Factorization):
    """Implicit-feedback ALS: confidence ``1 + alpha · r`` on observed pairs, ``factors`` dimensions."""

    name = "als"

    def __init__(self, factors: int = 64, regularization: float = 0.05, alpha: float = 2.0, iterations: int = 15,
                 seed: int = 0) -> None:
        self.factors = factors
        self.regularization = regularization
        self.alpha = alpha
        self.iterations = iterations
        self.seed = seed

    def _make(self) -> Any:
        return _implicit_module("als").AlternatingLeastSquares(
            factors=self.factors, regularization=self.regularization, alpha=self.alpha,
            iterations=self.iterations, random_state=self.seed, num_threads=self.threads)


@register
class BPR(_Factorization):
    """Bayesian Personalised Ranking with SGD over sampled (user, seen item, unseen item) triples."""

    name = "bpr"

    def __init__(self, factors: int = 64, learning_rate: float = 0.05, regularization: float = 0.01,
                 iterations: int = 100, seed: int = 0) -> None:
        self.factors = factors
        self.learning_rate = learning_rate
        self.regularization = regularization
        self.iterations = iterations
        self.seed = seed

    def _make(self) -> Any:
        return _implicit_module("bpr").BayesianPersonalizedRanking(
            factors=self.factors, learning_rate=self.learning_rate, regularization=self.regularization,
            iterations=self.iterations, random_state=self.seed, num_threads=self.threads)
