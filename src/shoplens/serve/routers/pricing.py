"""Pricing in the service: the deployed pricing bundle (written by ``shoplens pricing elasticity`` or
``shoplens run``) as JSON — elasticities with intervals, categories, stored suggestions, cross-price
effects, what the data identify — plus fresh suggestions under other constraints and price-test plans,
computed from the deployed model without writing anything; and the dashboard page."""

from __future__ import annotations

import json
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, ConfigDict, Field, field_validator

from shoplens.errors import NotFound
from shoplens.serve.compute import Compute
from shoplens.serve.datatable import Column, DataTable, with_titles
from shoplens.serve.deps import Limit, Offset, get_compute, get_settings, get_warehouse, page_limit, require_read
from shoplens.serve.models import NOT_ZERO, WholeNumber, error_responses, not_zero
from shoplens.serve.registry import Capability, Page, PageQuery
from shoplens.serve.settings import ServiceSettings
from shoplens.serve.warehouse import Warehouse, jsonable
from shoplens.views import product_titles, sales_by_product

MISSING = "Nothing computed yet: run `shoplens pricing elasticity` (or `shoplens run`)."

router = APIRouter(prefix="/api/v1/pricing", tags=["pricing"], dependencies=[Depends(require_read)],
                   responses=error_responses(401, 403, 404, 503))


class Rows(BaseModel):
    rows: list[dict[str, Any]]
    total: int = Field(description="rows matching the filters")
    limit: int
    offset: int


class PricingSummary(BaseModel):
    version: str
    info: dict[str, Any]
    statuses: dict[str, int]
    suggestions: dict[str, Any] = Field(default_factory=dict, description="totals and constraints")
    evaluation: dict[str, Any] | None = Field(None, description="scores against the simulator's truth, if known")


class OptimizeRequest(BaseModel):
    """Constraints of a fresh optimisation (the stored suggestions use the defaults)."""

    model_config = ConfigDict(strict=True, extra="forbid")  # "0.5" is not a number: refused, never guessed

    objective: Literal["profit", "revenue"] = "profit"
    margin_floor: float = Field(0.1, ge=0, lt=1, description="minimum (price − cost) / price")
    max_change: float = Field(0.1, gt=0, lt=1, description="maximum relative price change")
    endings: list[Annotated[float, Field(ge=0, lt=1)]] | None = Field(
        [0.99], min_length=1, max_length=20, description="allowed cents (fractions in [0, 1)); null for any")
    horizon_days: WholeNumber = Field(28, ge=1, le=365)
    category_max_change: float | None = Field(0.05, ge=0, lt=1)
    category_min_units: float | None = Field(None, gt=0, le=1)
    products: WholeNumber = Field(100, ge=1, le=10_000,
                                  description="changes returned (largest expected profit change)")


