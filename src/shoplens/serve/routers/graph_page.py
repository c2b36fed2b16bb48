"""The dashboard's graph page: a product's neighbourhood in the product graph, drawn in the browser with
Cytoscape.js (served from the package, ``static/vendor/cytoscape``; no CDN) from
``GET /api/v1/graph/products/{id}/neighbours``. Clicking a neighbouring product centres the drawing on it (its
neighbourhood is fetched, the address follows with ``?product=``); an unknown product says so. The page itself
only offers products to start from: the drawing is the script's (``static/graph.js``)."""

from __future__ import annotations

from typing import Any

from shoplens.serve.registry import Capability, Page, PageQuery
from shoplens.serve.warehouse import Warehouse

PAGE_PATH = "/graph"
NEIGHBOURS_API = "/api/v1/graph/products/"  # + {id}/neighbours: the graph router's route
PER_RELATION = 6  # neighbours drawn per relation: enough to see the shape, few enough to read the labels
OFFERED = 30  # products offered in the picker


def product_page(warehouse: Warehouse, query: PageQuery) -> dict[str, Any]:
    """The page's context: the product to centre on (``?product=``, else the one with the most co-purchases),
    the products offered in the picker, and where the script fetches neighbourhoods."""
    from shoplens.graph import GraphStore
    from shoplens.graph.explore import busiest_products
    from shoplens.graph.folder import graph_folder, is_built

    folder = graph_folder(warehouse.ws)
    if not is_built(folder):
        return {"missing": "No product graph yet: run `shoplens graph build` (or `shoplens run`)."}
    with GraphStore(folder) as store:
        offered = busiest_products(store, OFFERED)
    product = query.get("product") or (offered[0]["product_id"] if offered else "")
    return {"product": product, "offered": offered, "api": NEIGHBOURS_API, "per_relation": PER_RELATION}


capability = Capability(
    name="graph-page",
    pages=(Page(path=PAGE_PATH, title="Product graph", template="graph_product.html", context=product_page,
                order=35),),
    requires=("shoplens.graph", "ladybug"),
)
