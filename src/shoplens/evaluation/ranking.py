"""Ranking metrics for top-K recommendations, with Microsoft Recommenders' binary-relevance definitions.

For each user with at least one relevant (held-out) item, a model returns a ranked list of ``K``
recommended items. With ``hit@r`` = 1 when the item at rank ``r`` is relevant and ``R`` = the number
of relevant items of the user:

- ``precision@k`` = hits in the top k / k (their ``precision_at_k``: the denominator is k even when
  fewer items were recommended);
- ``recall@k`` = hits in the top k / R;
- ``ndcg@k`` = Σ hit@r / log(1 + r) over r ≤ k, divided by the ideal Σ 1 / log(1 + r) over
  r ≤ min(R, k) (their ``ndcg_at_k`` with ``score_type="binary"``);
- ``map@k`` = Σ over hits of (hits up to r) / r, divided by min(R, k) (their ``map_at_k``);
- ``hr@k`` = 1 when any of the top k is relevant; ``mrr@k`` = 1 / rank of the first hit (0 when none);
- ``coverage@k`` = distinct items recommended in the top k over all users / catalogue size;
- ``novelty@k`` = mean self-information −log2 p(i) of the recommended items, where p(i) is the share
  of training users who interacted with i (bits; higher = less popular items recommended).

Each per-user figure is averaged over users with R ≥ 1. Items a user saw in training must already be
excluded from the lists (the recommenders of ``shoplens.recommend`` do that); the metrics only count.

Example::

    import numpy as np
    from shoplens.evaluation.ranking import ranking_metrics
    recommended = np.array([[3, 1, 7], [2, 5, 4]])        # item indices, best first; -1 pads short lists
    relevant = [np.array([1, 9]), np.array([4])]           # held-out items per user
    ranking_metrics(recommended, relevant, ks=(3,))        # {'precision@3': 0.3333, 'ndcg@3': ..., ...}
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np
import scipy.sparse as sp

from shoplens.errors import InputError

PER_USER_METRICS = ("precision", "recall", "ndcg", "map", "hr", "mrr")
Relevant = sp.spmatrix | sp.sparray | Sequence[np.ndarray] | Sequence[Iterable[int]]


def relevant_matrix(relevant: Relevant, n_users: int, n_items: int | None = None) -> sp.csr_matrix:
    """The held-out items per user as a binary CSR matrix (users × items)."""
    if sp.issparse(relevant):
        matrix = sp.csr_matrix(relevant, dtype=np.float32)
        if matrix.shape[0] != n_users:
            raise InputError(f"relevant items for {matrix.shape[0]} users, recommendations for {n_users}")
        matrix.data[:] = 1.0
        return matrix
    rows = list(relevant)
    if len(rows) != n_users:
        raise InputError(f"relevant items for {len(rows)} users, recommendations for {n_users}")
    items = [np.unique(np.asarray(list(r) if not isinstance(r, np.ndarray) else r, dtype=np.int64)) for r in rows]
    indptr = np.concatenate([[0], np.cumsum([len(r) for r in items])])
    indices = np.concatenate(items) if items else np.zeros(0, dtype=np.int64)
    if len(indices) and indices.min() < 0:
        raise InputError("relevant item indices must be non-negative")
    width = int(n_items if n_items is not None else (indices.max() + 1 if len(indices) else 1))
    return sp.csr_matrix((np.ones(len(indices), dtype=np.float32), indices, indptr), shape=(n_users, width))


def hit_matrix(recommended: np.ndarray, relevant: sp.csr_matrix) -> np.ndarray:
    """``hits[u, r]``: whether the item at rank r of user u is relevant (padding -1 never is)."""
    n_users = recommended.shape[0]
    width = max(relevant.shape[1], int(recommended.max(initial=-1)) + 1)
    coo = relevant.tocoo()
    true_codes = np.unique(coo.row.astype(np.int64) * width + coo.col)
    rec_codes = np.arange(n_users, dtype=np.int64)[:, None] * width + recommended
    return np.isin(rec_codes, true_codes) & (recommended >= 0)


def per_user_metrics(hits: np.ndarray, n_relevant: np.ndarray, k: int) -> dict[str, np.ndarray]:
    """Each per-user metric at k for every user (rows of ``hits``; users with no relevant item give NaN)."""
    top = hits[:, :k].astype(np.float64)
    ranks = np.arange(1, top.shape[1] + 1, dtype=np.float64)
    n_hits = top.sum(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        discount = 1.0 / np.log1p(ranks)
        ideal = np.concatenate([[0.0], np.cumsum(1.0 / np.log1p(np.arange(1, k + 1, dtype=np.float64)))])
        ideal_dcg = ideal[np.minimum(n_relevant, k)]
        precision_at_hits = np.cumsum(top, axis=1) / ranks * top
        first = np.where(top.any(axis=1), top.argmax(axis=1) + 1, np.inf)
        valid = n_relevant > 0
        result = {
            "precision": n_hits / k,
            "recall": n_hits / n_relevant,
            "ndcg": (top * discount).sum(axis=1) / ideal_dcg,
            "map": precision_at_hits.sum(axis=1) / np.minimum(n_relevant, k),
            "hr": (n_hits > 0).astype(np.float64),
            "mrr": 1.0 / first,
        }
    return {name: np.where(valid, values, np.nan) for name, values in result.items()}


def catalog_coverage(recommended: np.ndarray, n_items: int, k: int) -> float:
    """Share of the catalogue that appears in at least one user's top k."""
    if n_items <= 0:
        raise InputError("the catalogue is empty")
    shown = np.unique(recommended[:, :k])
    return float(len(shown[shown >= 0]) / n_items)


