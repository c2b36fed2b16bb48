"""Recommendations in the service: the deployed model's top-K for a customer with explanations, a
customer's history, similar and bought-together products, and the dashboard page (pick a customer, see
the history and the recommendations with their reasons). The model is loaded once per version and
process; the service never trains (``shoplens recommend train`` or ``shoplens run`` do)."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Query, Request
from fastapi import Path as PathParam
from fastapi.responses import RedirectResponse, Response
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from shoplens.errors import NotFound, ShoplensError
from shoplens.serve.compute import Compute
from shoplens.serve.deps import ServiceState, get_compute, get_state, get_warehouse, require_read, session_key
from shoplens.serve.live import MODEL_VERSION_HEADER, Served, live_models
from shoplens.serve.models import error_responses
from shoplens.serve.registry import Capability, Page, PageQuery
from shoplens.serve.warehouse import Warehouse, jsonable
from shoplens.workspace import Workspace

PREFIX = "/api/v1/recommend"
CUSTOMER_ID = PathParam(max_length=200, description="the customer's id")
PRODUCT_ID = PathParam(max_length=200, description="the product's id")
PAGE_PATH = "/recommend"
CUSTOMER_PAGE = "/recommend/customer"

router = APIRouter(tags=["recommend"])
api = APIRouter(prefix=PREFIX, dependencies=[Depends(require_read)], responses=error_responses(401, 403, 404, 503))


class PathNode(BaseModel):
    table: str = Field(description="the node's table in the product graph: Customer, Product, Brand, Aspect …")
    id: str
    name: str


class PathEdge(BaseModel):
    source: PathNode
    relation: str = Field(description="the relation, stored as source -relation-> target in the graph")
    target: PathNode
    properties: dict[str, Any] = Field(default_factory=dict, description="the relation's numbers (orders, lift …)")


class Recommendation(BaseModel):
    rank: int
    product_id: str
    title: str = ""
    score: float
    reason: str = Field(description="why this product: 'because you bought …', 'popular in …', or a path in the "
                                    "product graph: 'bought together with … in 41 orders'")
    path_kind: str | None = Field(None, description="the kind of graph path the reason names (bought_together, "
                                                    "praised_aspect, same_brand …); null without one")
    path: list[PathEdge] | None = Field(None, description="the graph path from the customer to the product, edge "
                                                          "by edge; null when the reason names none")


class CustomerRecommendations(BaseModel):
    customer_id: str
    model: str
    version: str
    items: list[Recommendation]


class HistoryItem(BaseModel):
    ts: str | None
    kind: str
    product_id: str
    title: str | None
    category: str | None
    weight: float | None


class CustomerHistory(BaseModel):
    customer_id: str
    items: list[HistoryItem]


class RelatedItems(BaseModel):
    product_id: str
    items: list[dict[str, Any]]


class ModelSummary(BaseModel):
    model: str
    version: str
    created_at: str
    notes: str
    params: dict[str, Any]
    evaluation: list[dict[str, Any]] = Field(description="the latest evaluation beside the baselines, with protocol")


def _served(warehouse: Warehouse) -> Served:
    """The deployed recommender as this request sees it (one version from its start to its end; hot reload)."""
    from shoplens.recommend import api as rec

    return live_models(warehouse.ws.path).get(rec.REGISTRY_NAME, _load_recommender, warehouse.ws)


def _load_recommender(folder: Path) -> Any:
    from shoplens.recommend.base import Recommender

    return Recommender.load(folder)


def _rows(frame: Any) -> list[dict[str, Any]]:
    return [{k: jsonable(v) for k, v in row.items()} for row in frame.to_dict("records")]


def _recommend(warehouse: Warehouse, model: Any, customer_id: str, k: int) -> Any:
    """The model's top-k for the customer, explained by a path of the product graph where the workspace has one."""
    with warehouse.read() as con:
        return _explained(warehouse, con, model, customer_id, k)


