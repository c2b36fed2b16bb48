"""Reads for exploring the graph by hand (the dashboard's graph page): which products to offer first."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from shoplens.graph.store import GraphStore

# Products with the most co-purchase relations first: their neighbourhoods have the most to show.
BUSIEST_PRODUCTS = ("MATCH (p:Product) OPTIONAL MATCH (p)-[t:BOUGHT_TOGETHER]->(:Product) "
                    "RETURN p.id, p.title, count(t) AS pairs ORDER BY pairs DESC, p.id LIMIT $n")


def busiest_products(store: GraphStore, n: int = 30) -> list[dict[str, Any]]:
    """The ``n`` products with the most bought-together relations (then by id): product_id, title, pairs."""
    rows = store.query(BUSIEST_PRODUCTS, {"n": int(n)}, limit=int(n)).rows
    return [{"product_id": pid, "title": title or "", "pairs": int(pairs)} for pid, title, pairs in rows]
