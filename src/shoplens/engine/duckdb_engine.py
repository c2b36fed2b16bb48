"""The default engine: DuckDB, on the workspace's warehouse or on Parquet files.

On a warehouse each analysis result becomes a table ``analytics_<name>`` there (created in one statement,
so a failed analysis leaves the previous result in place); on Parquet files, or when nothing is to be
stored, results are temporary tables of the connection. Either way later analyses can read earlier
results by name, and each result comes back as an Arrow table.
"""

from __future__ import annotations

import contextlib
from types import TracebackType
from typing import Any

import duckdb
import pyarrow as pa

from shoplens.engine.sources import ParquetSource, Source, WarehouseSource, canonical_projection
from shoplens.engine.sql import PortableQuery
from shoplens.errors import ShoplensError


class DuckDBEngine:
    """Runs portable analyses on DuckDB. Use it as a context manager (it holds one connection)."""

    name = "duckdb"

    def __init__(self, source: Source, *, store: bool = True, threads: int | None = None,
                 memory_limit: str | None = None, temp_directory: str | None = None) -> None:
        self.source = source
        self.store_results = store
        self.threads = threads
        self.memory_limit = memory_limit
        self.temp_directory = temp_directory
        self._stack: contextlib.ExitStack | None = None
        self._con: duckdb.DuckDBPyConnection | None = None

    @property
    def timezone(self) -> str:
        return self.source.timezone

    @property
    def persistent(self) -> bool:
        """Whether results are stored in the warehouse (else they live as long as the connection)."""
        return self.store_results and isinstance(self.source, WarehouseSource)

    def __enter__(self) -> DuckDBEngine:
        self.open()
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        self.close()

    def open(self) -> None:
        if self._con is not None:
            return
        stack = contextlib.ExitStack()
        if isinstance(self.source, WarehouseSource):
            con = stack.enter_context(self.source.ws.connect(read_only=not self.store_results, command="analytics",
                                                             memory_limit=None))
        else:
            config: dict[str, Any] = {"temp_directory": self.temp_directory} if self.temp_directory else {}
            con = stack.enter_context(duckdb.connect(config=config))
            con.execute("SET TimeZone = 'UTC'")
        if self.threads:
            con.execute(f"SET threads = {int(self.threads)}")
        if self.memory_limit:
            con.execute(f"SET memory_limit = '{self.memory_limit}'")
        if isinstance(self.source, ParquetSource):
            for table, path in self.source.files.items():
                _parquet_view(con, table, str(path))
        self._stack, self._con = stack, con

    def close(self) -> None:
        if self._stack is not None:
            self._stack.close()
        self._stack, self._con = None, None

    @property
    def connection(self) -> duckdb.DuckDBPyConnection:
        if self._con is None:
            raise ShoplensError("the DuckDB engine is not open; use it in a `with` block")
        return self._con

    def sql(self, query: PortableQuery) -> str:
        return query.sql("duckdb", self.timezone)

    def run(self, query: PortableQuery, fetch: bool = True, temporary: bool = False) -> pa.Table | None:
        """Run ``query`` and keep its result as ``analytics_<name>`` (for this connection only when
        ``temporary``); return it when ``fetch``."""
        target = f"analytics_{query.name}"
        kind = "TABLE" if self.persistent and not temporary else "TEMP TABLE"
        try:
            self.connection.execute(f"CREATE OR REPLACE {kind} {target} AS {self.sql(query)}")
            return self.connection.sql(f"SELECT * FROM {target}").to_arrow_table() if fetch else None
        except duckdb.Error as exc:
            raise ShoplensError(f"analysis {query.name!r} failed on DuckDB: {str(exc).splitlines()[0]}") from exc

    def store(self, name: str, table: pa.Table) -> None:
        """Keep a result computed outside SQL (a model's predictions) as ``analytics_<name>``."""
        target = f"analytics_{name}"
        kind = "TABLE" if self.persistent else "TEMP TABLE"
        self.connection.register("_shoplens_result", table)
        try:
            self.connection.execute(f"CREATE OR REPLACE {kind} {target} AS SELECT * FROM _shoplens_result")
        finally:
            self.connection.unregister("_shoplens_result")

    def has_rows(self, table: str) -> bool:
        """Whether the source's ``table`` exists and holds at least one row."""
        try:
            return self.connection.execute(f'SELECT 1 FROM "{table}" LIMIT 1').fetchone() is not None
        except duckdb.CatalogException:
            return False

    def drop(self, name: str) -> None:
        """Forget a temporary result (``analytics_<name>`` of this connection)."""
        self.connection.execute(f"DROP TABLE IF EXISTS temp.analytics_{name}")

    def explain(self, query: PortableQuery) -> str:
        """``EXPLAIN ANALYZE`` of the query: where the time goes (for tuning the SQL)."""
        rows = self.connection.execute(f"EXPLAIN ANALYZE {self.sql(query)}").fetchall()
        return "\n".join(str(row[-1]) for row in rows)


def _parquet_view(con: duckdb.DuckDBPyConnection, table: str, path: str) -> None:
    described = con.execute("DESCRIBE SELECT * FROM read_parquet(?)", [path]).fetchall()
    present = {row[0]: row[1] for row in described}
    quoted = path.replace("'", "''")
    con.execute(f"CREATE OR REPLACE TEMP VIEW {table} AS "
                f"SELECT {', '.join(canonical_projection(table, present, 'duckdb'))} FROM read_parquet('{quoted}')")
