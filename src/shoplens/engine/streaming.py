"""Real-time KPIs on Spark Structured Streaming: event files in, one-minute KPIs out, exactly once.

The source is a folder of JSON-lines event files (one event object per line, the format of
``POST /api/v1/events``): Spark's file source with the schema given, so nothing is inferred. In production the
Kafka source takes its place (docs/scale.md, "Real time"); everything after the source stays as it is.

Pipeline, per micro-batch:

1. canonical event types (any case, the schema's aliases); events without an id, a timestamp or a known type
   are left out;
2. a 10-minute watermark on ``event_ts`` and deduplication by ``event_id`` within it
   (``dropDuplicatesWithinWatermark``): a duplicate arriving up to 10 minutes (event time) behind the latest
   event is dropped, an event that late is counted, a later one is dropped as too late;
3. one-minute windows: first per session (views, carts, purchases, revenue), then per minute (sessions =
   sessions with an event in the minute): two chained aggregations, because a streaming query cannot count
   distinct values exactly;
4. the Parquet sink in append mode: a window is written once, when the watermark has passed its end, so every
   row written is final.

The checkpoint folder holds the source's offsets (which files were read), the state (events seen, open
windows) and the sink's commits: a query stopped or killed and started again with the same checkpoint reads
each file once and writes each window once. The output folder's ``_spark_metadata`` log lists the files of
committed batches; :func:`read_kpis` reads only those, so a batch that failed half-way is never counted.

:func:`recount_kpis` computes the same KPIs from the same files in one batch query (the portable SQL of
:mod:`shoplens.engine.live_kpis`, which the service's live tile runs on DuckDB): the streaming output must equal
it for every window the watermark has closed, when no event arrived more than 10 minutes late.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import secrets
import time
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from shoplens.engine.live_kpis import KPIS, per_minute_query
from shoplens.errors import InputError, ShoplensError
from shoplens.schema import EVENTS

WINDOW = "1 minute"
WATERMARK = "10 minutes"
WATERMARK_DELAY = dt.timedelta(minutes=10)
EVENT_SCHEMA = ("event_id STRING, session_id STRING, customer_id STRING, product_id STRING, event_type STRING, "
                "event_ts TIMESTAMP, query STRING, price DECIMAL(18,4), quantity BIGINT")
OUTPUT_COLUMNS = ("window_start", "window_end", *KPIS)
KPI_SCHEMA = pa.schema([("window_start", pa.timestamp("us")), ("window_end", pa.timestamp("us")),
                        *[(name, pa.int64()) for name in KPIS[:-1]], ("revenue", pa.decimal128(18, 2))])
SINK_LOG = "_spark_metadata"
EVENT_TYPE = EVENTS.column("event_type")
# Parquet timestamps as the rest of shoplens reads them (Spark's default, INT96, is a legacy type)
STREAM_CONFIG = {"spark.sql.parquet.outputTimestampType": "TIMESTAMP_MICROS"}


@dataclass
class StreamReport:
    """What a run of the streaming query did (``batches`` … from its progress reports, the last 100 batches)."""

    input: str
    output: str
    checkpoint: str
    master: str
    batches: int = 0
    input_rows: int = 0
    duplicates_dropped: int = 0
    late_rows_dropped: int = 0  # events behind the watermark (more than 10 minutes late)
    watermark: str | None = None  # windows ending at or before it are final and written
    windows_written: int = 0  # rows in the output (all runs)
    seconds: float = 0.0
    messages: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


# -- the query ---------------------------------------------------------------------------------------------
def canonical_events(frame: Any) -> Any:
    """Events with canonical types, the rows a KPI can use: an id, a timestamp and a known event type."""
    from pyspark.sql import functions as F

    lowered = F.lower(F.trim(F.col("event_type")))
    aliases = F.create_map(*[F.lit(v) for pair in EVENT_TYPE.aliases for v in pair])
    event_type = F.coalesce(aliases[lowered], lowered)
    return (frame.withColumn("event_type", event_type)
            .where(F.col("event_id").isNotNull() & F.col("event_ts").isNotNull()
                   & F.col("event_type").isin(*(EVENT_TYPE.choices or ())))
            .select("event_id", "session_id", "event_type", "event_ts", "price", "quantity"))


def file_events(spark: Any, input_dir: str | os.PathLike, *, max_files_per_trigger: int | None = None) -> Any:
    """The source: the JSON-lines event files landing in ``input_dir``, read with :data:`EVENT_SCHEMA`."""
    reader = spark.readStream.schema(EVENT_SCHEMA)
    if max_files_per_trigger:
        reader = reader.option("maxFilesPerTrigger", max_files_per_trigger)
    return reader.json(str(input_dir))


def kpis_of(events: Any) -> Any:
    """Final one-minute KPIs of a stream of events (any source with the columns of :data:`EVENT_SCHEMA`)."""
    from pyspark.sql import functions as F

    distinct = canonical_events(events).withWatermark("event_ts", WATERMARK).dropDuplicatesWithinWatermark(
        ["event_id"])
    of_type = {name: F.count(F.when(F.col("event_type") == kind, 1)).alias(name)
               for name, kind in (("views", "view"), ("carts", "add_to_cart"), ("purchases", "purchase"))}
    amount = F.when(F.col("event_type") == "purchase", F.col("price") * F.coalesce(F.col("quantity"), F.lit(1)))
    per_session = (distinct.groupBy(F.window("event_ts", WINDOW).alias("window"), "session_id")
                   .agg(*of_type.values(), F.sum(amount).alias("revenue")))
    # the per-session rows of a window carry its event time (window_time) into the per-minute window
    per_minute = (per_session.groupBy(F.window(F.window_time("window"), WINDOW).alias("minute"))
                  .agg(F.count("session_id").alias("sessions"),
                       *[F.sum(name).cast("bigint").alias(name) for name in of_type],
                       F.sum("revenue").alias("revenue")))
    revenue = F.round(F.coalesce(F.col("revenue"), F.lit(0)), 2).cast("decimal(18,2)")
    return per_minute.select(F.col("minute.start").alias("window_start"), F.col("minute.end").alias("window_end"),
                             "sessions", "views", "carts", "purchases", revenue.alias("revenue"))


def write_kpis(kpis: Any, output_dir: str | os.PathLike, checkpoint_dir: str | os.PathLike, *, once: bool = False,
               trigger_seconds: float = 1.0, name: str | None = None) -> Any:
    """Start writing a KPI stream to Parquet (append mode: final windows only) with its checkpoint."""
    writer = (kpis.writeStream.format("parquet").outputMode("append")
              .option("path", str(output_dir)).option("checkpointLocation", str(checkpoint_dir)))
    if name:
        writer = writer.queryName(name)
    trigger = {"availableNow": True} if once else {"processingTime": f"{trigger_seconds:g} seconds"}
    return writer.trigger(**trigger).start()


def start_kpis(spark: Any, input_dir: str | os.PathLike, output_dir: str | os.PathLike,
               checkpoint_dir: str | os.PathLike, *, once: bool = False, trigger_seconds: float = 1.0,
               max_files_per_trigger: int | None = None, state_partitions: int | None = None,
               name: str | None = None) -> Any:
    """Start the query over the files of ``input_dir`` (a ``StreamingQuery``): every ``trigger_seconds``, or,
    with ``once``, over the files there now and then stop (``availableNow``: in several batches when
    ``max_files_per_trigger`` is set). ``state_partitions`` (default: the cores Spark has) splits the state;
    the checkpoint keeps the number of its first start."""
    folder = Path(input_dir)
    if not folder.is_dir():
        raise InputError(f"no input folder {folder} (the folder the event files land in)")
    session = spark.newSession()  # the query's own SQL settings; the caller's session keeps its own
    for key, value in STREAM_CONFIG.items():
        session.conf.set(key, value)
    # each micro-batch runs a task per state partition and operator (three operators): more partitions than
    # cores only add per-task overhead to every batch
    partitions = state_partitions or spark.sparkContext.defaultParallelism
    session.conf.set("spark.sql.shuffle.partitions", str(max(1, partitions)))
    events = file_events(session, folder, max_files_per_trigger=max_files_per_trigger)
    return write_kpis(kpis_of(events), output_dir, checkpoint_dir, once=once, trigger_seconds=trigger_seconds,
                      name=name)


def run_kpis(input_dir: str | os.PathLike, output_dir: str | os.PathLike, checkpoint_dir: str | os.PathLike, *,
             master: str | None = None, spark: Any = None, once: bool = False, trigger_seconds: float = 1.0,
             timeout_s: float | None = None, max_files_per_trigger: int | None = None) -> StreamReport:
    """Run the query until its files are read (``once``), ``timeout_s`` has passed, or it is interrupted;
    stops it cleanly (a later run goes on from the checkpoint) and reports what it did."""
    from shoplens.engine.spark_engine import start_session

    session = spark if spark is not None else start_session(master)
    started = time.perf_counter()
    query = start_kpis(session, input_dir, output_dir, checkpoint_dir, once=once, trigger_seconds=trigger_seconds,
                       max_files_per_trigger=max_files_per_trigger)
    try:
        if timeout_s is None:
            query.awaitTermination()
        else:
            query.awaitTermination(timeout_s)
    except KeyboardInterrupt:
        pass
    except Exception as exc:  # a failed batch: one line for the user, the cause kept
        raise ShoplensError(f"the streaming query failed: {str(exc).splitlines()[0][:300]}") from exc
    finally:
        query.stop()
    report = progress_report(query.recentProgress)
    report.input, report.output, report.checkpoint = str(input_dir), str(output_dir), str(checkpoint_dir)
    report.master = session.sparkContext.master
    report.windows_written = read_kpis(output_dir).num_rows
    report.seconds = round(time.perf_counter() - started, 3)
    return report


def progress_report(progress: Iterable[Any]) -> StreamReport:
    """Batches, rows read and rows dropped (duplicates, too late) from a query's progress reports."""
    report = StreamReport(input="", output="", checkpoint="", master="")
    for entry in progress:
        info = entry if isinstance(entry, dict) else json.loads(entry.json)
        report.batches += 1
        report.input_rows += int(info.get("numInputRows") or 0)
        for operator in info.get("stateOperators", []):
            report.late_rows_dropped += int(operator.get("numRowsDroppedByWatermark") or 0)
            report.duplicates_dropped += int((operator.get("customMetrics") or {}).get("numDroppedDuplicateRows") or 0)
        watermark = (info.get("eventTime") or {}).get("watermark")
        if watermark:
            report.watermark = watermark
    return report


