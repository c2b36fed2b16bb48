"""Ranking metrics against cases computed by hand (Microsoft Recommenders' binary-relevance definitions)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from shoplens.errors import InputError
from shoplens.evaluation.ranking import ranking_metrics

LN = math.log  # their ndcg_at_k discounts with the natural log; the base cancels in the ratio


def test_one_user_by_hand() -> None:
    # recommended A(0) B(1) C(2) D(3) E(4); relevant B and E and one never-recommended item (9): R = 3
    metrics = ranking_metrics(np.array([[0, 1, 2, 3, 4]]), [np.array([1, 4, 9])], ks=(5, 2))
    assert metrics["precision@5"] == pytest.approx(2 / 5)
    assert metrics["recall@5"] == pytest.approx(2 / 3)
    dcg = 1 / LN(1 + 2) + 1 / LN(1 + 5)
    ideal = 1 / LN(2) + 1 / LN(3) + 1 / LN(4)
    assert metrics["ndcg@5"] == pytest.approx(dcg / ideal)
    # average precision: hits at ranks 2 and 5 → (1/2 + 2/5) / min(R, k) = 0.9 / 3
    assert metrics["map@5"] == pytest.approx((1 / 2 + 2 / 5) / 3)
    assert metrics["hr@5"] == 1.0
    assert metrics["mrr@5"] == pytest.approx(1 / 2)
    # at k = 2 only B counts; the ideal DCG has min(R, k) = 2 terms
    assert metrics["precision@2"] == pytest.approx(1 / 2)
    assert metrics["ndcg@2"] == pytest.approx((1 / LN(3)) / (1 / LN(2) + 1 / LN(3)))
    assert metrics["map@2"] == pytest.approx((1 / 2) / 2)


def test_mean_over_users_with_relevant_items_and_padding() -> None:
    recommended = np.array([[5, -1, -1], [0, 1, 2], [0, 1, 2]])
    relevant = [np.array([5]), np.array([7]), np.array([], dtype=int)]  # the third user has nothing held out
    metrics = ranking_metrics(recommended, relevant, ks=(3,), n_items=10,
                              item_user_share=np.full(10, 0.25))
    assert metrics["hr@3"] == pytest.approx(0.5)            # (1 + 0) / 2 users; the third does not count
    assert metrics["ndcg@3"] == pytest.approx(0.5)
    assert metrics["precision@3"] == pytest.approx((1 / 3) / 2)  # a short list is still divided by k
    assert metrics["mrr@3"] == pytest.approx(0.5)
    assert metrics["coverage@3"] == pytest.approx(4 / 10)   # items 5, 0, 1, 2 shown; -1 is padding
    assert metrics["novelty@3"] == pytest.approx(2.0)        # −log2 0.25


def test_perfect_and_empty_lists() -> None:
    perfect = ranking_metrics(np.array([[3, 4]]), [np.array([3, 4])], ks=(2,))
    assert perfect["ndcg@2"] == pytest.approx(1.0) and perfect["map@2"] == pytest.approx(1.0)
    nothing = ranking_metrics(np.array([[-1, -1]]), [np.array([3])], ks=(2,))
    assert nothing["ndcg@2"] == 0.0 and nothing["recall@2"] == 0.0


def test_bad_input_is_named() -> None:
    with pytest.raises(InputError, match="k=5 needs lists of at least 5"):
        ranking_metrics(np.array([[1, 2]]), [np.array([1])], ks=(5,))
    with pytest.raises(InputError, match="for 2 users, recommendations for 1"):
        ranking_metrics(np.array([[1, 2]]), [np.array([1]), np.array([2])], ks=(1,))
    with pytest.raises(InputError, match="no user has a relevant item"):
        ranking_metrics(np.array([[1, 2]]), [np.array([], dtype=int)], ks=(1,))
