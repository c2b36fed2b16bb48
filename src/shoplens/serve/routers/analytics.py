"""Analytics in the service: the stored results (``analytics_*`` tables, written by ``shoplens analyze`` or
``shoplens run``) as JSON, and dashboard pages — sales KPIs, cohort heatmap, funnel bars, segment treemap, CLV
distribution. The service only reads: a result that was never computed answers 404 naming the command. A page
given a period (``?from=&to=``) runs the same SQL for that period on a read-only connection, into temporary
tables (``shoplens.analytics.period``)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, Literal

import duckdb
from fastapi import APIRouter, Depends, Query
from fastapi.responses import Response
from pydantic import BaseModel, Field

from shoplens.analytics import reads
from shoplens.serve.datatable import Column, DataTable
from shoplens.serve.deps import Limit, Offset, get_settings, get_warehouse, page_limit, require_read
from shoplens.serve.models import TableRows, error_responses
from shoplens.serve.registry import Capability, Page, PageQuery
from shoplens.serve.settings import ServiceSettings
from shoplens.serve.warehouse import Warehouse, jsonable

if TYPE_CHECKING:
    import pandas as pd

    from shoplens.engine.sql import PortableQuery

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


def read_rows(con: duckdb.DuckDBPyConnection, name: str, *, filters: Mapping[str, Any] | None = None, limit: int,
              offset: int) -> TableRows:
    """One page of a stored result, in its order (``analytics.reads.RESULTS``), as JSON."""
    page = reads.result_page(con, name, filters=filters, limit=limit, offset=offset)
    rows = [dict(zip(page["columns"], map(jsonable, row), strict=True)) for row in page["rows"]]
    return TableRows.model_validate({"name": name, "columns": page["columns"], "rows": rows, "total": page["total"],
                                     "limit": limit, "offset": offset})


async def page_answer(warehouse: Warehouse, name: str, *, filters: Mapping[str, Any] | None = None, limit: int,
                      offset: int) -> Response:
    """:func:`read_rows` as an answer, kept in memory while the warehouse is unchanged (``serve.answers``)."""
    key = (name, tuple(sorted((filters or {}).items())), limit, offset)
    return await warehouse.answer_async(key, lambda con: read_rows(con, name, filters=filters, limit=limit,
                                                                   offset=offset))


Segment = Query(None, max_length=200, description="only this segment ('all' = overall)")


@router.get("", response_model=AnalyticsList, summary="Stored analytics results and their row counts")
async def list_results(warehouse: Warehouse = Depends(get_warehouse)) -> Response:
    def build(con: duckdb.DuckDBPyConnection) -> AnalyticsList:
        return AnalyticsList(tables=[AnalyticsTable(name=name, rows=rows, command=reads.RESULTS[name].command)
                                     for name, rows in reads.computed_results(con)])

    return await warehouse.answer_async(("analytics",), build)


@router.get("/kpis", response_model=TableRows, summary="KPIs per period, overall and by country, channel, category",
            responses=error_responses(404))
async def get_kpis(grain: Literal["day", "week", "month"] = "day",
             dimension: Literal["all", "country", "channel", "category"] = "all",
             value: str | None = Query(None, max_length=200, description="only this country, channel or category"),
             limit: int | None = Limit, offset: int = Offset, settings: ServiceSettings = Depends(get_settings),
             warehouse: Warehouse = Depends(get_warehouse)) -> Response:
    return await page_answer(warehouse, f"analytics_kpis_{grain}", filters={"dimension": dimension, "value": value},
                             limit=page_limit(limit, settings), offset=offset)


def _segment_filter(segment: str | None) -> dict[str, str | None]:
    """An optional segment filter (an empty segment keeps every row)."""
    return {"segment": segment or None}


@router.get("/rfm/segments", response_model=TableRows, summary="RFM segments: size, revenue share, profile",
            responses=error_responses(404))
async def get_segments(warehouse: Warehouse = Depends(get_warehouse)) -> Response:
    return await page_answer(warehouse, "analytics_rfm_segments", limit=100, offset=0)


@router.get("/rfm/customers", response_model=TableRows, summary="RFM scores and segment per customer",
            responses=error_responses(404))
async def get_rfm(segment: str | None = Segment, limit: int | None = Limit, offset: int = Offset,
            settings: ServiceSettings = Depends(get_settings),
            warehouse: Warehouse = Depends(get_warehouse)) -> Response:
    return await page_answer(warehouse, "analytics_rfm", filters=_segment_filter(segment),
                             limit=page_limit(limit, settings), offset=offset)


@router.get("/cohorts", response_model=TableRows, summary="Cohorts in long form: cohort, segment, period, measures",
            responses=error_responses(404))
async def get_cohorts(segment: str | None = Segment, limit: int | None = Limit, offset: int = Offset,
                settings: ServiceSettings = Depends(get_settings),
                warehouse: Warehouse = Depends(get_warehouse)) -> Response:
    return await page_answer(warehouse, "analytics_cohorts", filters=_segment_filter(segment),
                             limit=page_limit(limit, settings), offset=offset)


@router.get("/funnel", response_model=TableRows, summary="Funnel steps: entities and conversion per segment",
            responses=error_responses(404))
async def get_funnel(segment: str | None = Segment, warehouse: Warehouse = Depends(get_warehouse)) -> Response:
    return await page_answer(warehouse, "analytics_funnel", filters=_segment_filter(segment), limit=1000, offset=0)


@router.get("/funnel/times", response_model=TableRows, summary="Time to convert, in buckets, per segment",
            responses=error_responses(404))
async def get_funnel_times(segment: str | None = Segment, warehouse: Warehouse = Depends(get_warehouse)) -> Response:
    return await page_answer(warehouse, "analytics_funnel_times", filters=_segment_filter(segment), limit=1000,
                             offset=0)


@router.get("/clv", response_model=TableRows, summary="CLV per customer, highest first",
            responses=error_responses(404))
async def get_clv(limit: int | None = Limit, offset: int = Offset, settings: ServiceSettings = Depends(get_settings),
            warehouse: Warehouse = Depends(get_warehouse)) -> Response:
    return await page_answer(warehouse, "analytics_clv", limit=page_limit(limit, settings), offset=offset)


@router.get("/clv/summary", response_model=ClvSummary, summary="The CLV distribution in numbers",
            responses=error_responses(404))
async def get_clv_summary(warehouse: Warehouse = Depends(get_warehouse)) -> Response:
    return await warehouse.answer_async(("analytics/clv/summary",),
                                        lambda con: ClvSummary.model_validate(reads.clv_summary(con)))


@router.get("/churn", response_model=TableRows, summary="Churn probability per customer, highest first",
            responses=error_responses(404))
async def get_churn(limit: int | None = Limit, offset: int = Offset, settings: ServiceSettings = Depends(get_settings),
              warehouse: Warehouse = Depends(get_warehouse)) -> Response:
    return await page_answer(warehouse, "analytics_churn", limit=page_limit(limit, settings), offset=offset)


@router.get("/baskets/rules", response_model=TableRows, summary="Association rules by lift",
            responses=error_responses(404))
async def get_rules(limit: int | None = Limit, offset: int = Offset, settings: ServiceSettings = Depends(get_settings),
              warehouse: Warehouse = Depends(get_warehouse)) -> Response:
    return await page_answer(warehouse, "analytics_rules", limit=page_limit(limit, settings), offset=offset)


# -- dashboard pages --------------------------------------------------------------------------------------
# Without a period a page shows the stored results (what `shoplens analyze` / `shoplens run` computed); with
# one, the same SQL runs on that period's orders (analytics.period: temporary, nothing is written).
KPI_COLUMNS = (Column("period", "month", "month"), Column("orders", "orders", "int"),
               Column("revenue", "revenue", "money"), Column("refunds", "refunds", "money"),
               Column("net_revenue", "net revenue", "money"), Column("aov", "average order", "money"),
               Column("customers", "customers", "int"), Column("new_customers", "new customers", "int"),
               Column("repeat_rate", "repeat rate", "percent", 1), Column("refund_rate", "refund rate", "percent", 1))
SEGMENT_COLUMNS = (Column("segment", "segment"), Column("customers", "customers", "int"),
                   Column("customer_share", "share", "percent", 1), Column("revenue", "revenue", "money"),
                   Column("revenue_share", "revenue share", "percent", 1),
                   Column("avg_recency_days", "avg recency (days)", "number", 0),
                   Column("avg_frequency", "avg orders", "number"), Column("avg_monetary", "avg spend", "money"))
COHORT_COLUMNS = (Column("cohort", "cohort (first purchase)", "month"), Column("customers", "customers", "int"),
                  Column("retention_1", "active in month 1", "percent", 1),
                  Column("repeat_rate", "bought again (to date)", "percent", 1),
                  Column("revenue", "revenue (to date)", "money"),
                  Column("revenue_per_customer", "revenue per customer", "money"))
STEP_COLUMNS = (Column("step", "step"), Column("entities", "entities", "int"),
                Column("conversion_from_previous", "of previous", "percent", 1),
                Column("conversion_from_start", "of start", "percent", 1),
                Column("median_seconds_from_start", "median seconds from start", "number", 0))
TIME_COLUMNS = (Column("bucket", "time from first to last step"), Column("entities", "entities", "int"),
                Column("share", "share", "percent", 1))
CLV_COLUMNS = (Column("customers", "customers", "int"), Column("total_clv", "total CLV", "money"),
               Column("median_clv", "median CLV", "money"), Column("p90_clv", "90th percentile", "money"),
               Column("mean_p_alive", "mean P(alive)", "percent", 1))


def _missing(name: str) -> dict[str, Any]:
    return {"missing": f"Nothing computed yet: run `{reads.RESULTS[name].command}` (or `shoplens run`)."}


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    return [{k: jsonable(v) for k, v in row.items()} for row in frame.to_dict("records")]


def _result(con: duckdb.DuckDBPyConnection, warehouse: Warehouse, query: PageQuery, name: str,
            batch: Callable[[], list[PortableQuery]]) -> pd.DataFrame | None:
    """``analytics_<name>`` as stored (no period), or computed for the query's period; None when never computed."""
    from shoplens.analytics.period import run_for_period

    if query.period.bounded:
        return run_for_period(con, batch(), query.period, warehouse.ws.config.timezone)[name]
    return reads.stored_result(con, f"analytics_{name}")


