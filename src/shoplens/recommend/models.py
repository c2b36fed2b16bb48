"""Item-based recommenders: popularity, ItemKNN (cosine with shrinkage), EASE and session-aware EASE.

Each learns an item × item weight matrix (or, for popularity, a vector) in closed form; a user's scores
are their history times that matrix, so scoring a new history (a session, a basket) costs one
vector-matrix product and nothing is refitted.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import scipy.sparse as sp

from shoplens.errors import InputError
from shoplens.recommend.base import Recommender
from shoplens.recommend.data import time_number
from shoplens.recommend.persist import register
from shoplens.recommend.ranking import ease_weights, top_per_column


@register
class Popularity(Recommender):
    """The same list for everybody: items by the number of customers who interacted with them."""

    name = "popularity"

    def __init__(self) -> None:
        pass

    def _fit(self, frame: pd.DataFrame) -> None:
        self.scores_ = np.log1p(self.item_users_).astype(np.float32)

    def _score_rows(self, rows: sp.csr_matrix, users: np.ndarray) -> np.ndarray:
        return np.broadcast_to(self.scores_, (rows.shape[0], len(self.scores_)))


class _ItemWeights(Recommender):
    """A recommender whose scores are ``history @ W`` for an item × item matrix ``W_`` (dense or sparse)."""

    def _score_rows(self, rows: sp.csr_matrix, users: np.ndarray) -> np.ndarray:
        scores = rows @ self.W_
        return scores.toarray() if sp.issparse(scores) else np.asarray(scores)

    def item_affinity(self, history_items: np.ndarray, items: np.ndarray) -> np.ndarray:
        block = self.W_[history_items][:, items]
        return block.toarray() if sp.issparse(block) else np.asarray(block)


@register
class ItemKNN(_ItemWeights):
    """Item-based nearest neighbours: cosine similarity of the items' customer sets with shrinkage,
    ``sim(i, j) = |U_i ∩ U_j| / (sqrt(|U_i| |U_j|) + shrink)``, keeping each item's ``neighbors`` best."""

    name = "itemknn"

    def __init__(self, neighbors: int = 100, shrink: float = 10.0) -> None:
        self.neighbors = neighbors
        self.shrink = shrink

    def _fit(self, frame: pd.DataFrame) -> None:
        if self.neighbors < 1 or self.shrink < 0:
            raise InputError(f"ItemKNN needs neighbors ≥ 1 and shrink ≥ 0; got {self.neighbors}, {self.shrink}")
        X = self.X_.tocsc()
        overlap = (X.T @ X).tocoo()
        norms = np.sqrt(self.item_users_)
        values = overlap.data / (norms[overlap.row] * norms[overlap.col] + self.shrink)
        keep = overlap.row != overlap.col
        sim = sp.csr_matrix((values[keep], (overlap.row[keep], overlap.col[keep])), shape=overlap.shape)
        self.W_ = top_per_column(sim, self.neighbors)


@register
class EASE(_ItemWeights):
    """Embarrassingly Shallow Autoencoder (Steck 2019): a dense item × item regression in closed form.

    Cost: one inversion of an items × items matrix (≈1 s for 2,000 items, ≈1 min for 12,000)."""

    name = "ease"

    def __init__(self, lam: float = 500.0) -> None:
        self.lam = lam

    def _fit(self, frame: pd.DataFrame) -> None:
        self.W_ = ease_weights((self.X_.T @ self.X_).toarray(), self.lam)


@register
class SessionEASE(_ItemWeights):
    """EASE that also learns from what customers chose *together in time*, with three refinements:

    - the Gram matrix adds co-occurrences within sessions (a customer's interactions in the same
      ``session_hours`` window), weighted by ``session_weight``: items chosen in one sitting are closer
      than items chosen months apart by the same customer;
    - an item-specific regularisation ``λ + c · popularity`` (``popularity_regularization`` c, as in
      EDLAE), which keeps popular items from dominating the weights;
    - scores multiplied by ``(customers of the item + 1) ** popularity_exponent`` (a negative exponent
      lifts less popular items a little), and, with ``availability``, items that first appeared after a
      customer's last activity are not recommended to that customer (they did not exist for them yet).

    With ``session_weight=0, popularity_regularization=0, popularity_exponent=0, availability=False``
    it is plain EASE. Interactions without timestamps give no sessions and no availability information.
    """

    name = "session_ease"
    user_rows = (*Recommender.user_rows, "user_last_seen_")

    def __init__(self, lam: float = 300.0, session_weight: float = 1.0, session_hours: float = 0.5,
                 popularity_regularization: float = 2.0, popularity_exponent: float = -0.1,
                 availability: bool = True) -> None:
        self.lam = lam
        self.session_weight = session_weight
        self.session_hours = session_hours
        self.popularity_regularization = popularity_regularization
        self.popularity_exponent = popularity_exponent
        self.availability = availability

    def _fit(self, frame: pd.DataFrame) -> None:
        seconds = time_number(frame["ts"])
        gram = (self.X_.T @ self.X_).toarray().astype(np.float64)
        timed = np.isfinite(seconds)
        if self.session_weight > 0 and timed.any() and np.nanmax(seconds) > np.nanmin(seconds):
            sessions = self._session_matrix(frame[timed], seconds[timed])
            gram += self.session_weight * (sessions.T @ sessions).toarray()
        self.W_ = ease_weights(gram, self.lam, self.popularity_regularization)
        self.scale_ = np.power(self.item_users_ + 1.0, self.popularity_exponent).astype(np.float32)
        self._fit_availability(frame, seconds)

    def _session_matrix(self, frame: pd.DataFrame, seconds: np.ndarray) -> sp.csr_matrix:
        window = max(self.session_hours, 1e-9) * 3600.0
        keys = pd.DataFrame({"u": frame["u"].to_numpy(), "w": np.floor(seconds / window).astype(np.int64)})
        session = keys.groupby(["u", "w"], sort=False).ngroup().to_numpy()
        matrix = sp.csr_matrix((np.ones(len(session), np.float32), (session, frame["i"].to_numpy())),
                               shape=(int(session.max()) + 1, len(self.item_ids_)))
        matrix.data[:] = 1.0
        matrix.sum_duplicates()
        matrix.data[:] = 1.0
        return matrix

    def _fit_availability(self, frame: pd.DataFrame, seconds: np.ndarray) -> None:
        n_users, n_items = self.X_.shape
        self.item_first_seen_ = np.full(n_items, -np.inf)
        self.user_last_seen_ = np.full(n_users, np.inf)
        if not self.availability or not np.isfinite(seconds).any():
            return
        known = pd.DataFrame({"u": frame["u"].to_numpy(), "i": frame["i"].to_numpy(), "t": seconds}).dropna()
        first = known.groupby("i")["t"].min()
        self.item_first_seen_[:] = np.inf  # catalogue items never seen in interactions: not yet available
        self.item_first_seen_[first.index.to_numpy()] = first.to_numpy()
        last = known.groupby("u")["t"].max()
        self.user_last_seen_[last.index.to_numpy()] = last.to_numpy()

    def _score_rows(self, rows: sp.csr_matrix, users: np.ndarray) -> np.ndarray:
        scores = np.asarray(rows @ self.W_) * self.scale_
        known = users >= 0
        if self.availability and known.any():
            late = self.item_first_seen_[None, :] > self.user_last_seen_[users[known], None]
            block = scores[known]
            block[late] = -np.inf
            scores[known] = block
        return scores
