"""A knowledge-graph-aware recommender for cold items: products nobody has interacted with yet are scored
through their neighbours in the knowledge graph.

```python
from shoplens.recommend import KGHybrid
model = KGHybrid().fit(ratings, products, triples=kg)    # kg: head, relation, tail ('same_as' links items)
model.recommend("42", k=10)                              # cold items rank beside warm ones
```

The graph comes as triples ``head, relation, tail`` — the ``kg_triples`` table of a workspace (what
``shoplens datasets load recbole_ml100k_kg`` fills) or a frame. Triples whose relation is ``link_relation``
(``same_as``) join a product (head) to its entity (tail); every other triple is about entities. A product's
*graph neighbourhood* is the set of entities one hop from its own entity (its director, actors, genres,
studio …), each counted only when it touches at least ``min_entity_items`` catalogue products (an entity
that only one product has says nothing about any other).

:class:`KGHybrid` extends :class:`~shoplens.recommend.content.ContentFactorMap` (collaborative item factors
from the warm items, and a ridge map from content to factors for the cold ones) in two ways:

1. the ridge map also reads the neighbourhood, as TF-IDF-weighted entity indicators scaled by
   ``entity_weight``;
2. *propagation*: a cold item's factors move towards the mean factors of the warm items that share most of
   its neighbourhood (cosine of the entity vectors, its ``neighbours`` best, weighted by similarity), with
   weight ``propagation`` — the graph path "same director as X, whom you liked" as arithmetic.

With ``entity_weight=0`` and ``propagation=0`` it is the content map itself. Items without a graph link
keep the content map's factors.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp

from shoplens.errors import InputError
from shoplens.recommend.base import Recommender
from shoplens.recommend.content import ContentFactorMap, l2_rows
from shoplens.recommend.persist import register
from shoplens.recommend.ranking import top_per_column

TRIPLE_COLUMNS = ("head", "relation", "tail")
TRIPLES_SQL = "SELECT head, relation, tail FROM kg_triples"


def triples_frame(source: Any) -> pd.DataFrame:
    """Triples ``head, relation, tail`` (as text) of a workspace's ``kg_triples`` table or of a frame."""
    if hasattr(source, "sql") and hasattr(source, "table_names"):
        frame = source.sql(TRIPLES_SQL)
    elif isinstance(source, pd.DataFrame):
        frame = source
    else:
        raise InputError(f"expected knowledge-graph triples as a Workspace or a DataFrame, got {type(source).__name__}")
    missing = [c for c in TRIPLE_COLUMNS if c not in frame.columns]
    if missing:
        raise InputError(f"triples: missing column {', '.join(map(repr, missing))}; columns are "
                         f"{', '.join(map(str, frame.columns))}")
    frame = frame[list(TRIPLE_COLUMNS)].dropna()
    return frame.astype(str)


def item_entities(triples: pd.DataFrame, item_ids: np.ndarray, link_relation: str = "same_as",
                  min_items: int = 2) -> tuple[sp.csr_matrix, np.ndarray]:
    """Items × entities indicators of each item's one-hop graph neighbourhood, and the entity ids.

    An item's entity is the tail of its ``link_relation`` triple; its neighbours are the tails of that
    entity's triples and the heads of triples pointing at it. Entities touching fewer than ``min_items``
    items are dropped."""
    links = triples[triples["relation"] == link_relation]
    facts = triples[triples["relation"] != link_relation]
    position = pd.Series(np.arange(len(item_ids)), index=pd.Index(item_ids.astype(str)))
    links = links[links["head"].isin(position.index)]
    if links.empty:
        raise InputError(f"no triple with relation {link_relation!r} links a catalogue product to an entity")
    item_of_entity = links.groupby("tail")["head"].agg(list)
    hops = pd.concat([facts.rename(columns={"head": "entity", "tail": "neighbour"})[["entity", "neighbour"]],
                      facts.rename(columns={"tail": "entity", "head": "neighbour"})[["entity", "neighbour"]]])
    hops = hops[hops["entity"].isin(item_of_entity.index)]
    pairs = hops.merge(links.rename(columns={"tail": "entity"})[["head", "entity"]], on="entity")
    pairs = pairs.drop_duplicates(["head", "neighbour"])
    counts = pairs["neighbour"].value_counts()
    pairs = pairs[pairs["neighbour"].map(counts) >= min_items]
    entities, columns = np.unique(pairs["neighbour"].to_numpy(), return_inverse=True)
    rows = position[pairs["head"].to_numpy()].to_numpy()
    matrix = sp.csr_matrix((np.ones(len(rows), np.float32), (rows, columns)), shape=(len(item_ids), len(entities)))
    return matrix, entities


