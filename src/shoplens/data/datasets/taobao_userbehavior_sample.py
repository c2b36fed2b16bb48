"""Taobao UserBehavior (Alibaba Tianchi) → products (item → category) + events (pv/cart/fav/buy)."""

from __future__ import annotations

from pathlib import Path

import duckdb

from shoplens.data.datasets._common import RESEARCH_ONLY, DatasetInfo, Part, Reports, locate
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
        Part("products", "products", FILES[0], 3_614,
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
    return {
        "products": ws.ingest("products", _item_categories(source), name=source.name, progress=progress),
        "events": ws.ingest("events", source, header=False, delimiter=",", mapping=EVENT_COLUMNS,
                            ts_format="epoch_s", progress=progress),
    }


def _item_categories(source: Path):  # noqa: ANN202 - a pyarrow.Table
    """Distinct (item, category) pairs, in order of first appearance; DuckDB streams the file."""
    query = """
        SELECT item AS product_id, category FROM (
            SELECT column1 AS item, column2 AS category, min(rowid_) AS first
            FROM (SELECT *, row_number() OVER () AS rowid_ FROM read_csv(?, header = false, all_varchar = true,
                                                                       columns = {'column0': 'VARCHAR',
                                                                                  'column1': 'VARCHAR',
                                                                                  'column2': 'VARCHAR',
                                                                                  'column3': 'VARCHAR',
                                                                                  'column4': 'VARCHAR'}))
            GROUP BY ALL) ORDER BY first"""
    with duckdb.connect() as con:
        return con.execute(query, [str(source)]).to_arrow_table()
