"""Serving: batch scoring of every customer (for the warehouse) and the online path for one customer.

The online path is :meth:`Recommender.recommend` on a model loaded once per process
(:func:`shoplens.recommend.api.load` caches it): one history row times the model's item weights, the
seen items masked, ``argpartition`` for the top k, then the explanations. ``benchmarks/recommend.py``
measures its latency (p99 of 10,000 requests, three runs).
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from shoplens.recommend.data import ITEM, USER
from shoplens.recommend.explain import explain_items

if TYPE_CHECKING:
    from shoplens.recommend.base import Recommender


def batch_recommendations(model: Recommender, k: int = 10, *, explain: bool = True, progress: bool = False,
                          users: np.ndarray | None = None) -> pd.DataFrame:
    """Top-``k`` for every known customer (or the customers at indices ``users``): ``customer_id, rank, product_id,
    title, score, reason, model``. A customer's list depends on their history alone, not on the customers scored
    beside them (``shoplens.recommend.spark`` scores them in other groups and gets the same lists)."""
    from shoplens.progress import progress_bar

    users = np.arange(len(model.user_ids_)) if users is None else np.asarray(users, dtype=np.int64)
    # the columns are gathered as arrays and framed once: a frame per customer was half of scoring 50,000
    owners, chosen_items, chosen_scores, counts, reasons = [], [], [], [], []
    with progress_bar("scoring customers", len(users), enabled=progress, unit="customers") as bar:
        for start in range(0, len(users), model.batch_size):
            block = users[start:start + model.batch_size]
            items, scores = model.top_k(block, k)
            valid = items >= 0
            for row, user in enumerate(block):
                chosen = items[row][valid[row]]
                if explain:
                    reasons.extend(explain_items(model, model.X_[user], model.kinds_[user], chosen))
            owners.append(np.repeat(block, valid.sum(1)))
            chosen_items.append(items[valid])
            chosen_scores.append(scores[valid])
            counts.append(valid.sum(1))
            bar.advance(len(block))
    if not owners:
        return pd.DataFrame(columns=[USER, "rank", ITEM, "title", "score", "reason", "model"])
    owner, item, per_user = np.concatenate(owners), np.concatenate(chosen_items), np.concatenate(counts)
    # ranks 1 … n within each customer's list (the lists are consecutive, best first)
    rank = np.arange(len(item)) - np.repeat(np.cumsum(per_user) - per_user, per_user) + 1
    return pd.DataFrame({USER: model.user_ids_[owner], "rank": rank.astype(np.int32), ITEM: model.item_ids_[item],
                         "title": model.item_titles_[item],
                         "score": np.concatenate(chosen_scores).astype(np.float64),
                         "reason": reasons if explain else [""] * len(item), "model": model.name})


def request_latencies(model: Recommender, customer_ids: np.ndarray, k: int = 10, *,
                      explain: bool = True) -> np.ndarray:
    """Milliseconds of one ``recommend(customer, k)`` call per customer id, in the order given."""
    seconds = np.empty(len(customer_ids))
    for position, customer in enumerate(customer_ids):
        started = time.perf_counter()
        model.recommend(customer, k, explain=explain)
        seconds[position] = time.perf_counter() - started
    return seconds * 1000.0
