"""The store simulator: canonical tables, coherence, determinism, and truth that analyses can recover."""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

import shoplens as sl
from shoplens.data.synth import (
    SIMULATOR_VERSION,
    SimulatedShop,
    Truth,
    bulk_products,
    simulate,
    write_bulk_shop,
    write_order_lines,
)
from shoplens.data.synth.catalog import ELASTICITY_RANGE
from shoplens.schema import TABLES
from shoplens.views import VOID_STATUSES


@pytest.fixture(scope="module")
def shop() -> SimulatedShop:
    return simulate(n_customers=1_500, n_products=120, days=365, seed=7)


# -- shape of the tables ----------------------------------------------------------------------------------

def test_tables_have_exactly_canonical_columns(shop: SimulatedShop) -> None:
    assert set(shop.tables) == {"customers", "products", "orders", "order_items", "events", "reviews", "qa",
                                "inventory"}
    for name, frame in shop.tables.items():
        canonical = TABLES[name].column_names
        assert set(frame.columns) <= set(canonical), (name, set(frame.columns) - set(canonical))
        assert set(TABLES[name].key) <= set(frame.columns), name
        assert not frame.duplicated(list(TABLES[name].key)).any(), name
        assert len(frame) > 0, name


def test_same_seed_same_tables_other_seed_other_tables() -> None:
    a = simulate(n_customers=300, n_products=40, days=120, seed=3)
    b = simulate(n_customers=300, n_products=40, days=120, seed=3)
    c = simulate(n_customers=300, n_products=40, days=120, seed=4)
    for name in a.tables:
        pd.testing.assert_frame_equal(a.tables[name], b.tables[name])
    for name in a.truth.tables:
        pd.testing.assert_frame_equal(a.truth[name], b.truth[name])
    assert not a.tables["orders"].equals(c.tables["orders"])


def test_catalog_text_is_varied(shop: SimulatedShop) -> None:
    products = shop.tables["products"]
    assert products["title"].nunique() / len(products) > 0.95
    assert products["description"].nunique() == len(products)
    assert products["category"].str.count(" > ").eq(2).all()
    assert (products["cost"] < products["price"] * 1.5).all() and (products["currency"] == "USD").all()
    words = {w for text in products["description"] for w in text.lower().split()}
    assert len(words) > 600  # composed from vocabularies, not a few templates


# -- coherence --------------------------------------------------------------------------------------------

def test_every_reference_exists(shop: SimulatedShop) -> None:
    t = shop.tables
    products, customers = set(t["products"]["product_id"]), set(t["customers"]["customer_id"])
    assert set(t["order_items"]["product_id"]) <= products
    assert set(t["order_items"]["order_id"]) == set(t["orders"]["order_id"])
    assert set(t["orders"]["customer_id"]) <= customers
    assert set(t["events"]["product_id"].dropna()) <= products
    assert set(t["events"]["customer_id"].dropna()) <= customers
    assert set(t["reviews"]["product_id"]) <= products and set(t["reviews"]["customer_id"]) <= customers
    assert set(t["qa"]["product_id"].dropna()) <= products
    assert set(t["inventory"]["product_id"]) <= products


def test_order_totals_follow_the_lines(shop: SimulatedShop) -> None:
    items, orders = shop.tables["order_items"], shop.tables["orders"].set_index("order_id")
    paid = (items["quantity"] * items["unit_price"] - items["discount"]).groupby(items["order_id"]).sum()
    assert np.allclose(orders.loc[paid.index, "total_amount"], paid.round(2), atol=0.011)
    assert (orders.loc[paid.index, "n_items"] == items.groupby("order_id")["quantity"].sum()).all()
    assert (items["unit_price"] >= 0).all() and (items["discount"] >= 0).all()
    assert (items["discount"] < items["quantity"].abs() * items["unit_price"]).all()


