""""Transactions from a bakery" (Edinburgh) → products + orders + order_items."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from shoplens.data.datasets._common import DatasetInfo, Part, Reports, ingest_frame, locate, read_csv
from shoplens.workspace import Workspace

FILES = ("BreadBasket_DMS.csv",)
PLACEHOLDER = "NONE"
TIMEZONE = "Europe/London"  # the bakery's local clock

INFO = DatasetInfo(
    name="bakery_transactions",
    description="Seven months of till transactions of a bakery in Edinburgh (2016-10 to 2017-04): date, "
                "time, transaction number and item, one line per item sold",
    url="https://www.kaggle.com/datasets/sulmansarwar/transactions-from-a-bakery",
    licence="published on Kaggle without an explicit licence (derived from The Bread Basket's data); "
            "treat as research use",
    parts=(
        Part("products", "products", FILES[0], 95, "one product per distinct Item (product_id = title = Item)"),
        Part("orders", "orders", FILES[0], 9_531,
             "one order per Transaction → order_id; Date + Time (Europe/London) → order_ts"),
        Part("order_items", "order_items", FILES[0], 21_293,
             "one line per row: Transaction → order_id, Item → product_id, quantity 1; line_no in file order"),
    ),
    notes="'NONE' is the till's placeholder for a line without an item (786 lines; 66 transactions hold "
          "nothing else): kept as product 'NONE' with attributes {\"placeholder\": true}, so every source row "
          "is accounted for; leave it out of item-level analyses. 1,653 lines repeat an earlier line of the "
          "same transaction (the same item bought twice): kept as separate lines of quantity 1. No prices.",
)


def load(ws: Workspace, path: str | Path, *, progress: bool = False) -> Reports:
    source = locate(path, INFO.name, FILES)
    lines = read_csv(source, ["Date", "Time", "Transaction", "Item"])
    items = lines["Item"].drop_duplicates()
    products = pd.DataFrame({"product_id": items, "title": items,
                             "attributes": items.map(lambda i: '{"placeholder": true}' if i == PLACEHOLDER else None)})
    first = lines.drop_duplicates("Transaction")
    orders = pd.DataFrame({"order_id": first["Transaction"], "order_ts": first["Date"] + " " + first["Time"]})
    order_items = pd.DataFrame({"order_id": lines["Transaction"], "product_id": lines["Item"], "quantity": 1})
    return {
        "products": ingest_frame(ws, "products", products, source, progress=progress),
        "orders": ingest_frame(ws, "orders", orders, source, progress=progress, tz=TIMEZONE),
        "order_items": ingest_frame(ws, "order_items", order_items, source, progress=progress),
    }
