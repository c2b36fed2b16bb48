"""The stored analytics results (``analytics_*`` tables, written by ``shoplens analyze`` or ``shoplens run``) as
the service and its dashboard read them, on an open connection: which were computed, a page of one, one whole,
the CLV distribution, the CLV of the customers acquired in a period.

A result's name and the columns a page is filtered on are checked against :data:`RESULTS` before they reach the
SQL; values are bound. Nothing heavy is imported here (DuckDB brings pandas when a frame is asked for), so the
service's router imports this module at no cost.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from shoplens.errors import InputError, NotFound
from shoplens.views import VOID_STATUSES
from shoplens.workspace import has_table

if TYPE_CHECKING:
    import duckdb
    import pandas as pd

    from shoplens.period import Period


@dataclass(frozen=True)
class Result:
    """A stored result: the command that computes it, the order its rows are read in (unique, so that pages
    neither repeat nor skip a row) and the columns a page of it may keep one value of."""

    command: str
    order: str
    filters: tuple[str, ...] = ()


RULES_ORDER = ("lift DESC, support DESC, list_aggr(antecedents, 'string_agg', ', '), "
               "list_aggr(consequents, 'string_agg', ', ')")
RESULTS: dict[str, Result] = {
    "analytics_kpis_day": Result("shoplens analyze kpis --grain day", "period DESC, value", ("dimension", "value")),
    "analytics_kpis_week": Result("shoplens analyze kpis --grain week", "period DESC, value", ("dimension", "value")),
    "analytics_kpis_month": Result("shoplens analyze kpis --grain month", "period DESC, value",
                                   ("dimension", "value")),
    "analytics_rfm": Result("shoplens analyze rfm", "monetary DESC, customer_id", ("segment",)),
    "analytics_rfm_segments": Result("shoplens analyze rfm", "rank"),
    "analytics_cohorts": Result("shoplens analyze cohorts", "segment, cohort, period", ("segment",)),
    "analytics_funnel": Result("shoplens analyze funnel", "segment, step_no", ("segment",)),
    "analytics_funnel_times": Result("shoplens analyze funnel", "segment, bucket_no", ("segment",)),
    "analytics_pair_counts": Result("shoplens analyze baskets", "orders DESC, item_a, item_b"),
    "analytics_rules": Result("shoplens analyze baskets", RULES_ORDER),
    "analytics_clv": Result("shoplens analyze clv", "clv DESC, customer_id"),
    "analytics_churn": Result("shoplens analyze churn", "churn_probability DESC, customer_id"),
}
CLV_SHARES = (0.1, 0.25, 0.5, 0.75, 0.9, 0.99)  # the quantiles of the CLV summary


def result_name(name: str) -> str:
    """``name`` when it names a result; ``NotFound`` listing them otherwise (nothing else reaches the SQL)."""
    if name not in RESULTS:
        raise NotFound(f"no analytics result {name!r}; the results are: {', '.join(RESULTS)}")
    return name


def require_result(con: duckdb.DuckDBPyConnection, name: str) -> None:
    """``NotFound`` naming the command that computes the result when it was never computed."""
    if not has_table(con, result_name(name)):
        raise NotFound(f"no {name} yet: compute it with `{RESULTS[name].command}` (or `shoplens run`)")


def computed_results(con: duckdb.DuckDBPyConnection) -> list[tuple[str, int]]:
    """(name, rows) of each result computed, in the order of :data:`RESULTS`."""
    return [(name, con.execute(f"SELECT count(*) FROM {name}").fetchone()[0])
            for name in RESULTS if has_table(con, name)]


def _where(name: str, filters: Mapping[str, Any] | None) -> tuple[str, list[Any]]:
    """The WHERE clause keeping the rows equal to each filter that is not None, and its values."""
    used = {column: value for column, value in (filters or {}).items() if value is not None}
    unknown = sorted(set(used) - set(RESULTS[name].filters))
    if unknown:
        raise InputError(f"{name} cannot be filtered on {', '.join(unknown)}; "
                         f"only on {', '.join(RESULTS[name].filters) or 'nothing'}")
    conditions = " AND ".join(f"{column} = ?" for column in used)
    return (f" WHERE {conditions}" if conditions else ""), list(used.values())


def result_page(con: duckdb.DuckDBPyConnection, name: str, *, filters: Mapping[str, Any] | None = None,
                limit: int, offset: int) -> dict[str, Any]:
    """One page of a computed result in its order: ``columns``, ``rows`` (tuples) and the ``total`` rows matching
    the filters (column → value; None leaves a column unfiltered)."""
    require_result(con, name)
    where, params = _where(name, filters)
    cursor = con.execute(f"SELECT * FROM {name}{where} ORDER BY {RESULTS[name].order} LIMIT ? OFFSET ?",
                         [*params, limit, offset])
    columns = [d[0] for d in cursor.description]
    rows = cursor.fetchall()
    total = con.execute(f"SELECT count(*) FROM {name}{where}", params).fetchone()[0]
    return {"columns": columns, "rows": rows, "total": total}


def stored_result(con: duckdb.DuckDBPyConnection, name: str) -> pd.DataFrame | None:
    """A result whole, in its order; None when it was never computed."""
    if not has_table(con, result_name(name)):
        return None
    return con.sql(f"SELECT * FROM {name} ORDER BY {RESULTS[name].order}").df()


def clv_summary(con: duckdb.DuckDBPyConnection) -> dict[str, Any]:
    """Customers, total and mean CLV, mean P(alive) and the CLV at :data:`CLV_SHARES` (``p10`` …)."""
    require_result(con, "analytics_clv")
    row = con.execute("SELECT count(*), sum(clv), avg(clv), avg(p_alive), quantile_cont(clv, ?) FROM analytics_clv",
                      [list(CLV_SHARES)]).fetchall()[0]
    quantiles = dict(zip((f"p{round(s * 100)}" for s in CLV_SHARES), row[4] or [None] * len(CLV_SHARES), strict=True))
    return {"customers": row[0], "total_clv": row[1], "mean_clv": row[2], "mean_p_alive": row[3],
            "quantiles": quantiles}


def clv_values(con: duckdb.DuckDBPyConnection, period: Period, timezone: str) -> pd.DataFrame | None:
    """``clv`` and ``p_alive`` per customer — of the customers acquired in ``period`` (their first order neither
    void nor of a negative amount fell in it) when it is bounded; None when the CLV was never computed."""
    if not has_table(con, "analytics_clv"):
        return None
    where, params = "", []
    if period.bounded:
        first_sale, bounds = period.timestamps("min(order_ts)", timezone)
        voided = ", ".join("?" * len(VOID_STATUSES))
        where = (f"WHERE customer_id IN (SELECT customer_id FROM orders WHERE customer_id IS NOT NULL "
                 f"AND coalesce(lower(status), '') NOT IN ({voided}) AND coalesce(total_amount, 0) >= 0 "
                 f"GROUP BY customer_id HAVING {first_sale})")
        params = [*VOID_STATUSES, *bounds]
    return con.execute(f"SELECT clv, p_alive FROM analytics_clv {where}", params).df()
