"""Learning to rank from the shop's own search clicks, debiased for position (docs/search.md, "Learning from clicks").

```python
from shoplens.search.ltr import LearnedRanker

ranker = LearnedRanker().fit({"products": products, "events": events, "reviews": reviews}, index=index)
ranker.propensities_                         # estimated P(examined) per position, from the shuffled pages
rows = ranker.rerank(index, "red dress", candidate_rows)   # candidates best first
```

What it learns from: ``search`` events whose properties hold the page shown (``results``, product ids best first)
and whether it was shuffled (``shuffled``), and the clicks on it (``view`` events with ``source: "search"`` and a
1-based ``position``), as the store simulator and a shop's search log write them.

Clicks are biased by position: people click the top result more whatever it is. Under the position-based model a
click needs an examination (probability θ_k at position k) and an attractive result, so a click at k,
weighted by 1/θ_k, is an unbiased estimate of the result's attractiveness (inverse propensity weighting).
θ is **estimated from result randomisation**: on the small share of pages the shop shuffles uniformly, every
result is equally likely at every position, so the click-through rate at k divided by that at position 1 is
θ_k/θ_1. Why not an EM click model: with one deterministic production ranker a (query, product) pair always sits at
the same position, so EM cannot tell position from relevance (the model is not identified); randomisation
needs no model of relevance and costs a few percent of pages.

Labels are the debiased click-through rate of each (query, product) shown, averaged over its impressions and
binned to grades 0–4; a LightGBM LambdaRank model learns them from the features in :data:`FEATURES`, with the
number of leaves and trees chosen by cross-validation over queries (NDCG@10 on the held-out queries' debiased
labels — no ground truth is used).
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import KW_ONLY, dataclass
from pathlib import Path
from typing import Any, ClassVar, Self

import numpy as np
import pandas as pd

from shoplens._files import replace_folder
from shoplens.base import Estimator
from shoplens.errors import InputError, NotFound
from shoplens.evaluation.ranking import graded_ndcg
from shoplens.search.index import FIELDS, ProductIndex, analyze, query_terms

# Query words that ask for a low or a high price (stemmed as analyze() does).
CHEAP_WORDS = frozenset(analyze("cheap cheapest budget affordable inexpensive 便宜 实惠"))
PREMIUM_WORDS = frozenset(analyze("best premium luxury top quality 最好 高端"))
FEATURES = (*(f"bm25_{f}" for f in FIELDS), "bm25_matched_fields", "term_coverage", "cosine", "brand_match",
            "category_match", "attribute_matches", "price_rel", "price_intent", "popularity", "conversion",
            "search_ctr", "search_ctr_in_category", "search_conversion", "rating", "n_reviews")
LABEL_GRADES = 4
GRID = ({"num_leaves": 7, "n_estimators": 150}, {"num_leaves": 15, "n_estimators": 150},
        {"num_leaves": 15, "n_estimators": 400}, {"num_leaves": 31, "n_estimators": 300})
FORMAT_VERSION = 1

Encode = Callable[[list[str]], np.ndarray]
"""``encode(texts)`` → unit rows, one per text (the encoder whose product vectors the index holds)."""


# -- the log --------------------------------------------------------------------------------------------------

def search_impressions(events: pd.DataFrame) -> pd.DataFrame:
    """One row per result shown: ``search_id, query, product_id, position (1-based), shuffled, clicked``.

    A click is a ``view`` with ``source: "search"`` and a ``position`` in the same session, after the search and
    before the session's next search."""
    for column in ("event_id", "session_id", "event_type", "event_ts", "query", "properties", "product_id"):
        if column not in events.columns:
            raise InputError(f"events lack the column {column!r}; search clicks need the canonical events table")
    searches = events[(events["event_type"] == "search") & events["query"].notna()]
    props = searches["properties"].map(_json)
    has_page = props.map(lambda p: isinstance(p.get("results"), list))
    searches, props = searches[has_page], props[has_page]
    shown = pd.DataFrame({"search_id": searches["event_id"].to_numpy(), "session_id": searches["session_id"].to_numpy(),
                          "event_ts": searches["event_ts"].to_numpy(), "query": searches["query"].map(normalize_query),
                          "shuffled": props.map(lambda p: bool(p.get("shuffled", False))).to_numpy(),
                          "product_id": props.map(lambda p: [str(r) for r in p["results"]]).to_numpy()})
    shown = shown.explode("product_id", ignore_index=True).dropna(subset=["product_id"])
    shown["position"] = shown.groupby("search_id").cumcount() + 1
    views = events[(events["event_type"] == "view") & events["properties"].notna()]
    vprops = views["properties"].map(_json)
    from_search = vprops.map(lambda p: p.get("source") == "search" and isinstance(p.get("position"), int))
    clicks = pd.DataFrame({"session_id": views["session_id"][from_search].to_numpy(),
                           "event_ts": views["event_ts"][from_search].to_numpy(),
                           "product_id": views["product_id"][from_search].astype(str).to_numpy(),
                           "position": vprops[from_search].map(lambda p: p["position"]).to_numpy()})
    if clicks.empty or shown.empty:
        return shown.assign(clicked=False)[["search_id", "query", "product_id", "position", "shuffled", "clicked"]]
    clicks["event_ts"] = pd.to_datetime(clicks["event_ts"], utc=True)
    heads = shown.drop_duplicates("search_id")[["search_id", "session_id", "event_ts"]].sort_values("event_ts")
    heads["event_ts"] = pd.to_datetime(heads["event_ts"], utc=True)
    clicks = pd.merge_asof(clicks.sort_values("event_ts"), heads, on="event_ts", by="session_id",
                           direction="backward").dropna(subset=["search_id"])
    clicked = clicks.drop_duplicates(["search_id", "position", "product_id"]).assign(clicked=True)
    out = shown.merge(clicked[["search_id", "position", "product_id", "clicked"]],
                      on=["search_id", "position", "product_id"], how="left")
    out["clicked"] = out["clicked"].notna()
    return out[["search_id", "query", "product_id", "position", "shuffled", "clicked"]]


