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
    frames = []
    with progress_bar("scoring customers", len(users), enabled=progress, unit="customers") as bar:
        for start in range(0, len(users), model.batch_size):
            block = users[start:start + model.batch_size]
            items, scores = model.top_k(block, k)
            for row, user in enumerate(block):
                valid = items[row] >= 0
                chosen = items[row][valid]
                reasons = explain_items(model, model.X_[user], model.kinds_[user], chosen) if explain \
                    else [""] * len(chosen)
                frames.append(pd.DataFrame({
                    USER: model.user_ids_[user], "rank": np.arange(1, len(chosen) + 1, dtype=np.int32),
                    ITEM: model.item_ids_[chosen], "title": model.item_titles_[chosen],
                    "score": scores[row][valid].astype(np.float64), "reason": reasons}))
            bar.advance(len(block))
    frame = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(
        columns=[USER, "rank", ITEM, "title", "score", "reason"])
    frame["model"] = model.name
    return frame


def request_latencies(model: Recommender, customer_ids: np.ndarray, k: int = 10, *,
                      explain: bool = True) -> np.ndarray:
    """Milliseconds of one ``recommend(customer, k)`` call per customer id, in the order given."""
    seconds = np.empty(len(customer_ids))
    for position, customer in enumerate(customer_ids):
        started = time.perf_counter()
        model.recommend(customer, k, explain=explain)
        seconds[position] = time.perf_counter() - started
    return seconds * 1000.0
