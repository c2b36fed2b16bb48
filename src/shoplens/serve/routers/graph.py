"""The product graph in the service: read-only Cypher queries (bound parameters, row and time limits), a product's
neighbours, the paths between two products, and counts. The service never builds the graph (``shoplens graph
build`` or ``shoplens run`` do): without one, these answer 503.

Answers: 400 for a syntax error (with the parser's message), a write clause or a bad parameter; 408 when a query
runs past its time limit; 404 for an unknown product; 503 while no graph is built.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Query
from fastapi import Path as PathParam
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from shoplens.graph.explore import EXAMPLE_QUERY, run_query
from shoplens.serve.compute import Compute
from shoplens.serve.deps import ServiceState, get_compute, get_state, get_workspace, require_read
from shoplens.serve.errors import one_line
from shoplens.serve.models import error_responses
from shoplens.serve.registry import Capability
from shoplens.serve.warehouse import jsonable
from shoplens.workspace import Workspace

PREFIX = "/api/v1/graph"
PRODUCT_ID = PathParam(max_length=200, description="the product's id")
MAX_QUERY_CHARS = 20_000
TIMEOUT_SHARE = 0.8  # of the compute budget

router = APIRouter(tags=["graph"])
api = APIRouter(prefix=PREFIX, dependencies=[Depends(require_read)], responses=error_responses(401, 403, 503))


class GraphQuery(BaseModel):
    cypher: str = Field(max_length=MAX_QUERY_CHARS, description="a read-only Cypher query; values as $name",
                        examples=[EXAMPLE_QUERY])
    params: dict[str, Any] = Field(default_factory=dict, description="values bound to $name in the query")
    limit: int = Field(1_000, ge=1, le=10_000, description="at most this many rows")
    timeout_s: float = Field(3.0, gt=0, le=4.0, description="time limit in seconds (at most 80 % of the service's "
                                                           "compute budget, so that a long query is a 408)")


class GraphRows(BaseModel):
    columns: list[str]
    rows: list[list[Any]]
    truncated: bool = Field(description="more rows were there than the limit")
    row_limit: int
    seconds: float


class Neighbours(BaseModel):
    product: dict[str, Any]
    items: list[dict[str, Any]] = Field(description="relation, direction, table, id, name, properties")


class Paths(BaseModel):
    source: str
    target: str
    paths: list[dict[str, Any]] = Field(description="hops, nodes, edges (relation, from, to, properties), text")


def _time_limit(state: ServiceState, asked: float | None = None) -> float:
    """A query's time limit: what was asked, at most 80 % of the compute budget (so a long query is a 408, not
    the budget's 503)."""
    budget = TIMEOUT_SHARE * state.settings.compute_budget_s
    return budget if asked is None else min(asked, budget)


async def _computed(compute: Compute, what: str, work: Any, *args: Any) -> Any:
    """``work(*args)`` within the compute budget; a query past its time limit is a 408."""
    from shoplens.graph import QueryTimeout

    try:
        return await compute(what, work, *args, heavy=False)
    except QueryTimeout as timeout:
        return JSONResponse({"detail": one_line(str(timeout))}, status_code=408)


def _query(ws: Workspace, body: GraphQuery, timeout_s: float) -> dict[str, Any]:
    return run_query(ws, body.cypher, body.params, limit=body.limit, timeout_s=timeout_s)


@api.post("/query", response_model=GraphRows, responses=error_responses(400, 408, 429),
          summary="Run a read-only Cypher query with bound parameters")
async def query(body: GraphQuery, compute: Compute = Depends(get_compute), ws: Workspace = Depends(get_workspace),
                state: ServiceState = Depends(get_state)) -> Any:
    found = await _computed(compute, "graph/query", _query, ws, body, _time_limit(state, body.timeout_s))
    return found if isinstance(found, JSONResponse) else GraphRows(**found)


def _neighbours(ws: Workspace, product_id: str, relations: list[str] | None, k: int,
                timeout_s: float) -> dict[str, Any]:
    from shoplens.graph import GraphStore

    with GraphStore.of(ws, timeout_s=timeout_s) as store:
        product = store.require_product(product_id)
        frame = store.neighbours(product_id, relations=relations, k=k)
    return {"product": jsonable(product), "items": jsonable(frame.to_dict("records"))}


@api.get("/products/{product_id}/neighbours", response_model=Neighbours, responses=error_responses(400, 404, 408),
         summary="A product's neighbours: per relation the strongest first")
async def neighbours(product_id: str = PRODUCT_ID, k: int = Query(10, ge=1, le=100),
                     relations: str | None = Query(None, max_length=400, pattern=r"^[A-Za-z_, ]*$",
                                                   description="only these relations, comma-separated "
                                                               "(BOUGHT_TOGETHER,SIMILAR_TO)"),
                     compute: Compute = Depends(get_compute), ws: Workspace = Depends(get_workspace),
                     state: ServiceState = Depends(get_state)) -> Any:
    chosen = [r.strip() for r in relations.split(",") if r.strip()] if relations else None
    found = await _computed(compute, "graph/neighbours", _neighbours, ws, product_id, chosen, k, _time_limit(state))
    return found if isinstance(found, JSONResponse) else Neighbours(**found)


def _paths(ws: Workspace, source: str, target: str, max_hops: int, limit: int,
           timeout_s: float) -> list[dict[str, Any]]:
    from shoplens.graph import GraphStore

    with GraphStore.of(ws, timeout_s=timeout_s) as store:
        return [jsonable(p.to_dict()) for p in store.paths(source, target, max_hops, limit=limit)]


@api.get("/products/{product_id}/paths/{other_id}", response_model=Paths, responses=error_responses(400, 404, 408),
         summary="The shortest paths between two products (what explains a recommendation)")
async def paths(product_id: str = PRODUCT_ID, other_id: str = PRODUCT_ID, max_hops: int = Query(3, ge=1, le=4),
                limit: int = Query(5, ge=1, le=50), compute: Compute = Depends(get_compute),
                ws: Workspace = Depends(get_workspace), state: ServiceState = Depends(get_state)) -> Any:
    found = await _computed(compute, "graph/paths", _paths, ws, product_id, other_id, max_hops, limit,
                            _time_limit(state))
    return found if isinstance(found, JSONResponse) else Paths(source=product_id, target=other_id, paths=found)


def _stats(ws: Workspace) -> dict[str, Any]:
    from shoplens.graph import GraphStore

    with GraphStore.of(ws) as store:
        return jsonable(store.stats())


@api.get("/stats", summary="Nodes and relations per table, when the graph was built, what was missing")
def stats(ws: Workspace = Depends(get_workspace)) -> dict[str, Any]:
    data = _stats(ws)
    data.pop("folder", None)  # the service does not show server paths
    return data


router.include_router(api)

capability = Capability(name="graph", router=router, requires=("shoplens.graph", "ladybug"))
