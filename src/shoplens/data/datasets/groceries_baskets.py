"""arules "Groceries" baskets → products + orders + order_items (one basket per line)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from shoplens.data.datasets._common import DatasetInfo, Part, Reports, ingest_frame, locate, numbered_lines
from shoplens.workspace import Workspace

FILES = ("groceries.csv",)
ORDER_PREFIX = "groceries-"

INFO = DatasetInfo(
    name="groceries_baskets",
    description="30 days of point-of-sale baskets of a local grocery outlet, items aggregated into 169 "
                "categories (the 'Groceries' data of the R package arules)",
    url="https://github.com/mhahsler/arules (data/Groceries); Hahsler, Hornik & Reutterer (2006)",
    licence="GPL-3 (distributed with the arules package)",
    parts=(
        Part("products", "products", FILES[0], 169, "one product per distinct item name (product_id = title)"),
        Part("orders", "orders", FILES[0], 9_835, "one order per line: order_id = 'groceries-<line>'"),
        Part("order_items", "order_items", FILES[0], 43_367,
             "one line per item of a basket, in the order listed: product_id = item name, quantity 1"),
    ),
    notes="One basket per line, items separated by commas, no header. No customers, dates or prices: "
          "the data suit basket analysis (association rules), not time series. Items never repeat within "
          "a basket.",
)


def load(ws: Workspace, path: str | Path, *, progress: bool = False) -> Reports:
    source = locate(path, INFO.name, FILES)
    baskets = [(f"{ORDER_PREFIX}{number}", line.split(",")) for number, line in numbered_lines(source)]
    lines = pd.DataFrame([(order, item.strip()) for order, items in baskets for item in items],
                         columns=["order_id", "product_id"])
    items = lines["product_id"].drop_duplicates()
    products = pd.DataFrame({"product_id": items, "title": items})
    orders = pd.DataFrame({"order_id": [order for order, _ in baskets]})
    return {
        "products": ingest_frame(ws, "products", products, source, progress=progress),
        "orders": ingest_frame(ws, "orders", orders, source, progress=progress),
        "order_items": ingest_frame(ws, "order_items", lines.assign(quantity=1), source, progress=progress),
    }
