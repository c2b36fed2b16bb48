"""Analytics in the service: the stored results (``analytics_*`` tables, written by ``shoplens analyze`` or
``shoplens run``) as JSON, and dashboard pages — cohort heatmap, funnel bars, segment treemap, CLV
distribution. The service only reads: a result that was never computed answers 404 naming the command."""

from __future__ import annotations

from typing import Any, Literal

import duckdb
from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, Field

from shoplens.errors import NotFound
from shoplens.serve.deps import Limit, Offset, get_settings, get_warehouse, page_limit, require_read
from shoplens.serve.models import TableRows, error_responses
from shoplens.serve.registry import Capability, Page
from shoplens.serve.settings import ServiceSettings
from shoplens.serve.warehouse import Warehouse, jsonable

# table → the command that computes it (for the 404 message)
COMMANDS = {
    "analytics_kpis_day": "shoplens analyze kpis --grain day",
    "analytics_kpis_week": "shoplens analyze kpis --grain week",
    "analytics_kpis_month": "shoplens analyze kpis --grain month", "analytics_rfm": "shoplens analyze rfm",
    "analytics_rfm_segments": "shoplens analyze rfm", "analytics_cohorts": "shoplens analyze cohorts",
    "analytics_funnel": "shoplens analyze funnel", "analytics_funnel_times": "shoplens analyze funnel",
    "analytics_pair_counts": "shoplens analyze baskets", "analytics_rules": "shoplens analyze baskets",
    "analytics_clv": "shoplens analyze clv", "analytics_churn": "shoplens analyze churn",
}
COHORT_MEASURES = ("retention", "active_customers", "revenue", "revenue_per_customer",
                   "cumulative_revenue_per_customer", "repeat_rate")

router = APIRouter(prefix="/api/v1/analytics", tags=["analytics"], dependencies=[Depends(require_read)],
                   responses=error_responses(401, 403, 503))


class AnalyticsTable(BaseModel):
    name: str
    rows: int
    command: str = Field(description="the shoplens command that computes it")


class AnalyticsList(BaseModel):
    tables: list[AnalyticsTable]


class ClvSummary(BaseModel):
    customers: int
    total_clv: float | None
    mean_clv: float | None
    quantiles: dict[str, float | None] = Field(description="CLV at the 10th, 25th, 50th, 75th, 90th and 99th "
                                                           "percentiles")
    mean_p_alive: float | None


def has_table(con: duckdb.DuckDBPyConnection, name: str) -> bool:
    found = con.execute("SELECT count(*) FROM information_schema.tables WHERE table_schema = 'main' "
                        "AND table_name = ?", [name]).fetchall()[0][0]
    return bool(found)


def require_table(con: duckdb.DuckDBPyConnection, name: str) -> None:
    if not has_table(con, name):
        raise NotFound(f"no {name} yet: compute it with `{COMMANDS.get(name, 'shoplens analyze all')}` "
                       "(or `shoplens run`)")


def read_rows(con: duckdb.DuckDBPyConnection, name: str, *, where: str = "", params: list[Any] | None = None,
              order: str, limit: int, offset: int) -> dict[str, Any]:
    """One page of a stored result; ``where`` and ``order`` are fixed SQL of this module, values are bound."""
    require_table(con, name)
    clause = f" WHERE {where}" if where else ""
    result = con.execute(f"SELECT * FROM {name}{clause} ORDER BY {order} LIMIT ? OFFSET ?",
                         [*(params or []), limit, offset])
    columns = [d[0] for d in result.description]
    rows = [dict(zip(columns, map(jsonable, row), strict=True)) for row in result.fetchall()]
    total = con.execute(f"SELECT count(*) FROM {name}{clause}", params or []).fetchall()[0][0]
    return {"name": name, "columns": columns, "rows": rows, "total": total, "limit": limit, "offset": offset}


Segment = Query(None, max_length=200, description="only this segment ('all' = overall)")


@router.get("", response_model=AnalyticsList, summary="Stored analytics results and their row counts")
def list_results(warehouse: Warehouse = Depends(get_warehouse)) -> AnalyticsList:
    with warehouse.read() as con:
        tables = [AnalyticsTable(name=name, rows=con.execute(f"SELECT count(*) FROM {name}").fetchall()[0][0],
                                 command=command)
                  for name, command in COMMANDS.items() if has_table(con, name)]
    return AnalyticsList(tables=tables)


@router.get("/kpis", response_model=TableRows, summary="KPIs per period, overall and by country, channel, category",
            responses=error_responses(404))
