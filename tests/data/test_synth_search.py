"""Search sessions of the store simulator: canonical events, known relevance, known position bias, and nothing
else changes when they are switched on."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from shoplens.data.synth import SimulatedShop, simulate
from shoplens.data.synth.search import BM25Ranker
from shoplens.schema import TABLES

SHOP = {"n_customers": 300, "n_products": 60, "days": 60, "seed": 4}


@pytest.fixture(scope="module")
def shop() -> SimulatedShop:
    return simulate(**SHOP, search_sessions_per_day=150, search_days=10, search_shuffle_share=0.5)


def _search_events(shop: SimulatedShop) -> pd.DataFrame:
    events = shop.tables["events"]
    return events[events["session_id"].str.startswith("SS")]


def test_off_by_default_and_on_changes_only_the_events(shop: SimulatedShop) -> None:
    plain = simulate(**SHOP)
    assert not plain.tables["events"]["session_id"].str.startswith("SS").any()
    assert "search_relevance" not in plain.truth.tables
    for name, frame in plain.tables.items():
        if name != "events":
            pd.testing.assert_frame_equal(frame, shop.tables[name])
    mine = shop.tables["events"][~shop.tables["events"]["session_id"].str.startswith("SS")].reset_index(drop=True)
    pd.testing.assert_frame_equal(plain.tables["events"], mine)


def test_events_are_canonical_and_in_the_search_window(shop: SimulatedShop) -> None:
    events = shop.tables["events"]
    assert set(events.columns) <= set(TABLES["events"].column_names)
    assert events["event_id"].is_unique and events["event_ts"].is_monotonic_increasing
    searched = _search_events(shop)
    assert set(searched["event_type"]) == {"search", "view", "add_to_cart"}
    first = pd.Timestamp(shop.config.start, tz="UTC") + pd.Timedelta(days=SHOP["days"] - 10)
    assert searched["event_ts"].min() >= first
    pages = searched[searched["event_type"] == "search"]
    assert pages["query"].notna().all() and pages["product_id"].isna().all()
    props = pages["properties"].map(json.loads)
    assert props.map(lambda p: len(p["results"]) <= 10).all()
    assert 0.4 < props.map(lambda p: p["shuffled"]).mean() < 0.6
    # every click names a shown product at its position
    page_of = dict(zip(pages["session_id"], props.map(lambda p: p["results"]), strict=True))
    clicks = searched[searched["event_type"] == "view"]
    position = clicks["properties"].map(lambda p: json.loads(p)["position"])
    assert all(page_of[s][k - 1] == p for s, k, p in zip(clicks["session_id"], position, clicks["product_id"],
                                                          strict=True))
    customers = set(shop.tables["customers"]["customer_id"])
    assert set(searched["customer_id"].dropna()) <= customers


def test_relevance_truth_is_graded_and_the_wanted_product_fits(shop: SimulatedShop) -> None:
    queries, relevance = shop.truth["search_queries"], shop.truth["search_relevance"]
    assert set(relevance["relevance"]) <= {1, 2, 3} and not relevance.duplicated(["query", "product_id"]).any()
    grade = relevance.set_index(["query", "product_id"])["relevance"]
    wanted = [grade.get((q, p), 0) for q, p in zip(queries["query"], queries["intent_product_id"], strict=True)]
    assert min(wanted) >= 2  # the product a query was drawn from has everything it asks for
    products = shop.tables["products"].set_index("product_id")
    same_leaf = relevance.merge(queries[["query", "category"]], on="query")
    assert (products.loc[same_leaf["product_id"], "category"].to_numpy() == same_leaf["category"].to_numpy()).all()
    assert set(_search_events(shop).query("event_type == 'search'")["query"]) == set(queries["query"])


def test_clicks_follow_the_known_position_bias_and_relevance(shop: SimulatedShop) -> None:
    """On shuffled pages relevance is the same at every position: click rates fall as the true examination."""
    searched = _search_events(shop)
    pages = searched[searched["event_type"] == "search"]
    props = pages["properties"].map(json.loads)
    shuffled = pages[props.map(lambda p: p["shuffled"]).to_numpy()]
    shown = pd.DataFrame([(s, k + 1) for s, p in zip(shuffled["session_id"], shuffled["properties"], strict=True)
                          for k in range(len(json.loads(p)["results"]))], columns=["session_id", "position"])
    clicks = searched[(searched["event_type"] == "view") & searched["session_id"].isin(shuffled["session_id"])]
    position = clicks["properties"].map(lambda p: json.loads(p)["position"])
    ctr = position.value_counts().reindex(range(1, 11), fill_value=0) / shown["position"].value_counts().sort_index()
    theta = shop.truth["search_examination"].set_index("position")["probability"]
    assert np.abs((ctr / ctr.loc[1])[:4] - theta[:4]).max() < 0.2
    # higher grades are clicked more often (all pages)
    grade = shop.truth["search_relevance"].set_index(["query", "product_id"])["relevance"]
    query_of = dict(zip(pages["session_id"], pages["query"], strict=True))
    clicked = [grade.get((query_of[s], p), 0) for s, p in zip(clicks["session_id"], clicks["product_id"],
                                                              strict=True)]
    assert np.mean(np.array(clicked) >= 2) > 0.5


def test_a_given_ranker_decides_what_is_shown() -> None:
    products = simulate(**SHOP, events=False).tables["products"]
    reverse = BM25Ranker(products)
    fixed = products["product_id"].iloc[:10].tolist()
    shop = simulate(**SHOP, search_sessions_per_day=20, search_days=3, search_shuffle_share=0.0,
                    search_ranker=lambda query, k: fixed[:k])
    pages = _search_events(shop).query("event_type == 'search'")["properties"].map(json.loads)
    # the ranker's order, less products not launched yet on the session's day
    assert all(p["results"] == [f for f in fixed if f in p["results"]] for p in pages)
    assert max(len(p["results"]) for p in pages) >= 8
    assert reverse("black dress", 5)  # the default ranker returns matching products


def test_bad_search_settings_are_refused() -> None:
    with pytest.raises(ValueError, match="search_shuffle_share"):
        simulate(**SHOP, search_sessions_per_day=1, search_shuffle_share=1.5)
    with pytest.raises(ValueError, match="search_days"):
        simulate(**SHOP, search_sessions_per_day=1, search_days=0)
