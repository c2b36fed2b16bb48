"""CDNOW purchases (Fader & Hardie) → customers + orders (no products: one order per purchase line)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from shoplens.data.datasets._common import Files, Frames, read_fields
from shoplens.errors import InputError

MASTER_FIELDS = ("customer_id", "date", "cds", "dollars")
SAMPLE_FIELDS = ("customer_id", "customer_index", "date", "cds", "dollars")


def build(files: Files) -> Frames:
    purchases = _purchases(files["purchases"])
    return {"customers": pd.DataFrame({"customer_id": purchases["customer_id"].drop_duplicates()}),
            "orders": _orders(purchases)}


def _purchases(source: Path) -> pd.DataFrame:
    """The purchase lines of the master file or of the sample (which has one more field per line)."""
    rows = read_fields(source)
    if rows and rows[0][0].lower() == "customer_id":  # the master file's header line
        rows = rows[1:]
    columns = SAMPLE_FIELDS if rows and len(rows[0]) == len(SAMPLE_FIELDS) else MASTER_FIELDS
    if rows and len(rows[0]) != len(columns):
        raise InputError(f"expected {len(MASTER_FIELDS)} or {len(SAMPLE_FIELDS)} whitespace-separated fields "
                         f"(customer, date, CDs, dollars), found {len(rows[0])}", file=str(source))
    return pd.DataFrame(rows, columns=list(columns), dtype=str)


def _orders(purchases: pd.DataFrame) -> pd.DataFrame:
    nth = purchases.groupby(["customer_id", "date"], sort=False).cumcount() + 1
    order_id = "cdnow-" + purchases["customer_id"] + "-" + purchases["date"] + "-" + nth.astype(str)
    return pd.DataFrame({"order_id": order_id, "customer_id": purchases["customer_id"],
                         "order_ts": purchases["date"], "n_items": purchases["cds"],
                         "total_amount": purchases["dollars"]})