def tfidf_rows(indicators: sp.csr_matrix) -> sp.csr_matrix:
    """Indicator rows weighted by inverse document frequency and scaled to unit length."""
    n_rows = max(indicators.shape[0], 1)
    df = np.asarray((indicators > 0).sum(axis=0)).ravel()
    idf = np.log((1.0 + n_rows) / (1.0 + df)) + 1.0
    return l2_rows((indicators @ sp.diags(idf.astype(np.float32))).tocsr())


@register
class KGHybrid(ContentFactorMap):
    """Cold items scored through their knowledge-graph neighbours (see the module docstring)."""

    name = "kg_hybrid"
    reads_workspace = True

    def __init__(self, factors: int = 64, alpha: float = 10.0, title_weight: float = 1.0, year_weight: float = 1.0,
                 entity_weight: float = 1.0, propagation: float = 0.5, neighbours: int = 20,
                 min_entity_items: int = 2, link_relation: str = "same_as") -> None:
        super().__init__(factors=factors, alpha=alpha, title_weight=title_weight, year_weight=year_weight)
        self.entity_weight = entity_weight
        self.propagation = propagation
        self.neighbours = neighbours
        self.min_entity_items = min_entity_items
        self.link_relation = link_relation

    def fit(self, data: Any, products: Any = None, triples: Any = None) -> Recommender:
        """Learn from interactions, the catalogue and the graph (``triples``: a frame ``head, relation,
        tail``; by default the ``kg_triples`` table of the workspace given as ``data`` or ``products``)."""
        source = triples if triples is not None else next((d for d in (data, products) if hasattr(d, "sql")), None)
        if source is None:
            raise InputError("KGHybrid needs knowledge-graph triples: pass triples=... (head, relation, tail) "
                             "or a workspace whose kg_triples table holds them")
        self._triples = triples_frame(source)
        try:
            return super().fit(data, products)
        finally:
            self._triples = None

    def side_features(self) -> sp.csr_matrix:
        indicators, self.entity_ids_ = item_entities(self._triples, self.item_ids_, self.link_relation,
                                                     self.min_entity_items)
        self.entities_ = tfidf_rows(indicators)
        content = self.content_features()
        if self.entity_weight <= 0:
            return content
        return sp.hstack([content, self.entity_weight * self.entities_]).tocsr()

    def _fit(self, frame: pd.DataFrame) -> None:
        super()._fit(frame)
        if self.propagation > 0:
            self.item_factors_ = self._propagate(self.item_factors_)

    def _propagate(self, factors: np.ndarray) -> np.ndarray:
        """Cold items' factors pulled towards the similarity-weighted mean of their warm graph neighbours'."""
        warm = self.item_users_ > 0
        cold = np.flatnonzero(~warm & (self.entities_.getnnz(axis=1) > 0))
        if not len(cold) or not warm.any():
            return factors
        similarity = (self.entities_[np.flatnonzero(warm)] @ self.entities_[cold].T).tocsr()  # warm × cold
        similarity = top_per_column(similarity, self.neighbours).T.tocsr()  # cold × warm, best neighbours
        total = np.asarray(similarity.sum(axis=1)).ravel()
        has = total > 0
        neighbour_mean = np.asarray(similarity @ factors[warm]) / np.maximum(total, 1e-12)[:, None]
        out = factors.copy()
        rows = cold[has]
        out[rows] = (1.0 - self.propagation) * factors[rows] + self.propagation * neighbour_mean[has]
        return out

    def item_affinity(self, history_items: np.ndarray, items: np.ndarray) -> np.ndarray:
        """Shared graph neighbourhood (cosine of the entity vectors) first; factor similarity breaks ties and
        covers items without a graph link (scaled below any shared entity)."""
        graph = (self.entities_[history_items] @ self.entities_[items].T).toarray()
        factors = super().item_affinity(history_items, items)
        scale = np.abs(factors).max() if factors.size else 0.0
        return graph + (1e-3 * factors / scale if scale > 0 else 0.0)
