"""scale / simulator_events, variant stream: one-minute KPIs on Spark Structured Streaming from landing files.

Protocol:

- Source: a producer lands one JSON-lines file per second (written under a hidden name, renamed into the folder)
  holding ``RATE`` events, for ``SECONDS`` s. Event time runs ``SPEED`` times faster than the wall clock (so that
  windows close within the run: a window is final 10 event-minutes after its end); 1 % of the events are late (1 to
  5 event-minutes behind, inside the watermark) and 0.5 % are sent again in a later file (duplicates).
- Query: ``shoplens.engine.streaming.start_kpis`` (file source with the schema given, 10-minute watermark, dedup by
  event id, per-session then per-minute windows, Parquet sink, checkpoint), a trigger every second, on
  ``local[2]`` (or ``$SHOPLENS_SPARK_MASTER``).
- Latency of a window: from the landing of the file whose events moved the watermark past the window's end (the
  first file holding an event at or after end + 10 min) to the moment its row is in a committed batch of the sink
  (its ``_spark_metadata`` log, polled every 0.2 s). p50 and p95 over the windows closed in the run.
- Exactly once: after the run, the output equals ``recount_kpis`` of the same files (``exactly_once`` 1, else 0).
- CPU: the JVM's CPU time over the run (from /proc) per 1,000 events: the machine is shared, so latency depends on
  what else runs; the CPU per event does not.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import random
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np

from _loopback import cpu_seconds

RATE = int(os.environ.get("SCALE_STREAM_RATE", 2000))
SECONDS = int(os.environ.get("SCALE_STREAM_SECONDS", 300))
PARTITIONS = int(os.environ.get("SCALE_STREAM_PARTITIONS", 0)) or None  # state partitions (default: the cores)
SPEED = 10  # event seconds per wall second
LATE_SHARE, DUPLICATE_SHARE = 0.01, 0.005
DATASET = "simulator_events"
EVENT_START = dt.datetime(2026, 3, 1, 9, 0)


def produce(folder: Path, landed: list[tuple[float, dt.datetime]], stop: threading.Event) -> None:
    """Land a file per second; record (landing time, latest event time landed so far)."""
    from shoplens.engine.streaming import land_events

    rng = random.Random(0)
    kinds = ("view", "view", "view", "add_to_cart", "purchase", "search")
    started = time.monotonic()
    latest = EVENT_START
    recent: list[dict[str, Any]] = []
    for second in range(SECONDS):
        time.sleep(max(0.0, started + second + 1 - time.monotonic()))
        if stop.is_set():
            return
        clock = EVENT_START + dt.timedelta(seconds=(time.monotonic() - started) * SPEED)
        events = []
        for i in range(RATE):
            ts = clock - dt.timedelta(seconds=rng.random() * SPEED)
            if rng.random() < LATE_SHARE:
                ts -= dt.timedelta(minutes=rng.uniform(1, 5))
            kind = kinds[rng.randrange(len(kinds))]
            event = {"event_id": f"{second}-{i}", "session_id": f"s{second // 30}-{rng.randrange(400)}",
                     "event_type": kind, "event_ts": ts.isoformat() + "Z", "product_id": f"P{rng.randrange(500)}"}
            if kind == "purchase":
                event.update(price=round(rng.uniform(5, 80), 2), quantity=rng.randint(1, 3))
            events.append(event)
        duplicates = rng.sample(recent, min(len(recent), int(RATE * DUPLICATE_SHARE)))
        recent = events[-1000:]
        land_events(folder, events + duplicates, name=f"events-{second:05d}.jsonl")
        latest = max(latest, *(dt.datetime.fromisoformat(e["event_ts"][:-1]) for e in events))
        landed.append((time.time(), latest))


def watch(output: Path, seen: dict[dt.datetime, float], stop: threading.Event) -> None:
    """When each window's row first shows in a committed batch of the sink."""
    from shoplens.engine.streaming import read_kpis

    log = output / "_spark_metadata"
    known = 0
    while not stop.wait(0.2):
        count = len(list(log.glob("[0-9]*"))) if log.is_dir() else 0
        if count == known:
            continue
        known = count
        now = time.time()
        for start in read_kpis(output).column("window_start").to_pylist():
            seen.setdefault(start, now)


