"""Every recommender on the session's simulated shop: fit → recommend with explanations, save → load →
identical top-K, unknown customers and products, and the item-to-item lists."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import shoplens as sl
from shoplens.errors import InputError, NotFound
from shoplens.recommend import (
    ALS,
    BPR,
    EASE,
    CategoryPopularity,
    ContentFactorMap,
    ItemKNN,
    Popularity,
    Recommender,
    SASRec,
    SessionEASE,
    TagProfile,
    TextHybrid,
    TfidfKNN,
    bought_together,
)
from shoplens.recommend.data import interactions_frame

FAST_MODELS = [Popularity(), ItemKNN(neighbors=20), EASE(lam=100), SessionEASE(lam=100), ALS(factors=8, iterations=3),
               BPR(factors=8, iterations=5), CategoryPopularity(personal=True), TfidfKNN(neighbors=10),
               TagProfile(), ContentFactorMap(factors=8),
               SASRec(dim=16, layers=1, max_epochs=2, patience=1, batch_size=64)]


@pytest.fixture(scope="module")
def customers(small_shop: sl.Workspace) -> list[str]:
    frame = interactions_frame(small_shop)
    return frame["customer_id"].value_counts().index[:25].tolist()


@pytest.mark.parametrize("model", FAST_MODELS, ids=lambda m: m.name)
def test_save_load_gives_identical_top_k(model: Recommender, small_shop: sl.Workspace, customers: list[str],
                                         tmp_path: Path) -> None:
    model.fit(small_shop)
    users = np.array([model.user_index(c) for c in customers])
    items, scores = model.top_k(users, 10)
    seen = model.X_[users].toarray().astype(bool)
    assert not seen[np.arange(len(users))[:, None], np.maximum(items, 0)][items >= 0].any()  # seen excluded
    loaded = Recommender.load(model.save(tmp_path / model.name))
    assert type(loaded) is type(model) and loaded.get_params() == model.get_params()
    again, again_scores = loaded.top_k(users, 10)
    np.testing.assert_array_equal(again, items)
    np.testing.assert_allclose(again_scores, scores, rtol=1e-5)
    first = loaded.recommend(customers[0], 5)
    assert list(first.columns) == ["rank", "product_id", "title", "score", "reason"]
    assert len(first) == 5 and first["reason"].str.len().gt(0).all()


@pytest.mark.parametrize("model", [*FAST_MODELS, TextHybrid()], ids=lambda m: m.name)
def test_forgetting_customers_removes_every_row_they_had(model: Recommender, small_shop: sl.Workspace,
                                                         customers: list[str]) -> None:
    import copy

    import scipy.sparse as sp

    model = copy.deepcopy(model).fit(small_shop)
    n_users, n_items = len(model.user_ids_), len(model.item_ids_)
    assert n_users != n_items  # else a per-customer array could not be told from a per-item one below
    kept, erased = customers[1], customers[:1] + customers[2:4]
    kept_before = model.recommend(kept, 10)
    assert model.forget_users([*erased, "NOT-A-CUSTOMER"]) == len(erased)
    assert len(model.user_ids_) == n_users - len(erased) and not set(erased) & set(model.user_ids_)
    for name, value in vars(model).items():  # nothing with one row per customer was left at the old size
        if name.endswith("_") and (isinstance(value, np.ndarray) or sp.issparse(value)) and value.ndim:
            assert value.shape[0] != n_users, f"{model.name}.{name} still has a row per old customer"
    unknown = model.recommend("NOT-A-CUSTOMER", 10)
    for customer in erased:
        pd.testing.assert_frame_equal(model.recommend(customer, 10), unknown)
    pd.testing.assert_frame_equal(model.recommend(kept, 10)[["product_id"]], kept_before[["product_id"]])


def test_explanations_name_a_history_item_or_a_category(small_shop: sl.Workspace, customers: list[str]) -> None:
    model = EASE(lam=100).fit(small_shop)
    recs = model.recommend(customers[0], 10)
    titles = set(small_shop.table("products")["title"])
    for reason in recs["reason"]:
        assert reason.startswith(("because you ", "popular in ", "popular with customers"))
        if reason.startswith("because you "):
            assert any(f"'{t}'" in reason for t in titles)  # names a product of the history by its title
    cold = model.recommend("nobody-like-this", 3)
    assert len(cold) == 3 and cold["reason"].str.contains("no history").all()


def test_history_can_grow_without_refitting(small_shop: sl.Workspace, customers: list[str]) -> None:
    model = EASE(lam=100).fit(small_shop)
    before = model.recommend(customers[0], 3)["product_id"].tolist()
    model.extend_history(pd.DataFrame({"customer_id": [customers[0]], "product_id": [before[0]]}))
    assert before[0] not in model.recommend(customers[0], 3)["product_id"].tolist()


def test_similar_and_bought_together(small_shop: sl.Workspace) -> None:
    model = ItemKNN(neighbors=20).fit(small_shop)
    product = str(model.item_ids_[np.argmax(model.item_users_)])
    similar = model.similar(product, 5)
    assert len(similar) == 5 and product not in set(similar["product_id"])
    assert similar["score"].is_monotonic_decreasing
    pairs = bought_together(small_shop, k=3)
    assert (pairs["lift"] > 1).all() and (pairs["together"] >= 2).all()
    with pytest.raises(NotFound, match="unknown product 'no-such'"):
        model.similar("no-such")


def test_text_hybrid_ranks_new_items_by_their_text(small_shop: sl.Workspace) -> None:
    frame = interactions_frame(small_shop)
    products = small_shop.table("products")
    new_item = products["product_id"].iloc[0]
    train = frame[frame["product_id"] != new_item]
    model = TextHybrid(collaborative_weight=0.0).fit(train, products)
    column = int(model.item_index([new_item])[0])
    assert model.item_users_[column] == 0                      # no interaction: truly cold
    buyers = frame[frame["product_id"] == new_item]["customer_id"].unique()
    users = np.array([model.user_index(c) for c in buyers if model.user_index(c) >= 0])
    scores = model.score(users)
    assert np.isfinite(scores[:, column]).all() and np.ptp(scores[:, column]) > 0  # personal, from text


def test_bad_input_is_named(small_shop: sl.Workspace) -> None:
    with pytest.raises(InputError, match="missing column 'product_id'"):
        EASE().fit(pd.DataFrame({"customer_id": ["a"]}))
    with pytest.raises(InputError, match="not fitted yet"):
        EASE().recommend("C1")
    with pytest.raises(InputError, match="has no parameter 'lambda'"):
        EASE().set_params(**{"lambda": 3})
    with pytest.raises(InputError, match="no row with a positive weight"):
        EASE().fit(pd.DataFrame({"customer_id": ["a"], "product_id": ["p"], "weight": [0.0]}))
