"""The Python API of the SQL analyses: each runs on an engine, is stored in the warehouse as
``analytics_<name>`` (when the data are a workspace) and comes back as pandas.

``data`` is a Workspace, a folder of ``<table>.parquet`` files, a mapping of table names to Parquet
paths, or an open :class:`AnalysisSession` (to run several analyses on one engine and connection)::

    import shoplens as sl
    from shoplens import analytics

    ws = sl.Workspace.open("shop")
    daily = analytics.kpis(ws, grain="week")
    rfm = analytics.rfm(ws)                      # rfm.customers, rfm.segments
    with analytics.AnalysisSession(ws, engine="spark") as session:   # the same SQL on Spark
        cohorts = analytics.cohorts(session, breakdown="country")
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from types import TracebackType
from typing import Any

import pandas as pd
import pyarrow as pa

from shoplens.analytics import queries
from shoplens.analytics.funnels import DEFAULT_STEPS, Entity, Funnel, FunnelStep
from shoplens.engine import Engine, PortableQuery, WarehouseSource, make_engine
from shoplens.errors import InputError, NotFound

# Results that other analyses read but people rarely look at (large: one row per session, per basket line):
# kept for the session only (never stored in the warehouse) and not returned unless asked for.
INTERMEDIATE = frozenset({"funnel_entities", "baskets"})


class AnalysisSession:
    """One engine, open for several analyses: ``with AnalysisSession(ws, engine="duckdb") as s: ...``."""

    def __init__(self, data: Any, engine: str = "duckdb", *, store: bool = True, spark: Any = None,
                 master: str | None = None, threads: int | None = None, memory_limit: str | None = None,
                 sink: Any = None) -> None:
        self.data = data
        self.engine_name = engine
        self.options = {"store": store, "spark": spark, "master": master, "threads": threads,
                        "memory_limit": memory_limit, "sink": sink}
        self.engine: Engine | None = None

    def __enter__(self) -> AnalysisSession:
        self.engine = make_engine(self.data, self.engine_name, **self.options)
        self.engine.__enter__()
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        if self.engine is not None:
            self.engine.__exit__(kind, error, trace)
        self.engine = None

    def run(self, batch: list[PortableQuery], *, fetch_all: bool = False) -> dict[str, pa.Table]:
        """Run queries in order (later ones may read earlier results); their results by name. Intermediate
        results (one row per funnel journey) are kept for the queries that read them but not returned
        unless ``fetch_all``."""
        if self.engine is None:
            raise InputError("the analysis session is not open; use it in a `with` block")
        results = {}
        for q in batch:
            intermediate = q.name in INTERMEDIATE
            table = self.engine.run(q, fetch=fetch_all or not intermediate, temporary=intermediate)
            if table is not None:
                results[q.name] = table
        for q in batch:  # the batch that needed them is done: free their memory
            if q.name in INTERMEDIATE:
                self.engine.drop(q.name)
        return results

    def require(self, tables: tuple[str, ...], purpose: str) -> None:
        """Refuse (``NotFound``, naming the table and the data) an analysis whose driving tables are empty."""
        if self.engine is None:
            raise InputError("the analysis session is not open; use it in a `with` block")
        for table in tables:
            if not self.engine.has_rows(table):
                raise NotFound(f"{purpose} needs rows in the {table!r} table, and {_describe(self.engine.source)} "
                               f"has none: ingest {table} first (`shoplens ingest {table} FILE`)")

    def store(self, name: str, frame: pd.DataFrame | pa.Table) -> None:
        """Keep a Python-computed result (model predictions, rules) as ``analytics_<name>``."""
        if self.engine is None:
            raise InputError("the analysis session is not open; use it in a `with` block")
        table = frame if isinstance(frame, pa.Table) else pa.Table.from_pandas(frame, preserve_index=False)
        self.engine.store(name, table)

    @property
    def source(self) -> Any:
        return self.engine.source if self.engine is not None else None


def run_queries(data: Any, batch: list[PortableQuery], *, engine: str = "duckdb", store: bool = True,
                needs: tuple[str, ...] = (), purpose: str | None = None) -> dict[str, pa.Table]:
    """Run a batch of analyses on ``data`` (an open session is reused, else one is opened and closed);
    ``needs`` names the tables that must hold rows (else ``NotFound`` says which is empty)."""
    purpose = purpose or (batch[0].name if batch else "the analysis")
    if isinstance(data, AnalysisSession):
        data.require(needs, purpose)
        return data.run(batch)
    with AnalysisSession(data, engine, store=store) as session:
        session.require(needs, purpose)
        return session.run(batch)


def _describe(source: Any) -> str:
    if isinstance(source, WarehouseSource):
        return f"the workspace {source.ws.path}"
    return "the Parquet source"


def store_result(data: Any, name: str, frame: pd.DataFrame | pa.Table, *, engine: str = "duckdb") -> None:
    """Store ``frame`` as ``analytics_<name>`` in the warehouse behind ``data`` (or the open session)."""
    if isinstance(data, AnalysisSession):
        data.store(name, frame)
        return
    with AnalysisSession(data, engine) as session:
        session.store(name, frame)


def _frame(table: pa.Table, order: list[str]) -> pd.DataFrame:
    return table.to_pandas().sort_values(order, kind="stable").reset_index(drop=True)


# -- analyses ------------------------------------------------------------------------------------------
def kpis(data: Any, grain: str = "day", *, engine: str = "duckdb", store: bool = True) -> pd.DataFrame:
    """Revenue, refunds, orders, AOV, units, customers (new, returning, repeat rate), refund rate per
    period, overall (``dimension == "all"``) and by country, channel and category."""
    table = run_queries(data, queries.kpis(grain), engine=engine, store=store, needs=("orders",),
                        purpose="KPIs")[f"kpis_{grain}"]
    return _frame(table, ["dimension", "value", "period"])


@dataclass(frozen=True)
class RFMResult:
    """Per-customer scores and segments, and each segment's size and revenue share."""

    customers: pd.DataFrame
    segments: pd.DataFrame