def kpi_tables(warehouse: Warehouse, query: PageQuery) -> dict[str, DataTable]:
    from shoplens.analytics import queries

    with warehouse.read() as con:
        frame = _result(con, warehouse, query, "kpis_month", lambda: queries.kpis("month"))
    if frame is None:
        return {}
    overall = frame[frame["dimension"] == "all"].sort_values("period", ascending=False)
    return {"kpis": DataTable("kpis", KPI_COLUMNS, _records(overall), warehouse.ws.config.currency,
                              row_key="period")}


def kpis_page(warehouse: Warehouse, query: PageQuery) -> dict[str, Any]:
    tables = kpi_tables(warehouse, query)
    return {"kpis": tables["kpis"]} if tables else _missing("analytics_kpis_month")


def segment_tables(warehouse: Warehouse, query: PageQuery) -> dict[str, DataTable]:
    from shoplens.analytics import queries

    end = query.period.end
    as_of = end + dt.timedelta(days=1) if end else None  # recency counts from the end of the period
    with warehouse.read() as con:
        frame = _result(con, warehouse, query, "rfm_segments", lambda: queries.rfm(as_of))
    if frame is None:
        return {}
    return {"segments": DataTable("segments", SEGMENT_COLUMNS, _records(frame.sort_values("rank")),
                                  warehouse.ws.config.currency, row_key="segment")}


