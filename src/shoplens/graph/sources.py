"""What the graph is built from: the warehouse's tables and what the other capabilities stored there, written as
Parquet files (one per node or relation table, columns in the schema's order) for ``COPY … FROM``.

Most files are written by DuckDB itself (``COPY (SELECT …) TO``), so no row passes through Python. Relations
keep only ends that exist as nodes (``COPY`` refuses a dangling end). Sources that another capability
produces are read from its warehouse table, not recomputed here:

- ``analytics_pair_counts`` (the analytics capability's market baskets: orders together, support,
  confidence both ways, lift) → BOUGHT_TOGETHER;
- ``reviews_aspect_mentions`` (the reviews capability's aspect model, one row per clause) → Aspect, MENTIONS.

A source that is absent is reported as such (``Written.missing``), never faked.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from shoplens.graph import schema
from shoplens.views import VOID_STATUSES

if TYPE_CHECKING:
    import duckdb

PAIRS_TABLE = "analytics_pair_counts"
MENTIONS_TABLE = "reviews_aspect_mentions"
AMAZON_RELATIONS = {"also_buy": "ALSO_BOUGHT", "also_view": "VIEWED_TOGETHER"}
CATEGORY_SEPARATOR = " > "
# Attributes that are catalog facts worth a node; long texts, ranks, dates and image links are not.
SKIPPED_ATTRIBUTES = frozenset({"rank", "date", "feature", "description", "image", "price_text", "category_extra",
                                "similar_item", "tech1", "tech2", "main_cat"})
MAX_ATTRIBUTE_VALUE = 60  # characters: longer values are sentences, not facts
EXAMPLE_REVIEWS = 3

_SOLD = "coalesce(lower(o.status), '') NOT IN (" + ", ".join(f"'{s}'" for s in VOID_STATUSES) + ")"


@dataclass
class Written:
    """The files written for one build: table name → (file, rows), and the sources that were absent."""

    folder: Path
    files: dict[str, tuple[Path, int]] = field(default_factory=dict)
    missing: dict[str, str] = field(default_factory=dict)

    def path(self, table: str) -> Path:
        return self.folder / f"{table}.parquet"

    def add(self, table: str, rows: int) -> None:
        self.files[table] = (self.path(table), rows)


def has_table(con: duckdb.DuckDBPyConnection, name: str) -> bool:
    return bool(con.execute("SELECT count(*) FROM information_schema.tables WHERE table_name = ?", [name])
                .fetchone()[0])


def copy_query(con: duckdb.DuckDBPyConnection, written: Written, table: str, sql: str) -> int:
    """``sql`` (whose columns follow the schema of ``table``) into ``table``'s Parquet file; returns its rows."""
    path = written.path(table)
    con.execute(f"COPY ({sql}) TO '{path.as_posix()}' (FORMAT parquet)")
    rows = int(con.execute(f"SELECT count(*) FROM read_parquet('{path.as_posix()}')").fetchone()[0])
    written.add(table, rows)
    return rows


def write_frame(written: Written, table: str, frame: pd.DataFrame | pa.Table) -> int:
    arrow = frame if isinstance(frame, pa.Table) else pa.Table.from_pandas(frame, preserve_index=False)
    pq.write_table(arrow, written.path(table))
    written.add(table, arrow.num_rows)
    return arrow.num_rows


# -- the catalog ----------------------------------------------------------------------------------------
def catalog(con: duckdb.DuckDBPyConnection, written: Written) -> None:
    """Product, Brand, MADE_BY from the products table; Category, IN_CATEGORY, SUBCATEGORY_OF from its paths."""
    copy_query(con, written, "Product", """
        SELECT product_id AS id, title, brand, category, CAST(price AS DOUBLE) AS price
        FROM products WHERE product_id IS NOT NULL ORDER BY product_id""")
    copy_query(con, written, "Brand", """
        SELECT DISTINCT trim(brand) AS id FROM products WHERE nullif(trim(brand), '') IS NOT NULL ORDER BY 1""")
    copy_query(con, written, "MADE_BY", """
        SELECT product_id AS "from", trim(brand) AS "to" FROM products
        WHERE product_id IS NOT NULL AND nullif(trim(brand), '') IS NOT NULL ORDER BY 1""")
    paths = [row[0] for row in con.execute("""SELECT DISTINCT category FROM products
                                              WHERE nullif(trim(category), '') IS NOT NULL""").fetchall()]
    categories, parents = category_tree(paths)
    write_frame(written, "Category", categories)
    write_frame(written, "SUBCATEGORY_OF", parents)
    copy_query(con, written, "IN_CATEGORY", f"""
        SELECT product_id AS "from", {normalized_path_sql('category')} AS "to" FROM products
        WHERE product_id IS NOT NULL AND nullif(trim(category), '') IS NOT NULL ORDER BY 1""")


