"""Engines that run the SQL analyses: DuckDB by default, Spark for scale-out (DESIGN.md, "Engine rules").

An analysis is portable SQL (:mod:`shoplens.engine.sql`) rendered into a :class:`PortableQuery`; an
engine runs it on a source (a workspace's warehouse or Parquet files), keeps the result as
``analytics_<name>`` (stored in the warehouse when the source is one) and returns it as Arrow::

    from shoplens.engine import make_engine
    with make_engine(ws, "duckdb") as engine:
        table = engine.run(query)          # pyarrow.Table; ws now holds analytics_<query.name>

The Spark engine is imported only when asked for, so DuckDB users never need PySpark.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol

import pyarrow as pa

from shoplens.engine.cluster import resolve_master
from shoplens.engine.duckdb_engine import DuckDBEngine
from shoplens.engine.sources import ParquetSource, Source, WarehouseSource, as_source
from shoplens.engine.sql import PortableQuery, parse, render, template_environment
from shoplens.errors import InputError

if TYPE_CHECKING:
    from types import TracebackType

ENGINES = ("duckdb", "spark")


class Engine(Protocol):
    """What both engines offer."""

    name: str
    source: Source

    @property
    def timezone(self) -> str: ...

    def __enter__(self) -> Engine: ...

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None: ...

    def run(self, query: PortableQuery, fetch: bool = True, temporary: bool = False) -> pa.Table | None: ...

    def sql(self, query: PortableQuery) -> str: ...

    def store(self, name: str, table: pa.Table) -> None: ...

    def has_rows(self, table: str) -> bool: ...

    def drop(self, name: str) -> None: ...


def make_engine(data: Any, engine: str = "duckdb", *, store: bool = True, spark: Any = None,
                master: str | None = None, threads: int | None = None, memory_limit: str | None = None,
                sink: Callable[[str, pa.Table], None] | None = None) -> Engine:
    """An engine named ``engine`` over ``data`` (a Workspace, Parquet folder or table → path mapping). Spark runs
    on ``master``, else ``$SHOPLENS_SPARK_MASTER``, else ``local[2]`` (:func:`resolve_master`); ``sink`` (Spark)
    receives every stored result (``SparkEngine``)."""
    source = as_source(data)
    if engine == "duckdb":
        return DuckDBEngine(source, store=store, threads=threads, memory_limit=memory_limit)
    if engine == "spark":
        from shoplens.engine.spark_engine import SparkEngine

        return SparkEngine(source, spark=spark, master=resolve_master(master), store=store, sink=sink)
    raise InputError(f"unknown engine {engine!r}; engines are {', '.join(ENGINES)}")


__all__ = ["ENGINES", "DuckDBEngine", "Engine", "ParquetSource", "PortableQuery", "Source", "WarehouseSource",
           "as_source", "make_engine", "parse", "render", "resolve_master", "template_environment"]
