"""Taobao UserBehavior (Alibaba Tianchi) → products (item → category) + events (pv/cart/fav/buy)."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pyarrow as pa

from shoplens.data.datasets._common import RESEARCH_ONLY, DatasetInfo, Part, Reports, ingest_frame, locate
from shoplens.errors import InputError
from shoplens.workspace import Workspace

FILES = ("UserBehavior_head4321.csv", "UserBehavior.csv")
# The file has no header: user, item, category, behaviour, unix time.
EVENT_COLUMNS = {"column_1": "customer_id", "column_2": "product_id", "column_3": "", "column_4": "event_type",
                 "column_5": "event_ts"}

INFO = DatasetInfo(
    name="taobao_userbehavior_sample",
    description="Click-stream of Taobao users (page views, add-to-cart, favourites, purchases) between "
                "2017-11-25 and 2017-12-03; the reference copy holds the first 4,321 events (43 users) of the "
                "100-million-event file, which loads the same way",
    url="https://tianchi.aliyun.com/dataset/649",
    licence=f"Alibaba Tianchi terms: {RESEARCH_ONLY}; cite the dataset page",
    parts=(
        Part("products", "products", FILES[0], 3_276,
             "one product per distinct item id; category = its category id"),
        Part("events", "events", FILES[0], 4_321,
             "user → customer_id, item → product_id, behaviour pv / cart / fav / buy → view / add_to_cart / "
             "wishlist / purchase, unix time → event_ts (UTC); event_id from the file position"),
    ),
    notes="No header, comma-separated. Read as a stream, so the full 3.7 GB file loads in bounded memory. "
          "Sessions are not given: they are rebuilt from 30 minutes of inactivity. Purchases are events here "
          "(there are no orders).",
)


def load(ws: Workspace, path: str | Path, *, progress: bool = False) -> Reports:
    source = locate(path, INFO.name, FILES)
    item_categories = _item_categories(source)
    return {
        "products": ingest_frame(ws, "products", item_categories, source, progress=progress),
        "events": ws.ingest("events", source, header=False, delimiter=",", mapping=EVENT_COLUMNS,
                            ts_format="epoch_s", progress=progress),
    }


def _item_categories(source: Path) -> pa.Table:
    """One row per item with its category (the smallest id, should an item ever have two); DuckDB streams
    the file, so this works on the full file too."""
    query = """
        SELECT column1 AS product_id, min(column2) AS category
        FROM read_csv(?, header = false, all_varchar = true, delim = ',', ignore_errors = true)
        WHERE column1 IS NOT NULL GROUP BY column1 ORDER BY column1"""
    try:
        with duckdb.connect() as con:
            return con.sql(query, params=[str(source)]).to_arrow_table()
    except duckdb.Error as exc:  # malformed lines are skipped here; this is a file DuckDB cannot read at all
        raise InputError(f"cannot read the file ({str(exc).splitlines()[0][:200]})", file=str(source)) from None