# -- reading the output --------------------------------------------------------------------------------------
def committed_files(output_dir: str | os.PathLike) -> list[Path]:
    """The Parquet files of the sink's committed batches (its ``_spark_metadata`` log), oldest first: a file of a
    batch that failed before its commit is not among them."""
    log = Path(output_dir) / SINK_LOG
    if not log.is_dir():
        return []
    added: dict[str, None] = {}
    deleted: set[str] = set()
    for entry in sorted(log.iterdir(), key=_log_order):
        if entry.name.startswith(".") or entry.name.endswith(".tmp"):
            continue
        for line in entry.read_text(encoding="utf-8").splitlines()[1:]:  # the first line is the log's version
            status = json.loads(line)
            (deleted.add if status.get("action") == "delete" else added.setdefault)(status["path"])
    return [_local_path(path) for path in added if path not in deleted]


def _log_order(entry: Path) -> int:
    number = entry.name.split(".")[0]
    return int(number) if number.isdigit() else -1


def _local_path(uri: str) -> Path:
    from urllib.parse import unquote, urlparse

    parsed = urlparse(uri)
    if parsed.scheme not in ("", "file"):
        raise ShoplensError(f"the KPI output is on {parsed.scheme}://; read it with Spark (spark.read.parquet)")
    return Path(unquote(parsed.path))


