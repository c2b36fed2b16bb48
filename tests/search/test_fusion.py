"""Signal fusion and the known-item metrics that judge it (score matrices built so the right answer is known)."""

from __future__ import annotations

import numpy as np
import pytest

from shoplens.errors import InputError
from shoplens.search.fusion import LinearFusion, known_item_metrics, reciprocal_rank_fusion, standardize

N_QUERIES, N_PRODUCTS = 100, 60


def placed(rank_of_target: np.ndarray, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """A score matrix whose target (a random product per query) sits at the given 1-based rank."""
    rng = np.random.default_rng(seed)
    targets = rng.integers(0, N_PRODUCTS, N_QUERIES)
    scores = np.zeros((N_QUERIES, N_PRODUCTS))
    for q, (target, rank) in enumerate(zip(targets, rank_of_target, strict=True)):
        others = rng.permutation([p for p in range(N_PRODUCTS) if p != target])
        order = np.insert(others, rank - 1, target)  # order[i] is the product at rank i + 1
        scores[q, order] = np.linspace(1.0, 0.0, N_PRODUCTS)
    return scores, targets


def test_metrics_count_ties_against_the_target():
    scores = np.array([[1.0, 1.0, 0.0], [0.0, 0.5, 2.0]])
    found = known_item_metrics(scores, [0, 2], k=1)
    assert found == {"recall@1": 0.5, "mrr@1": 0.5}  # query 0 ties at the top: rank 2, beyond k


def test_standardize_puts_missing_scores_at_the_row_minimum():
    z = standardize(np.array([[1.0, -np.inf, 3.0]]))
    assert np.isfinite(z).all() and z[0, 1] == z[0, 0] < z[0, 2]


def test_the_objective_decides_between_a_sharp_and_a_broad_signal():
    # "sharp" puts the target first for a third of the queries and nowhere near for the rest; "broad" puts it
    # fifth for two thirds: MRR prefers sharp, Recall@10 prefers broad.
    first = np.arange(N_QUERIES) % 3 == 0
    sharp_ranks = np.where(first, 1, 40)
    broad_ranks = np.where(~first, 5, 40)
    sharp, targets = placed(sharp_ranks, seed=1)
    broad = np.zeros_like(sharp)
    rng = np.random.default_rng(2)
    for q, (target, rank) in enumerate(zip(targets, broad_ranks, strict=True)):
        others = rng.permutation([p for p in range(N_PRODUCTS) if p != target])
        broad[q, np.insert(others, rank - 1, target)] = np.linspace(1.0, 0.0, N_PRODUCTS)
    signals = {"sharp": sharp, "broad": broad}
    by_mrr = LinearFusion(weights={"sharp": 0.0, "broad": 0.0}).fit(signals, targets)
    by_recall = LinearFusion(weights={"sharp": 0.0, "broad": 0.0}, objective="recall").fit(signals, targets)
    mrr_fit, recall_fit = (known_item_metrics(m.score(signals), targets) for m in (by_mrr, by_recall))
    assert mrr_fit["mrr@10"] > recall_fit["mrr@10"] and recall_fit["recall@10"] > mrr_fit["recall@10"]
    assert recall_fit["recall@10"] > 0.6
    assert by_mrr.validation_mrr_ == pytest.approx(known_item_metrics(by_mrr.score(signals), targets)["mrr@10"])
    both = LinearFusion(objective="mrr+recall").fit(signals, targets)
    found = known_item_metrics(both.score(signals), targets)
    assert both.validation_score_ == pytest.approx((found["mrr@10"] + found["recall@10"]) / 2)


def test_fusion_beats_each_signal_where_their_mistakes_differ():
    # each signal ranks the target second behind a different, random product: summed, the target comes first
    a, targets = placed(np.full(N_QUERIES, 2), seed=3)
    b = np.zeros_like(a)
    rng = np.random.default_rng(4)
    for q, target in enumerate(targets):
        others = rng.permutation([p for p in range(N_PRODUCTS) if p != target])
        b[q, np.insert(others, 1, target)] = np.linspace(1.0, 0.0, N_PRODUCTS)
    fused = LinearFusion().fit({"a": a, "b": b}, targets).score({"a": a, "b": b})
    mrr = known_item_metrics(fused, targets)["mrr@10"]
    assert known_item_metrics(a, targets)["mrr@10"] == known_item_metrics(b, targets)["mrr@10"] == 0.5
    assert mrr > 0.9
    assert mrr >= known_item_metrics(reciprocal_rank_fusion([a, b]), targets)["mrr@10"]


def test_bad_objective_and_missing_signals_are_named():
    scores, targets = placed(np.ones(N_QUERIES, dtype=int), seed=5)
    with pytest.raises(InputError, match="objective"):
        LinearFusion(objective="ndcg").fit({"a": scores}, targets)
    with pytest.raises(InputError, match="no_such"):
        LinearFusion(weights={"no_such": 1.0}).score({"a": scores})
