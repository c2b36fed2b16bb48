"""Pipeline step of the graph (``shoplens run`` / ``shoplens demo``): at deployment, after the other capabilities
stored what the graph reads (analytics' market-basket pairs, the reviews' aspect mentions), the product graph is
built from the warehouse into ``graph/`` and swapped in. The demo profile keeps 5 similar products per product
instead of 10."""

from __future__ import annotations

from typing import Any

from shoplens.pipeline import NotApplicable, RunContext, step

CAPABILITY = "graph"


@step(CAPABILITY, "deploy", "build product graph")
def build_graph(ctx: RunContext) -> dict[str, Any]:
    from shoplens.graph import ProductGraph, schema

    if not ctx.ws.counts().get("products"):
        raise NotApplicable("no products in the warehouse: the graph is built around the catalog")
    graph = ProductGraph(similar_k=5 if ctx.profile == "demo" else 10).fit(ctx.ws)
    counts = graph.counts_
    summary: dict[str, Any] = {"nodes": sum(counts[n] for n in schema.NODE_NAMES),
                               "relations": sum(counts[r] for r in schema.REL_NAMES),
                               "seconds": graph.manifest_["seconds"]}
    summary.update({f"missing {table}": why for table, why in graph.missing_.items()})
    return summary