def normalize_query(text: Any) -> str:
    """The key a query is grouped by: lower case, single spaces."""
    return " ".join(str(text).lower().split())


def _json(value: Any) -> dict[str, Any]:
    if isinstance(value, dict):
        return value
    try:
        out = json.loads(value) if isinstance(value, str) else {}
    except json.JSONDecodeError:
        return {}
    return out if isinstance(out, dict) else {}


def estimate_propensities(impressions: pd.DataFrame, *, min_sessions: int = 100) -> np.ndarray:
    """θ̂_k = CTR_k / CTR_1 on the shuffled pages (index k − 1), clipped to (0, 1]; a position never clicked on a
    shuffled page borrows the estimate above it. Needs ``min_sessions`` shuffled pages."""
    shuffled = impressions[impressions["shuffled"]]
    n_pages = shuffled["search_id"].nunique()
    if n_pages < min_sessions:
        raise InputError(f"{n_pages} shuffled result pages in the search log; estimating position bias needs at "
                         f"least {min_sessions} (the shop shuffles a small share of pages: see docs/search.md)")
    ctr = shuffled.groupby("position")["clicked"].mean().sort_index()
    if ctr.iloc[0] <= 0:
        raise InputError("no click at position 1 on any shuffled page: position bias cannot be estimated")
    theta = np.clip((ctr / ctr.iloc[0]).to_numpy(dtype=np.float64), 0.0, 1.0)
    for k in range(1, len(theta)):  # a position nobody clicked on a shuffled page: too few data, not θ = 0
        if theta[k] <= 0:
            theta[k] = theta[k - 1]
    return theta


