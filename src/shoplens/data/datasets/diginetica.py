"""DIGINETICA (CIKM Cup 2016) → customers + orders + order_items + view events (products: catalog.toml)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from shoplens.data.datasets._common import Files, Frames, read_csv, to_number

MISSING = ["", "NA"]  # anonymous sessions have user "NA"


def build(files: Files) -> Frames:
    """Every part but products (catalog.toml maps product-categories.csv as it is)."""
    purchases = read_csv(files["purchases"], ["userId", "eventdate", "ordernumber", "itemId"], sep=";",
                         na_values=MISSING)
    views = read_csv(files["views"], ["session_id", "user_id", "item_id", "timeframe", "eventdate"], sep=";",
                     na_values=MISSING)
    users = pd.concat([purchases["userId"], views["user_id"]]).dropna().drop_duplicates()
    return {"customers": pd.DataFrame({"customer_id": users}), "orders": _orders(purchases),
            "order_items": _order_items(purchases), "views": _views(views, files["views"])}


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
