"""Pipeline step of the graph (``shoplens run`` / ``shoplens demo``): at deployment, after the other capabilities
stored what the graph reads (analytics' market-basket pairs, the reviews' aspect mentions), the product graph is
built from the warehouse into ``graph/`` and swapped in. The demo profile keeps 5 similar products per product
instead of 10."""

from __future__ import annotations

from typing import Any

from shoplens.pipeline import NotApplicable, RunContext, step

CAPABILITY = "graph"
# the catalog, orders and events, review aspects and market baskets stored earlier in the run, given triples
READS = ("products", "customers", "orders", "order_items", "events", "reviews", "qa", "kg_triples",
         "analytics_pair_counts", "reviews_aspect_mentions")


@step(CAPABILITY, "deploy", "build product graph", reads=READS)
def build_graph(ctx: RunContext) -> dict[str, Any]:
    from shoplens.graph import ProductGraph, schema

    if not ctx.ws.counts().get("products"):
        raise NotApplicable("no products in the warehouse: the graph is built around the catalog")
    previous = ctx.reusable()
    if previous is not None and (ctx.ws.path / "graph").is_dir() and any((ctx.ws.path / "graph").iterdir()):
        ctx.reuse(f"product graph kept: the data grew within the {ctx.reuse_limit:.0%} it is kept for; "
                  f"{ctx.grown_rows('products'):,} new products join it at the next rebuild (past that growth, or "
                  "`shoplens run --full-rerun`)")
        return {**previous.summary, "kept": True}
    graph = ProductGraph(similar_k=5 if ctx.profile == "demo" else 10).fit(ctx.ws)
    counts = graph.counts_
    summary: dict[str, Any] = {"nodes": sum(counts[n] for n in schema.NODE_NAMES),
                               "relations": sum(counts[r] for r in schema.REL_NAMES),
                               "seconds": graph.manifest_["seconds"]}
    summary.update({f"missing {table}": why for table, why in graph.missing_.items()})
    return summary