def debiased_labels(impressions: pd.DataFrame, propensities: np.ndarray) -> pd.DataFrame:
    """Per (query, product) shown: ``ctr`` = mean of clicked / θ̂_position over its impressions (the estimated
    probability of a click when examined), ``label`` = that binned to 0..LABEL_GRADES, ``impressions``."""
    theta = np.asarray(propensities, dtype=np.float64)
    position = impressions["position"].to_numpy()
    known = position <= len(theta)
    frame = impressions[known]
    weight = frame["clicked"].to_numpy() / theta[frame["position"].to_numpy() - 1]
    grouped = frame.assign(w=weight).groupby(["query", "product_id"], sort=True)
    out = grouped["w"].agg(ctr="mean", impressions="size").reset_index()
    out["ctr"] = out["ctr"].clip(0, 1)
    out["label"] = np.rint(out["ctr"] * LABEL_GRADES).astype(np.int64)
    return out


# -- product signals --------------------------------------------------------------------------------------------

@dataclass
class ProductSignals:
    """Per index row: the behaviour and catalog facts the ranker reads (popularity, conversion, rating, price)."""

    popularity: np.ndarray  # log(1 + views)
    conversion: np.ndarray  # (carts + purchases + 1) / (views + 20): shrunk towards a low prior
    rating: np.ndarray  # mean rating shrunk towards the shop's mean with 5 pseudo-reviews
    n_reviews: np.ndarray  # log(1 + reviews)
    price_rel: np.ndarray  # log(price / median price of its category); 0 without prices
    search_ctr: np.ndarray  # debiased search click-through rate over all queries, shrunk towards the shop's
    search_ctr_in_category: np.ndarray  # search_ctr / its category's median: how it fares against its peers
    search_conversion: np.ndarray  # add-to-cart or purchase per search click, shrunk
    terms: list[frozenset[str]]  # tokens of title, brand, category and attribute values
    brand_terms: list[frozenset[str]]
    category_terms: list[frozenset[str]]
    attribute_terms: list[list[frozenset[str]]]  # each attribute value's tokens

    @classmethod
    def build(cls, index: ProductIndex, products: pd.DataFrame, events: pd.DataFrame | None,
              reviews: pd.DataFrame | None, impressions: pd.DataFrame | None = None,
              propensities: np.ndarray | None = None) -> ProductSignals:
        ids = index.products["product_id"].astype(str)
        catalog = products.assign(product_id=products["product_id"].astype(str)).drop_duplicates("product_id")
        catalog = catalog.set_index("product_id").reindex(ids)
        views = carts = pd.Series(0.0, index=ids)
        if events is not None and len(events):
            ev = events.dropna(subset=["product_id"])
            counts = ev.groupby(["product_id", "event_type"]).size().unstack(fill_value=0)
            counts = counts.reindex(ids, fill_value=0)
            views = counts.get("view", views)
            carts = counts.get("add_to_cart", 0) + counts.get("purchase", 0)
        rating = np.full(len(ids), np.nan)
        n_reviews = np.zeros(len(ids))
        if reviews is not None and len(reviews) and reviews["rating"].notna().any():
            rated = reviews.dropna(subset=["rating"])
            stats = rated.groupby(rated["product_id"].astype(str))["rating"].agg(["sum", "count"]).reindex(ids)
            prior = float(rated["rating"].mean())
            rating = ((stats["sum"].fillna(0) + 5 * prior) / (stats["count"].fillna(0) + 5)).to_numpy()
            n_reviews = stats["count"].fillna(0).to_numpy()
        price = pd.to_numeric(catalog.get("price"), errors="coerce") if "price" in catalog else None
        price_rel = np.zeros(len(ids))
        if price is not None and price.notna().any():
            median = price.groupby(catalog["category"].fillna("")).transform("median")
            price_rel = np.log(price / median).replace([np.inf, -np.inf], np.nan).fillna(0).to_numpy()
        ctr, search_conversion = _search_rates(ids, impressions, propensities, events)
        peers = pd.Series(ctr).groupby(catalog["category"].fillna("").to_numpy()).transform("median").to_numpy()
        brand_terms = [frozenset(analyze(b)) for b in catalog["brand"].fillna("")]
        attribute_terms = [_attribute_terms(a) for a in catalog.get("attributes", pd.Series([None] * len(ids),
                                                                                              index=ids))]
        terms = [frozenset(analyze(f"{t} {c}")) | b | frozenset().union(*a)
                 for t, c, b, a in zip(catalog["title"].fillna(""), catalog["category"].fillna(""), brand_terms,
                                       attribute_terms, strict=True)]
        return cls(popularity=np.log1p(np.asarray(views, dtype=np.float64)),
                   conversion=(np.asarray(carts, dtype=np.float64) + 1) / (np.asarray(views, dtype=np.float64) + 20),
                   rating=np.nan_to_num(rating, nan=0.0), n_reviews=np.log1p(n_reviews), price_rel=price_rel,
                   search_ctr=ctr, search_ctr_in_category=np.divide(ctr, peers, out=np.ones(len(ctr)),
                                                                    where=peers > 0),
                   search_conversion=search_conversion, terms=terms, brand_terms=brand_terms,
                   category_terms=[frozenset(analyze(str(c).split(">")[-1])) for c in catalog["category"].fillna("")],
                   attribute_terms=attribute_terms)

    def frame(self) -> pd.DataFrame:
        return pd.DataFrame({"popularity": self.popularity, "conversion": self.conversion, "rating": self.rating,
                             "n_reviews": self.n_reviews, "price_rel": self.price_rel, "search_ctr": self.search_ctr,
                             "search_ctr_in_category": self.search_ctr_in_category,
                             "search_conversion": self.search_conversion, "terms": [sorted(t) for t in self.terms],
                             "brand_terms": [sorted(t) for t in self.brand_terms],
                             "category_terms": [sorted(t) for t in self.category_terms],
                             "attribute_terms": [[sorted(t) for t in a] for a in self.attribute_terms]})

    @classmethod
    def from_frame(cls, frame: pd.DataFrame) -> ProductSignals:
        return cls(*(frame[c].to_numpy(dtype=np.float64) for c in ("popularity", "conversion", "rating",
                                                                   "n_reviews", "price_rel", "search_ctr",
                                                                   "search_ctr_in_category", "search_conversion")),
                   terms=[frozenset(t) for t in frame["terms"]],
                   brand_terms=[frozenset(t) for t in frame["brand_terms"]],
                   category_terms=[frozenset(t) for t in frame["category_terms"]],
                   attribute_terms=[[frozenset(t) for t in a] for a in frame["attribute_terms"]])


