"""What every recommender shares: fitting on interactions, top-K with seen items excluded, explanations,
save/load and evaluation.

A model subclasses :class:`Recommender` and implements ``_fit(frame)`` (the frame has the integer
columns ``u`` and ``i`` besides the canonical ones) and ``_score_rows(rows, users)`` (scores of every
item for a block of histories). Everything else — ids, the catalogue, seen-item exclusion, batching,
explanations, persistence — lives here once.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any, ClassVar, Self

import numpy as np
import pandas as pd
import scipy.sparse as sp

from shoplens.base import Estimator
from shoplens.errors import InputError, NotFound
from shoplens.recommend.data import ITEM, KIND_CODES, USER, interactions_frame, products_frame, user_item_matrix
from shoplens.recommend.evaluate import evaluate_model, record_for
from shoplens.recommend.explain import explain_items
from shoplens.recommend.persist import load_model, save_model
from shoplens.recommend.ranking import top_k_rows
from shoplens.recommend.related import similar_items


class Recommender(Estimator):
    """Base of every recommender: ``fit(data)`` → ``recommend(customer_id)`` with explanations.

    Fitted attributes end with ``_``: ``user_ids_``, ``item_ids_`` (sorted text ids; the catalogue
    includes products without interactions when a products table is given), ``X_`` (users × items,
    binary), ``item_users_`` (users per item), ``item_titles_`` and ``item_categories_``.
    """

    name: ClassVar[str] = "recommender"
    registry_name: ClassVar[str] = "recommend"
    capability: ClassVar[str] = "recommend"
    batch_size: ClassVar[int] = 512
    # Fitted attributes with one row per customer (``user_ids_`` order): what erasing a customer removes.
    user_rows: ClassVar[tuple[str, ...]] = ("X_", "kinds_")
    # Whether fit() reads more of a workspace than its products — the knowledge graph's triples, the text
    # embeddings cached there (api and AutoRecommender pass the workspace as ``products``).
    reads_workspace: ClassVar[bool] = False

    # -- fitting ----------------------------------------------------------------------------------------
    def fit(self, data: Any, products: Any = None) -> Self:
        """Learn from interactions (a Workspace or a frame ``customer_id, product_id[, ts, weight, kind]``).

        ``products`` (a frame or a Workspace; by default the workspace's own products when ``data`` is one)
        adds catalogue items without interactions, titles and categories for explanations."""
        frame = interactions_frame(data)
        if products is None and hasattr(data, "sql"):
            products = data
        catalog = products_frame(products)
        started = time.perf_counter()
        self.user_ids_ = np.unique(frame[USER].to_numpy().astype(str))
        item_ids = frame[ITEM].to_numpy().astype(str)
        if catalog is not None and len(catalog):
            item_ids = np.concatenate([item_ids, catalog[ITEM].to_numpy().astype(str)])
        self.item_ids_ = np.unique(item_ids)
        users = np.searchsorted(self.user_ids_, frame[USER].to_numpy().astype(str))
        items = np.searchsorted(self.item_ids_, frame[ITEM].to_numpy().astype(str))
        shape = (len(self.user_ids_), len(self.item_ids_))
        self.X_ = user_item_matrix(users, items, shape)
        self.kinds_ = self._kind_matrix(frame, users, items, shape)
        self.item_users_ = np.asarray(self.X_.sum(axis=0), dtype=np.float64).ravel()
        self.item_titles_, self.item_categories_ = self._catalog_text(catalog)
        self._fit(frame.assign(u=users, i=items))
        self.fit_seconds_ = time.perf_counter() - started
        return self

    def _fit(self, frame: pd.DataFrame) -> None:
        raise NotImplementedError

    def card_params(self) -> dict[str, Any]:
        return {"model": self.name, **super().card_params()}

    def extend_history(self, data: Any) -> Self:
        """Add interactions that happened after training (today's orders, a held-out validation item) to
        the histories used for scoring and seen-item exclusion, without refitting. Rows of unknown
        customers or products are ignored."""
        self._check_fitted()
        frame = interactions_frame(data)
        users = self.user_indices(frame[USER].to_numpy())
        items = self.item_index(frame[ITEM].to_numpy(), strict=False)
        keep = (users >= 0) & (items >= 0)
        frame, users, items = frame[keep], users[keep], items[keep]
        added = user_item_matrix(users, items, self.X_.shape)
        self.X_ = ((self.X_ + added) > 0).astype(np.float32).tocsr()
        self.kinds_ = self.kinds_.maximum(self._kind_matrix(frame, users, items, self.X_.shape)).tocsr()
        self._extend(frame.assign(u=users, i=items))
        return self

    def _extend(self, frame: pd.DataFrame) -> None:
        """Models that keep more than ``X_`` about histories (sequences) update it here."""

    def forget_users(self, customer_ids: Any) -> int:
        """Remove customers from everything the model keeps per customer (``user_rows``: histories, factors,
        sequences), so that they get the answer of an unknown customer. Returns how many it knew.

        What was learned about items from everyone (similarities, item factors) stays: it describes products,
        not a customer; the popularity counts are recomputed without them."""
        self._check_fitted()
        users = self.user_indices(customer_ids)
        users = users[users >= 0]
        if not len(users):
            return 0
        keep = np.ones(len(self.user_ids_), dtype=bool)
        keep[users] = False
        self._forget_rows(keep)
        for name in self.user_rows:
            value = getattr(self, name)
            setattr(self, name, value[keep].tocsr() if sp.issparse(value) else value[keep])
        self.user_ids_ = self.user_ids_[keep]
        self.item_users_ = np.asarray(self.X_.sum(axis=0), dtype=np.float64).ravel()
        return len(users)

    def _forget_rows(self, keep: np.ndarray) -> None:
        """Models whose per-customer state is not one row per customer (sequences) drop it here; ``keep`` is
        a boolean mask over the current ``user_ids_``."""

    def _after_load(self) -> None:
        """Rebuild what is derived from the saved arrays (caches, a torch module); nothing by default."""

    @staticmethod
    def _kind_matrix(frame: pd.DataFrame, users: np.ndarray, items: np.ndarray,
                     shape: tuple[int, int]) -> sp.csr_matrix:
        """The strongest kind of interaction per (user, item), as codes (for the verbs of explanations)."""
        kinds = frame["kind"] if "kind" in frame.columns else pd.Series("purchase", index=frame.index)
        codes = kinds.map(KIND_CODES).fillna(KIND_CODES["purchase"]).to_numpy(dtype=np.float32)
        best = pd.DataFrame({"u": users, "i": items, "c": codes}).groupby(["u", "i"], sort=True)["c"].max()
        index = best.index.to_frame().to_numpy()
        return sp.csr_matrix((best.to_numpy(np.float32), (index[:, 0], index[:, 1])), shape=shape)

    def _catalog_text(self, catalog: pd.DataFrame | None) -> tuple[np.ndarray, np.ndarray]:
        titles = np.full(len(self.item_ids_), "", dtype=object)
        categories = np.full(len(self.item_ids_), "", dtype=object)
        if catalog is not None and len(catalog):
            positions = np.searchsorted(self.item_ids_, catalog[ITEM].to_numpy().astype(str))
            for column, target in (("title", titles), ("category", categories)):
                if column in catalog.columns:
                    target[positions] = catalog[column].fillna("").astype(str).to_numpy()
        return titles.astype(str), categories.astype(str)

    @property
    def fitted(self) -> bool:
        return hasattr(self, "X_")

    def _check_fitted(self) -> None:
        if not self.fitted:
            raise InputError(f"{type(self).__name__} is not fitted yet: call fit(workspace) first")

    # -- scoring ----------------------------------------------------------------------------------------
    def _score_rows(self, rows: sp.csr_matrix, users: np.ndarray) -> np.ndarray:
        """Scores (len(rows) × items) for histories ``rows``; ``users`` are their indices (-1: not a known user)."""
        raise NotImplementedError

    def score(self, users: np.ndarray) -> np.ndarray:
        """Scores of every item for known users (indices into ``user_ids_``)."""
        self._check_fitted()
        users = np.asarray(users, dtype=np.int64)
        return np.asarray(self._score_rows(self.X_[users], users), dtype=np.float32)

    def score_histories(self, histories: list[list[str]]) -> np.ndarray:
        """Scores of every item for anonymous histories (lists of product ids, oldest first)."""
        self._check_fitted()
        rows = sp.vstack([self.history_row(h) for h in histories]).tocsr() if histories else \
            sp.csr_matrix((0, len(self.item_ids_)), dtype=np.float32)
        return np.array(self._score_rows(rows, np.full(len(histories), -1)), dtype=np.float32)  # a writable copy

    def top_k(self, users: np.ndarray, k: int = 10, *, exclude_seen: bool = True,
              rows: sp.csr_matrix | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Top-``k`` item indices and scores for users (indices), best first; -1 pads when too few items.

        ``rows`` gives other histories than the training ones (a session, a basket) for the same users."""
        self._check_fitted()
        users = np.asarray(users, dtype=np.int64)
        k = int(k)
        if k < 1:
            raise InputError(f"k must be at least 1, got {k}")
        items_out = np.full((len(users), k), -1, dtype=np.int64)
        scores_out = np.full((len(users), k), -np.inf, dtype=np.float32)
        for start in range(0, len(users), self.batch_size):
            block = users[start:start + self.batch_size]
            history = rows[start:start + self.batch_size] if rows is not None else self.X_[block]
            scores = np.array(self._score_rows(history, block), dtype=np.float32)
            if exclude_seen:
                coo = history.tocoo()
                scores[coo.row, coo.col] = -np.inf
            top_items, top_scores = top_k_rows(scores, k)
            items_out[start:start + len(block)] = top_items
            scores_out[start:start + len(block)] = top_scores
        return items_out, scores_out

    # -- ids --------------------------------------------------------------------------------------------
    def user_index(self, customer_id: str) -> int:
        """Index of a known customer, or -1."""
        position = int(np.searchsorted(self.user_ids_, str(customer_id)))
        return position if position < len(self.user_ids_) and self.user_ids_[position] == str(customer_id) else -1

    def user_indices(self, customer_ids: Any) -> np.ndarray:
        """Indices of customer ids (-1 for unknown ones)."""
        ids = np.asarray([str(c) for c in np.atleast_1d(customer_ids)], dtype=str)
        if not len(ids):
            return np.zeros(0, dtype=np.int64)
        positions = np.minimum(np.searchsorted(self.user_ids_, ids), len(self.user_ids_) - 1)
        return np.where(self.user_ids_[positions] == ids, positions, -1)

    def item_index(self, product_ids: Any, *, strict: bool = True) -> np.ndarray:
        """Indices of product ids; unknown ones raise NotFound (``strict``) or give -1."""
        ids = np.asarray([str(p) for p in np.atleast_1d(product_ids)], dtype=str)
        positions = np.searchsorted(self.item_ids_, ids)
        clipped = np.minimum(positions, len(self.item_ids_) - 1)
        known = self.item_ids_[clipped] == ids
        if strict and not known.all():
            raise NotFound(f"unknown product {str(ids[~known][0])!r}: not in the model's catalogue")
        return np.where(known, clipped, -1)

    def history_row(self, product_ids: Any) -> sp.csr_matrix:
        """A one-row history matrix of products (unknown products are ignored)."""
        items = self.item_index(product_ids, strict=False)
        items = np.unique(items[items >= 0])
        return sp.csr_matrix((np.ones(len(items), np.float32), (np.zeros(len(items), np.int64), items)),
                             shape=(1, len(self.item_ids_)))

    # -- the user-facing verbs --------------------------------------------------------------------------
    def recommend(self, customer_id: str, k: int = 10, *, explain: bool = True) -> pd.DataFrame:
        """Top-``k`` products for a customer, with an explanation each.

        A customer without history gets the most popular products (said so in the explanation)."""
        self._check_fitted()
        user = self.user_index(customer_id)
        if user < 0:
            return self._popular(k, exclude=np.zeros(0, dtype=np.int64), reason="popular with customers "
                                 "(no history for this customer yet)")
        items, scores = self.top_k(np.array([user]), k)
        return self._result(items[0], scores[0], self.X_[user], self.kinds_[user] if explain else None, explain)

    def recommend_for_items(self, product_ids: Any, k: int = 10, *, explain: bool = True) -> pd.DataFrame:
        """Top-``k`` products for an anonymous history (a session or a basket), excluding the history."""
        self._check_fitted()
        row = self.history_row(product_ids)
        if row.nnz == 0:
            return self._popular(k, exclude=np.zeros(0, dtype=np.int64), reason="popular with customers")
        items, scores = self.top_k(np.array([-1]), k, rows=row)
        return self._result(items[0], scores[0], row, None, explain)

    def _popular(self, k: int, exclude: np.ndarray, reason: str) -> pd.DataFrame:
        order = np.argsort(-self.item_users_, kind="stable")
        order = order[~np.isin(order, exclude)][:k]
        frame = self._frame(order, self.item_users_[order].astype(np.float32))
        frame["reason"] = reason
        return frame

    def _frame(self, items: np.ndarray, scores: np.ndarray) -> pd.DataFrame:
        keep = items >= 0
        items, scores = items[keep], scores[keep]
        return pd.DataFrame({"rank": np.arange(1, len(items) + 1), ITEM: self.item_ids_[items],
                             "title": self.item_titles_[items], "score": scores.astype(float)})

    def _result(self, items: np.ndarray, scores: np.ndarray, history: sp.csr_matrix,
                kinds: sp.csr_matrix | None, explain: bool) -> pd.DataFrame:
        frame = self._frame(items, scores)
        if explain:
            frame["reason"] = explain_items(self, history, kinds, items[items >= 0])
        return frame

    def item_affinity(self, history_items: np.ndarray, items: np.ndarray) -> np.ndarray:
        """How much each history item supports each recommended item (history × items); used to explain.

        Default: cosine similarity of the items' customer sets; item-based models return their weights."""
        X = self.X_.tocsc()
        left, right = X[:, history_items], X[:, items]
        overlap = (left.T @ right).toarray()
        norms = np.sqrt(np.outer(self.item_users_[history_items], self.item_users_[items]))
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(norms > 0, overlap / norms, 0.0)

    def similar(self, product_id: str, k: int = 10) -> pd.DataFrame:
        """Products most similar to one product (by who interacted with both; cosine)."""
        return similar_items(self, product_id, k)

    # -- persistence ------------------------------------------------------------------------------------
    def save(self, path: str | Path) -> Path:
        """Write the fitted model into a folder (parameters as JSON, arrays as .npz)."""
        self._check_fitted()
        return save_model(self, Path(path))

    @classmethod
    def load(cls, path: str | Path) -> Recommender:
        """A model saved with :meth:`save` (of this class or, from ``Recommender.load``, any class)."""
        model = load_model(Path(path))
        if cls is not Recommender and not isinstance(model, cls):
            raise InputError(f"{path} holds a {type(model).__name__}, not a {cls.__name__}")
        return model

    # -- evaluation -------------------------------------------------------------------------------------
    def evaluate(self, test: pd.DataFrame, *, ks: tuple[int, ...] = (10, 20), dataset: str = "workspace",
                 protocol: Any = None, role: str = "ours", model_name: str | None = None,
                 notes: str = "") -> list[Any]:
        """Benchmark records of this fitted model on held-out interactions ``test`` (full ranking)."""
        metrics = evaluate_model(self, test, ks=ks)
        return [record_for(self, metrics, dataset=dataset, protocol=protocol, role=role,
                           model_name=model_name, notes=notes)]
