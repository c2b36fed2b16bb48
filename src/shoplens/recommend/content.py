"""Content-aware recommenders, which can rank products nobody has interacted with yet (cold start).

- :class:`CategoryPopularity` — "popular in Y": an item scores the popularity of its category (all
  customers, or with ``personal=True`` the customer's own share of interactions in that category);
- :class:`TfidfKNN` — content nearest neighbours: TF-IDF vectors of title, description, brand and
  category; an item scores the summed cosine similarity of its ``neighbors`` nearest catalogue items
  that are in the customer's history;
- :class:`TextHybrid` — ours: item text embeddings from the pretrained encoder layer (``shoplens.text``)
  as side information. A bilinear model ``score(u, j) = p_u · A · f_j`` is learned in closed form, where
  ``f_j`` is item j's embedding (with its category as indicators, and a constant, which learns a
  popularity prior from the content),
  ``p_u`` the mean embedding of the customer's history and ``A`` the ridge solution mapping histories to
  the items they lead to (warm items only). New items need nothing but their text. For items with
  interactions a collaborative model (EASE) adds its scores with weight ``collaborative_weight``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp

from shoplens.errors import InputError, ShoplensError
from shoplens.recommend.base import Recommender
from shoplens.recommend.data import ITEM, products_frame
from shoplens.recommend.persist import register
from shoplens.recommend.ranking import ease_weights, top_per_column

TEXT_FIELDS = ("title", "brand", "category", "description")


def item_texts(products: pd.DataFrame | None, item_ids: np.ndarray, fields: tuple[str, ...] = TEXT_FIELDS,
               max_chars: int = 1000) -> list[str]:
    """One text per catalogue item: its fields joined ("Title. Brand. A > B. Description…"); '' if unknown."""
    texts = pd.Series("", index=pd.Index(item_ids, name=ITEM), dtype=object)
    if products is None or products.empty:
        return texts.tolist()
    frame = products.drop_duplicates(ITEM).set_index(ITEM)
    parts = [frame[f].fillna("").astype(str) for f in fields if f in frame.columns]
    if not parts:
        return texts.tolist()
    joined = parts[0]
    for part in parts[1:]:
        joined = joined.str.cat(part, sep=". ")
    joined = joined.str.replace(r"(\. )+", ". ", regex=True).str.strip(". ").str.slice(0, max_chars)
    texts.update(joined)
    return texts.fillna("").tolist()


class _ContentModel(Recommender):
    """Content models keep the catalogue's texts from ``fit(data, products)``."""

    def fit(self, data: Any, products: Any = None) -> Recommender:
        self._products = products_frame(products if products is not None else
                                        (data if hasattr(data, "sql") else None))
        # a workspace (as data or as products) also caches the text embeddings
        self._workspace = next((d for d in (data, products) if hasattr(d, "sql")), None)
        try:
            return super().fit(data, products)
        finally:
            self._products = self._workspace = None

    def _texts(self) -> list[str]:
        texts = item_texts(self._products, self.item_ids_)
        if not any(texts):
            raise InputError(f"{type(self).__name__} needs product texts (title, description, brand, category): "
                             "pass products=... or a workspace whose products table has them")
        return texts


@register
class CategoryPopularity(_ContentModel):
    """Items ranked by the popularity of their category ("popular in Y"), optionally per customer."""

    name = "category_popularity"

    def __init__(self, personal: bool = False) -> None:
        self.personal = personal

    def _fit(self, frame: pd.DataFrame) -> None:
        if not self.item_categories_.any():
            raise InputError("CategoryPopularity needs product categories: products.category is empty")
        codes, categories = pd.factorize(pd.Series(self.item_categories_))
        self.item_category_ = codes.astype(np.int64)
        counts = np.bincount(codes, weights=self.item_users_, minlength=len(categories))
        self.category_popularity_ = np.log1p(counts).astype(np.float32)

    def _score_rows(self, rows: sp.csr_matrix, users: np.ndarray) -> np.ndarray:
        base = self.category_popularity_[self.item_category_]
        scores = np.broadcast_to(base, (rows.shape[0], len(base))).astype(np.float32)
        if self.personal:
            n_categories = len(self.category_popularity_)
            onehot = sp.csr_matrix((np.ones(len(self.item_category_), np.float32),
                                    (np.arange(len(self.item_category_)), self.item_category_)),
                                   shape=(len(self.item_category_), n_categories))
            share = np.asarray((rows @ onehot).todense(), dtype=np.float32)
            share /= np.maximum(share.sum(axis=1, keepdims=True), 1.0)
            # the customer's share decides; the global popularity (scaled below one step) breaks ties
            scores = share[:, self.item_category_] * 1000.0 + scores
        return scores