def _search_rates(ids: pd.Series, impressions: pd.DataFrame | None, propensities: np.ndarray | None,
                  events: pd.DataFrame | None) -> tuple[np.ndarray, np.ndarray]:
    """Per product: debiased search CTR (Σ clicked/θ over impressions, 20 pseudo-impressions at the shop's rate)
    and carts per search click (10 pseudo-clicks at the shop's rate)."""
    if impressions is None or propensities is None or impressions.empty:
        return np.zeros(len(ids)), np.zeros(len(ids))
    theta = np.asarray(propensities)
    shown = impressions[impressions["position"] <= len(theta)]
    weight = shown["clicked"].to_numpy() / theta[shown["position"].to_numpy() - 1]
    per = shown.assign(w=weight).groupby("product_id")["w"].agg(["sum", "size"]).reindex(ids, fill_value=0)
    prior = weight.sum() / max(len(weight), 1)
    ctr = ((per["sum"] + 20 * prior) / (per["size"] + 20)).to_numpy()
    clicks = shown[shown["clicked"]].groupby("product_id").size().reindex(ids, fill_value=0)
    carts = pd.Series(0, index=ids)
    if events is not None:
        from_search = events["properties"].fillna("").str.contains('"source": "search"', regex=False)
        bought = events[from_search & events["event_type"].isin(["add_to_cart", "purchase"])]
        carts = bought.groupby(bought["product_id"].astype(str)).size().reindex(ids, fill_value=0)
    rate = carts.sum() / max(clicks.sum(), 1)
    return ctr, ((carts + 10 * rate) / (clicks + 10)).to_numpy(dtype=np.float64)