def get_kpis(grain: Literal["day", "week", "month"] = "day",
             dimension: Literal["all", "country", "channel", "category"] = "all",
             value: str | None = Query(None, max_length=200, description="only this country, channel or category"),
             limit: int | None = Limit, offset: int = Offset, settings: ServiceSettings = Depends(get_settings),
             warehouse: Warehouse = Depends(get_warehouse)) -> TableRows:
    where, params = "dimension = ?", [dimension]
    if value is not None:
        where, params = where + " AND value = ?", [*params, value]
    with warehouse.read() as con:
        return TableRows.model_validate(read_rows(con, f"analytics_kpis_{grain}", where=where, params=params,
                                                  order="period DESC, value",
                                                  limit=page_limit(limit, settings), offset=offset))


def _segment_filter(segment: str | None) -> tuple[str, list[str]]:
    """The WHERE clause and parameters of an optional segment filter."""
    return ("segment = ?", [segment]) if segment else ("", [])


@router.get("/rfm/segments", response_model=TableRows, summary="RFM segments: size, revenue share, profile",
            responses=error_responses(404))
def get_segments(warehouse: Warehouse = Depends(get_warehouse)) -> TableRows:
    with warehouse.read() as con:
        return TableRows.model_validate(read_rows(con, "analytics_rfm_segments", order="rank", limit=100, offset=0))


@router.get("/rfm/customers", response_model=TableRows, summary="RFM scores and segment per customer",
            responses=error_responses(404))
def get_rfm(segment: str | None = Segment, limit: int | None = Limit, offset: int = Offset,
            settings: ServiceSettings = Depends(get_settings),
            warehouse: Warehouse = Depends(get_warehouse)) -> TableRows:
    where, params = _segment_filter(segment)
    with warehouse.read() as con:
        return TableRows.model_validate(read_rows(con, "analytics_rfm", where=where, params=params,
                                                  order="monetary DESC, customer_id",
                                                  limit=page_limit(limit, settings), offset=offset))


@router.get("/cohorts", response_model=TableRows, summary="Cohorts in long form: cohort, segment, period, measures",
            responses=error_responses(404))
def get_cohorts(segment: str | None = Segment, limit: int | None = Limit, offset: int = Offset,
                settings: ServiceSettings = Depends(get_settings),
                warehouse: Warehouse = Depends(get_warehouse)) -> TableRows:
    where, params = _segment_filter(segment)
    with warehouse.read() as con:
        return TableRows.model_validate(read_rows(con, "analytics_cohorts", where=where, params=params,
                                                  order="segment, cohort, period",
                                                  limit=page_limit(limit, settings), offset=offset))


@router.get("/funnel", response_model=TableRows, summary="Funnel steps: entities and conversion per segment",
            responses=error_responses(404))
def get_funnel(segment: str | None = Segment, warehouse: Warehouse = Depends(get_warehouse)) -> TableRows:
    where, params = _segment_filter(segment)
    with warehouse.read() as con:
        return TableRows.model_validate(read_rows(con, "analytics_funnel", where=where, params=params,
                                                  order="segment, step_no", limit=1000, offset=0))


@router.get("/funnel/times", response_model=TableRows, summary="Time to convert, in buckets, per segment",
            responses=error_responses(404))
def get_funnel_times(segment: str | None = Segment, warehouse: Warehouse = Depends(get_warehouse)) -> TableRows:
    where, params = _segment_filter(segment)
    with warehouse.read() as con:
        return TableRows.model_validate(read_rows(con, "analytics_funnel_times", where=where, params=params,
                                                  order="segment, bucket_no", limit=1000, offset=0))


@router.get("/clv", response_model=TableRows, summary="CLV per customer, highest first",
            responses=error_responses(404))
def get_clv(limit: int | None = Limit, offset: int = Offset, settings: ServiceSettings = Depends(get_settings),
            warehouse: Warehouse = Depends(get_warehouse)) -> TableRows:
    with warehouse.read() as con:
        return TableRows.model_validate(read_rows(con, "analytics_clv", order="clv DESC, customer_id",
                                                  limit=page_limit(limit, settings), offset=offset))


@router.get("/clv/summary", response_model=ClvSummary, summary="The CLV distribution in numbers",
            responses=error_responses(404))
def get_clv_summary(warehouse: Warehouse = Depends(get_warehouse)) -> ClvSummary:
    with warehouse.read() as con:
        return ClvSummary.model_validate(clv_summary(con))


def clv_summary(con: duckdb.DuckDBPyConnection) -> dict[str, Any]:
    require_table(con, "analytics_clv")
    shares = (0.1, 0.25, 0.5, 0.75, 0.9, 0.99)
    row = con.execute("SELECT count(*), sum(clv), avg(clv), avg(p_alive), quantile_cont(clv, ?) FROM analytics_clv",
                      [list(shares)]).fetchall()[0]
    quantiles = dict(zip((f"p{round(s * 100)}" for s in shares), row[4] or [None] * len(shares), strict=True))
    return {"customers": row[0], "total_clv": row[1], "mean_clv": row[2], "mean_p_alive": row[3],
            "quantiles": quantiles}


@router.get("/churn", response_model=TableRows, summary="Churn probability per customer, highest first",
            responses=error_responses(404))