def novelty(recommended: np.ndarray, item_user_share: np.ndarray, k: int) -> float:
    """Mean self-information (bits) −log2 p(i) of the recommended items, p(i) = share of training users of i.

    Items never seen in training get the share of one user (the most novel an observed item can be)."""
    top = recommended[:, :k]
    shown = top[top >= 0]
    if not len(shown):
        return 0.0
    floor = item_user_share[item_user_share > 0].min(initial=1.0)
    share = np.maximum(item_user_share[shown], floor)
    return float(np.mean(-np.log2(share)))


def ranking_metrics(recommended: np.ndarray, relevant: Relevant, ks: Iterable[int] = (10,), *,
                    n_items: int | None = None, item_user_share: np.ndarray | None = None) -> dict[str, float]:
    """Every ranking metric at each k, averaged over users with at least one relevant item.

    ``recommended`` is an int array (users × K) of item indices, best first, padded with -1; ``relevant``
    gives each user's held-out items (a CSR matrix or one array per user, same user order). Coverage
    needs ``n_items`` (the catalogue size) and novelty ``item_user_share`` (training share per item);
    each is left out when its input is missing.
    """
    recommended = np.asarray(recommended)
    if recommended.ndim != 2:
        raise InputError(f"recommended must be a 2-D array (users × K), got shape {recommended.shape}")
    matrix = relevant_matrix(relevant, recommended.shape[0], n_items)
    hits = hit_matrix(recommended.astype(np.int64), matrix)
    n_relevant = np.diff(matrix.indptr)
    if not (n_relevant > 0).any():
        raise InputError("no user has a relevant item: nothing to evaluate")
    out: dict[str, float] = {}
    for k in ks:
        if k < 1 or k > recommended.shape[1]:
            raise InputError(f"k={k} needs lists of at least {k} items; got {recommended.shape[1]}")
        for name, values in per_user_metrics(hits, n_relevant, k).items():
            out[f"{name}@{k}"] = float(np.nanmean(values))
        if n_items is not None:
            out[f"coverage@{k}"] = catalog_coverage(recommended, n_items, k)
        if item_user_share is not None:
            out[f"novelty@{k}"] = novelty(recommended, item_user_share, k)
    return out


def graded_ndcg(gains: Sequence[float] | np.ndarray, ideal: Sequence[float] | np.ndarray, k: int = 10) -> float:
    """NDCG@k with graded relevance (Järvelin & Kekäläinen, exponential gain): Σ (2^rel − 1) / log2(1 + r) over
    the first k results, over the same sum of the best possible order of ``ideal`` (every judged grade of the
    query, unjudged = 0). ``gains`` are the grades of the returned results, best first. 0 when nothing is
    relevant."""
    if k < 1:
        raise InputError(f"k must be at least 1, got {k}")
    discount = 1.0 / np.log2(np.arange(2, k + 2))
    got = np.asarray(gains, dtype=np.float64)[:k]
    best = np.sort(np.asarray(ideal, dtype=np.float64))[::-1][:k]
    ideal_dcg = float(((2.0 ** best - 1) * discount[:len(best)]).sum())
    if ideal_dcg <= 0:
        return 0.0
    return float(((2.0 ** got - 1) * discount[:len(got)]).sum()) / ideal_dcg