def segments_page(warehouse: Warehouse, query: PageQuery) -> dict[str, Any]:
    from shoplens.analytics.charts import treemap

    tables = segment_tables(warehouse, query)
    if not tables:
        return _missing("analytics_rfm_segments")
    rows = tables["segments"].rows
    notes = [f"{r['customers']:,} customers · {r['revenue_share'] or 0:.0%} of revenue" for r in rows]
    return {"svg": treemap([r["segment"] for r in rows], [r["customers"] for r in rows], notes,
                           label="RFM segments by customers"), "segments": tables["segments"]}


def _cohorts(warehouse: Warehouse, query: PageQuery) -> pd.DataFrame | None:
    from shoplens.analytics import queries

    with warehouse.read() as con:
        return _result(con, warehouse, query, "cohorts", queries.cohorts)


def cohort_rows(table: pd.DataFrame, segment: str) -> list[dict[str, Any]]:
    """One row per cohort: its size, month-1 retention, and repeat rate and revenue to date."""
    rows = []
    for cohort, group in table[table["segment"] == segment].sort_values("period").groupby("cohort", sort=True):
        month_1 = group.loc[group["period"] == 1, "retention"]
        rows.append({"cohort": jsonable(cohort), "customers": int(group["cohort_customers"].iloc[0]),
                     "retention_1": jsonable(month_1.iloc[0]) if len(month_1) else None,
                     "repeat_rate": jsonable(group["repeat_rate"].iloc[-1]),
                     "revenue": round(float(group["revenue"].sum()), 2),
                     "revenue_per_customer": jsonable(group["cumulative_revenue_per_customer"].iloc[-1])})
    return rows


