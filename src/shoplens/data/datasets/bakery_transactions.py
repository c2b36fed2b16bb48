""""Transactions from a bakery" (Edinburgh) → products + orders + order_items."""

from __future__ import annotations

import pandas as pd

from shoplens.data.datasets._common import Files, Frames, read_csv

PLACEHOLDER = "NONE"  # the till's line without an item


def build(files: Files) -> Frames:
    lines = read_csv(files["lines"], ["Date", "Time", "Transaction", "Item"])
    items = lines["Item"].drop_duplicates()
    products = pd.DataFrame({"product_id": items, "title": items,
                             "attributes": items.map(lambda i: '{"placeholder": true}' if i == PLACEHOLDER else None)})
    first = lines.drop_duplicates("Transaction")
    orders = pd.DataFrame({"order_id": first["Transaction"], "order_ts": first["Date"] + " " + first["Time"]})
    order_items = pd.DataFrame({"order_id": lines["Transaction"], "product_id": lines["Item"], "quantity": 1})
    return {"products": products, "orders": orders, "order_items": order_items}