def run() -> tuple[list, list]:
    from shoplens.engine.spark_engine import start_session
    from shoplens.engine.streaming import WATERMARK_DELAY, compare_with_recount, start_kpis
    from shoplens.evaluation.records import BenchmarkRecord, Protocol

    load_average = os.getloadavg()[0]
    spark = start_session(None)
    with tempfile.TemporaryDirectory(prefix="scale-stream-") as folder:
        source, output, checkpoint = Path(folder) / "in", Path(folder) / "out", Path(folder) / "checkpoint"
        source.mkdir()
        landed: list[tuple[float, dt.datetime]] = []
        seen: dict[dt.datetime, float] = {}
        stop = threading.Event()
        jvm = spark.sparkContext._gateway.proc.pid  # local mode: the driver's JVM runs every task
        cpu_before = cpu_seconds(jvm)
        query = start_kpis(spark, source, output, checkpoint, trigger_seconds=1.0, state_partitions=PARTITIONS)
        started = time.perf_counter()
        watcher = threading.Thread(target=watch, args=(output, seen, stop), daemon=True)
        watcher.start()
        produce(source, landed, stop)
        deadline = time.monotonic() + 60  # the last files' windows
        while time.monotonic() < deadline and query.isActive and query.status["isDataAvailable"]:
            time.sleep(1)
        query.processAllAvailable()
        time.sleep(1)
        stop.set()
        watcher.join(10)
        query.stop()
        elapsed = time.perf_counter() - started
        spark_cpu = cpu_seconds(jvm) - cpu_before
        check = compare_with_recount(spark, source, output)
        progress = [json.loads(p.json) for p in query.recentProgress]
    master = spark.sparkContext.master
    partitions = PARTITIONS or spark.sparkContext.defaultParallelism
    spark.stop()  # one Spark session per process: the next part of the benchmark may start its own
    latencies = []
    for start, visible in seen.items():
        closes = start + dt.timedelta(minutes=1) + WATERMARK_DELAY
        closing = next((t for t, latest in landed if latest >= closes), None)
        if closing is not None:
            latencies.append(visible - closing)
    events_landed = RATE * (1 + DUPLICATE_SHARE) * len(landed)
    batch_ms = [p["durationMs"]["triggerExecution"] for p in progress if p.get("numInputRows")]
    metrics = {
        "latency_p50_s": round(float(np.percentile(latencies, 50)), 2) if latencies else None,
        "latency_p95_s": round(float(np.percentile(latencies, 95)), 2) if latencies else None,
        "windows_closed": len(latencies),
        "exactly_once": check["exactly_once"],
        "events_per_s": round(events_landed / elapsed, 1),
        "batch_p50_s": round(float(np.percentile(batch_ms, 50)) / 1000, 2) if batch_ms else None,
        # Spark's CPU time (the JVM) per 1,000 events landed: what a core can take, whatever else the machine runs
        "spark_cpu_ms_per_1000_events": round(spark_cpu * 1000 / (events_landed / 1000), 1),
    }
    notes = (f"{RATE} events/s (+{DUPLICATE_SHARE:.1%} duplicates, {LATE_SHARE:.0%} late by 1-5 event-minutes) for "
             f"{SECONDS} s, one file per second; event time {SPEED}x the wall clock; trigger 1 s on "
             f"{master}, state partitions {partitions}; "
             f"load average at start {load_average:.1f} on {os.cpu_count()} cores; "
             f"recount: {check['windows']} windows, differ {check['differ'][:3]}, repeated {check['repeated'][:3]}")
    record = BenchmarkRecord.create(benchmark="scale", dataset=DATASET, variant="stream",
                                    model="spark-structured-streaming", role="ours",
                                    protocol=Protocol(split="none", notes=notes), metrics=metrics,
                                    seconds=round(elapsed, 1))
    gates = [("stream: latency p95 <= 10 s", bool(latencies) and metrics["latency_p95_s"] <= 10,
              f"p95 {metrics['latency_p95_s']} s over {len(latencies)} windows"),
             ("stream: equal to the recount", check["exactly_once"] == 1, json.dumps(check)[:300])]
    print(json.dumps(metrics), flush=True)
    return [record], gates


if __name__ == "__main__":
    from _parts import run_parts

    sys.exit(run_parts("scale", ("stream",), __doc__))
