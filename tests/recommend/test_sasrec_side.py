"""SASRec with side information (``side="text" | "attributes" | "text+attributes"``) on the simulated shop: every
item scored, saved and loaded, new items ranked by what they are, and clear errors for bad parameters."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import shoplens as sl
from shoplens.errors import InputError
from shoplens.recommend import AutoRecommender, SASRec, leave_one_out
from shoplens.recommend.data import interactions_frame
from shoplens.recommend.side import attribute_tokens, item_side_texts

pytest.importorskip("torch")

SMALL = {"dim": 16, "layers": 1, "max_epochs": 2, "patience": 2, "batch_size": 64}


@pytest.fixture(scope="module")
def side_model(small_shop: sl.Workspace) -> SASRec:
    return SASRec(side="text+attributes", fusion="gate", **SMALL).fit(small_shop)


def test_side_model_scores_every_item_and_loads_the_same(side_model: SASRec, tmp_path: Path) -> None:
    n_items = len(side_model.item_ids_)
    assert side_model.side_text_.shape == (n_items, 384)  # MiniLM's sentence embedding of each product
    assert side_model.side_token_indptr_.shape == (n_items + 1,) and len(side_model.side_token_names_) > 10
    users = np.arange(8)
    scores = side_model.score(users)
    assert scores.shape == (8, n_items) and np.isfinite(scores).all()
    customer = str(side_model.user_ids_[0])
    assert len(side_model.recommend(customer, 5)) == 5
    loaded = SASRec.load(side_model.save(tmp_path / "model"))
    assert loaded.get_params() == side_model.get_params()
    np.testing.assert_allclose(loaded.score(users), scores, rtol=1e-5, atol=1e-6)
    pd.testing.assert_frame_equal(loaded.recommend(customer, 5), side_model.recommend(customer, 5))


def catalogue_with_new_items(ws: sl.Workspace) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The shop's interactions and products, with four products nobody interacted with: two with the same
    text and attributes as one product, one like another product (another category), one with nothing."""
    products = ws.table("products")[["product_id", "title", "brand", "category", "attributes"]]
    first = products.iloc[0]
    other = products[products["category"] != first["category"]].iloc[0]
    new = pd.DataFrame([{**first, "product_id": "NEW-TWIN-1"}, {**first, "product_id": "NEW-TWIN-2"},
                        {**other, "product_id": "NEW-OTHER"},
                        {"product_id": "NEW-BLANK", "title": None, "brand": None, "category": None,
                         "attributes": None}])
    return interactions_frame(ws), pd.concat([products, new], ignore_index=True)


@pytest.mark.parametrize("side", ["text", "attributes"])
def test_a_new_item_is_scored_by_what_it_is(small_shop: sl.Workspace, side: str) -> None:
    frame, products = catalogue_with_new_items(small_shop)
    split = leave_one_out(frame)
    model = SASRec(side=side, fusion="sum", **SMALL).fit(split.train, products, validation=split.validation)
    twin_1, twin_2, other, blank = model.item_index(["NEW-TWIN-1", "NEW-TWIN-2", "NEW-OTHER", "NEW-BLANK"])
    assert model.item_users_[[twin_1, twin_2, other, blank]].sum() == 0  # truly new
    scores = model.score_histories([frame["product_id"].iloc[:3].tolist(), frame["product_id"].iloc[5:6].tolist()])
    assert np.isfinite(scores[:, [twin_1, twin_2, other]]).all()
    np.testing.assert_allclose(scores[:, twin_1], scores[:, twin_2], rtol=1e-5)  # the same text, the same score
    assert (np.abs(scores[:, twin_1] - scores[:, other]) > 1e-4).all()          # another text, another score
    assert np.isneginf(scores[:, blank]).all()  # nothing known about it: not recommended
    plain = SASRec(**SMALL).fit(split.train, products, validation=split.validation)
    assert np.isneginf(plain.score_histories([["P00001"]])[0, plain.item_index(["NEW-TWIN-1"])]).all()


def test_side_features_of_the_catalogue(small_shop: sl.Workspace) -> None:
    products = small_shop.table("products")
    ids = np.sort(products["product_id"].astype(str).to_numpy())
    texts = item_side_texts(products, ids)
    row = products.set_index("product_id").loc[ids[0]]
    assert texts[0].startswith(f"{row['title']}. {row['brand']}. {row['category']}.") and "colour " in texts[0]
    tokens = attribute_tokens(products, ids)
    first = set(tokens.names[tokens.codes[tokens.indptr[0]:tokens.indptr[1]]])
    top = row["category"].split(">")[0].strip()
    assert f"category={top}" in first and f"category={row['category']}" in first
    # a token carried by one product only (its title words never are tokens; a unique value would be) is left out
    counts = np.bincount(tokens.codes, minlength=len(tokens.names))
    assert (counts >= 2).all()


def test_model_selection_hands_the_workspace_to_the_text_side(workspace: sl.Workspace) -> None:
    """AutoRecommender passes the workspace, so the product texts are embedded once, into its embedding cache."""
    from shoplens.data.synth import simulate
    from shoplens.text import load_encoder
    from shoplens.text.cache import EmbeddingCache, text_key

    simulate(n_customers=150, n_products=30, days=120, seed=3).write(workspace)
    products = workspace.table("products")
    texts = item_side_texts(products, np.sort(products["product_id"].astype(str).to_numpy()))
    cache = EmbeddingCache.for_workspace(workspace, load_encoder("minilm").cache_id)
    assert len(cache.lookup([text_key(t) for t in texts])[1]) == len(texts)  # nothing cached yet
    spec = {"model": "sasrec", "name": "sasrec_text", "params": {"side": "text", **SMALL}}
    auto = AutoRecommender(candidates=("popularity", spec), time_budget=None, blend=False).fit(workspace)
    assert {r["candidate"] for r in auto.selection() if "ndcg@10" in r} == {"popularity", "sasrec_text"}
    cached = EmbeddingCache.for_workspace(workspace, load_encoder("minilm").cache_id)
    assert cached.lookup([text_key(t) for t in texts])[1] == []  # every text now in the workspace's cache


@pytest.mark.parametrize(("params", "products", "message"), [
    ({"side": "colour"}, None, "side 'colour' is not one of None, 'text'"),
    ({"side": "text", "fusion": "concat"}, None, "fusion 'concat' is not one of sum, gate"),
    ({"side": "text"}, pd.DataFrame({"product_id": ["P1"], "title": [""]}), "needs product texts"),
    ({"side": "attributes"}, pd.DataFrame({"product_id": ["P1", "P2"], "title": ["a", "b"]}),
     "needs product attributes"),
])
def test_bad_side_parameters_are_named(small_shop: sl.Workspace, params: dict, products: pd.DataFrame | None,
                                       message: str) -> None:
    frame = interactions_frame(small_shop)
    with pytest.raises(InputError, match=message):
        SASRec(max_epochs=1, **params).fit(frame, products)