def get_churn(limit: int | None = Limit, offset: int = Offset, settings: ServiceSettings = Depends(get_settings),
              warehouse: Warehouse = Depends(get_warehouse)) -> TableRows:
    with warehouse.read() as con:
        return TableRows.model_validate(read_rows(con, "analytics_churn", order="churn_probability DESC, customer_id",
                                                  limit=page_limit(limit, settings), offset=offset))


@router.get("/baskets/rules", response_model=TableRows, summary="Association rules by lift",
            responses=error_responses(404))
def get_rules(limit: int | None = Limit, offset: int = Offset, settings: ServiceSettings = Depends(get_settings),
              warehouse: Warehouse = Depends(get_warehouse)) -> TableRows:
    order = ("lift DESC, support DESC, list_aggr(antecedents, 'string_agg', ', '), "
             "list_aggr(consequents, 'string_agg', ', ')")
    with warehouse.read() as con:
        return TableRows.model_validate(read_rows(con, "analytics_rules", order=order,
                                                  limit=page_limit(limit, settings), offset=offset))


# -- dashboard pages --------------------------------------------------------------------------------------
def _missing(name: str) -> dict[str, Any]:
    return {"missing": f"Nothing computed yet: run `{COMMANDS[name]}` (or `shoplens run`)."}


def cohorts_page(warehouse: Warehouse) -> dict[str, Any]:
    from shoplens.analytics.api import cohort_matrix
    from shoplens.analytics.charts import cohort_heatmap

    with warehouse.read() as con:
        if not has_table(con, "analytics_cohorts"):
            return _missing("analytics_cohorts")
        table = con.sql("SELECT * FROM analytics_cohorts").df()
    segment = sorted(table["segment"].unique())[0]
    charts = [{"title": title, "svg": cohort_heatmap(cohort_matrix(table, measure, segment), percent=percent,
                                                     label=title)}
              for measure, title, percent in (("retention", "Customers active, by months since their first purchase",
                                               True),
                                              ("repeat_rate", "Customers who had bought a second time", True),
                                              ("cumulative_revenue_per_customer",
                                               "Cumulative revenue per cohort customer", False))]
    return {"charts": charts, "segment": segment, "cohorts": int(table["cohort"].nunique())}


def funnel_page(warehouse: Warehouse) -> dict[str, Any]:
    from shoplens.analytics.charts import funnel_bars

    with warehouse.read() as con:
        if not has_table(con, "analytics_funnel"):
            return _missing("analytics_funnel")
        steps = con.sql("SELECT * FROM analytics_funnel ORDER BY segment, step_no").df()
        times = con.sql("SELECT * FROM analytics_funnel_times WHERE segment = 'all' ORDER BY bucket_no").df() \
            if has_table(con, "analytics_funnel_times") else None
    overall = steps[steps["segment"] == "all"]
    return {"svg": funnel_bars(overall, "funnel conversion"),
            "steps": [{k: jsonable(v) for k, v in row.items()} for row in overall.to_dict("records")],
            "times": [] if times is None else times.to_dict("records")}


def segments_page(warehouse: Warehouse) -> dict[str, Any]:
    from shoplens.analytics.charts import treemap

    with warehouse.read() as con:
        if not has_table(con, "analytics_rfm_segments"):
            return _missing("analytics_rfm_segments")
        segments = con.sql("SELECT * FROM analytics_rfm_segments ORDER BY rank").df()
    notes = [f"{c:,} customers · {s:.0%} of revenue"
             for c, s in zip(segments["customers"], segments["revenue_share"].fillna(0), strict=True)]
    return {"svg": treemap(segments["segment"], segments["customers"], notes, label="RFM segments by customers"),
            "segments": [{k: jsonable(v) for k, v in row.items()} for row in segments.to_dict("records")]}


def clv_page(warehouse: Warehouse) -> dict[str, Any]:
    from shoplens.analytics.charts import histogram

    with warehouse.read() as con:
        if not has_table(con, "analytics_clv"):
            return _missing("analytics_clv")
        values = con.sql("SELECT clv FROM analytics_clv").df()["clv"]
        summary = clv_summary(con)
    unit = f"{warehouse.ws.config.currency} "
    return {"svg": histogram(values, label="12-month CLV per customer", unit=unit), "summary": summary, "unit": unit}


capability = Capability(
    name="analytics",
    router=router,
    pages=(Page(path="/analytics/segments", title="Segments", template="analytics_segments.html",
                context=segments_page, order=20),
           Page(path="/analytics/cohorts", title="Cohorts", template="analytics_cohorts.html",
                context=cohorts_page, order=21),
           Page(path="/analytics/funnel", title="Funnel", template="analytics_funnel.html",
                context=funnel_page, order=22),
           Page(path="/analytics/clv", title="CLV", template="analytics_clv.html", context=clv_page, order=23)),
    requires=("shoplens.analytics",),
)