def read_kpis(output_dir: str | os.PathLike) -> pa.Table:
    """The KPIs written so far (committed batches only), one row per minute, oldest first; no Spark needed."""
    files = committed_files(output_dir)
    if not files:
        return KPI_SCHEMA.empty_table()
    table = pa.concat_tables([_as_naive(pq.read_table(path)) for path in files]).select(list(OUTPUT_COLUMNS))
    return table.cast(KPI_SCHEMA).sort_by([("window_start", "ascending")])


def _as_naive(table: pa.Table) -> pa.Table:
    for index, column in enumerate(table.schema):
        if pa.types.is_timestamp(column.type):
            table = table.set_column(index, column.name, table.column(index).cast(pa.timestamp("us", tz="UTC"))
                                     .cast(pa.timestamp("us")))
    return table


# -- the batch recount -----------------------------------------------------------------------------------------
def recount_kpis(spark: Any, input_dir: str | os.PathLike, *, final_only: bool = True) -> pa.Table:
    """The same KPIs from the same files in one batch query (each event id once). ``final_only`` keeps the
    windows the streaming query has written by now: those ending at or before the watermark (the latest event
    time less 10 minutes)."""
    from pyspark.sql import functions as F

    from shoplens.engine.spark_engine import naive_utc

    events = canonical_events(spark.read.schema(EVENT_SCHEMA).json(str(input_dir))).dropDuplicates(["event_id"])
    events.createOrReplaceTempView("live_events")
    try:
        frame = spark.sql(per_minute_query().sql("spark"))
        frame = frame.withColumn("window_end", F.col("window_start") + F.expr(f"INTERVAL {WINDOW}"))
        if final_only:
            latest = events.agg(F.max("event_ts")).first()[0]
            if latest is None:
                return KPI_SCHEMA.empty_table()
            frame = frame.where(F.col("window_end") <= F.lit(latest - WATERMARK_DELAY))
        table = naive_utc(frame.select(*OUTPUT_COLUMNS).toArrow())
    finally:
        spark.catalog.dropTempView("live_events")
    return table.cast(KPI_SCHEMA).sort_by([("window_start", "ascending")])


