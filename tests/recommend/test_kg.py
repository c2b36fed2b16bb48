"""KGHybrid on real data: MovieLens-100K and RecBole's Freebase triples loaded by shoplens' own loaders into a
workspace; cold items held out of training are scored through the graph; save → load; the reduction to the
content map; propagation from a warm item with the same neighbourhood; bad input; and the verb of
explanations coming from the interaction's kind."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import shoplens as sl
from shoplens.data.datasets import load_dataset
from shoplens.errors import InputError
from shoplens.recommend import ContentFactorMap, ItemKNN, KGHybrid, Recommender
from shoplens.recommend.data import interactions_frame
from shoplens.recommend.kg import item_entities, triples_frame
from tests.conftest import shared_path


@pytest.fixture(scope="module")
def movies(tmp_path_factory: pytest.TempPathFactory) -> sl.Workspace:
    ws = sl.Workspace.init(tmp_path_factory.mktemp("kg") / "ws")
    load_dataset("movielens_100k", ws, shared_path("movielens_100k"))
    load_dataset("recbole_ml100k_kg", ws, shared_path("recbole_ml100k_kg"))
    return ws


@pytest.fixture(scope="module")
def split(movies: sl.Workspace) -> tuple[pd.DataFrame, pd.DataFrame, np.ndarray]:
    """A slice: the first 300 customers' ratings; 40 graph-linked items held out of training entirely."""
    frame = interactions_frame(movies)
    frame = frame[frame["customer_id"].astype(int) <= 300]
    linked = movies.sql("SELECT head FROM kg_triples WHERE relation = 'same_as'")["head"]
    candidates = np.sort(frame.loc[frame["product_id"].isin(set(linked)), "product_id"].unique())
    cold = np.random.default_rng(0).choice(candidates, size=40, replace=False)
    held = frame["product_id"].isin(set(cold))
    return frame[~held], frame[held], cold


def test_cold_items_are_scored_through_the_graph_and_survive_save_load(
        movies: sl.Workspace, split: tuple[pd.DataFrame, pd.DataFrame, np.ndarray], tmp_path: Path) -> None:
    train, test, cold = split
    model = KGHybrid(factors=16, propagation=0.5).fit(train, movies)  # triples from the workspace's kg_triples
    columns = model.item_index(cold)
    assert (model.item_users_[columns] == 0).all()                          # truly cold
    assert (np.abs(model.item_factors_[columns]).sum(axis=1) > 0).all()     # yet placed in factor space
    assert model.entities_[columns].getnnz(axis=1).min() > 0                # each has graph neighbours
    users = model.user_indices(test["customer_id"].unique()[:20])
    scores = model.score(users)[:, columns]
    assert np.isfinite(scores).all() and np.ptp(scores, axis=0).max() > 0   # personal scores for cold items
    loaded = Recommender.load(model.save(tmp_path / "kg"))
    assert isinstance(loaded, KGHybrid) and loaded.get_params() == model.get_params()
    np.testing.assert_allclose(loaded.score(users), model.score(users), rtol=1e-5)
    recs = loaded.recommend(str(test["customer_id"].iloc[0]), 5)
    assert len(recs) == 5 and recs["reason"].str.startswith(("because you rated", "popular in")).all()


def test_without_the_graph_it_is_the_content_map(movies: sl.Workspace,
                                                 split: tuple[pd.DataFrame, pd.DataFrame, np.ndarray]) -> None:
    train, _, _ = split
    products = movies.table("products")
    plain = KGHybrid(factors=16, entity_weight=0.0, propagation=0.0).fit(train, products, triples=movies)
    content = ContentFactorMap(factors=16).fit(train, products)
    users = np.arange(30)
    np.testing.assert_allclose(plain.score(users), content.score(users), rtol=1e-4, atol=1e-5)
    with_graph = KGHybrid(factors=16, entity_weight=1.0, propagation=0.0).fit(train, products, triples=movies)
    assert not np.allclose(with_graph.score(users), content.score(users), atol=1e-5)


def test_a_cold_item_with_a_warm_twin_in_the_graph_takes_its_factors(
        movies: sl.Workspace, split: tuple[pd.DataFrame, pd.DataFrame, np.ndarray]) -> None:
    train, _, cold = split
    triples = triples_frame(movies)
    links = triples[triples["relation"] == "same_as"].set_index("head")["tail"]
    twin = str(train["product_id"].value_counts().index[0])                # the most-rated warm item
    target = str(cold[0])
    # the cold item's entity gets exactly the twin's facts (and loses its own)
    twin_facts = triples[triples["head"] == links[twin]].assign(head=links[target])
    triples = pd.concat([triples[triples["head"] != links[target]], twin_facts], ignore_index=True)
    model = KGHybrid(factors=16, entity_weight=0.0, propagation=1.0, neighbours=1, min_entity_items=1)
    model.fit(train, movies.table("products"), triples=triples)
    target_column, twin_column = model.item_index([target, twin])
    np.testing.assert_allclose(model.item_factors_[target_column], model.item_factors_[twin_column], rtol=1e-5)