def normalized_path_sql(column: str) -> str:
    """SQL for a category path with its parts trimmed, as :func:`category_tree` names it."""
    return (f"array_to_string(list_filter(list_transform(string_split({column}, '>'), lambda x: trim(x)), "
            f"lambda x: x <> ''), '{CATEGORY_SEPARATOR}')")


def category_tree(paths: list[str]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Every prefix of every path as a Category (id = the path so far) and each one's parent link."""
    nodes: dict[str, tuple[str, int]] = {}
    links: set[tuple[str, str]] = set()
    for path in paths:
        parts = [p.strip() for p in path.split(">") if p.strip()]
        for depth in range(1, len(parts) + 1):
            key = CATEGORY_SEPARATOR.join(parts[:depth])
            nodes[key] = (parts[depth - 1], depth)
            if depth > 1:
                links.add((key, CATEGORY_SEPARATOR.join(parts[:depth - 1])))
    categories = pd.DataFrame([(k, name, level) for k, (name, level) in sorted(nodes.items())],
                              columns=schema.node("Category").column_names).astype({"level": "int64"})
    parents = pd.DataFrame(sorted(links), columns=schema.rel("SUBCATEGORY_OF").column_names)
    return categories, parents


def attributes(con: duckdb.DuckDBPyConnection, written: Written) -> None:
    """Attribute and HAS_ATTRIBUTE from products.attributes (JSON): short scalar facts, one level of nesting
    (Amazon's ``details``) flattened into its keys."""
    rows = con.execute("""SELECT product_id, attributes FROM products
                          WHERE product_id IS NOT NULL AND attributes IS NOT NULL ORDER BY product_id""").fetchall()
    facts: set[tuple[str, str]] = set()
    for product_id, text in rows:
        for name, value in catalog_facts(text):
            facts.add((product_id, f"{name}={value}"))
    links = pd.DataFrame(sorted(facts), columns=schema.rel("HAS_ATTRIBUTE").column_names)
    keys = sorted(set(links["to"]))
    nodes = pd.DataFrame([(k, *k.split("=", 1)) for k in keys], columns=schema.node("Attribute").column_names)
    write_frame(written, "Attribute", nodes)
    write_frame(written, "HAS_ATTRIBUTE", links)


def catalog_facts(text: str | None) -> list[tuple[str, str]]:
    """(name, value) pairs of a product's attributes JSON that are facts (see :data:`SKIPPED_ATTRIBUTES`)."""
    try:
        data = json.loads(text) if text else {}
    except (TypeError, ValueError):
        return []
    if not isinstance(data, dict):
        return []
    facts = []
    for name, value in data.items():
        if name in SKIPPED_ATTRIBUTES:
            continue
        inner = value.items() if isinstance(value, dict) else [(name, value)]
        for key, item in inner:
            for one in item if isinstance(item, list) else [item]:
                if isinstance(one, str | int | float) and not isinstance(one, bool):
                    shown = str(one).strip()
                    if shown and len(shown) <= MAX_ATTRIBUTE_VALUE and "=" not in str(key):
                        facts.append((str(key).strip(), shown))
    return facts


# -- behaviour ------------------------------------------------------------------------------------------
def purchases(con: duckdb.DuckDBPyConnection, written: Written) -> None:
    """Customer and BOUGHT from orders and their lines (sold orders only; refunds and cancellations left out)."""
    bought = f"""
        SELECT o.customer_id AS "from", i.product_id AS "to", count(DISTINCT o.order_id) AS orders,
               CAST(sum(i.quantity) AS DOUBLE) AS units, max(o.order_ts) AS last_time
        FROM order_items i JOIN orders o USING (order_id) SEMI JOIN products p ON p.product_id = i.product_id
        WHERE o.customer_id IS NOT NULL AND i.quantity > 0 AND {_SOLD}
        GROUP BY 1, 2"""
    con.execute(f"CREATE OR REPLACE TEMP TABLE graph_bought AS {bought}")
    copy_query(con, written, "BOUGHT", 'SELECT * FROM graph_bought ORDER BY "from", "to"')
    copy_query(con, written, "Customer", 'SELECT DISTINCT "from" AS id FROM graph_bought ORDER BY 1')
    con.execute("DROP TABLE graph_bought")


def bought_together(con: duckdb.DuckDBPyConnection, written: Written) -> None:
    """BOUGHT_TOGETHER both ways from the analytics capability's pair counts."""
    if not has_table(con, PAIRS_TABLE):
        written.missing["BOUGHT_TOGETHER"] = (f"no {PAIRS_TABLE} in the warehouse: run the market-basket analysis "
                                              "first (`shoplens analytics baskets` or `shoplens run`)")
        return
    copy_query(con, written, "BOUGHT_TOGETHER", f"""
        WITH pairs AS (
            SELECT item_a AS "from", item_b AS "to", orders, support, confidence_a_b AS confidence, lift
            FROM {PAIRS_TABLE}
            UNION ALL
            SELECT item_b, item_a, orders, support, confidence_b_a, lift FROM {PAIRS_TABLE}
        )
        SELECT "from", "to", CAST(orders AS BIGINT) AS orders, CAST(support AS DOUBLE) AS support,
               CAST(confidence AS DOUBLE) AS confidence, CAST(lift AS DOUBLE) AS lift
        FROM pairs SEMI JOIN products a ON a.product_id = pairs."from" SEMI JOIN products b ON b.product_id = pairs."to"
        ORDER BY 1, 2""")


def viewed_together(con: duckdb.DuckDBPyConnection, written: Written, min_sessions: int, top_k: int) -> None:
    """VIEWED_TOGETHER: products viewed in the same sessions (at least ``min_sessions``; each product's
    ``top_k`` strongest, both ways), and Amazon meta ``also_view`` from kg_triples."""
    parts = []
    if has_table(con, "events"):
        parts.append(f"""
            WITH views AS (
                SELECT DISTINCT e.session_id, e.product_id FROM events e SEMI JOIN products p USING (product_id)
                WHERE e.event_type = 'view' AND e.session_id IS NOT NULL
            ),
            pairs AS (
                SELECT a.product_id AS "from", b.product_id AS "to", count(*) AS sessions
                FROM views a JOIN views b ON a.session_id = b.session_id AND a.product_id <> b.product_id
                GROUP BY 1, 2 HAVING count(*) >= {int(min_sessions)}
            )
            SELECT "from", "to", sessions, 'events' AS source FROM pairs
            QUALIFY row_number() OVER (PARTITION BY "from" ORDER BY sessions DESC, "to") <= {int(top_k)}""")
    parts.append(_meta_edges("also_view", "0 AS sessions, 'also_view' AS source"))
    copy_query(con, written, "VIEWED_TOGETHER",
               " UNION ALL ".join(f"SELECT * FROM ({p})" for p in parts) + " ORDER BY 1, 2, 4")


def also_bought(con: duckdb.DuckDBPyConnection, written: Written) -> None:
    copy_query(con, written, "ALSO_BOUGHT", _meta_edges("also_buy", "") + " ORDER BY 1, 2")


def _meta_edges(relation: str, extra: str) -> str:
    """Product → product triples of Amazon meta (``kg_triples`` rows with ``relation``), both ends known."""
    columns = f', {extra}' if extra else ""
    return f"""
        SELECT DISTINCT t.head AS "from", t.tail AS "to"{columns} FROM kg_triples t
        SEMI JOIN products a ON a.product_id = t.head SEMI JOIN products b ON b.product_id = t.tail
        WHERE t.relation = '{relation}' AND t.head <> t.tail"""


def aspects(con: duckdb.DuckDBPyConnection, written: Written) -> None:
    """Aspect and MENTIONS from the reviews capability's aspect mentions."""
    if not has_table(con, MENTIONS_TABLE):
        written.missing["MENTIONS"] = (f"no {MENTIONS_TABLE} in the warehouse: run the review aspect model first "
                                       "(`shoplens reviews aspects` or `shoplens run`)")
        return
    copy_query(con, written, "MENTIONS", f"""
        WITH per_review AS (  -- one vote per review and aspect: the mean sentiment of its clauses
            SELECT m.product_id, m.aspect, m.review_id,
                   avg(CASE m.sentiment WHEN 'positive' THEN 1.0 WHEN 'negative' THEN -1.0 ELSE 0.0 END) AS s
            FROM {MENTIONS_TABLE} m SEMI JOIN products p USING (product_id)
            WHERE m.aspect IS NOT NULL AND m.review_id IS NOT NULL
            GROUP BY 1, 2, 3
        )
        SELECT product_id AS "from", aspect AS "to", count(*) AS reviews, avg(s) AS mean_sentiment,
               list(review_id ORDER BY review_id)[1:{EXAMPLE_REVIEWS}] AS example_review_ids
        FROM per_review GROUP BY 1, 2 ORDER BY 1, 2""")
    copy_query(con, written, "Aspect", f"""
        SELECT DISTINCT "to" AS id FROM read_parquet('{written.path("MENTIONS").as_posix()}') ORDER BY 1""")


def questions(con: duckdb.DuckDBPyConnection, written: Written) -> None:
    """Question and ABOUT: the product questions of the qa table (shop-wide FAQ name no product)."""
    copy_query(con, written, "Question", """
        SELECT q.qa_id AS id, q.question, q.answer, q.source FROM qa q SEMI JOIN products p USING (product_id)
        ORDER BY 1""")
    copy_query(con, written, "ABOUT", """
        SELECT q.qa_id AS "from", q.product_id AS "to" FROM qa q SEMI JOIN products p USING (product_id)
        ORDER BY 1""")


def warehouse_triples(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """kg_triples rows other than Amazon meta's product edges: external knowledge (head, relation, tail)."""
    if not has_table(con, "kg_triples"):
        return pd.DataFrame(columns=["head", "relation", "tail"])
    names = ", ".join(f"'{r}'" for r in AMAZON_RELATIONS)
    return con.execute(f"""SELECT head, relation, tail FROM kg_triples
                           WHERE relation NOT IN ({names}) AND head IS NOT NULL AND tail IS NOT NULL""").df()


def entities(con: duckdb.DuckDBPyConnection, written: Written, imported: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    """Entity, RELATED and LINKED_TO from the warehouse's other triples and the imported ones (``imported``:
    triples and item ↔ entity links). A warehouse triple whose head or tail is a product id links it."""
    triples = pd.concat([warehouse_triples(con), imported[0]], ignore_index=True).drop_duplicates()
    ids = pd.Series(pd.concat([triples["head"], triples["tail"]]).unique(), dtype=object)
    products = set(con.execute("SELECT product_id FROM products WHERE product_id IS NOT NULL").df()["product_id"])
    own = pd.DataFrame({"item_id": ids[ids.isin(products)], "entity_id": ids[ids.isin(products)]})
    links = pd.concat([own, imported[1]], ignore_index=True).drop_duplicates()
    links = links[links["item_id"].isin(products)]
    ids = pd.Series(pd.concat([ids, links["entity_id"]]).unique(), dtype=object).sort_values()
    write_frame(written, "Entity", pd.DataFrame({"id": ids.to_numpy(dtype=object)}))
    write_frame(written, "RELATED", pd.DataFrame({"from": triples["head"].to_numpy(dtype=object),
                                                  "to": triples["tail"].to_numpy(dtype=object),
                                                  "relation": triples["relation"].to_numpy(dtype=object)}))
    write_frame(written, "LINKED_TO", pd.DataFrame({"from": links["item_id"].to_numpy(dtype=object),
                                                    "to": links["entity_id"].to_numpy(dtype=object)}))


# -- text similarity ------------------------------------------------------------------------------------
def product_texts(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """Each product's text for SIMILAR_TO: title, brand, category and the start of its description."""
    return con.execute("""
        SELECT product_id, concat_ws('. ', title, brand, replace(category, ' > ', ', '), left(description, 300))
               AS text
        FROM products WHERE product_id IS NOT NULL ORDER BY product_id""").df()


def nearest(vectors: np.ndarray, k: int, block: int = 2048) -> tuple[np.ndarray, np.ndarray]:
    """The ``k`` nearest rows of each row by cosine (rows are unit length), itself left out: (indices, cosines),
    computed in blocks so that memory stays at ``block × n`` floats."""
    n = len(vectors)
    k = min(k, n - 1)
    if k <= 0:
        return np.empty((n, 0), dtype=np.int64), np.empty((n, 0), dtype=np.float32)
    indices = np.empty((n, k), dtype=np.int64)
    cosines = np.empty((n, k), dtype=np.float32)
    for start in range(0, n, block):
        scores = vectors[start:start + block] @ vectors.T
        rows = np.arange(scores.shape[0])
        scores[rows, start + rows] = -np.inf
        top = np.argpartition(-scores, k - 1, axis=1)[:, :k]
        top_scores = np.take_along_axis(scores, top, axis=1)
        order = np.lexsort((top, -top_scores), axis=1)  # by cosine, ties by index: deterministic
        indices[start:start + block] = np.take_along_axis(top, order, axis=1)
        cosines[start:start + block] = np.take_along_axis(top_scores, order, axis=1)
    return indices, cosines


def similar(written: Written, ids: np.ndarray, vectors: np.ndarray, k: int) -> None:
    indices, cosines = nearest(vectors.astype(np.float32), k)
    ranks = np.tile(np.arange(1, indices.shape[1] + 1), len(ids))
    write_frame(written, "SIMILAR_TO", pd.DataFrame({
        "from": np.repeat(ids, indices.shape[1]), "to": ids[indices.ravel()],
        "cosine": cosines.ravel().astype(np.float64), "rank": ranks.astype(np.int64)}))