def compare_with_recount(spark: Any, input_dir: str | os.PathLike, output_dir: str | os.PathLike) -> dict[str, Any]:
    """Whether the streaming output equals the batch recount, window by window (``exactly_once`` 1 or 0), and
    the windows that differ, appear twice or are missing."""
    written = read_kpis(output_dir).to_pylist()
    expected = recount_kpis(spark, input_dir).to_pylist()
    starts = [row["window_start"] for row in written]
    repeated = sorted({start for start in starts if starts.count(start) > 1})
    by_start = {row["window_start"]: row for row in written}
    differ = [row["window_start"] for row in expected if by_start.get(row["window_start"]) != row]
    return {"exactly_once": int(written == expected), "windows": len(expected), "written": len(written),
            "repeated": [s.isoformat() for s in repeated], "differ": [s.isoformat() for s in differ]}


# -- landing files ---------------------------------------------------------------------------------------------
def land_events(folder: str | os.PathLike, events: Iterable[dict[str, Any]], *, name: str | None = None) -> Path:
    """Write events as one JSON-lines file into ``folder`` atomically: written under a hidden name (the file
    source skips names starting with ``.``) and renamed into place, so the query never reads half a file."""
    target_dir = Path(folder)
    target_dir.mkdir(parents=True, exist_ok=True)
    final = target_dir / (name or f"events-{time.time_ns()}-{secrets.token_hex(3)}.jsonl")
    hidden = target_dir / f".{final.name}.tmp"
    with open(hidden, "w", encoding="utf-8") as handle:
        for event in events:
            handle.write(json.dumps(event, ensure_ascii=False, default=str) + "\n")
    hidden.replace(final)
    return final