def _attribute_terms(value: Any) -> list[frozenset[str]]:
    """Tokens of each attribute value (strings, and strings inside lists) of a JSON attributes object."""
    attrs = _json(value)
    values: list[str] = []
    for v in attrs.values():
        if isinstance(v, str):
            values.append(v)
        elif isinstance(v, list):
            values.extend(x for x in v if isinstance(x, str))
    return [t for t in (frozenset(analyze(v)) for v in values) if t]


def features(index: ProductIndex, signals: ProductSignals, text: str, rows: Sequence[int],
             query_vector: np.ndarray | None, encoder: str | None) -> np.ndarray:
    """The :data:`FEATURES` of each candidate row for one query, as a (len(rows), len(FEATURES)) array."""
    rows = np.asarray(rows, dtype=np.int64)
    terms = set(query_terms(text))
    bm25 = index.field_scores(text, rows)
    cosine = (index.cosines(encoder, query_vector, rows) if encoder and query_vector is not None
              else np.zeros(len(rows), np.float32))
    intent = -1.0 if terms & CHEAP_WORDS else 1.0 if terms & PREMIUM_WORDS else 0.0
    matches = np.array([_matches(signals, int(r), terms) for r in rows], dtype=np.float64).reshape(len(rows), 4)
    brand, category, attributes, coverage = matches.T
    matched = (bm25 > 0).sum(axis=1)
    return np.column_stack([bm25, matched, coverage, cosine, brand, category, attributes, signals.price_rel[rows],
                            np.full(len(rows), intent), signals.popularity[rows], signals.conversion[rows],
                            signals.search_ctr[rows], signals.search_ctr_in_category[rows],
                            signals.search_conversion[rows], signals.rating[rows],
                            signals.n_reviews[rows]]).astype(np.float32)


def _matches(signals: ProductSignals, row: int, terms: set[str]) -> tuple[float, float, int, float]:
    """Brand named, share of the category's words named, attribute values named, share of the query's words in
    the product's title/brand/category/attributes — one pass per candidate."""
    brand, category = signals.brand_terms[row], signals.category_terms[row]
    return (float(bool(brand & terms)), len(category & terms) / max(len(category), 1),
            sum(t <= terms for t in signals.attribute_terms[row]), len(signals.terms[row] & terms) / max(len(terms), 1))


# -- the model --------------------------------------------------------------------------------------------------