class PlanRequest(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid")
    products: list[str] = Field(default_factory=list, max_length=500,
                                description="products to test (empty: the ten best sellers with an estimate)")
    price_change: float = Field(0.05, gt=-0.5, lt=1, json_schema_extra=NOT_ZERO)
    design: Literal["switchback", "split"] = "switchback"
    block_days: WholeNumber = Field(7, ge=1, le=56)
    detectable_elasticity: float | None = Field(None, ge=-20, le=20, json_schema_extra=NOT_ZERO)
    alpha: float = Field(0.05, gt=0, lt=0.5)
    power: float = Field(0.8, ge=0.5, lt=1)

    _not_zero = field_validator("price_change", "detectable_elasticity")(not_zero)


def _bundle(warehouse: Warehouse) -> Any:
    from shoplens.pricing.store import load_bundle

    return load_bundle(warehouse.ws)


def _records(frame: Any) -> list[dict[str, Any]]:
    return json.loads(frame.to_json(orient="records", date_format="iso"))


def _page(frame: Any, limit: int, offset: int) -> Rows:
    return Rows(rows=_records(frame.iloc[offset: offset + limit]), total=len(frame), limit=limit, offset=offset)


@router.get("", response_model=PricingSummary, summary="The deployed pricing bundle: version, fit, statuses")
def summary(warehouse: Warehouse = Depends(get_warehouse)) -> PricingSummary:
    bundle = _bundle(warehouse)
    evaluation = bundle.evaluation["summary"] if bundle.evaluation else None
    return PricingSummary(version=bundle.version, info=json.loads(json.dumps(bundle.info, default=str)),
                          statuses=bundle.elasticities["status"].value_counts().to_dict(),
                          suggestions=bundle.suggestions_meta, evaluation=evaluation)


@router.get("/elasticities", response_model=Rows, summary="Elasticities per product with intervals, best sellers first")
def elasticities(status: Literal["identified", "not_identifiable", "insufficient_data"] | None = None,
                 category: str | None = Query(None, max_length=500, description="category path or a prefix of it"),
                 limit: int | None = Limit, offset: int = Offset, settings: ServiceSettings = Depends(get_settings),
                 warehouse: Warehouse = Depends(get_warehouse)) -> Rows:
    table = _bundle(warehouse).elasticities.sort_values(["units", "product_id"], ascending=[False, True])
    if status is not None:
        table = table[table["status"] == status]
    if category:
        table = table[table["category"].str.startswith(category)]
    return _page(table, page_limit(limit, settings), offset)


@router.get("/elasticities/{product_id}", summary="One product's elasticity, interval, prior and data")
def product_elasticity(product_id: str, warehouse: Warehouse = Depends(get_warehouse)) -> dict[str, Any]:
    table = _bundle(warehouse).elasticities
    row = table[table["product_id"] == product_id]
    if row.empty:
        raise NotFound(f"no product {product_id!r} in the pricing model")
    return _records(row)[0]


@router.get("/categories", response_model=Rows, summary="Elasticities per category (every level of the path)")
def categories(limit: int | None = Limit, offset: int = Offset, settings: ServiceSettings = Depends(get_settings),
               warehouse: Warehouse = Depends(get_warehouse)) -> Rows:
    return _page(_bundle(warehouse).categories, page_limit(limit, settings), offset)


@router.get("/suggestions", response_model=Rows, summary="Stored suggested prices (default constraints)")
def suggestions(changed_only: bool = True, limit: int | None = Limit, offset: int = Offset,
                settings: ServiceSettings = Depends(get_settings),
                warehouse: Warehouse = Depends(get_warehouse)) -> Rows:
    bundle = _bundle(warehouse)
    if bundle.suggestions is None:
        raise NotFound("the pricing bundle holds no suggestions")
    table = bundle.suggestions.sort_values(["profit_change", "product_id"], ascending=[False, True])
    if changed_only:
        table = table[table["change"].abs() > 1e-9]
    return _page(table, page_limit(limit, settings), offset)


@router.get("/cross-effects", response_model=Rows, summary="Cross-price effects among each category's top sellers")
def cross_effects(relation: Literal["substitute", "complement", "no evidence", "not identifiable"] | None = None,
                  limit: int | None = Limit, offset: int = Offset, settings: ServiceSettings = Depends(get_settings),
                  warehouse: Warehouse = Depends(get_warehouse)) -> Rows:
    bundle = _bundle(warehouse)
    if bundle.cross_effects is None:
        raise NotFound("the pricing bundle holds no cross-price effects")
    table = bundle.cross_effects
    if relation is not None:
        table = table[table["relation"] == relation]
    return _page(table, page_limit(limit, settings), offset)


@router.get("/identification", summary="What the shop's data can and cannot identify about prices")
def identification(warehouse: Warehouse = Depends(get_warehouse)) -> dict[str, Any]:
    bundle = _bundle(warehouse)
    if bundle.identification is None:
        raise NotFound("the pricing bundle holds no identification report")
    return bundle.identification


@router.post("/optimize", summary="Suggested prices under the given constraints (computed, nothing stored)",
             responses=error_responses(400, 429))
async def optimize(request: OptimizeRequest, compute: Compute = Depends(get_compute),
                   warehouse: Warehouse = Depends(get_warehouse)) -> dict[str, Any]:
    return await compute("pricing/optimize", _optimize, warehouse, request,
                         narrow="a smaller max_change, fewer endings, no category constraints")


def _optimize(warehouse: Warehouse, request: OptimizeRequest) -> dict[str, Any]:
    from shoplens.pricing.model import ElasticityModel
    from shoplens.pricing.store import bundle_path
    from shoplens.pricing.workflow import default_optimizer, suggest

    model = ElasticityModel.load(bundle_path(warehouse.ws))
    constraints = request.model_dump(exclude={"products"})
    constraints["endings"] = tuple(constraints["endings"]) if constraints["endings"] is not None else None
    with warehouse.read():  # stock comes from the warehouse: wait for (or refuse during) an ingest
        plan = suggest(warehouse.ws, model, default_optimizer(**constraints))
    changed = plan.table[plan.table["change"].abs() > 1e-9].sort_values("profit_change", ascending=False)
    return {"constraints": plan.constraints, "totals": plan.totals, "notes": plan.notes,
            "products": _records(changed.head(request.products))}


@router.post("/plan-test", summary="Duration of a price test for the wanted power (computed, nothing stored)",
             responses=error_responses(400, 429))
async def plan_test(request: PlanRequest, compute: Compute = Depends(get_compute),
                    warehouse: Warehouse = Depends(get_warehouse)) -> dict[str, Any]:
    return await compute("pricing/plan-test", _plan_test, warehouse, request, narrow="fewer products")


def _plan_test(warehouse: Warehouse, request: PlanRequest) -> dict[str, Any]:
    from shoplens.pricing.experiments import plan_price_test
    from shoplens.pricing.model import ElasticityModel
    from shoplens.pricing.store import bundle_path

    model = ElasticityModel.load(bundle_path(warehouse.ws))
    plan = plan_price_test(model, request.products or None, price_change=request.price_change,
                           detectable_elasticity=request.detectable_elasticity, design=request.design,
                           block_days=request.block_days, alpha=request.alpha, power=request.power)
    return json.loads(json.dumps(plan.to_dict(), default=float))


# -- dashboard page -------------------------------------------------------------------------------------------
PAGE_PRODUCTS, PAGE_SUGGESTIONS, CHART_PRODUCTS, CHART_LABEL = 30, 25, 15, 40


def _sold_columns(query: PageQuery) -> tuple[Column, ...]:
    return (Column("units_sold", f"units sold ({query.period.label()})", "number", 0),
            Column("revenue_sold", f"revenue ({query.period.label()})", "money"))


def _elasticity_columns(query: PageQuery) -> tuple[Column, ...]:
    return (Column("product_id", "product", "product"), Column("category", "category"),
            Column("elasticity", "elasticity", "number"), Column("lower", "lower", "number"),
            Column("upper", "upper", "number"), Column("units", "units (fit)", "number", 0),
            Column("price_changes", "price changes", "int"), *_sold_columns(query))


SUGGESTION_COLUMNS = (Column("product_id", "product", "product"), Column("current_price", "current", "money"),
                      Column("suggested_price", "suggested", "money"), Column("change", "change", "signed_percent", 1),
                      Column("units_change", "units", "signed_number", 1),
                      Column("profit_change", "profit", "signed_money"),
                      Column("profit_change_lower", "profit at least", "money"),
                      Column("profit_change_upper", "profit at most", "money"), Column("reason", "why"))


def _pricing_rows(warehouse: Warehouse, bundle: Any, query: PageQuery) -> dict[str, list[dict[str, Any]]]:
    """The best sellers with an estimate, and the largest suggested changes: titled, with what each product sold
    in the query's period."""
    from shoplens.pricing.charts import finite_records

    table = bundle.elasticities
    identified = table[table["status"] == "identified"].sort_values(["units", "product_id"], ascending=[False, True])
    found = {"elasticities": finite_records(identified.head(PAGE_PRODUCTS))}
    if bundle.suggestions is not None:
        changed = bundle.suggestions[bundle.suggestions["change"].abs() > 1e-9]
        found["suggestions"] = finite_records(changed.sort_values("profit_change", ascending=False)
                                              .head(PAGE_SUGGESTIONS))
    ids = {r["product_id"] for rows in found.values() for r in rows}
    with warehouse.read() as con:
        titles = product_titles(con, ids)
        sold = sales_by_product(con, ids, query.period)
    return {name: with_titles([{**r, "units_sold": jsonable(sold.get(r["product_id"], (0, 0))[0]),
                                "revenue_sold": jsonable(sold.get(r["product_id"], (0, 0))[1])} for r in rows],
                              titles, "product_id")
            for name, rows in found.items()}


def _pricing_tables(warehouse: Warehouse, bundle: Any, query: PageQuery) -> dict[str, DataTable]:
    currency = warehouse.ws.config.currency
    rows = _pricing_rows(warehouse, bundle, query)
    tables = {"elasticities": DataTable("elasticities", _elasticity_columns(query), rows["elasticities"], currency,
                                        row_key="product_id", row_attr="product")}
    if "suggestions" in rows:
        tables["suggestions"] = DataTable("suggestions", (*SUGGESTION_COLUMNS, *_sold_columns(query)),
                                          rows["suggestions"], currency, row_key="product_id", row_attr="product")
    return tables


def pricing_tables(warehouse: Warehouse, query: PageQuery) -> dict[str, DataTable]:
    from shoplens.pricing.store import load_bundle

    try:
        return _pricing_tables(warehouse, load_bundle(warehouse.ws), query)
    except NotFound:
        return {}


def _short(title: str) -> str:
    return title if len(title) <= CHART_LABEL else title[:CHART_LABEL - 1] + "…"


def pricing_page(warehouse: Warehouse, query: PageQuery) -> dict[str, Any]:
    import pandas as pd

    from shoplens.pricing.charts import forest_plot, leaf_categories
    from shoplens.pricing.store import load_bundle

    try:
        bundle = load_bundle(warehouse.ws)
    except NotFound:
        return {"missing": MISSING}
    tables = _pricing_tables(warehouse, bundle, query)
    best = pd.DataFrame(tables["elasticities"].rows[:CHART_PRODUCTS], columns=["title", "elasticity", "lower", "upper"])
    context: dict[str, Any] = {
        "version": bundle.version, "info": bundle.info,
        "statuses": bundle.elasticities["status"].value_counts().to_dict(),
        "confidence": bundle.params.get("confidence", 0.9), "currency": warehouse.ws.config.currency,
        "category_svg": forest_plot(leaf_categories(bundle.categories), label="elasticity per category with its "
                                                                             "interval"),
        "product_svg": forest_plot(best.assign(title=best["title"].map(_short)), name="title",
                                   label="elasticity of the best sellers"),
        "identification": bundle.identification, **tables,
        "evaluation": bundle.evaluation["summary"] if bundle.evaluation else None,
    }
    if "suggestions" in tables:
        context["totals"] = bundle.suggestions_meta.get("totals", {})
        context["constraints"] = bundle.suggestions_meta.get("constraints", {})
    return context


capability = Capability(
    name="pricing",
    router=router,
    pages=(Page(path="/pricing", title="Pricing", template="pricing_dashboard.html", context=pricing_page,
                order=50, tables=pricing_tables),),
    requires=("shoplens.pricing",),
)
