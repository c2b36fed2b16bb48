"""Evaluation of fitted recommenders on held-out interactions, and hyper-parameter choice on a
validation split carved from training (never from test).

Full ranking: every catalogue item the user has not interacted with in training is a candidate.
Held-out items the model has never seen still count as relevant (they lower recall; no model can
rank them), as in Microsoft Recommenders' evaluation. Users without training history are left out
(they get no personalised list). ``candidates="sampled:N"`` ranks each held-out item among N sampled
unseen items instead — a different protocol, labelled so, and never compared with full ranking.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import scipy.sparse as sp

from shoplens.errors import InputError
from shoplens.evaluation.ranking import ranking_metrics
from shoplens.recommend.data import ITEM, USER
from shoplens.recommend.ranking import top_k_rows

if TYPE_CHECKING:
    from shoplens.recommend.base import Recommender

DEFAULT_KS = (10, 20)


def relevant_rows(model: Recommender, test: pd.DataFrame) -> tuple[np.ndarray, sp.csr_matrix]:
    """The test users known to the model and their held-out items (unknown items map past the catalogue)."""
    if test.empty:
        raise InputError("the test split is empty: nothing to evaluate")
    users = np.array([model.user_index(u) for u in pd.unique(test[USER].astype(str))])
    user_ids = pd.unique(test[USER].astype(str))
    known = users >= 0
    if not known.any():
        raise InputError("no test customer has a training history: nothing to evaluate")
    frame = test[test[USER].astype(str).isin(set(user_ids[known]))]
    row_of = {u: r for r, u in enumerate(user_ids[known])}
    rows = frame[USER].astype(str).map(row_of).to_numpy()
    items = model.item_index(frame[ITEM].astype(str).to_numpy(), strict=False)
    unknown = items < 0
    # each unseen test item gets its own column past the catalogue: relevant, never recommendable
    items[unknown] = len(model.item_ids_) + pd.factorize(frame[ITEM].astype(str).to_numpy()[unknown])[0]
    width = int(items.max()) + 1
    matrix = sp.csr_matrix((np.ones(len(rows), np.float32), (rows, items)), shape=(int(known.sum()), width))
    matrix.sum_duplicates()
    matrix.data[:] = 1.0
    return users[known], matrix


def evaluate_model(model: Recommender, test: pd.DataFrame, ks: Iterable[int] = DEFAULT_KS,
                   candidates: str = "full", seed: int = 0) -> dict[str, float]:
    """Ranking metrics of a fitted model on ``test`` (seen items excluded), full ranking by default."""
    ks = tuple(ks)
    users, relevant = relevant_rows(model, test)
    if candidates != "full":
        return _sampled_metrics(model, users, relevant, ks, candidates, seed)
    recommended, _ = model.top_k(users, max(ks))
    share = model.item_users_ / max(len(model.user_ids_), 1)
    return ranking_metrics(recommended, relevant, ks, n_items=len(model.item_ids_), item_user_share=share)


def _sampled_metrics(model: Recommender, users: np.ndarray, relevant: sp.csr_matrix, ks: tuple[int, ...],
                     candidates: str, seed: int) -> dict[str, float]:
    """Each held-out item ranked among N items the user never interacted with (labelled ``sampled:N``)."""
    n = int(candidates.split(":", 1)[1])
    rng = np.random.default_rng(seed)
    n_items = len(model.item_ids_)
    ranks: list[int] = []
    for row, user in enumerate(users):
        targets = relevant.indices[relevant.indptr[row]:relevant.indptr[row + 1]]
        targets = targets[targets < n_items]
        if not len(targets):
            continue
        scores = model.score(np.array([user]))[0]
        seen = set(model.X_[user].indices) | set(targets)
        for target in targets:
            pool = rng.integers(0, n_items, size=n * 2)
            negatives = np.array([p for p in pool if p not in seen][:n], dtype=np.int64)
            ranks.append(int((scores[negatives] > scores[target]).sum()) + 1)
    ranks_array = np.asarray(ranks)
    out: dict[str, float] = {}
    for k in ks:
        hit = ranks_array <= k
        out[f"hr@{k}"] = float(hit.mean())
        out[f"ndcg@{k}"] = float(np.where(hit, 1.0 / np.log2(ranks_array + 1), 0.0).mean())
    return out


def evaluate_histories(model: Recommender, histories: list[list[str]], targets: list[str],
                       ks: Iterable[int] = DEFAULT_KS) -> dict[str, float]:
    """Next-item metrics for anonymous histories (sessions): each history's items are excluded, the target is
    the one relevant item (a target the model has never seen counts as a miss)."""
    ks = tuple(ks)
    if len(histories) != len(targets) or not histories:
        raise InputError(f"{len(histories)} histories and {len(targets)} targets: give one target per history")
    n_items = len(model.item_ids_)
    target_index = model.item_index(targets, strict=False)
    target_index = np.where(target_index >= 0, target_index, n_items)  # unknown: relevant, never recommendable
    recommended = np.empty((len(histories), max(ks)), dtype=np.int64)
    for start in range(0, len(histories), model.batch_size):
        block = histories[start:start + model.batch_size]
        scores = model.score_histories(block)
        for row, history in enumerate(block):
            seen = model.item_index(history, strict=False) if len(history) else np.zeros(0, dtype=np.int64)
            scores[row, seen[seen >= 0]] = -np.inf
        recommended[start:start + len(block)] = _top_rows(scores, max(ks))
    relevant = [np.array([t]) for t in target_index]
    share = model.item_users_ / max(len(model.user_ids_), 1)
    return ranking_metrics(recommended, relevant, ks, n_items=n_items + 1, item_user_share=np.append(share, 0.0)) \
        | {f"coverage@{k}": float(len(np.unique(recommended[:, :k][recommended[:, :k] >= 0])) / n_items) for k in ks}


def _top_rows(scores: np.ndarray, k: int) -> np.ndarray:
    return top_k_rows(scores, k)[0]


def record_for(model: Recommender, metrics: dict[str, float], *, dataset: str, protocol: Any, role: str = "ours",
               model_name: str | None = None, notes: str = "", variant: str = "default",
               seconds: float | None = None, peak_mb: float | None = None) -> Any:
    """A benchmark record of a model's metrics (``train_seconds`` added from the fit when known)."""
    from shoplens.evaluation.records import (
        BenchmarkRecord,
        Protocol,
        cpu_model,
        dataset_name_problem,
        git_commit,
        now_iso,
    )

    protocol = protocol or Protocol(split="none", candidates="full", notes="evaluated on the given test rows")
    if notes:
        protocol = protocol.model_copy(update={"notes": "; ".join(p for p in (protocol.notes, notes) if p)})
    metrics = dict(metrics)
    fit_seconds = getattr(model, "fit_seconds_", None)
    if fit_seconds is not None:
        metrics.setdefault("train_seconds", round(float(fit_seconds), 3))
    fields = dict(benchmark="recommend", dataset=dataset, variant=variant, model=model_name or model.name, role=role,
                  protocol=protocol, metrics=metrics, seconds=seconds if seconds is not None else fit_seconds,
                  peak_mb=peak_mb)
    if dataset_name_problem(dataset) is None:
        return BenchmarkRecord.create(**fields)
    # a user's own shop is no benchmark dataset: same record, without the benchmark-file naming rules
    return BenchmarkRecord.model_construct(**fields, cpu=cpu_model(), commit=git_commit(), date=now_iso())


