"""CDNOW purchases (Fader & Hardie) → customers + orders (no products: one order per purchase line)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from shoplens.data.datasets._common import DatasetInfo, Part, Reports, ingest_frame, locate, read_fields
from shoplens.errors import InputError
from shoplens.workspace import Workspace

FILES = ("CDNOW_master.txt", "CDNOW_sample.txt")
MASTER_FIELDS = ("customer_id", "date", "cds", "dollars")
SAMPLE_FIELDS = ("customer_id", "customer_index", "date", "cds", "dollars")

INFO = DatasetInfo(
    name="cdnow",
    description="Every purchase of the 23,570 customers who first bought at CDNOW in the first quarter of "
                "1997, until June 1998: the classic data set for RFM, BG/NBD and Gamma-Gamma CLV models",
    url="https://www.brucehardie.com/datasets/ (also shipped inside the lifetimes package)",
    licence="no explicit licence: distributed by B. Hardie with his CLV notes for teaching and research; cite "
            "Fader & Hardie",
    parts=(
        Part("customers", "customers", FILES[0], 23_570, "one customer per distinct customer id (id only)"),
        Part("orders", "orders", FILES[0], 69_659,
             "one order per line: customer id → customer_id, date (YYYYMMDD) → order_ts, number of CDs → "
             "n_items, dollar value → total_amount; order_id = 'cdnow-<customer>-<date>-<k>' (k-th line of "
             "that customer and day, in file order)"),
    ),
    notes="Whitespace-separated, no header in the data lines. CDNOW has no products, so no order_items: "
          "daily_sales sums orders into the pseudo-product '__all__'. 255 lines repeat an earlier line exactly "
          "and 80 have a dollar value of 0; all are kept, as in the published analyses. A path to "
          "CDNOW_sample.txt (the 2,357-customer sample of the BG/NBD paper, with an extra customer_index "
          "column) loads the same way.",
)


def load(ws: Workspace, path: str | Path, *, progress: bool = False) -> Reports:
    source = locate(path, INFO.name, FILES)
    purchases = _purchases(source)
    customers, orders = pd.DataFrame({"customer_id": purchases["customer_id"].drop_duplicates()}), _orders(purchases)
    return {
        "customers": ingest_frame(ws, "customers", customers, source, progress=progress),
        "orders": ingest_frame(ws, "orders", orders, source, progress=progress, ts_format="%Y%m%d"),
    }


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