def _explained(warehouse: Warehouse, con: Any, model: Any, customer_id: str, k: int,
               praised: set[tuple[str, str]] | None = None) -> Any:
    from shoplens.recommend.graph_paths import explain_with_graph

    return explain_with_graph(warehouse.ws, model.recommend(customer_id, k), customer_id, source=con,
                              praised=praised)


def _customer_answer(warehouse: Warehouse, served: Served, customer_id: str, k: int) -> Response:
    """The customer's recommendations as sent, kept in memory while the served version's files, the product graph
    and the warehouse (the customer's praised aspects) are unchanged (``serve.answers``)."""
    from shoplens.recommend.graph_paths import praised_by_customer

    generation = warehouse.generation()

    def build(con: Any) -> CustomerRecommendations:
        praised = (warehouse.answers.derived(generation, "recommend/praised", lambda: praised_by_customer(con))
                   if warehouse.answers is not None and generation is not None else None)  # once per generation
        frame = _explained(warehouse, con, served.model, customer_id, k,
                           None if praised is None else praised.get(str(customer_id), set()))
        return CustomerRecommendations(customer_id=customer_id, model=served.model.name, version=served.version,
                                       items=[Recommendation(**r) for r in _rows(frame)])

    return warehouse.answer(_customer_key(warehouse, served, customer_id, k), build,
                            {MODEL_VERSION_HEADER: served.header}, generation=generation)


def _customer_key(warehouse: Warehouse, served: Served, customer_id: str, k: int) -> tuple[Any, ...]:
    from shoplens.recommend.graph_paths import graph_stamp

    return "recommend/customers", customer_id, k, served.signature, graph_stamp(warehouse.ws)


@api.get("/model", response_model=ModelSummary, summary="The deployed recommender: version, parameters, evaluation")
def model_summary(warehouse: Warehouse = Depends(get_warehouse)) -> ModelSummary:
    from shoplens.recommend import api as rec
    from shoplens.registry import ModelRegistry

    card = ModelRegistry(warehouse.ws).card(rec.REGISTRY_NAME)
    return ModelSummary(model=str(card.params.get("model")), version=card.version, created_at=card.created_at,
                        notes=card.notes, params=jsonable(card.params),
                        evaluation=jsonable(rec.latest_evaluation(warehouse.ws) or card.metrics))


@api.get("/customers/{customer_id}", response_model=CustomerRecommendations,
         summary="Top-k products for a customer, each with its explanation")
async def for_customer(customer_id: str = CUSTOMER_ID, k: int = Query(10, ge=1, le=100),
                       compute: Compute = Depends(get_compute),
                       warehouse: Warehouse = Depends(get_warehouse)) -> Response:
    from shoplens.recommend import api as rec

    served = live_models(warehouse.ws.path).serving_now(rec.REGISTRY_NAME, warehouse.ws)
    kept = warehouse.kept(_customer_key(warehouse, served, customer_id, k)) if served is not None else None
    if kept is not None:  # answered on the event loop: no thread, no model, no warehouse
        return kept.response()
    served = served or await run_in_threadpool(_served, warehouse)  # loaded once per version
    return await compute("recommend/customers", _customer_answer, warehouse, served, customer_id, k, heavy=False)


@api.get("/customers/{customer_id}/history", response_model=CustomerHistory,
         summary="A customer's latest interactions, newest first")
def customer_history(customer_id: str = CUSTOMER_ID, limit: int = Query(20, ge=1, le=500),
                     warehouse: Warehouse = Depends(get_warehouse)) -> CustomerHistory:
    from shoplens.recommend import api as rec

    with warehouse.read() as con:
        frame = rec.history(con, customer_id, limit)
    return CustomerHistory(customer_id=customer_id, items=[HistoryItem(**r) for r in _rows(frame)])


@api.get("/products/{product_id}/similar", response_model=RelatedItems,
         summary="Products similar to one product under the deployed model")