@dataclass(eq=False, repr=False)
class LearnedRanker(Estimator):
    """LambdaRank over :data:`FEATURES`, trained on position-debiased clicks (see the module's docstring).

    ``num_leaves``/``n_estimators`` left as None are chosen by ``cv_folds``-fold cross-validation over queries
    from :data:`GRID`."""

    registry_name: ClassVar[str] = "search-ltr"
    capability: ClassVar[str] = "search"

    num_leaves: int | None = None
    n_estimators: int | None = None
    learning_rate: float = 0.05
    min_child_samples: int = 20
    cv_folds: int = 3
    min_shuffled_pages: int = 100
    encoder: str | None = "minilm"
    _: KW_ONLY
    seed: int = 0

    def fit(self, data: Any, *, index: ProductIndex, encode: Encode | None = None) -> Self:
        """Learn from ``data`` (a Workspace, or a mapping with ``products``, ``events`` and optionally
        ``reviews``) over the products of ``index``; ``encode`` embeds queries (default: the ``encoder``)."""
        tables = _tables(data)
        impressions = search_impressions(tables["events"])
        if impressions.empty:
            raise InputError("no search events with a logged result page ('results' in properties): nothing to "
                             "learn from")
        self.propensities_ = estimate_propensities(impressions, min_sessions=self.min_shuffled_pages)
        self.signals_ = ProductSignals.build(index, tables["products"], tables["events"], tables.get("reviews"),
                                             impressions, self.propensities_)
        labels = debiased_labels(impressions, self.propensities_)
        row_of = pd.Series(np.arange(len(index)), index=index.products["product_id"].astype(str))
        labels = labels[labels["product_id"].isin(row_of.index)].reset_index(drop=True)
        labels["row"] = row_of[labels["product_id"]].to_numpy()
        X, groups = self._matrix(index, labels, encode)
        y = labels["label"].to_numpy()
        self.cv_ = self._cross_validate(X, y, groups)
        best = max(self.cv_, key=lambda r: r["ndcg@10"])
        self.params_ = {"num_leaves": best["num_leaves"], "n_estimators": best["n_estimators"]}
        self.model_ = self._booster(**self.params_).fit(X, y, group=np.bincount(groups))
        self.n_queries_ = int(groups.max() + 1) if len(groups) else 0
        return self

    def _matrix(self, index: ProductIndex, labels: pd.DataFrame, encode: Encode | None
                ) -> tuple[np.ndarray, np.ndarray]:
        queries = labels["query"].unique().tolist()
        vectors = self._encode(queries, encode)
        parts = []
        for i, (query, block) in enumerate(labels.groupby("query", sort=False)):
            parts.append(features(index, self.signals_, query, block["row"].to_numpy(),
                                  None if vectors is None else vectors[i], self._encoder_name(index)))
        groups = labels.groupby("query", sort=False).ngroup().to_numpy()
        return np.vstack(parts), groups

    def _encode(self, texts: list[str], encode: Encode | None) -> np.ndarray | None:
        if encode is not None:
            return np.asarray(encode(texts), dtype=np.float32)
        if not self.encoder:
            return None
        from shoplens.text import load_encoder

        if not hasattr(self, "_encoder_obj"):
            self._encoder_obj = load_encoder(self.encoder)
        return self._encoder_obj.encode(texts, show_progress=False)

    def _encoder_name(self, index: ProductIndex) -> str | None:
        if not self.encoder:
            return None
        if self.encoder not in index.encoders:
            raise NotFound(f"the index has no {self.encoder!r} vectors (it has {index.encoders or 'none'}); build "
                           f"it with them or use LearnedRanker(encoder=None)")
        return self.encoder

    def _booster(self, num_leaves: int, n_estimators: int) -> Any:
        from lightgbm import LGBMRanker

        return LGBMRanker(objective="lambdarank", num_leaves=num_leaves, n_estimators=n_estimators,
                          learning_rate=self.learning_rate, min_child_samples=self.min_child_samples,
                          label_gain=[2.0 ** g - 1 for g in range(LABEL_GRADES + 1)], lambdarank_truncation_level=20,
                          subsample=0.8, subsample_freq=1, colsample_bytree=0.9, random_state=self.seed,
                          n_jobs=1, verbose=-1)

    def _cross_validate(self, X: np.ndarray, y: np.ndarray, groups: np.ndarray) -> list[dict[str, Any]]:
        """Mean NDCG@10 (debiased labels) over folds of queries for each candidate setting."""
        grid = [g for g in GRID if self.num_leaves in (None, g["num_leaves"])
                and self.n_estimators in (None, g["n_estimators"])]
        if not grid:
            grid = [{"num_leaves": self.num_leaves or 15, "n_estimators": self.n_estimators or 200}]
        fold = np.random.default_rng(self.seed).permutation(groups.max() + 1) % self.cv_folds
        results = []
        for setting in grid:
            scores = []
            for f in range(self.cv_folds):
                train = fold[groups] != f
                model = self._booster(**setting).fit(X[train], y[train], group=_sizes(groups[train]))
                scores.append(_ndcg_by_group(model.predict(X[~train]), y[~train], groups[~train]))
            results.append({**setting, "ndcg@10": float(np.mean(scores)), "folds": self.cv_folds})
        return results

    # -- ranking ------------------------------------------------------------------------------------------
    def _check_fitted(self) -> None:
        if not hasattr(self, "model_"):
            raise NotFound("the ranker is not fitted: call fit() or load() first")

    def score(self, index: ProductIndex, text: str, rows: Sequence[int], *,
              query_vector: np.ndarray | None = None) -> np.ndarray:
        """The model's score of each candidate row (higher is better)."""
        self._check_fitted()
        if len(rows) == 0:
            return np.zeros(0, np.float32)
        if query_vector is None and self.encoder:
            query_vector = self._encode([text], None)[0]
        X = features(index, self.signals_, text, rows, query_vector, self._encoder_name(index))
        return self.model_.predict(X).astype(np.float32)

    def rerank(self, index: ProductIndex, text: str, rows: Sequence[int], *,
               query_vector: np.ndarray | None = None) -> np.ndarray:
        """``rows`` best first by the model (ties keep the given order)."""
        rows = np.asarray(rows, dtype=np.int64)
        scores = self.score(index, text, rows, query_vector=query_vector)
        return rows[np.argsort(-scores, kind="stable")]

    def importances(self) -> dict[str, float]:
        """Share of the total split gain of each feature."""
        self._check_fitted()
        gain = self.model_.booster_.feature_importance("gain")
        return dict(zip(FEATURES, (gain / max(gain.sum(), 1e-12)).round(4).tolist(), strict=True))

    # -- persistence ---------------------------------------------------------------------------------------
    def save(self, path: str | Path) -> Path:
        self._check_fitted()

        def write(folder: Path) -> None:
            self.model_.booster_.save_model(str(folder / "model.txt"))
            self.signals_.frame().to_parquet(folder / "signals.parquet", index=False)
            meta = {"format": FORMAT_VERSION, "params": self.card_params(), "chosen": self.params_,
                    "propensities": self.propensities_.tolist(), "cv": self.cv_, "n_queries": self.n_queries_}
            (folder / "meta.json").write_text(json.dumps(meta, indent=2), encoding="utf-8")

        return replace_folder(Path(path), write)

    @classmethod
    def load(cls, path: str | Path) -> Self:
        import lightgbm

        folder = Path(path)
        if not (folder / "meta.json").exists():
            raise NotFound(f"no learned ranker in {folder}")
        meta = json.loads((folder / "meta.json").read_text(encoding="utf-8"))
        model = cls.from_saved_params(meta["params"])
        model.model_ = _LoadedBooster(lightgbm.Booster(model_file=str(folder / "model.txt")))
        model.signals_ = ProductSignals.from_frame(pd.read_parquet(folder / "signals.parquet"))
        model.propensities_ = np.asarray(meta["propensities"])
        model.params_, model.cv_, model.n_queries_ = meta["chosen"], meta["cv"], meta["n_queries"]
        return model