@register
class TfidfKNN(_ContentModel):
    """Content nearest neighbours over TF-IDF vectors of the product texts (a cold-start baseline)."""

    name = "tfidf_knn"

    def __init__(self, neighbors: int = 50, max_features: int = 50_000) -> None:
        self.neighbors = neighbors
        self.max_features = max_features

    def _fit(self, frame: pd.DataFrame) -> None:
        from sklearn.feature_extraction.text import TfidfVectorizer


        vectors = TfidfVectorizer(max_features=self.max_features, sublinear_tf=True,
                                  ngram_range=(1, 2), min_df=1).fit_transform(self._texts())
        similarity = (vectors @ vectors.T).tocsr()
        similarity.setdiag(0.0)
        similarity.eliminate_zeros()
        self.W_ = top_per_column(similarity, self.neighbors)

    def _score_rows(self, rows: sp.csr_matrix, users: np.ndarray) -> np.ndarray:
        return (rows @ self.W_).toarray()

    def item_affinity(self, history_items: np.ndarray, items: np.ndarray) -> np.ndarray:
        return self.W_[history_items][:, items].toarray()


@register
class TextHybrid(_ContentModel):
    """Text embeddings as side information (see the module docstring); ranks brand-new items by their text.

    ``encoder`` names a ``shoplens.text`` encoder; ``category_features`` adds the catalogue's category (one
    indicator per category path) to the text embedding as structured side information;
    ``user_regularization`` and ``item_regularization`` are the two ridge penalties of the closed form;
    ``collaborative_weight`` blends EASE (λ = ``collaborative_lam``) in for items with interactions (0 turns
    it off)."""

    name = "text_hybrid"

    def __init__(self, encoder: str = "minilm", category_features: bool = True, user_regularization: float = 1.0,
                 item_regularization: float = 3.0, collaborative_weight: float = 1.0,
                 collaborative_lam: float = 500.0) -> None:
        self.encoder = encoder
        self.category_features = category_features
        self.user_regularization = user_regularization
        self.item_regularization = item_regularization
        self.collaborative_weight = collaborative_weight
        self.collaborative_lam = collaborative_lam

    def _embeddings(self) -> np.ndarray:
        try:
            from shoplens.text import load_encoder
        except ImportError:
            raise ShoplensError("TextHybrid needs the text layer: install shoplens[text]") from None
        encoder = load_encoder(self.encoder, workspace=self._workspace)
        return np.asarray(encoder.encode(self._texts()), dtype=np.float32)

    def _fit(self, frame: pd.DataFrame) -> None:
        embeddings = self._embeddings()
        blocks = [embeddings]
        if self.category_features and self.item_categories_.any():
            codes = pd.factorize(pd.Series(self.item_categories_))[0]
            blocks.append(np.eye(codes.max() + 1, dtype=np.float32)[codes] * (self.item_categories_ != "")[:, None])
        self.embedding_dim_ = embeddings.shape[1]
        self.features_ = np.hstack([*blocks, np.ones((len(embeddings), 1), np.float32)])
        warm = self.item_users_ > 0
        self.A_ = self._solve(self.X_[:, warm], self.features_[warm])
        if self.collaborative_weight > 0:

            gram = (self.X_.T @ self.X_).toarray()
            self.W_ = ease_weights(gram, self.collaborative_lam)
        else:
            self.W_ = np.zeros((1, 1), np.float32)

    def _solve(self, X: sp.csr_matrix, features: np.ndarray) -> np.ndarray:
        """``A = (PᵀP + λ_u I)⁻¹ Pᵀ X F (FᵀF + λ_i I)⁻¹``: ridge from history profiles to chosen items."""
        profiles = self._profiles_of(X, features)
        dim = features.shape[1]
        left = profiles.T @ profiles + self.user_regularization * np.eye(dim)
        right = features.T @ features + self.item_regularization * np.eye(dim)
        middle = profiles.T @ np.asarray(X @ features)
        return np.linalg.solve(left, np.linalg.solve(right, middle.T).T).astype(np.float32)

    @staticmethod
    def _profiles_of(X: sp.csr_matrix, features: np.ndarray) -> np.ndarray:
        """Each history's mean item features."""
        counts = np.maximum(np.asarray(X.sum(axis=1)).ravel(), 1.0)
        return np.asarray(sp.diags(1.0 / counts) @ X @ features, dtype=np.float64)

    def content_scores(self, rows: sp.csr_matrix) -> np.ndarray:
        """The text part of the scores (every item, cold ones included)."""
        return ((self._profiles_of(rows, self.features_) @ self.A_) @ self.features_.T).astype(np.float32)

    def _score_rows(self, rows: sp.csr_matrix, users: np.ndarray) -> np.ndarray:
        scores = self.content_scores(rows)
        if self.collaborative_weight > 0:
            scores = scores + self.collaborative_weight * np.asarray(rows @ self.W_)
        return scores

    def item_affinity(self, history_items: np.ndarray, items: np.ndarray) -> np.ndarray:
        left = self.features_[history_items, :self.embedding_dim_]
        right = self.features_[items, :self.embedding_dim_]
        return left @ right.T
