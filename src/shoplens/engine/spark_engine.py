"""The scale-out engine: the same SQL, transpiled by SQLGlot, on PySpark (local mode or a cluster).

Needs the optional extra ``shoplens[spark]`` (and Java). Canonical tables come from Parquet files, or from
the warehouse exported once to Parquet in the workspace's ``tmp/`` folder. Each result is cached in Spark
(later analyses read it as ``analytics_<name>``), returned as Arrow with naive UTC timestamps like
DuckDB's, and, on a workspace, stored in the warehouse as the DuckDB engine would.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import Any

import pyarrow as pa

from shoplens.engine.cluster import python_for_executors, resolve_master, session_defaults
from shoplens.engine.sources import ParquetSource, Source, WarehouseSource, canonical_projection
from shoplens.engine.sql import PortableQuery
from shoplens.errors import ShoplensError
from shoplens.schema import TABLES

DEFAULT_CONFIG = {
    "spark.sql.session.timeZone": "UTC",  # the engine rules: timestamps are UTC everywhere
    "spark.sql.shuffle.partitions": "8",
    "spark.ui.enabled": "false",
    "spark.sql.execution.arrow.pyspark.enabled": "true",
    # pandas writes nanosecond timestamps, which Spark cannot read as timestamps; read them as integers and
    # convert them in the canonical projection (sources.canonical_projection)
    "spark.sql.legacy.parquet.nanosAsLong": "true",
    "spark.ui.showConsoleProgress": "false",
}


class SparkEngine:
    """Runs portable analyses on Spark. ``spark`` is an existing session (else one is started on
    ``master``, e.g. ``local[2]`` or ``spark://host:7077``; None: :func:`~shoplens.engine.cluster.resolve_master`).
    Use it as a context manager. ``sink(name, table)``, when given, receives every result that is not temporary
    (``shoplens run --engine spark`` keeps them as Parquet and in the warehouse, whatever the source)."""

    name = "spark"

    def __init__(self, source: Source, *, spark: Any = None, master: str | None = None, store: bool = True,
                 config: dict[str, str] | None = None, sink: Callable[[str, pa.Table], None] | None = None) -> None:
        self.source = source
        self.sink = sink
        self.spark = spark
        self.master = resolve_master(master)
        self.store_results = store
        self.config = config
        self._owns_session = False
        self._registered: set[str] = set()
        self._cached: dict[str, Any] = {}
        self._export_dir: Path | None = None

    @property
    def timezone(self) -> str:
        return self.source.timezone

    def __enter__(self) -> SparkEngine:
        self.open()
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        self.close()

    def open(self) -> None:
        if self.spark is None:
            self.spark = start_session(self.master, self.config)
            self._owns_session = True
        else:
            self.spark.conf.set("spark.sql.session.timeZone", "UTC")

    def close(self) -> None:
        for frame in self._cached.values():
            frame.unpersist()
        for name in self._registered:
            self.spark.catalog.dropTempView(name)
        self._cached, self._registered = {}, set()
        if self._export_dir is not None:
            shutil.rmtree(self._export_dir, ignore_errors=True)
            self._export_dir = None
        if self._owns_session and self.spark is not None:
            self.spark.stop()
            self.spark, self._owns_session = None, False

    def sql(self, query: PortableQuery) -> str:
        return query.sql("spark", self.timezone)

    def run(self, query: PortableQuery, fetch: bool = True, temporary: bool = False) -> pa.Table | None:
        """Run ``query`` and keep its result as ``analytics_<name>`` (in Spark only when ``temporary``);
        return it when ``fetch`` (a result stored in the warehouse is always collected)."""
        if self.spark is None:
            raise ShoplensError("the Spark engine is not open; use it in a `with` block")
        for table in sorted(query.tables()):
            self._register(table)
        text = self.sql(query)
        stored = self.store_results and isinstance(self.source, WarehouseSource) and not temporary
        kept = self.sink is not None and not temporary
        try:
            frame = self.spark.sql(text).persist()
            result = naive_utc(frame.toArrow()) if fetch or stored or kept else None
            if result is None:
                frame.count()  # computes and caches it for the analyses that read it
        except Exception as exc:  # py4j / analysis errors: one line for the user, the cause kept
            raise ShoplensError(f"analysis {query.name!r} failed on Spark: {str(exc).splitlines()[0][:300]}") from exc
        target = f"analytics_{query.name}"
        frame.createOrReplaceTempView(target)
        self._cached[target] = frame
        self._registered.add(target)
        if stored and result is not None:
            store_table(self.source, target, result)
        if kept and result is not None and self.sink is not None:
            self.sink(target, result)
        return result if fetch else None

    def has_rows(self, table: str) -> bool:
        """Whether the source's ``table`` exists and holds at least one row."""
        if self.spark is None:
            raise ShoplensError("the Spark engine is not open; use it in a `with` block")
        if isinstance(self.source, ParquetSource) and table not in self.source.files:
            return False
        if isinstance(self.source, WarehouseSource) and table not in self.source.ws.table_names():
            return False
        self._register(table)
        return bool(self.spark.table(table).limit(1).count())

    def drop(self, name: str) -> None:
        """Forget a temporary result (``analytics_<name>``)."""
        target = f"analytics_{name}"
        if target in self._cached:
            self._cached.pop(target).unpersist()
        if target in self._registered:
            self.spark.catalog.dropTempView(target)
            self._registered.discard(target)

    def store(self, name: str, table: pa.Table) -> None:
        """Keep a result computed outside SQL (a model's predictions) as ``analytics_<name>``."""
        target = f"analytics_{name}"
        frame = self.spark.createDataFrame(table.to_pandas())
        frame.createOrReplaceTempView(target)
        self._registered.add(target)
        if self.store_results and isinstance(self.source, WarehouseSource):
            store_table(self.source, target, table)

    def _register(self, table: str) -> None:
        if table in self._registered:
            return
        path = self._parquet_of(table)
        frame = self.spark.read.parquet(str(path))
        if table in TABLES:
            present = {f.name: f.dataType.simpleString() for f in frame.schema.fields}
            frame = frame.selectExpr(*canonical_projection(table, present, "spark"))
        frame.createOrReplaceTempView(table)
        self._registered.add(table)

    def _parquet_of(self, table: str) -> Path:
        if isinstance(self.source, ParquetSource):
            return self.source.path(table)
        if self._export_dir is None:
            self._export_dir = Path(tempfile.mkdtemp(prefix="spark-", dir=self.source.ws.dir("tmp")))
        return export_table(self.source, table, self._export_dir)


def start_session(master: str | None = None, config: dict[str, str] | None = None) -> Any:
    """A Spark session in UTC on ``master`` (None: ``$SHOPLENS_SPARK_MASTER`` or ``local[2]``, see
    :func:`~shoplens.engine.cluster.resolve_master`); ``shoplens[spark]`` must be installed."""
    try:
        from pyspark import SparkContext
        from pyspark.sql import SparkSession
    except ImportError:
        raise ShoplensError("the Spark engine needs PySpark: install shoplens[spark] (and Java 17+)") from None
    master = resolve_master(master)
    active = SparkContext._active_spark_context
    if active is not None and active.master != master:
        # getOrCreate would hand back the open session and silently run the job on its master instead
        raise ShoplensError(f"a Spark session on {active.master} is already open in this process (Spark allows one "
                            f"per process): stop it before starting one on {master}, or pass it as spark=")
    # executors start Python workers with $PYSPARK_PYTHON (default a bare `python3`, often without pandas and
    # pyarrow): this interpreter unless the user chose one
    os.environ.setdefault("PYSPARK_PYTHON", python_for_executors())
    builder = SparkSession.builder.master(master).appName("shoplens")
    for key, value in {**DEFAULT_CONFIG, **session_defaults(master), **(config or {})}.items():
        builder = builder.config(key, value)
    session = builder.getOrCreate()
    session.sparkContext.setLogLevel("ERROR")
    return session


def export_table(source: WarehouseSource, table: str, folder: Path) -> Path:
    """One warehouse table as Parquet (lineage columns left out), for Spark to read."""
    columns = [c for c in source.ws.columns(table) if not c.startswith("_")]
    if not columns:
        raise ShoplensError(f"the analysis needs the table {table!r}, which {source.ws.warehouse_path} lacks")
    target = folder / f"{table}.parquet"
    listed = ", ".join(f'"{c}"' for c in columns)
    with source.ws.connect() as con:
        con.execute(f"COPY (SELECT {listed} FROM \"{table}\") TO '{target}' (FORMAT parquet)")
    return target


def store_table(source: WarehouseSource, name: str, result: pa.Table) -> None:
    """Replace the warehouse table ``name`` with ``result`` (one statement: all or nothing)."""
    with source.ws.connect(read_only=False, command=f"analytics: store {name}") as con:
        con.register("_result", result)
        con.execute(f"CREATE OR REPLACE TABLE {name} AS SELECT * FROM _result")
        con.unregister("_result")


def naive_utc(table: pa.Table) -> pa.Table:
    """Timestamps with a time zone → naive UTC values (how the warehouse and DuckDB's results hold them)."""
    for index, column in enumerate(table.schema):
        if pa.types.is_timestamp(column.type) and column.type.tz is not None:
            # the stored integers are UTC already: dropping the zone keeps them as naive UTC values
            table = table.set_column(index, column.name, table.column(index).cast(pa.timestamp(column.type.unit)))
    return table
