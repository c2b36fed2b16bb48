"""Reads for exploring the graph by hand (the dashboard's graph page, the REST query route): which products to
offer first, and an analyst's own read-only Cypher on the workspace's graph."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from shoplens.graph.store import GraphStore
    from shoplens.workspace import Workspace

# The query shown as the REST route's example: a product's strongest co-purchases.
EXAMPLE_QUERY = ("MATCH (p:Product)-[t:BOUGHT_TOGETHER]->(o:Product) WHERE p.id = $id "
                 "RETURN o.id, o.title, t.lift ORDER BY t.lift DESC LIMIT 5")

# Products with the most co-purchase relations first: their neighbourhoods have the most to show.
BUSIEST_PRODUCTS = ("MATCH (p:Product) OPTIONAL MATCH (p)-[t:BOUGHT_TOGETHER]->(:Product) "
                    "RETURN p.id, p.title, count(t) AS pairs ORDER BY pairs DESC, p.id LIMIT $n")


def busiest_products(store: GraphStore, n: int = 30) -> list[dict[str, Any]]:
    """The ``n`` products with the most bought-together relations (then by id): product_id, title, pairs."""
    rows = store.query(BUSIEST_PRODUCTS, {"n": int(n)}, limit=int(n)).rows
    return [{"product_id": pid, "title": title or "", "pairs": int(pairs)} for pid, title, pairs in rows]


def run_query(ws: Workspace, cypher: str, params: dict[str, Any] | None = None, *, limit: int = 1_000,
              timeout_s: float = 3.0) -> dict[str, Any]:
    """An analyst's read-only query on the workspace's graph (write clauses refused, values bound), as a dict of
    columns and rows."""
    from shoplens.graph.store import GraphStore

    with GraphStore.of(ws) as store:
        return store.query(cypher, params, limit=limit, timeout_s=timeout_s).to_dict()
