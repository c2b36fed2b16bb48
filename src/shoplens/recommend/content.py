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

from typing import Any, ClassVar

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

    # given a workspace (as data or products), they cache the text embeddings in it
    reads_workspace: ClassVar[bool] = True

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


def category_tags(categories: np.ndarray, separator: str = "|") -> sp.csr_matrix:
    """Items × tags indicators of '|'-separated categories ('Action|Comedy' → Action, Comedy)."""
    tags = [sorted({t.strip() for t in str(c).split(separator) if t.strip()}) for c in categories]
    vocabulary = {t: n for n, t in enumerate(sorted({t for row in tags for t in row}))}
    rows = np.repeat(np.arange(len(tags)), [len(row) for row in tags])
    cols = np.array([vocabulary[t] for row in tags for t in row], dtype=np.int64)
    return sp.csr_matrix((np.ones(len(cols), np.float32), (rows, cols)), shape=(len(tags), len(vocabulary)))


def l2_rows(matrix: sp.csr_matrix) -> sp.csr_matrix:
    norms = np.sqrt(np.asarray(matrix.multiply(matrix).sum(axis=1)).ravel())
    return (sp.diags(1.0 / np.maximum(norms, 1e-12)) @ matrix).tocsr().astype(np.float32)


@register
class TagProfile(_ContentModel):
    """The customer's tag profile (how many of their history items carry each tag of the '|'-separated
    category, e.g. a film's genres), scored against each item's tags by cosine: a cold-start baseline."""

    name = "tag_profile"

    def __init__(self, separator: str = "|") -> None:
        self.separator = separator

    def _fit(self, frame: pd.DataFrame) -> None:
        if not self.item_categories_.any():
            raise InputError("TagProfile needs product categories: products.category is empty")
        self.tags_ = l2_rows(category_tags(self.item_categories_, self.separator))

    def _score_rows(self, rows: sp.csr_matrix, users: np.ndarray) -> np.ndarray:
        profiles = np.asarray((rows @ self.tags_).todense(), dtype=np.float32)
        profiles /= np.maximum(np.linalg.norm(profiles, axis=1, keepdims=True), 1e-12)
        return np.asarray(self.tags_ @ profiles.T).T

    def item_affinity(self, history_items: np.ndarray, items: np.ndarray) -> np.ndarray:
        return (self.tags_[history_items] @ self.tags_[items].T).toarray()


def ridge_predict(features: sp.csr_matrix, targets: np.ndarray, train: np.ndarray, alpha: float) -> np.ndarray:
    """Ridge regression from item features to targets, fitted on the rows ``train`` (a boolean mask) and
    predicted for every row. Solved in the primal or the dual, whichever system is smaller."""
    if alpha <= 0:
        raise InputError(f"the ridge penalty alpha must be positive, got {alpha}")
    X = features[np.flatnonzero(train)]
    Y = np.asarray(targets[train], dtype=np.float64)
    if X.shape[1] <= X.shape[0]:
        gram = (X.T @ X).toarray() + alpha * np.eye(X.shape[1])
        weights = np.linalg.solve(gram, np.asarray(X.T @ Y))
        return np.asarray(features @ weights, dtype=np.float32)
    kernel = (X @ X.T).toarray() + alpha * np.eye(X.shape[0])
    dual = np.linalg.solve(kernel, Y)
    return np.asarray((features @ X.T) @ dual, dtype=np.float32)


@register
class ContentFactorMap(_ContentModel):
    """Cold items placed among the warm ones in collaborative factor space, from their content.

    Item factors come from a truncated SVD of the warm interactions (PureSVD: a history's scores are
    ``x Q Qᵀ``); a ridge map (penalty ``alpha``) learned on warm items takes each item's content — its
    category tags (e.g. genres), its release year (decade indicators and a linear term, read from a
    trailing '(1995)' in the title or a ``year`` column) and its title words (TF-IDF) — to those factors,
    and gives every item without interactions its predicted factors. ``title_weight`` and
    ``year_weight`` scale those blocks against the tags."""

    name = "content_map"

    def __init__(self, factors: int = 64, alpha: float = 10.0, title_weight: float = 1.0,
                 year_weight: float = 1.0) -> None:
        self.factors = factors
        self.alpha = alpha
        self.title_weight = title_weight
        self.year_weight = year_weight

    def content_features(self) -> sp.csr_matrix:
        """Items × features: tags, decade indicators and year, title TF-IDF, a constant."""
        from sklearn.feature_extraction.text import TfidfVectorizer

        n_items = len(self.item_ids_)
        blocks = [category_tags(self.item_categories_)]
        years = pd.Series(self.item_titles_).str.extract(r"\((\d{4})\)\s*$")[0].astype(float).to_numpy()
        if np.isfinite(years).any():
            decades = np.where(np.isfinite(years), years // 10, -1).astype(np.int64)
            codes = pd.factorize(decades)[0]
            decade_block = sp.csr_matrix((np.ones(n_items, np.float32), (np.arange(n_items), codes)))
            known = np.isfinite(years)
            linear = np.where(known, (years - np.nanmean(years)) / max(np.nanstd(years), 1.0), 0.0)
            blocks.append(self.year_weight * sp.hstack([decade_block, sp.csr_matrix(linear[:, None])]))
        titles = pd.Series(self.item_titles_).str.replace(r"\(\d{4}\)\s*$", "", regex=True).tolist()
        if any(titles) and self.title_weight > 0:
            try:
                words = TfidfVectorizer(min_df=2, sublinear_tf=True).fit_transform(titles)
                blocks.append(self.title_weight * words)
            except ValueError:  # no word appears in two titles: the block would be empty
                pass
        blocks.append(sp.csr_matrix(np.ones((n_items, 1), np.float32)))
        return sp.hstack(blocks).tocsr().astype(np.float32)

    def side_features(self) -> sp.csr_matrix:
        """What the ridge map reads; subclasses add more (the knowledge graph)."""
        return self.content_features()

    def _collaborative_factors(self) -> np.ndarray:
        """Items × factors from a truncated SVD of the interactions (zero rows for items without any)."""
        from scipy.sparse.linalg import svds

        rank = int(min(self.factors, min(self.X_.shape) - 1))
        if rank < 1:
            raise InputError(f"{type(self).__name__} needs at least two customers and two products")
        _, _, vt = svds(self.X_.astype(np.float64), k=rank, random_state=0)
        return np.ascontiguousarray(vt.T[:, ::-1], dtype=np.float32)

    def _fit(self, frame: pd.DataFrame) -> None:
        factors = self._collaborative_factors()
        warm = self.item_users_ > 0
        self.features_ = self.side_features()
        predicted = ridge_predict(self.features_, factors, warm, self.alpha)
        self.item_factors_ = np.where(warm[:, None], factors, predicted).astype(np.float32)

    def _score_rows(self, rows: sp.csr_matrix, users: np.ndarray) -> np.ndarray:
        return np.asarray((rows @ self.item_factors_) @ self.item_factors_.T, dtype=np.float32)

    def item_affinity(self, history_items: np.ndarray, items: np.ndarray) -> np.ndarray:
        return self.item_factors_[history_items] @ self.item_factors_[items].T