def _cohort_table(table: pd.DataFrame, currency: str) -> DataTable:
    segment = sorted(table["segment"].unique())[0]
    return DataTable("cohorts", COHORT_COLUMNS, cohort_rows(table, segment), currency, row_key="cohort")


def cohort_tables(warehouse: Warehouse, query: PageQuery) -> dict[str, DataTable]:
    table = _cohorts(warehouse, query)
    return {} if table is None or table.empty else {"cohorts": _cohort_table(table, warehouse.ws.config.currency)}


def cohorts_page(warehouse: Warehouse, query: PageQuery) -> dict[str, Any]:
    from shoplens.analytics.api import cohort_matrix
    from shoplens.analytics.charts import cohort_heatmap

    table = _cohorts(warehouse, query)
    if table is None:
        return _missing("analytics_cohorts")
    if table.empty:
        return {"empty": f"No customer bought in {query.period.label()}."}
    currency = warehouse.ws.config.currency
    segment = sorted(table["segment"].unique())[0]
    measures = (("retention", "Customers active, by months since their first purchase", True),
                ("repeat_rate", "Customers who had bought a second time", True),
                ("cumulative_revenue_per_customer", f"Cumulative revenue per cohort customer ({currency})", False))
    charts = [{"title": title, "svg": cohort_heatmap(cohort_matrix(table, measure, segment), percent=percent,
                                                     label=title, currency="" if percent else currency)}
              for measure, title, percent in measures]
    return {"charts": charts, "segment": segment, "cohorts": int(table["cohort"].nunique()),
            "table": _cohort_table(table, currency)}


def _funnel(warehouse: Warehouse, query: PageQuery) -> tuple[pd.DataFrame, pd.DataFrame | None] | None:
    """(steps, times) of the overall funnel: stored, or for the period's events (the default funnel)."""
    from shoplens.analytics import queries
    from shoplens.analytics.funnels import Funnel
    from shoplens.analytics.period import run_for_period

    with warehouse.read() as con:
        if query.period.bounded:
            start, end = query.period.utc_bounds(warehouse.ws.config.timezone)
            spec = Funnel.parse(start=start and start.isoformat(sep=" "), end=end and end.isoformat(sep=" "))
            found = run_for_period(con, queries.funnel(spec), query.period, warehouse.ws.config.timezone)
            steps, times = found["funnel"], found["funnel_times"]
        else:
            steps = reads.stored_result(con, "analytics_funnel")
            if steps is None:
                return None
            times = reads.stored_result(con, "analytics_funnel_times")
    overall = steps[steps["segment"] == "all"].sort_values("step_no")
    return overall, None if times is None else times[times["segment"] == "all"].sort_values("bucket_no")