def test_returns_are_negative_lines_in_return_orders(shop: SimulatedShop) -> None:
    items, orders = shop.tables["order_items"], shop.tables["orders"]
    returned = orders[orders["status"] == "returned"]
    assert 0.01 < len(returned) / len(orders) < 0.2
    lines = items[items["order_id"].isin(returned["order_id"])]
    assert (lines["quantity"] < 0).all() and (returned["total_amount"] < 0).all()
    assert (items.loc[~items["order_id"].isin(returned["order_id"]), "quantity"] > 0).all()
    original = "O" + returned["order_id"].str[1:]
    first = orders.set_index("order_id").loc[original, "order_ts"].to_numpy()
    assert (returned["order_ts"].to_numpy() > first).all()


def test_purchase_events_are_the_orders(shop: SimulatedShop) -> None:
    events, orders, items = shop.tables["events"], shop.tables["orders"], shop.tables["order_items"]
    buys = events[events["event_type"] == "purchase"].copy()
    props = buys["properties"].map(json.loads)
    buys["order_id"], buys["quantity"] = props.map(lambda p: p["order_id"]), props.map(lambda p: p["quantity"])
    sold = orders[orders["status"] != "returned"]
    assert set(buys["order_id"]) == set(sold["order_id"])
    merged = buys.merge(items, on=["order_id", "product_id"], suffixes=("", "_line"))
    assert len(merged) == len(buys) == len(items[items["order_id"].isin(sold["order_id"])])
    assert (merged["quantity"] == merged["quantity_line"]).all()
    ts = buys.merge(orders[["order_id", "order_ts"]], on="order_id")
    assert (ts["event_ts"] == ts["order_ts"].dt.floor("s")).all() or (
        (ts["event_ts"] - ts["order_ts"]).abs() <= pd.Timedelta(seconds=1)).all()
    # the session that bought also checked out before buying
    checkout = events[events["event_type"] == "checkout"].groupby("session_id")["event_ts"].max()
    bought = buys.groupby("session_id")["event_ts"].min()
    assert (checkout.reindex(bought.index) <= bought).all()


def test_funnel_narrows_and_searches_have_queries(shop: SimulatedShop) -> None:
    events = shop.tables["events"]
    counts = events["event_type"].value_counts()
    assert counts["view"] > counts["add_to_cart"] > counts["checkout"] > 0
    assert counts["remove_from_cart"] > 0 and counts["wishlist"] > 0 and counts["purchase"] > 0
    sessions = events.groupby("session_id")["event_type"].agg(set)
    converted = sessions.map(lambda s: "purchase" in s).mean()
    carted = sessions.map(lambda s: "add_to_cart" in s).mean()
    assert 0.05 < converted < carted < 0.6
    searches = events[events["event_type"] == "search"]
    assert searches["query"].notna().all() and searches["query"].nunique() > 100
    assert events.loc[events["event_type"] != "search", "query"].isna().all()
    assert events["customer_id"].isna().mean() > 0.05  # anonymous visitors


def test_seasonality_is_present(shop: SimulatedShop) -> None:
    orders = shop.tables["orders"]
    orders = orders[orders["status"] == "completed"]
    weekday = orders["order_ts"].dt.day_of_week.value_counts()
    assert weekday[[5, 6]].mean() > weekday[[0, 1, 2]].mean() * 1.05
    month = orders["order_ts"].dt.month.value_counts()
    assert month[11] + month[12] > month[2] + month[3]


# -- churn truth --------------------------------------------------------------------------------------------

def test_churned_customers_do_nothing_after_churn(shop: SimulatedShop) -> None:
    truth = shop.truth["customers"].set_index("customer_id")
    states = truth["state_at_end"].value_counts()
    assert states["churned"] > 0.1 * len(truth) and states["active"] > 0.2 * len(truth)
    for name, column in (("orders", "order_ts"), ("events", "event_ts"), ("reviews", "review_ts")):
        frame = shop.tables[name].dropna(subset=["customer_id"])
        churn = frame["customer_id"].map(truth["churn_ts"])
        assert (frame[column] < churn).all(), name
    signup = shop.tables["customers"].set_index("customer_id")["signup_ts"]
    orders = shop.tables["orders"]
    assert (orders["order_ts"] >= orders["customer_id"].map(signup)).all()
    # churn is not "no orders lately": some churned customers bought shortly before they left
    last = orders.groupby("customer_id")["order_ts"].max()
    churned = truth[truth["state_at_end"] == "churned"]
    gap = (churned["churn_ts"] - last.reindex(churned.index)).dropna()
    assert (gap < pd.Timedelta(days=30)).any()