def test_bad_graph_input_is_named(split: tuple[pd.DataFrame, pd.DataFrame, np.ndarray],
                                  movies: sl.Workspace) -> None:
    train, _, _ = split
    products = movies.table("products")
    with pytest.raises(InputError, match="needs knowledge-graph triples"):
        KGHybrid().fit(train, products)
    with pytest.raises(InputError, match="missing column 'relation'"):
        KGHybrid().fit(train, products, triples=pd.DataFrame({"head": ["1"], "tail": ["m.1"]}))
    unlinked = pd.DataFrame({"head": ["no-such-movie"], "relation": ["same_as"], "tail": ["m.1"]})
    with pytest.raises(InputError, match="links a catalogue product"):
        KGHybrid().fit(train, products, triples=unlinked)


def test_neighbourhoods_drop_entities_that_only_one_item_has() -> None:
    triples = pd.DataFrame({"head": ["a", "b", "c", "e1", "e2", "e3", "e1"],
                            "relation": ["same_as"] * 3 + ["director", "director", "director", "actor"],
                            "tail": ["e1", "e2", "e3", "d1", "d1", "d2", "x9"]})
    matrix, entities = item_entities(triples, np.array(["a", "b", "c"]))
    assert entities.tolist() == ["d1"] and matrix.toarray().ravel().tolist() == [1.0, 1.0, 0.0]


def test_explanations_say_rated_for_ratings(movies: sl.Workspace) -> None:
    """interactions_frame keeps each row's kind, so a history of ratings is explained as rated, not bought."""
    frame = interactions_frame(movies)
    assert set(frame["kind"]) == {"rating"}
    model = ItemKNN(neighbors=20).fit(frame[frame["customer_id"].astype(int) <= 100], movies)
    reasons = model.recommend("1", 5)["reason"]
    assert reasons.str.startswith("because you rated '").all(), reasons.tolist()


def test_the_api_trains_it_on_a_workspace_with_a_graph(movies: sl.Workspace) -> None:
    from shoplens.recommend import api

    assert "kg_hybrid" in api.model_names()
    card = api.train(movies, "kg_hybrid", params={"factors": 16}, evaluate_first=False)
    model = Recommender.load(movies.models.path("recommend", card.version))
    assert isinstance(model, KGHybrid) and model.entities_.nnz > 0


def _cold_benchmark():
    """benchmarks/_graph_cold.py, whose protocol and link repair are code that results depend on."""
    import importlib.util

    path = Path(__file__).resolve().parents[2] / "benchmarks" / "_graph_cold.py"
    spec = importlib.util.spec_from_file_location("_graph_cold", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_benchmark_protocol_holds_whole_items_out(movies: sl.Workspace) -> None:
    bench = _cold_benchmark()
    ratings = movies.sql("SELECT customer_id, product_id, rating FROM ratings")
    triples = triples_frame(movies)
    linked = set(triples.loc[triples["relation"] == "same_as", "head"]) & set(ratings["product_id"])
    train, test, cold = bench.cold_split(ratings, linked, seed=0)
    assert len(cold) == round(0.2 * len(linked)) and set(cold) <= linked
    assert not set(train["product_id"]) & set(cold) and set(test["product_id"]) <= set(cold)
    positives = ratings[ratings["product_id"].isin(set(cold)) & (ratings["rating"] >= 4)]
    assert len(test) == len(positives)
    again = bench.cold_split(ratings, linked, seed=0)[2]
    assert again.tolist() == cold.tolist() and bench.cold_split(ratings, linked, seed=1)[2].tolist() != cold.tolist()


def test_links_are_repaired_by_title(movies: sl.Workspace, tmp_path: Path) -> None:
    bench = _cold_benchmark()
    movies_dat = tmp_path / "movies.dat"  # made-up ids in ML-1M's format
    movies_dat.write_text("9001::Toy Story (1995)::Animation\n9002::GoldenEye (1995)::Action\n"
                          "9003::No Such Film (1990)::Drama\n", encoding="latin-1")
    triples = pd.DataFrame({"head": ["9001", "9002", "9003", "m.a"], "relation": ["same_as"] * 3 + ["film.actor"],
                            "tail": ["m.a", "m.b", "m.c", "m.x"]})
    products = movies.table("products")
    relinked, kept = bench.relink_by_title(triples, products, bench.ml1m_titles(movies_dat))
    links = relinked[relinked["relation"] == "same_as"].set_index("head")["tail"].to_dict()
    assert kept == 2 and links == {"1": "m.a", "2": "m.b"}       # Toy Story and GoldenEye are ML-100K's 1 and 2
    assert len(relinked[relinked["relation"] != "same_as"]) == 1
    quality = bench.link_quality(triples_frame(movies), products, shuffles=1)
    assert 0 < quality["genre_jaccard"] < 1 and 0 < quality["genre_jaccard_shuffled"] < 1