def _funnel_tables(steps: pd.DataFrame, times: pd.DataFrame | None) -> dict[str, DataTable]:
    labelled = steps.assign(step=[f"{s} (optional)" if o else s for s, o in zip(steps["step"], steps["optional"],
                                                                                 strict=True)])
    tables = {"steps": DataTable("steps", STEP_COLUMNS, _records(labelled), row_key="step_no", row_attr="step")}
    if times is not None and not times.empty:
        tables["times"] = DataTable("times", TIME_COLUMNS, _records(times), row_key="bucket_no", row_attr="bucket")
    return tables


def funnel_tables(warehouse: Warehouse, query: PageQuery) -> dict[str, DataTable]:
    found = _funnel(warehouse, query)
    return {} if found is None else _funnel_tables(*found)


def funnel_page(warehouse: Warehouse, query: PageQuery) -> dict[str, Any]:
    from shoplens.analytics.charts import funnel_bars

    found = _funnel(warehouse, query)
    if found is None:
        return _missing("analytics_funnel")
    steps, times = found
    if steps.empty or not steps["entities"].any():
        return {"empty": f"No journey started in {query.period.label()}."}
    return {"svg": funnel_bars(steps, "funnel conversion"), **_funnel_tables(steps, times)}


def _clv(warehouse: Warehouse, query: PageQuery) -> tuple[dict[str, Any], pd.Series] | None:
    """The CLV summary and values of the customers acquired (first purchase) in the period (all without one)."""
    with warehouse.read() as con:
        values = reads.clv_values(con, query.period, warehouse.ws.config.timezone)
    if values is None:
        return None
    summary = {"customers": len(values), "total_clv": float(values["clv"].sum()),
               "median_clv": jsonable(values["clv"].median()), "p90_clv": jsonable(values["clv"].quantile(0.9)),
               "mean_p_alive": jsonable(values["p_alive"].mean())}
    return summary, values["clv"]


def clv_tables(warehouse: Warehouse, query: PageQuery) -> dict[str, DataTable]:
    found = _clv(warehouse, query)
    return {} if found is None else {"clv": DataTable("clv", CLV_COLUMNS, [found[0]], warehouse.ws.config.currency)}


def clv_page(warehouse: Warehouse, query: PageQuery) -> dict[str, Any]:
    from shoplens.analytics.charts import histogram

    found = _clv(warehouse, query)
    if found is None:
        return _missing("analytics_clv")
    summary, values = found
    currency = warehouse.ws.config.currency
    return {"svg": histogram(values, label="12-month CLV per customer", currency=currency),
            "clv": DataTable("clv", CLV_COLUMNS, [summary], currency), "summary": summary}


capability = Capability(
    name="analytics",
    router=router,
    pages=(Page(path="/analytics/kpis", title="Sales", template="analytics_kpis.html", context=kpis_page,
                order=19, tables=kpi_tables),
           Page(path="/analytics/segments", title="Segments", template="analytics_segments.html",
                context=segments_page, order=20, tables=segment_tables),
           Page(path="/analytics/cohorts", title="Cohorts", template="analytics_cohorts.html",
                context=cohorts_page, order=21, tables=cohort_tables),
           Page(path="/analytics/funnel", title="Funnel", template="analytics_funnel.html",
                context=funnel_page, order=22, tables=funnel_tables),
           Page(path="/analytics/clv", title="CLV", template="analytics_clv.html", context=clv_page, order=23,
                tables=clv_tables)),
    requires=("shoplens.analytics",),
)
