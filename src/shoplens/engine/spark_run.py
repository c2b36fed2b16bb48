"""What the steps of ``shoplens run --engine spark`` share (docs/scale.md, "Batch scoring on Spark"): one Spark
session, the canonical tables as Parquet, and where the results go.

The canonical tables are read as Parquet: from a lake folder of ``<table>.parquet`` files (``--source``), else
exported once from the warehouse into ``<workspace>/spark/tables/``. Every result — the analyses and each deployed
model's batch scoring — is written as Parquet into ``<workspace>/spark/results/<table>/`` (Spark's part files) and
into the warehouse under the table name the local run uses, so the dashboard, the report and the API read it as
they read a local run's.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pyarrow as pa
import pyarrow.parquet as pq

from shoplens.engine.scoring import check_spark
from shoplens.engine.sources import ParquetSource, WarehouseSource, canonical_projection
from shoplens.errors import InputError
from shoplens.schema import TABLES

if TYPE_CHECKING:
    from shoplens.pipeline import RunContext
    from shoplens.workspace import Workspace

TABLES_DIR, RESULTS_DIR = "tables", "results"  # under the workspace's spark/ folder


@dataclass
class SparkRun:
    """An open Spark session over the run's canonical tables; results go to ``results`` and the warehouse."""

    ws: Workspace
    spark: Any
    source: ParquetSource
    results: Path
    master: str
    note: Callable[[str], None] = print
    owns_session: bool = True
    _frames: dict[str, Any] = field(default_factory=dict)

    def table(self, name: str) -> Any:
        """A canonical table as a Spark DataFrame with the canonical columns, or None when the source lacks it."""
        if name not in self.source.files:
            return None
        if name not in self._frames:
            frame = self.spark.read.parquet(str(self.source.path(name)))
            present = {f.name: f.dataType.simpleString() for f in frame.schema.fields}
            self._frames[name] = frame.selectExpr(*canonical_projection(name, present, "spark"))
        return self._frames[name]

    def has_rows(self, name: str) -> bool:
        frame = self.table(name)
        return frame is not None and bool(frame.limit(1).count())

    def save(self, name: str, frame: Any, order_by: list[str]) -> int:
        """Write a result computed on Spark as Parquet (``results/<name>/``) and into the warehouse table ``name``
        (replaced in one statement, rows in ``order_by`` order); returns its rows. Timestamps are written without
        a zone (their UTC values), as the warehouse holds them."""
        target = self.results / name
        timestamps = [f.name for f in frame.schema.fields if f.dataType.simpleString() == "timestamp"]
        for column in timestamps:
            frame = frame.withColumn(column, frame[column].cast("timestamp_ntz"))
        frame.write.mode("overwrite").parquet(str(target))
        return self._store(name, target, order_by)

    def keep(self, name: str, table: pa.Table) -> None:
        """Keep a result computed on the driver (an analysis, collected as Arrow) like :meth:`save`."""
        target = self.results / name
        shutil.rmtree(target, ignore_errors=True)
        target.mkdir(parents=True)
        pq.write_table(table, target / "part-00000.parquet")
        self._store(name, target, [])

    def _store(self, name: str, folder: Path, order_by: list[str]) -> int:
        files = f"{folder.as_posix()}/*.parquet".replace("'", "''")
        order = f" ORDER BY {', '.join(order_by)}" if order_by else ""
        with self.ws.connect(read_only=False, command=f"run --engine spark: store {name}") as con:
            con.execute(f"CREATE OR REPLACE TABLE \"{name}\" AS SELECT * FROM read_parquet('{files}'){order}")
            return int(con.execute(f'SELECT count(*) FROM "{name}"').fetchone()[0])

    def close(self) -> None:
        if self.owns_session:
            self.spark.stop()


def spark_run(ctx: RunContext) -> SparkRun:
    """The run's Spark session and tables, opened by the first step that asks (closed when the run ends)."""
    return ctx.shared("spark", lambda: open_spark_run(ctx.ws, source=ctx.options.get("source"),
                                                      master=ctx.options.get("master"), note=ctx.note),
                      lambda run: run.close())


def open_spark_run(ws: Workspace, *, source: str | Path | None = None, master: str | None = None, spark: Any = None,
                   note: Callable[[str], None] = print) -> SparkRun:
    """A Spark session on ``master`` (or ``spark``, an open one) over the tables of ``source`` (a folder of
    ``<table>.parquet`` files) or, without one, of the warehouse exported to Parquet."""
    from shoplens.engine.cluster import resolve_master
    from shoplens.engine.spark_engine import start_session

    check_spark()
    if source is not None:
        tables = ParquetSource.folder(source, ws.config.timezone)
        note(f"canonical tables from {source}: {', '.join(tables.files)}")
    else:
        tables = export_warehouse(ws)
        note(f"exported {len(tables.files)} canonical tables to {ws.dir('spark') / TABLES_DIR}")
    results = ws.dir("spark") / RESULTS_DIR
    results.mkdir(parents=True, exist_ok=True)
    spark = spark or _active_session(resolve_master(master))
    owns = spark is None
    if spark is None:
        spark = start_session(resolve_master(master))
    # Parquet written by Spark stores timestamps as microseconds (INT96 by default, which other readers mistake)
    spark.conf.set("spark.sql.parquet.outputTimestampType", "TIMESTAMP_MICROS")
    used = spark.sparkContext.master
    note(f"Spark session on {used} ({spark.sparkContext.defaultParallelism} cores)")
    return SparkRun(ws=ws, spark=spark, source=tables, results=results, master=used, note=note, owns_session=owns)


def _active_session(master: str) -> Any:
    """The session this process already has on ``master`` (a notebook's, a test's): used, and left open."""
    from pyspark.sql import SparkSession

    active = SparkSession.getActiveSession()
    return active if active is not None and active.sparkContext.master == master else None


def export_warehouse(ws: Workspace) -> ParquetSource:
    """Every canonical table the warehouse holds, as ``<workspace>/spark/tables/<table>.parquet``."""
    from shoplens.engine.spark_engine import export_table

    folder = ws.dir("spark") / TABLES_DIR
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    present = set(ws.table_names())
    files = {table: export_table(WarehouseSource(ws), table, folder) for table in TABLES if table in present}
    if not files:
        raise InputError(f"{ws.warehouse_path} holds no canonical table to run on Spark: ingest data first")
    return ParquetSource(files, ws.config.timezone)


__all__ = ["SparkRun", "export_warehouse", "open_spark_run", "spark_run"]
