"""GraphLinks and its baselines (shoplens.graph.links): a hand-made graph whose answer is known, the split and the
ranking metric, persistence, bad input, and a small real slice of the Amazon Gift Cards meta."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from shoplens.data.datasets import amazon_giftcards, find_files
from shoplens.errors import InputError, NotFound
from shoplens.graph.links import (
    FEATURES,
    Cooccurrence,
    GraphLinks,
    Popularity,
    TextSimilarity,
    filtered_ranks,
    hide_sources,
)
from tests.conftest import shared_path


def triples(*edges: str) -> pd.DataFrame:
    """'A also_buy B' → rows of head, relation, tail."""
    return pd.DataFrame([e.split() for e in edges], columns=["head", "relation", "tail"])


# A's page shows B and F as viewed-with; B is bought with C and D, F with C: so A's likeliest also_buy is C.
# X is a popular target (named by three lists) that nothing near A names.
HAND = triples("A also_view B", "A also_view F", "B also_buy C", "B also_buy D", "F also_buy C",
               "P also_buy X", "Q also_buy X", "R also_buy X", "P also_buy Y")


def test_a_two_hop_path_through_viewed_products_finds_the_answer():
    for model in (Cooccurrence(), GraphLinks(encoder=None, weights={"view_then_buy": 1.0, "popularity": 0.1})):
        top = model.fit(HAND).predict("A", k=2)
        assert top["product_id"].tolist() == ["C", "D"], type(model).__name__
    assert Popularity().fit(HAND).predict("A", k=1)["product_id"].tolist() == ["X"]


def test_predict_leaves_out_the_source_and_its_known_targets():
    model = GraphLinks(encoder=None, weights={"popularity": 1.0}).fit(HAND)
    named = set(model.predict("B", k=20)["product_id"])
    assert not named & {"B", "C", "D"} and "X" in named


def test_weights_are_learned_on_a_validation_split_and_beat_cooccurrence_on_a_real_slice():
    products, edges = giftcards_slice()
    train, hidden = hide_sources(edges, 0.2, seed=0)
    data = {"kg_triples": train, "products": products}
    ours = GraphLinks(encoder=None).fit(data)
    assert set(ours.weights_) == set(FEATURES) and ours.weights_["text"] == 0.0  # no encoder, no text weight
    assert 0 < ours.validation_mrr_ <= 1
    theirs = Cooccurrence().fit(data).link_metrics(hidden)
    mine = ours.link_metrics(hidden)
    assert mine["mrr"] > theirs["mrr"] > Popularity().fit(data).link_metrics(hidden)["mrr"] * 0.5
    assert 0 < mine["hits@10"] <= 1


def test_text_similarity_with_minilm_finds_the_same_brand():
    products, _ = giftcards_slice()
    starbucks = products[products["brand"].fillna("").str.contains("Starbucks")]
    others = products[~products.index.isin(starbucks.index)].head(30)
    subset = pd.concat([starbucks, others])
    edges = triples(*(f"{p} also_buy {starbucks['product_id'].iloc[0]}" for p in others["product_id"].head(3)))
    model = TextSimilarity().fit({"kg_triples": edges, "products": subset})
    top = model.predict(starbucks["product_id"].iloc[1], k=3)["product_id"]
    assert set(top) <= set(starbucks["product_id"]), subset.set_index("product_id").loc[top, "title"].tolist()


def test_hide_sources_hides_whole_lists_of_a_fifth_of_the_products():
    _, edges = giftcards_slice()
    train, hidden = hide_sources(edges, 0.2, seed=3)
    sources = edges.loc[edges["relation"] == "also_buy", "head"].unique()
    assert hidden["head"].nunique() == round(0.2 * len(sources))
    kept_buy = train[train["relation"] == "also_buy"]
    assert not set(kept_buy["head"]) & set(hidden["head"])  # no hidden product keeps any also_buy edge
    assert len(train) + len(hidden) == len(edges)
    assert (train[train["head"].isin(hidden["head"])]["relation"] == "also_view").all()  # their views stay
    _, hidden_again = hide_sources(edges, 0.2, seed=3)
    pd.testing.assert_frame_equal(hidden, hidden_again)
    assert not hide_sources(edges, 0.2, seed=4)[1].equals(hidden)


def test_filtered_ranks_skip_excluded_and_other_targets_and_share_ties():
    scores = np.array([9.0, 5.0, 5.0, 5.0, 1.0, 7.0])
    # node 0 is excluded, node 5 is another target: node 1 competes with nodes 2, 3 (tied) and 4 (below)
    ranks = filtered_ranks(scores, targets=np.array([1, 5]), excluded=np.array([0]))
    assert ranks.tolist() == [2.0, 1.0]  # 1 + no greater + 2 ties / 2; node 5 beats everything left


def test_save_and_load_give_the_same_scores(tmp_path):
    products, edges = giftcards_slice()
    model = GraphLinks(encoder=None, seed=1).fit({"kg_triples": edges, "products": products})
    source = edges.loc[edges["relation"] == "also_buy", "head"].iloc[0]
    path = model.save(tmp_path / "links")
    again = GraphLinks.load(path)
    assert again.get_params() == model.get_params() and again.weights_ == model.weights_
    np.testing.assert_allclose(again.score(source), model.score(source))
    with pytest.raises(InputError, match="holds a GraphLinks, not a Cooccurrence"):
        Cooccurrence.load(path)
    with pytest.raises(NotFound, match=r"model\.json"):
        GraphLinks.load(tmp_path / "nothing")


def test_bad_input_is_named():
    with pytest.raises(InputError, match=r"lacks column.*relation"):
        Cooccurrence().fit(pd.DataFrame({"head": ["A"], "tail": ["B"]}))
    with pytest.raises(InputError, match="no 'also_buy' triples"):
        Cooccurrence().fit(triples("A also_view B"))
    with pytest.raises(InputError, match=r"unknown feature.*colour"):
        GraphLinks(encoder=None, weights={"colour": 1.0}).fit(HAND)
    with pytest.raises(InputError, match="not fitted"):
        Cooccurrence().predict("A")
    model = Cooccurrence().fit(HAND)
    with pytest.raises(NotFound, match="'nope' is not in the link graph"):
        model.predict("nope")
    with pytest.raises(InputError, match="k must be at least 1"):
        model.predict("A", k=0)


_SLICE: dict[str, pd.DataFrame] = {}


def giftcards_slice() -> tuple[pd.DataFrame, pd.DataFrame]:
    """The Gift Cards meta: the products and the triples of the first 80 products with an also_buy list (their
    lists, and the also_view lists of every product)."""
    if not _SLICE:
        built = amazon_giftcards.build(find_files("amazon_giftcards", shared_path("amazon_giftcards")))
        edges = built["kg_triples"]
        sources = edges.loc[edges["relation"] == "also_buy", "head"].drop_duplicates().head(80)
        keep = (edges["relation"] == "also_view") | edges["head"].isin(sources)
        _SLICE.update(products=built["products"], triples=edges[keep].reset_index(drop=True))
    return _SLICE["products"], _SLICE["triples"]


def test_fit_reads_a_workspace(workspace):
    from shoplens.data.datasets import load_dataset

    load_dataset("amazon_giftcards", workspace, shared_path("amazon_giftcards"))
    model = Cooccurrence().fit(workspace)
    _, edges = giftcards_slice()
    assert model.graph_.n >= 1547 and set(model.graph_.relations) == {"also_buy", "also_view"}
    source = edges.loc[edges["relation"] == "also_buy", "head"].iloc[0]
    assert len(model.predict(source, k=3)) == 3