def tune(make: Callable[..., Recommender], grid: dict[str, Iterable[Any]], train: pd.DataFrame,
         validation: pd.DataFrame, *, metric: str = "ndcg@10", products: Any = None,
         on_trial: Callable[[dict[str, Any], float], None] | None = None) -> tuple[dict[str, Any], list[dict]]:
    """The parameters of ``grid`` that score best on ``validation`` when fitted on ``train``.

    Both pieces come from the training split (e.g. ``stratified_split(train)``); test is never seen.
    Returns the best parameters and every trial (parameters, metric, seconds)."""
    names = list(grid)
    trials: list[dict[str, Any]] = []
    k = int(metric.split("@")[1]) if "@" in metric else 10
    for values in itertools.product(*(list(grid[n]) for n in names)):
        params = dict(zip(names, values, strict=True))
        started = time.perf_counter()
        model = make(**params).fit(train, products)
        score = evaluate_model(model, validation, ks=(k,))[metric]
        trials.append({**params, metric: score, "seconds": round(time.perf_counter() - started, 3)})
        if on_trial:
            on_trial(params, score)
    if not trials:
        raise InputError("the hyper-parameter grid is empty")
    best = max(trials, key=lambda t: t[metric])
    return {n: best[n] for n in names}, trials


def evaluate_cold_items(model: Recommender, test: pd.DataFrame, cold_items: Iterable[str],
                        ks: Iterable[int] = DEFAULT_KS) -> dict[str, float]:
    """Ranking metrics over held-out *items*: each test customer's scores of the cold items only.

    ``test`` holds the interactions with the cold items (none of which were in training); candidates are
    exactly the cold items, for every model alike."""
    ks = tuple(ks)
    cold = model.item_index(sorted({str(c) for c in cold_items}), strict=True)
    if model.item_users_[cold].any():
        raise InputError("some 'cold' items have training interactions: hold them out of training entirely")
    users, relevant = relevant_rows(model, test)
    column_of = np.full(relevant.shape[1], -1, dtype=np.int64)
    column_of[cold] = np.arange(len(cold))
    coo = relevant.tocoo()
    keep = column_of[coo.col] >= 0
    relevant_cold = sp.csr_matrix((coo.data[keep], (coo.row[keep], column_of[coo.col[keep]])),
                                  shape=(len(users), len(cold)))
    recommended = np.empty((len(users), max(ks)), dtype=np.int64)
    for start in range(0, len(users), model.batch_size):
        block = users[start:start + model.batch_size]
        scores = model.score(block)[:, cold]
        order = np.lexsort((np.broadcast_to(np.arange(len(cold)), scores.shape), -scores), axis=1)
        recommended[start:start + len(block)] = order[:, :max(ks)]
    return ranking_metrics(recommended, relevant_cold, ks, n_items=len(cold))
