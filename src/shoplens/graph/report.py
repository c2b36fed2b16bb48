"""The report's graph section: what the graph holds (nodes and relations per table, sources that were missing)
and one product's neighbourhood, the product with the most co-purchase relations."""

from __future__ import annotations

import html
from typing import TYPE_CHECKING

from shoplens.report import section, table_html

if TYPE_CHECKING:
    from shoplens.workspace import Workspace

SAMPLE_PER_RELATION = 3
BUSIEST = ("MATCH (p:Product) OPTIONAL MATCH (p)-[t:BOUGHT_TOGETHER]->(:Product) "
           "RETURN p.id, count(t) AS pairs ORDER BY pairs DESC, p.id LIMIT 1")


@section("Product graph", order=70)
def graph_section(ws: Workspace) -> str | None:
    from shoplens.graph import GraphStore
    from shoplens.graph.folder import graph_folder, is_built

    if not is_built(graph_folder(ws)):
        return None
    with GraphStore.of(ws) as store:
        stats = store.stats()
        rows = store.query(BUSIEST).rows
        if not rows:
            return None
        product = store.require_product(rows[0][0])
        neighbours = store.neighbours(product["product_id"], k=SAMPLE_PER_RELATION)
    counts = [{"table": t, "kind": "node", "rows": n} for t, n in stats["nodes"].items()]
    counts += [{"table": t, "kind": "relation", "rows": n} for t, n in stats["relations"].items()]
    parts = [f"<p>Built {html.escape(stats['built_at'])} in {stats['build_seconds']:.1f} s "
             "(LadybugDB, queried in Cypher: <code>shoplens graph query</code>).</p>", table_html(counts)]
    parts += [f"<p>{html.escape(table)}: {html.escape(why)}</p>" for table, why in stats["missing"].items()]
    shown = [{"relation": r.relation, "neighbour": r.name or r.id, "properties": _props(r.properties)}
             for r in neighbours.itertuples()]
    title = html.escape(f"{product['product_id']} — {product['title'] or ''}")
    parts.append(f"<h3>Neighbourhood of {title}</h3>" + table_html(shown))
    return "\n".join(parts)


def _props(properties: dict) -> str:
    return ", ".join(f"{k} {v:.3g}" if isinstance(v, float) else f"{k} {v}" for k, v in properties.items())
