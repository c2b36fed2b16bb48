"""The dashboard's search page: a query box, the ranked products with why each ranks (every signal's score, each
field's BM25 and how the query was read) and the facets (category, brand, price bands), which filter when clicked.
The page only carries the address's query and filters: ``static/search.js`` asks ``GET /api/v1/search`` (with
this session) and shows the answer, and the address follows every search (``?q=…&brand=…``), so back works and a
search can be shared."""

from __future__ import annotations

from typing import Any

from shoplens.serve.registry import Capability, Page, PageQuery
from shoplens.serve.warehouse import Warehouse

PAGE_PATH = "/search"
SEARCH_API = "/api/v1/search"  # the search router's route
SHOWN = 20  # results per search: a screenful with their reasons
FILTERS = ("category", "brand", "price_min", "price_max")  # what the address may carry, as the API names them


def search_page(warehouse: Warehouse, query: PageQuery) -> dict[str, Any]:
    """The page's context: the query and filters from the address, where the script searches; or how to build
    the index when there is none."""
    from shoplens.search import api

    if not api.is_built(warehouse.ws):
        return {"missing": "No search index yet: run `shoplens search build` (or `shoplens run`)."}
    return {"q": query.get("q", ""), "filters": {name: query.get(name, "") for name in FILTERS},
            "api": SEARCH_API, "k": SHOWN}


capability = Capability(
    name="search-page",
    pages=(Page(path=PAGE_PATH, title="Search", template="search.html", context=search_page, order=36),),
    requires=("shoplens.search", "tantivy"),
)
