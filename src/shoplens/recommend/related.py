"""Item-to-item lists: "similar products" (customers who chose one also chose the other) and "bought
together" (in the same order), each with its reason.

``similar_items(model, product_id)`` uses a fitted recommender's notion of similarity (its
``item_affinity``); ``bought_together(ws)`` counts order baskets in the warehouse with a lift filter.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from shoplens.errors import InputError, NotFound
from shoplens.recommend.data import ITEM, run_sql

if TYPE_CHECKING:
    from shoplens.recommend.base import Recommender

BASKETS_SQL = """
WITH lines AS (
    SELECT DISTINCT i.order_id, i.product_id FROM order_items i JOIN orders o USING (order_id)
    WHERE i.product_id IS NOT NULL AND i.quantity > 0
      AND coalesce(lower(o.status), '') NOT IN ('cancelled', 'canceled', 'void', 'failed', 'rejected')
),
sizes AS (SELECT order_id FROM lines GROUP BY order_id HAVING count(*) >= 2),
baskets AS (SELECT l.* FROM lines l JOIN sizes USING (order_id)),
item_orders AS (SELECT product_id, count(*) AS orders FROM lines GROUP BY product_id),
pairs AS (
    SELECT a.product_id AS product_id, b.product_id AS other_id, count(*) AS together
    FROM baskets a JOIN baskets b ON a.order_id = b.order_id AND a.product_id <> b.product_id
    GROUP BY 1, 2
)
SELECT p.product_id, p.other_id, p.together, ia.orders AS orders, ib.orders AS other_orders,
       (SELECT count(DISTINCT order_id) FROM lines) AS n_orders
FROM pairs p JOIN item_orders ia ON ia.product_id = p.product_id JOIN item_orders ib ON ib.product_id = p.other_id
WHERE p.together >= ?
ORDER BY p.product_id, p.together DESC, p.other_id
"""


def similar_items(model: Recommender, product_id: str, k: int = 10) -> pd.DataFrame:
    """The ``k`` products most similar to ``product_id`` under ``model`` (itself excluded)."""
    model._check_fitted()
    if k < 1:
        raise InputError(f"k must be at least 1, got {k}")
    item = int(model.item_index([product_id])[0])
    everything = np.arange(len(model.item_ids_))
    affinity = model.item_affinity(np.array([item]), everything)[0].astype(np.float64)
    affinity[item] = -np.inf
    order = np.lexsort((everything, -affinity))
    order = order[np.isfinite(affinity[order]) & (affinity[order] > 0)][:k]
    name = model.item_titles_[item] or f"product {model.item_ids_[item]}"
    return pd.DataFrame({"rank": np.arange(1, len(order) + 1), ITEM: model.item_ids_[order],
                         "title": model.item_titles_[order], "score": affinity[order],
                         "reason": [f"customers who chose '{name}' also chose this"] * len(order)})


def bought_together(ws: Any, product_id: str | None = None, k: int = 10, min_orders: int = 2) -> pd.DataFrame:
    """Products bought in the same order, with support (orders together), confidence and lift.

    ``ws`` is a workspace or an open DuckDB connection to its warehouse.
    For one product (``product_id``) or for every product (top ``k`` each). Only pairs seen together in
    at least ``min_orders`` orders and with lift > 1 (together more often than chance) are kept."""
    pairs = run_sql(ws, BASKETS_SQL, [int(min_orders)])
    if product_id is not None:
        known = run_sql(ws, "SELECT count(*) AS n FROM products WHERE product_id = ?", [str(product_id)])["n"].iloc[0]
        if not known:
            raise NotFound(f"unknown product {product_id!r}")
        pairs = pairs[pairs[ITEM] == str(product_id)]
    if pairs.empty:
        return pd.DataFrame(columns=[ITEM, "rank", "other_id", "together", "confidence", "lift", "reason"])
    pairs = pairs.assign(confidence=pairs["together"] / pairs["orders"],
                         lift=pairs["together"] * pairs["n_orders"] / (pairs["orders"] * pairs["other_orders"]))
    pairs = pairs[pairs["lift"] > 1].sort_values([ITEM, "together", "lift", "other_id"],
                                                 ascending=[True, False, False, True])
    pairs = pairs.groupby(ITEM, sort=False).head(k).copy()
    pairs["rank"] = pairs.groupby(ITEM, sort=False).cumcount() + 1
    pairs["reason"] = [f"bought together in {n} orders" for n in pairs["together"]]
    return pairs[[ITEM, "rank", "other_id", "together", "confidence", "lift", "reason"]].reset_index(drop=True)