def test_customer_state_helper(shop: SimulatedShop) -> None:
    end = pd.Timestamp(shop.config.start) + pd.Timedelta(days=shop.config.days)
    pd.testing.assert_series_equal(
        shop.truth.customer_state(end).rename(None),
        shop.truth["customers"].set_index("customer_id")["state_at_end"].rename(None), check_names=False)


# -- reviews ------------------------------------------------------------------------------------------------

def test_ratings_follow_the_aspect_sentiments(shop: SimulatedShop) -> None:
    reviews = shop.tables["reviews"].set_index("review_id")
    aspects = shop.truth["review_aspects"]
    assert set(reviews["language"]) == {"en", "zh"} and reviews["language"].value_counts().min() > 0.1 * len(reviews)
    assert set(aspects["review_id"]) == set(reviews.index)
    net = aspects.groupby("review_id")["sentiment"].sum()
    rating = reviews.loc[net.index, "rating"]
    assert np.corrcoef(net, rating)[0, 1] > 0.7
    assert rating[net > 0].mean() > 4 > 2.5 > rating[net < 0].mean()
    assert set(aspects["aspect"]) == {"quality", "size_fit", "value", "delivery", "service", "packaging",
                                      "appearance"}


def test_review_text_says_the_sentiments(shop: SimulatedShop) -> None:
    reviews = shop.tables["reviews"]
    assert reviews["body"].nunique() / len(reviews) > 0.97
    aspects = shop.truth["review_aspects"].merge(reviews[["review_id", "body", "language"]], on="review_id")
    late = aspects[(aspects["aspect"] == "delivery") & (aspects["sentiment"] == -1) & (aspects["language"] == "zh")]
    fast = aspects[(aspects["aspect"] == "delivery") & (aspects["sentiment"] == 1) & (aspects["language"] == "zh")]
    assert late["body"].str.contains("慢|晚|等了|丢件|不更新|拖沓|糟糕|离谱|不是很|不怎么|不太|没有想象").mean() > 0.9
    assert fast["body"].str.contains("快|迅速|给力|及时|神速|早到|隔天|第二天|不慢|不拖沓|不糟糕|不离谱").mean() > 0.9
    small = aspects[(aspects["detail"] == "small") & (aspects["language"] == "en")]
    size_words = "small|tight|bigger|size up|size|sizing|fit|cut"
    assert len(small) == 0 or small["body"].str.contains(size_words, case=False).all()
    noisy = reviews[reviews["language"] == "en"]["body"]
    assert noisy.str.contains("  |!!!|definately|qualty|recieved|reccomend|realy|becuase|dissapointed|expcted").any()


# -- pricing truth --------------------------------------------------------------------------------------------

def test_prices_move_often_and_elasticities_are_in_range(shop: SimulatedShop) -> None:
    products = shop.truth["products"]
    assert products["elasticity"].between(*ELASTICITY_RANGE).all()
    assert products["elasticity"].max() - products["elasticity"].min() > 1.5
    demand = shop.truth["demand"]
    changes = demand.groupby("product_id")["shelf_price"].nunique()
    assert changes.median() >= 6
    promos = shop.truth["promotions"]
    assert set(promos["kind"]) >= {"product", "black_friday", "summer_sale"} and (promos["hidden_log_lift"] >= 0).all()
    assert promos["hidden_log_lift"].mean() > 0.2


