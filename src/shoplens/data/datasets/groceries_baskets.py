"""arules "Groceries" baskets → products + orders + order_items (one basket per line)."""

from __future__ import annotations

import pandas as pd

from shoplens.data.datasets._common import Files, Frames, numbered_lines

ORDER_PREFIX = "groceries-"


def build(files: Files) -> Frames:
    baskets = [(f"{ORDER_PREFIX}{number}", line.split(",")) for number, line in numbered_lines(files["baskets"])]
    lines = pd.DataFrame([(order, item.strip()) for order, items in baskets for item in items],
                         columns=["order_id", "product_id"])
    items = lines["product_id"].drop_duplicates()
    return {"products": pd.DataFrame({"product_id": items, "title": items}),
            "orders": pd.DataFrame({"order_id": [order for order, _ in baskets]}),
            "order_items": lines.assign(quantity=1)}