class _LoadedBooster:
    """A saved booster with the sklearn wrapper's two methods the ranker uses."""

    def __init__(self, booster: Any) -> None:
        self.booster_ = booster

    def predict(self, X: np.ndarray) -> np.ndarray:
        return self.booster_.predict(X, num_threads=1)  # a few hundred rows: threads cost more than they save


def _sizes(groups: np.ndarray) -> np.ndarray:
    """Group sizes of consecutive group ids (rows of a group are contiguous)."""
    change = np.flatnonzero(np.r_[True, groups[1:] != groups[:-1], True])
    return np.diff(change)


def _ndcg_by_group(scores: np.ndarray, labels: np.ndarray, groups: np.ndarray, k: int = 10) -> float:
    out = []
    for g in np.unique(groups):
        at = groups == g
        if labels[at].max() <= 0:
            continue
        order = np.argsort(-scores[at], kind="stable")
        out.append(graded_ndcg(labels[at][order], labels[at], k))
    return float(np.mean(out)) if out else 0.0


def _tables(data: Any) -> dict[str, pd.DataFrame]:
    if isinstance(data, Mapping):
        missing = [t for t in ("products", "events") if t not in data]
        if missing:
            raise InputError(f"training data lack the table(s) {', '.join(missing)}")
        return dict(data)
    if hasattr(data, "table"):
        out = {"products": data.table("products"), "events": data.table("events")}
        with contextlib.suppress(NotFound, InputError):  # a shop without reviews still ranks
            out["reviews"] = data.table("reviews")
        return out
    raise InputError(f"LearnedRanker.fit takes a Workspace or a mapping of tables, not {type(data).__name__}")