def _weekly_sales(shop: SimulatedShop) -> pd.DataFrame:
    """Units, average net price and share of discounted lines per product and week (like daily_sales, weekly)."""
    items = shop.tables["order_items"].merge(shop.tables["orders"][["order_id", "order_ts"]], on="order_id")
    items = items[items["quantity"] > 0]
    week = (items["order_ts"].dt.tz_localize(None) - pd.Timestamp(shop.config.start)).dt.days // 7
    items = items.assign(week=week, paid=items["quantity"] * items["unit_price"] - items["discount"],
                         promo=(items["discount"] > 0).astype(float))
    weekly = items.groupby(["product_id", "week"]).agg(units=("quantity", "sum"), paid=("paid", "sum"),
                                                       promo=("promo", "mean")).reset_index()
    weekly = weekly[weekly["week"] < shop.config.days // 7]
    department = shop.truth["products"].set_index("product_id")["department"]
    return weekly.assign(price=weekly["paid"] / weekly["units"], department=weekly["product_id"].map(department))


def _per_product_fe_elasticities(weekly: pd.DataFrame) -> pd.Series:
    """log units on log price per product, with product and department × week fixed effects and a promo control."""
    product = pd.get_dummies(weekly["product_id"]).to_numpy(float)
    period = pd.get_dummies(weekly["department"] + ":" + weekly["week"].astype(str), drop_first=True).to_numpy(float)
    log_price = np.log(weekly["price"].to_numpy())
    design = np.hstack([product, period, weekly[["promo"]].to_numpy(), product * log_price[:, None]])
    coef, *_ = np.linalg.lstsq(design, np.log(weekly["units"].to_numpy()), rcond=None)
    return pd.Series(coef[-product.shape[1]:], index=sorted(weekly["product_id"].unique()))


def test_fixed_effects_recover_elasticities_while_naive_regression_is_biased(
        capsys: pytest.CaptureFixture[str]) -> None:
    # Two years of a busy 40-product shop: enough price variation for per-product slopes (one year leaves a
    # standard error of about 0.35 per product under the realistic noise).
    shop = simulate(n_customers=4_000, n_products=40, days=728, seed=11, n_orders=400_000, events=False,
                    reviews=False, inventory=False)
    weekly = _weekly_sales(shop)
    enough = weekly.groupby("product_id").size()
    weekly = weekly[weekly["product_id"].isin(enough[enough >= 40].index)]
    truth = shop.truth.elasticity
    estimate = _per_product_fe_elasticities(weekly)
    true = truth.loc[estimate.index]
    naive = np.polyfit(np.log(weekly["price"]), np.log(weekly["units"]), 1)[0]
    with capsys.disabled():
        print(f"\nelasticity: FE median {estimate.median():.2f} vs true {true.median():.2f} "
              f"(MAE {np.abs(estimate - true).mean():.2f}, {len(estimate)} products); naive pooled {naive:.2f}")
    assert abs(estimate.median() - true.median()) < 0.25
    assert np.corrcoef(estimate, true)[0, 1] > 0.6
    assert abs(naive - true.mean()) > 0.8  # confounding is really there


def test_easy_mode_switches_the_confounders_off() -> None:
    easy = simulate(n_customers=300, n_products=40, days=120, seed=1, difficulty="easy")
    assert (easy.truth["demand"]["hidden_log_lift"] == 0).all() and (easy.truth["demand"]["shock_log"] == 0).all()
    assert (easy.tables["orders"]["status"] != "cancelled").all()
    assert easy.truth.params["difficulty"]["name"] == "easy"
    realistic = simulate(n_customers=300, n_products=40, days=120, seed=1)
    assert realistic.truth.params["difficulty"]["name"] == "realistic"


# -- workspace, truth files ------------------------------------------------------------------------------------

def test_write_ingests_every_table_without_quarantine(shop: SimulatedShop, workspace: sl.Workspace) -> None:
    reports = shop.write(workspace)
    assert set(reports) == set(shop.tables)
    for name, report in reports.items():
        assert report.quarantined == 0, (name, report)
        assert report.loaded == report.read == len(shop.tables[name]), name
        assert not report.unlinked, (name, report.unlinked)
    counts = workspace.counts()
    assert all(counts[name] == len(frame) for name, frame in shop.tables.items())
    stored = workspace.sql("SELECT order_id, total_amount, order_ts FROM orders ORDER BY order_id")
    expected = shop.tables["orders"].sort_values("order_id")
    assert np.allclose(stored["total_amount"].astype(float), expected["total_amount"])
    assert (stored["order_ts"].to_numpy() == expected["order_ts"].dt.tz_localize(None).to_numpy()).all()
    sales = workspace.sql("SELECT sum(units) AS u FROM daily_sales WHERE product_id <> '__all__'")["u"].iloc[0]
    items = shop.tables["order_items"].merge(shop.tables["orders"][["order_id", "status"]], on="order_id")
    sold = items[(items["quantity"] > 0) & ~items["status"].isin(VOID_STATUSES)]  # demand: no returns, no cancels
    assert sales == sold["quantity"].sum()
    manifest = json.loads((workspace.path / "truth" / "manifest.json").read_text())
    assert manifest["simulator_version"] == SIMULATOR_VERSION
    back = Truth.read(workspace.path / "truth")
    pd.testing.assert_series_equal(back.elasticity, shop.truth.elasticity)
    assert set(back.tables) == set(shop.truth.tables)


def test_write_files_round_trip(tmp_path: Path) -> None:
    small = simulate(n_customers=200, n_products=30, days=60, seed=2, events=False)
    paths = small.write_files(tmp_path / "shop", format="csv")
    assert pd.read_csv(paths["orders"])["order_id"].tolist() == small.tables["orders"]["order_id"].tolist()
    assert (tmp_path / "shop" / "truth" / "manifest.json").exists()


# -- size, speed and bulk mode ----------------------------------------------------------------------------------

def test_n_orders_sets_the_volume(capsys: pytest.CaptureFixture[str]) -> None:
    clock = time.perf_counter()
    shop = simulate(n_customers=2_000, n_products=100, days=180, seed=5, n_orders=20_000)
    seconds = time.perf_counter() - clock
    placed = (shop.tables["orders"]["status"] != "returned").sum()
    with capsys.disabled():
        print(f"\nnormal mode: {placed:,} orders in {seconds:.2f} s ({placed / seconds:,.0f} orders/s)")
    assert 17_000 < placed < 23_000


def test_bulk_order_lines_parquet_and_csv(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    report = write_order_lines(tmp_path / "items.parquet", 2_000_000, seed=1, orders_path=tmp_path / "orders.parquet")
    with capsys.disabled():
        print(f"\nbulk mode: {report.rows:,} lines + {report.orders:,} orders to Parquet in {report.seconds:.2f} s "
              f"({report.rows_per_s:,.0f} lines/s)")
    assert report.rows_per_s > 200_000  # loose: speed targets live in benchmarks/simulator.py
    table = pq.read_table(tmp_path / "items.parquet")
    assert table.num_rows == 2_000_000 and table.column_names == TABLES["order_items"].column_names
    orders = pq.read_table(tmp_path / "orders.parquet", columns=["order_id"])
    assert orders.num_rows == report.orders
    csv = write_order_lines(tmp_path / "items.csv", 50_000, seed=1, format="csv", n_products=500)
    assert len(pd.read_csv(tmp_path / "items.csv")) == csv.rows == 50_000
    write_order_lines(tmp_path / "a.parquet", 50_000, seed=1, n_products=500)
    write_order_lines(tmp_path / "b.parquet", 50_000, seed=1, n_products=500)
    assert pq.read_table(tmp_path / "a.parquet").equals(pq.read_table(tmp_path / "b.parquet"))


def test_bulk_shop_ingests_with_links(tmp_path: Path, workspace: sl.Workspace) -> None:
    reports = write_bulk_shop(tmp_path / "bulk", 20_000, n_events=20_000, seed=3, n_products=300)
    for name in ("customers", "products", "orders", "order_items", "events"):
        report = workspace.ingest(name, reports[name].path)
        assert report.quarantined == 0 and report.loaded == reports[name].rows, (name, report)
        assert not report.unlinked, (name, report.unlinked)
    assert len(bulk_products(300, seed=3)) == 300
