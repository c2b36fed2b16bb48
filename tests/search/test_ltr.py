"""Learning to rank from simulated search clicks: position bias recovered, debiased labels, a ranker that beats BM25.

The simulated shop has known relevance and a known click model (data/synth/search.py); the index is the real
tantivy index; LightGBM really trains. Lexical features only (encoder=None) keep this fast."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from shoplens.data.synth import SimulatedShop, simulate
from shoplens.errors import InputError
from shoplens.evaluation.ranking import graded_ndcg
from shoplens.search.index import ProductIndex
from shoplens.search.ltr import (
    FEATURES,
    LearnedRanker,
    debiased_labels,
    estimate_propensities,
    search_impressions,
)

TEST_DAYS = 5


@pytest.fixture(scope="module")
def shop() -> SimulatedShop:
    return simulate(n_customers=600, n_products=120, days=90, seed=3, search_sessions_per_day=300, search_days=20,
                    search_shuffle_share=0.25)


@pytest.fixture(scope="module")
def cutoff(shop: SimulatedShop) -> pd.Timestamp:
    return pd.Timestamp(shop.config.start, tz="UTC") + pd.Timedelta(days=shop.config.days - TEST_DAYS)


@pytest.fixture(scope="module")
def index(shop: SimulatedShop, tmp_path_factory: pytest.TempPathFactory) -> ProductIndex:
    products = shop.tables["products"]
    attributes = products["attributes"].map(lambda a: " ".join(
        str(v) if not isinstance(v, list) else " ".join(v) for k, v in json.loads(a).items()
        if k in ("colour", "material", "features")))
    documents = products[["product_id", "title", "brand", "category", "description", "price"]].assign(
        attributes=attributes)
    return ProductIndex.build(documents, tmp_path_factory.mktemp("ltr") / "index")


@pytest.fixture(scope="module")
def ranker(shop: SimulatedShop, index: ProductIndex, cutoff: pd.Timestamp) -> LearnedRanker:
    events = shop.tables["events"]
    train = {"products": shop.tables["products"], "events": events[events["event_ts"] < cutoff],
             "reviews": shop.tables["reviews"]}
    return LearnedRanker(encoder=None, num_leaves=15, n_estimators=150, cv_folds=2).fit(train, index=index)


def test_impressions_are_the_logged_pages_and_clicks(shop: SimulatedShop) -> None:
    events = shop.tables["events"]
    impressions = search_impressions(events)
    searched = events[events["session_id"].str.startswith("SS") & (events["event_type"] == "search")]
    clicks = events[events["session_id"].str.startswith("SS") & (events["event_type"] == "view")]
    with_results = searched["properties"].map(lambda p: len(json.loads(p)["results"]) > 0)
    assert impressions["search_id"].nunique() == with_results.sum() > 0.9 * len(searched)
    assert impressions["clicked"].sum() == len(clicks)
    assert impressions["position"].between(1, 10).all()
    # the other sessions' searches log no page and add nothing
    assert set(impressions["search_id"]) <= set(searched["event_id"])


def test_estimated_propensities_recover_the_true_examination(shop: SimulatedShop) -> None:
    theta = estimate_propensities(search_impressions(shop.tables["events"]))
    truth = shop.truth["search_examination"]["probability"].to_numpy()
    assert theta[0] == 1.0
    assert np.abs(theta[:5] - truth[:5]).max() < 0.12, (theta.round(2), truth.round(2))
    assert np.abs(theta - truth).mean() < 0.06


def test_naive_click_rates_are_biased_and_ipw_removes_the_bias(shop: SimulatedShop) -> None:
    """On the production pages clicks pile up at the top; debiased CTR tracks the true relevance instead."""
    impressions = search_impressions(shop.tables["events"])
    truth = shop.truth["search_relevance"].rename(columns={"relevance": "grade"})
    labels = debiased_labels(impressions, estimate_propensities(impressions))
    labels = labels.merge(truth, on=["query", "product_id"], how="left").fillna({"grade": 0})
    mean_ctr = labels.groupby("grade")["ctr"].mean()
    assert mean_ctr.is_monotonic_increasing and mean_ctr.loc[3] > 3 * mean_ctr.loc[0]
    # IPW estimates P(click | examined): near the click model's attractiveness for the best grade (0.8)
    weighted = np.average(labels.loc[labels["grade"] == 3, "ctr"], weights=labels.loc[labels["grade"] == 3,
                                                                                     "impressions"])
    assert 0.55 < weighted < 1.0


def test_shuffled_pages_are_required(shop: SimulatedShop) -> None:
    impressions = search_impressions(shop.tables["events"])
    with pytest.raises(InputError, match="shuffled result pages"):
        estimate_propensities(impressions[~impressions["shuffled"]])


def test_no_search_log_is_a_clear_error(shop: SimulatedShop, index: ProductIndex) -> None:
    plain = shop.tables["events"][~shop.tables["events"]["session_id"].str.startswith("SS")]
    with pytest.raises(InputError, match="no search events with a logged result page"):
        LearnedRanker(encoder=None).fit({"products": shop.tables["products"], "events": plain}, index=index)
    with pytest.raises(InputError, match="lack the table"):
        LearnedRanker(encoder=None).fit({"events": plain}, index=index)


def _ndcg(shop: SimulatedShop, index: ProductIndex, cutoff: pd.Timestamp, rank) -> float:
    events = shop.tables["events"]
    test = events[(events["event_ts"] >= cutoff) & (events["event_type"] == "search")
                  & events["session_id"].str.startswith("SS")]
    truth = {q: dict(zip(g["product_id"], g["relevance"], strict=True))
             for q, g in shop.truth["search_relevance"].groupby("query")}
    ids = index.products["product_id"].to_numpy()
    scores = []
    for query in dict.fromkeys(test["query"]):
        rows = rank(query)
        grades = truth.get(query, {})
        scores.append(graded_ndcg([grades.get(p, 0) for p in ids[rows]], list(grades.values()), 10))
    return float(np.mean(scores))


def test_learned_ranker_beats_bm25_on_future_queries(shop: SimulatedShop, index: ProductIndex,
                                                     ranker: LearnedRanker, cutoff: pd.Timestamp) -> None:
    bm25 = _ndcg(shop, index, cutoff, lambda q: index.lexical(q, k=10).rows)
    ours = _ndcg(shop, index, cutoff, lambda q: ranker.rerank(index, q, index.lexical(q, k=100).rows)[:10])
    assert ours > bm25 * 1.03, (ours, bm25)
    assert set(ranker.importances()) == set(FEATURES)
    assert ranker.cv_ and ranker.params_ == {"num_leaves": 15, "n_estimators": 150}


def test_save_load_gives_the_same_scores(ranker: LearnedRanker, index: ProductIndex, tmp_path: Path) -> None:
    rows = index.lexical("black dress", k=50).rows
    again = LearnedRanker.load(ranker.save(tmp_path / "ltr"))
    np.testing.assert_allclose(again.score(index, "black dress", rows), ranker.score(index, "black dress", rows),
                               rtol=1e-6)
    np.testing.assert_allclose(again.propensities_, ranker.propensities_)
    assert again.get_params() == ranker.get_params()
    assert len(ranker.score(index, "black dress", [])) == 0


def test_search_built_on_a_workspace_with_a_search_log_ranks_by_the_learned_ranker(
        shop: SimulatedShop, tmp_path: Path) -> None:
    import shoplens as sl
    from shoplens.search import Search

    ws = sl.Workspace.init(tmp_path / "ws", name="ltr shop")
    shop.write(ws)
    search = Search().fit(ws)
    assert search.ranker_info_["fitted"] and search.ranker_info_["queries"] > 50, search.ranker_info_
    assert search.signal_weights() == {"ltr": 1.0}
    page = search.query("black dress", k=10)
    ltr = [item["signals"]["ltr"] for item in page.items]
    assert ltr == sorted(ltr, reverse=True) and {"bm25", "dense:minilm", "ltr"} <= set(page.items[0]["signals"])
    again = Search.load(ws.dir("search"))
    assert [i["product_id"] for i in again.query("black dress", k=10).items] == [i["product_id"] for i in page.items]
    plain = Search(ranker="never").fit(ws)
    assert plain.ranker_info_ == {"fitted": False, "reason": "ranker='never'"}
    assert "ltr" not in plain.query("black dress", k=5).items[0]["signals"]


def test_search_without_a_search_log_says_why_it_has_no_ranker(tmp_path: Path) -> None:
    import shoplens as sl
    from shoplens.search import Search

    ws = sl.Workspace.init(tmp_path / "ws", name="no log")
    simulate(n_customers=100, n_products=30, days=30, seed=1).write(ws)
    search = Search(encoder=None).fit(ws)
    assert not search.ranker_info_["fitted"] and search.ranker_info_["reason"]
    assert "ltr" not in search.signal_weights()
