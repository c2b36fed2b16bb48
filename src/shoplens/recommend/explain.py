"""Explanations: every recommendation says why.

- "because you bought 'X'" — the history item that supports the recommendation most (the model's own
  item weights for item-based models, factor similarity for factor models, co-occurrence otherwise);
  the verb is the strongest kind of interaction the customer had with X (bought, rated, viewed …);
- "popular in <category>" — when no history item supports it (popularity, cold items, sequential
  models with nothing in common) and the item has a category;
- "popular with customers" — otherwise.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import scipy.sparse as sp

from shoplens.recommend.data import CODE_VERBS

if TYPE_CHECKING:
    from shoplens.recommend.base import Recommender

DEFAULT_VERB = "bought"


def explain_items(model: Recommender, history: sp.csr_matrix, kinds: sp.csr_matrix | None,
                  items: np.ndarray) -> list[str]:
    """One explanation per recommended item for one history row."""
    history_items = history.indices
    reasons: list[str] = []
    support = model.item_affinity(history_items, items) if len(history_items) and len(items) else None
    codes = dict(zip(kinds.indices, kinds.data.astype(int), strict=True)) if kinds is not None else {}
    for column, item in enumerate(items):
        if support is not None and support.shape[0] and support[:, column].max() > 0:
            best = history_items[int(np.argmax(support[:, column]))]
            verb = CODE_VERBS.get(codes.get(best, 0), DEFAULT_VERB)
            reasons.append(f"because you {verb} {_name(model, best)}")
        elif model.item_categories_[item]:
            reasons.append(f"popular in {model.item_categories_[item]}")
        else:
            reasons.append("popular with customers")
    return reasons


def _name(model: Recommender, item: int) -> str:
    title = model.item_titles_[item]
    return f"'{title}'" if title else f"product {model.item_ids_[item]}"
