"""Product search in the service: ``GET /api/v1/search?q=…&k=…&filters=…`` (read key) answers the built index's
ranking with each result's signals, the facets (category, brand, price bands) and how the query was read. The
service never builds the index (``shoplens search build`` or ``shoplens run`` do); without one it answers 503.

Searches that found nothing or were slow are counted by query text (:mod:`shoplens.search.querylog`, no customer,
session or key): noted in memory, written to ``ws/logs/`` after the response is sent;
``GET /api/v1/search/stats`` (read key) reads the counts."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any, Literal

from fastapi import APIRouter, BackgroundTasks, Depends, HTTPException, Query
from pydantic import BaseModel, Field

from shoplens.errors import InputError, NotFound
from shoplens.serve.compute import Compute
from shoplens.serve.deps import get_compute, get_workspace, require_read
from shoplens.serve.models import error_responses
from shoplens.serve.registry import Capability
from shoplens.workspace import Workspace

PREFIX = "/api/v1/search"
STATS_TOP = 500  # rows per stats answer

router = APIRouter(tags=["search"])
api = APIRouter(prefix=PREFIX, dependencies=[Depends(require_read)], responses=error_responses(400, 401, 403, 503))


class SearchItem(BaseModel):
    rank: int
    product_id: str
    title: str = ""
    brand: str = ""
    category: str = ""
    price: float | None = None
    score: float = Field(description="the fused score: Σ weight × signal standardised over the candidates (with a "
                                     "learned ranker: its score, standardised)")
    signals: dict[str, float] = Field(description="each signal's raw score: bm25, dense:<encoder> (cosine), ltr (the "
                                                  "learned ranker's score, when the index has one)")
    fields: dict[str, float] | None = Field(None, description="with explain: the BM25 of each matching field")


class SearchResponse(BaseModel):
    query: str
    terms: list[str] = Field(description="the query's tokens as the index reads them")
    filters: dict[str, Any]
    items: list[SearchItem]
    facets: dict[str, list[dict[str, Any]]] = Field(description="category, brand and price-band counts")
    candidates: int
    signals: list[str]
    weights: dict[str, float]
    understanding: dict[str, Any] | None = Field(
        None, description="how the query was read: cleaned text, parsed filters, category, rewrites (explain)")


class QueryStat(BaseModel):
    query: str = Field(description="the normalised query text (e-mail addresses and long numbers masked)")
    zero_results: int
    slow: int
    last_seen: str = Field(description="the last day (UTC) it was logged")
    median_ms: float | None = Field(None, description="the median of its recent logged durations")


class SearchStats(BaseModel):
    file: str
    slow_ms: float
    queries_logged: int
    zero_results: int
    slow: int
    queries: list[QueryStat]


def parse_filters(text: str | None, **given: Any) -> dict[str, Any]:
    """The ``filters`` JSON object merged with the single filter parameters (those win)."""
    filters: dict[str, Any] = {}
    if text:
        try:
            filters = json.loads(text)
        except json.JSONDecodeError as exc:
            raise InputError(f"filters is not JSON ({exc.msg}); e.g. {{\"price_max\": 50}}") from None
        if not isinstance(filters, dict):
            raise InputError(f"filters must be a JSON object, got {type(filters).__name__}")
    return filters | {k: v for k, v in given.items() if v is not None}


def _run_query(ws: Workspace, q: str, k: int, filters: dict[str, Any], explain: bool) -> dict[str, Any]:
    from shoplens.search import api as search_api

    try:
        return search_api.answer(ws, q, k=k, filters=filters, explain=explain)
    except NotFound as exc:
        raise HTTPException(503, f"{exc}") from None


@api.get("", response_model=SearchResponse, response_model_exclude_none=True,
         summary="Products for a search text, with signals, facets and filters")
async def search(background: BackgroundTasks,
                 q: str = Query(..., min_length=1, max_length=5000, description="the search text"),
                 k: int = Query(10, ge=1, le=100),
                 filters: str | None = Query(None, max_length=2000,
                                             description='JSON: {"category", "brand", "price_min", "price_max"}'),
                 category: str | None = Query(None, max_length=500), brand: str | None = Query(None, max_length=200),
                 price_min: float | None = Query(None, ge=0), price_max: float | None = Query(None, ge=0),
                 explain: bool = Query(False, description="add each field's BM25 to every result"),
                 compute: Compute = Depends(get_compute), ws: Workspace = Depends(get_workspace)) -> dict[str, Any]:
    from shoplens.search.querylog import QueryLog

    if not q.strip():
        raise InputError("the query is empty; give some words to search for")
    chosen = parse_filters(filters, category=category, brand=brand, price_min=price_min, price_max=price_max)
    started = time.perf_counter()
    page = await compute("search/query", _run_query, ws, q, k, chosen, explain, heavy=False)
    log = QueryLog.of(ws)
    if log.note(q, results=len(page["items"]), ms=(time.perf_counter() - started) * 1000):
        background.add_task(log.flush)  # after the response is sent: the shopper never waits on the file
    return page


@api.get("/stats", response_model=SearchStats, summary="Searches that found nothing or were slow, counted by text")
def stats(kind: Literal["zero", "slow", "all"] = Query("all", description="zero: found nothing; slow; all"),
          top: int = Query(50, ge=1, le=STATS_TOP), ws: Workspace = Depends(get_workspace)) -> dict[str, Any]:
    from shoplens.search.querylog import QueryLog

    return QueryLog.of(ws).stats(kind, top)


router.include_router(api)

def warm(workspace_path: Path) -> None:
    """Open the built index and its ranker and embed one query, so that the first shopper does not wait."""
    from shoplens.search import api as search_api

    search_api.warm(Workspace.open(workspace_path))


capability = Capability(name="search", router=router, pages=(), requires=("shoplens.search", "tantivy"), warm=warm)