def rfm(data: Any, as_of: dt.date | str | None = None, *, engine: str = "duckdb", store: bool = True) -> RFMResult:
    """RFM quintile scores (cut-offs, not ranks) and named segments, as of a day (default: the day after
    the last purchase)."""
    tables = run_queries(data, queries.rfm(as_of), engine=engine, store=store, needs=("orders",), purpose="RFM")
    return RFMResult(_frame(tables["rfm"], ["customer_id"]), _frame(tables["rfm_segments"], ["rank"]))


def cohorts(data: Any, breakdown: str | None = None, *, engine: str = "duckdb", store: bool = True) -> pd.DataFrame:
    """Monthly acquisition cohorts in long form (cohort, segment, period): retention, revenue and the
    repeat-purchase curve; ``breakdown`` is a customer column or ``attributes.<key>``."""
    table = run_queries(data, queries.cohorts(breakdown), engine=engine, store=store, needs=("orders",),
                        purpose="cohorts")["cohorts"]
    return _frame(table, ["segment", "cohort", "period"])


def cohort_matrix(table: pd.DataFrame, value: str = "retention", segment: str | None = None) -> pd.DataFrame:
    """A cohort × period matrix of one measure (retention, revenue_per_customer, repeat_rate …)."""
    if value not in table.columns:
        raise InputError(f"no cohort measure {value!r}; measures are {', '.join(table.columns[3:])}")
    rows = table if segment is None else table[table["segment"] == segment]
    if segment is None and rows["segment"].nunique() > 1:
        raise InputError(f"the cohorts are broken down; name a segment ({', '.join(sorted(rows['segment'].unique()))})")
    return rows.pivot(index="cohort", columns="period", values=value)


@dataclass(frozen=True)
class FunnelResult:
    """Per step (and segment) counts and conversion, and the time-to-convert distribution."""

    funnel: Funnel
    steps: pd.DataFrame
    times: pd.DataFrame


def funnel(data: Any, steps: list[str | FunnelStep] | tuple[str, ...] = DEFAULT_STEPS, *,
           window: str | float | None = None, entity: Entity = "session", breakdown: str | None = None,
           session_gap_minutes: float = 30, start: str | None = None, end: str | None = None,
           engine: str = "duckdb", store: bool = True) -> FunnelResult:
    """Conversion through ordered steps (alternatives with ``|``, optional steps with ``?``) within a window
    from the first step, per session (rebuilt from 30 minutes of inactivity when missing) or customer."""
    spec = Funnel.parse(steps, window=window, entity=entity, breakdown=breakdown,
                        session_gap_minutes=session_gap_minutes, start=start, end=end)
    tables = run_queries(data, queries.funnel(spec), engine=engine, store=store, needs=("events",),
                         purpose="a funnel")
    return FunnelResult(spec, _frame(tables["funnel"], ["segment", "step_no"]),
                        _frame(tables["funnel_times"], ["segment", "bucket_no"]))


def pair_counts(data: Any, min_support: float = 0.01, *, engine: str = "duckdb", store: bool = True) -> pd.DataFrame:
    """Products bought together: pairs of frequent items with support, confidence and lift."""
    table = run_queries(data, queries.baskets(min_support), engine=engine, store=store, needs=("order_items",),
                        purpose="pair counts")["pair_counts"]
    return _frame(table, ["item_a", "item_b"])