async def similar(response: Response, product_id: str = PRODUCT_ID, k: int = Query(10, ge=1, le=100),
                  compute: Compute = Depends(get_compute),
                  warehouse: Warehouse = Depends(get_warehouse)) -> RelatedItems:
    served = await run_in_threadpool(_served, warehouse)
    frame = await compute("recommend/similar", served.model.similar, product_id, k, heavy=False)
    response.headers[MODEL_VERSION_HEADER] = served.header
    return RelatedItems(product_id=product_id, items=_rows(frame))


@api.get("/products/{product_id}/together", response_model=RelatedItems, responses=error_responses(429),
         summary="Products bought in the same orders (support, confidence, lift)")
async def together(product_id: str = PRODUCT_ID, k: int = Query(10, ge=1, le=100),
                   compute: Compute = Depends(get_compute),
                   warehouse: Warehouse = Depends(get_warehouse)) -> RelatedItems:
    frame = await compute("recommend/together", _bought_together, warehouse, product_id, k)
    return RelatedItems(product_id=product_id, items=_rows(frame))


def _bought_together(warehouse: Warehouse, product_id: str, k: int) -> Any:
    from shoplens.recommend.related import bought_together

    with warehouse.read() as con:  # counts the shop's baskets per request: a heavy computation
        return bought_together(con, product_id, k)


router.include_router(api)


# -- dashboard ------------------------------------------------------------------------------------------------

def overview(warehouse: Warehouse, _query: PageQuery) -> dict[str, Any]:
    """The page's context: the deployed model and its evaluation, and the most active customers to pick."""
    from shoplens.recommend import api as rec
    from shoplens.registry import ModelRegistry

    with warehouse.read() as con:
        customers = _rows(rec.active_customers(con, 30))
    try:
        card = ModelRegistry(warehouse.ws).card(rec.REGISTRY_NAME)
    except NotFound:
        return {"missing": "No recommender yet: run `shoplens recommend train` or `shoplens run`.",
                "customers": customers}
    return {"card": card.to_dict(), "evaluation": rec.latest_evaluation(warehouse.ws) or card.metrics,
            "customers": customers}


@router.get(CUSTOMER_PAGE, include_in_schema=False, response_class=Response)
def customer_page(request: Request, customer_id: str = Query("", max_length=200), k: int = Query(10, ge=1, le=50),
                  state: ServiceState = Depends(get_state)) -> Response:
    """One customer: history and recommendations with explanations (HTML; a signed-in session)."""
    from shoplens.recommend import api as rec
    from shoplens.serve.pages import render

    info = session_key(request, state)
    if info is None:
        return RedirectResponse(f"/login?next={quote(PAGE_PATH)}", status_code=303)
    context: dict[str, Any] = {"title": "Recommendations", "customer_id": customer_id}
    status = 200
    try:
        warehouse = Warehouse(Workspace.open(state.workspace_path), state.gate, state.settings.write_wait_s)
        with warehouse.read() as con:
            context["history"] = _rows(rec.history(con, customer_id, 20))
        served = _served(warehouse)
        context["recommendations"] = _rows(_recommend(warehouse, served.model, customer_id, k))
        context["version"] = served.version
        context["model"] = served.model.name
    except NotFound as exc:
        context["error"], status = str(exc), 404
    except ShoplensError as exc:
        context["error"], status = str(exc), 503
    return render(request, state, "recommend_customer.html", context, status_code=status, key=info,
                  active=PAGE_PATH)


def warm(workspace_path: Path) -> None:
    """Load the deployed recommender and open the product graph its explanations read, so that the first
    customer does not wait (nothing happens without a deployed recommender)."""
    from shoplens.recommend import api as rec
    from shoplens.recommend.graph_paths import open_store

    ws = Workspace.open(workspace_path)
    live_models(ws.path).get(rec.REGISTRY_NAME, _load_recommender, ws)
    with open_store(ws):
        pass


capability = Capability(
    name="recommend",
    router=router,
    pages=(Page(path=PAGE_PATH, title="Recommendations", template="recommend_overview.html", context=overview,
                order=30),),
    requires=("shoplens.recommend",),
    warm=warm,
)
