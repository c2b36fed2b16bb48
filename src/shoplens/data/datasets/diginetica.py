"""DIGINETICA (CIKM Cup 2016) → products (item → category) + customers + orders + order_items + view events."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from shoplens.data.datasets._common import (
    RESEARCH_ONLY,
    DatasetInfo,
    Part,
    Reports,
    folder_of,
    ingest_frame,
    read_csv,
    require,
    to_number,
)
from shoplens.workspace import Workspace

CATEGORIES = ("product-categories.csv",)
PURCHASES = ("train-purchases.csv",)
VIEWS = ("train-item-views.csv", "sample_train-item-views.csv")
MISSING = ["", "NA"]  # anonymous sessions have user "NA"

INFO = DatasetInfo(
    name="diginetica",
    description="Search and browsing logs of an e-commerce search engine (CIKM Cup 2016, track 2): all "
                "purchases, every item's category, and item views (a sample of 12,391 in the reference copy; "
                "the full train-item-views.csv loads the same way)",
    url="https://competitions.codalab.org/competitions/11161 (CIKM Cup 2016 Track 2, DIGINETICA)",
    licence=f"CIKM Cup 2016 competition data: {RESEARCH_ONLY}",
    parts=(
        Part("products", "products", CATEGORIES[0], 184_047, "itemId → product_id, categoryId → category"),
        Part("customers", "customers", PURCHASES[0], 5_624,
             "one customer per distinct known userId of purchases and views (id only)"),
        Part("orders", "orders", PURCHASES[0], 13_506,
             "one order per ordernumber → order_id: userId → customer_id, its earliest eventdate → order_ts"),
        Part("order_items", "order_items", PURCHASES[0], 18_025,
             "one line per row: ordernumber → order_id, itemId → product_id, quantity 1"),
        Part("views", "events", VIEWS[1], 12_391,
             "one view event per row: session_id, user_id → customer_id, item_id → product_id, eventdate → "
             "event_ts, timeframe (ms since the session's first event) → properties; event_id from the position"),
    ),
    notes="';'-separated with headers. userId 'NA' marks an anonymous session (customer_id left empty). Dates "
          "only: the order within a session is properties.timeframe. 124 orders span lines with two dates "
          "(order_ts is the earliest); 264 lines repeat an item already in the same order (kept as separate "
          "lines of quantity 1). Prices and item names (products.csv, hashed tokens) are not loaded.",
)


def load(ws: Workspace, path: str | Path, *, progress: bool = False) -> Reports:
    folder = folder_of(path, INFO.name)
    categories = require(folder, INFO.name, CATEGORIES)
    purchases_file = require(folder, INFO.name, PURCHASES)
    views_file = require(folder, INFO.name, VIEWS)
    purchases = read_csv(purchases_file, ["userId", "eventdate", "ordernumber", "itemId"], sep=";", na_values=MISSING)
    views = read_csv(views_file, ["session_id", "user_id", "item_id", "timeframe", "eventdate"], sep=";",
                     na_values=MISSING)
    users = pd.concat([purchases["userId"], views["user_id"]]).dropna().drop_duplicates()
    customers, orders, order_items = pd.DataFrame({"customer_id": users}), _orders(purchases), _order_items(purchases)
    view_events = _views(views, views_file)
    return {
        "products": ws.ingest("products", categories, delimiter=";", progress=progress,
                              mapping={"itemId": "product_id", "categoryId": "category"}),
        "customers": ingest_frame(ws, "customers", customers, purchases_file, progress=progress),
        "orders": ingest_frame(ws, "orders", orders, purchases_file, progress=progress),
        "order_items": ingest_frame(ws, "order_items", order_items, purchases_file, progress=progress),
        "views": ingest_frame(ws, "events", view_events, views_file, progress=progress),
    }


def _orders(purchases: pd.DataFrame) -> pd.DataFrame:
    orders = purchases.groupby("ordernumber", sort=False).agg(customer_id=("userId", "first"),
                                                              order_ts=("eventdate", "min"))
    return orders.rename_axis("order_id").reset_index()


def _order_items(purchases: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame({"order_id": purchases["ordernumber"], "product_id": purchases["itemId"], "quantity": 1})


def _views(views: pd.DataFrame, source: Path) -> pd.DataFrame:
    return pd.DataFrame({
        "session_id": views["session_id"], "customer_id": views["user_id"], "product_id": views["item_id"],
        "event_type": "view", "event_ts": views["eventdate"], "timeframe": to_number(views["timeframe"], source),
    })
