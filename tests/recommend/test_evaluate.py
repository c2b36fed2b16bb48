"""Evaluation on real data (MovieLens-100K from ../shared/data) and on small frames with known answers."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from shoplens.errors import InputError
from shoplens.recommend import EASE, ItemKNN, Popularity, SASRec, SessionEASE, stratified_split
from shoplens.recommend.evaluate import evaluate_cold_items, evaluate_histories, evaluate_model, tune
from tests.conftest import shared_path


@pytest.fixture(scope="module")
def movielens() -> pd.DataFrame:
    frame = pd.read_csv(shared_path("movielens_100k", "u.data"), sep="\t",
                        names=["customer_id", "product_id", "rating", "ts"])
    return frame.assign(ts=pd.to_datetime(frame["ts"], unit="s"))


def test_movielens_protocol_ranks_collaborative_models_above_popularity(movielens: pd.DataFrame) -> None:
    train, test, _ = stratified_split(movielens, 0.75, 42)
    assert len(train) + len(test) == 100_000 and train["customer_id"].nunique() == 943
    ndcg = {m.name: evaluate_model(m.fit(train), test, ks=(10,))["ndcg@10"]
            for m in (Popularity(), EASE(lam=400), SessionEASE(lam=300, session_weight=2.0, session_hours=0.05))}
    assert 0.25 < ndcg["popularity"] < ndcg["ease"] < ndcg["session_ease"]
    assert ndcg["ease"] > 0.47  # EASE's known level on this protocol


def test_unknown_test_items_count_as_relevant_misses() -> None:
    train = pd.DataFrame({"customer_id": ["a", "a", "b", "b"], "product_id": ["p", "q", "p", "r"]})
    test = pd.DataFrame({"customer_id": ["a", "a"], "product_id": ["r", "new"]})
    metrics = evaluate_model(Popularity().fit(train), test, ks=(1,))
    assert metrics["hr@1"] == 1.0 and metrics["recall@1"] == pytest.approx(0.5)  # 'new' can never be ranked
    sampled = evaluate_model(Popularity().fit(train), test, ks=(1,), candidates="sampled:1")
    assert set(sampled) == {"hr@1", "ndcg@1"}
    with pytest.raises(InputError, match="no test customer has a training history"):
        evaluate_model(Popularity().fit(train), pd.DataFrame({"customer_id": ["z"], "product_id": ["p"]}))


def test_tuning_uses_only_the_validation_it_is_given() -> None:
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"customer_id": rng.integers(0, 60, 900).astype(str),
                          "product_id": rng.integers(0, 40, 900).astype(str)}).drop_duplicates()
    fit, validation, _ = stratified_split(frame, 0.75, 1)
    best, trials = tune(ItemKNN, {"neighbors": [5, 20], "shrink": [0.0]}, fit, validation)
    winner = max(trials, key=lambda t: t["ndcg@10"])
    assert len(trials) == 2 and best == {"neighbors": winner["neighbors"], "shrink": winner["shrink"]}


def test_cold_items_and_sessions() -> None:
    train = pd.DataFrame({"customer_id": list("aabbcc"), "product_id": list("pqpqrs"), "ts": range(6)})
    products = pd.DataFrame({"product_id": list("pqrsxy"), "category": ["A", "A", "B", "B", "A", "B"]})
    from shoplens.recommend import CategoryPopularity

    model = CategoryPopularity(personal=True).fit(train, products)
    test = pd.DataFrame({"customer_id": ["a", "c"], "product_id": ["x", "y"]})
    metrics = evaluate_cold_items(model, test, ["x", "y"], ks=(1,))
    assert metrics["hr@1"] == 1.0  # a bought in A → x; c bought in B → y
    with pytest.raises(InputError, match="have training interactions"):
        evaluate_cold_items(model, test, ["p", "x"], ks=(1,))
    sessions = evaluate_histories(EASE(lam=1.0).fit(train), [["p"], ["r"]], ["q", "s"], ks=(1,))
    assert sessions["hr@1"] == 1.0
    sasrec = SASRec(dim=8, layers=1, max_epochs=1, patience=1).fit(train)
    assert np.isfinite(sasrec.score_histories([["p", "q"]])).any()
