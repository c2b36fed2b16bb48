"""Spark drivers for the cluster tests, each run in its own process (``python -m tests.engine.cluster_jobs …``):
Spark allows one SparkContext per process, and the test run may already hold a local one (the ``spark`` fixture).

    analysis <master> <workspace> <out>            RFM through make_engine → <out>/<name>.parquet
    fault <markers> <out> <rows> <parts>           a job of many small sleeping tasks → <out>/rows.json; launched
                                                   by spark-submit, whose --master it must run on
    ship <master> <folder> <out>                   <folder> shipped with a job (engine.scoring.ship_folder), read
                                                   back by every task → <out>/read.json
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

# Seconds each task of the fault job sleeps: long enough that a worker is always busy with one when it is killed.
TASK_SECONDS = 1.5


def digest(number: int) -> str:
    """The deterministic value the fault job computes for each row."""
    import hashlib

    return hashlib.sha256(f"shoplens-{number}".encode()).hexdigest()[:16]


def analysis(master: str, workspace: str, out: str) -> None:
    import pyarrow.parquet as pq

    import shoplens as sl
    from shoplens.analytics import queries
    from shoplens.engine import make_engine

    folder = Path(out)
    with make_engine(sl.Workspace.open(workspace), "spark", master=master, store=False) as engine:
        for query in queries.rfm():
            pq.write_table(engine.run(query), folder / f"{query.name}.parquet")
        used = engine.spark.sparkContext.master  # type: ignore[attr-defined]
    (folder / "meta.json").write_text(json.dumps({"master": used}), encoding="utf-8")


def fault(markers: str, out: str, rows: int, partitions: int) -> None:
    from shoplens.engine.spark_engine import start_session

    # no master named: the rule takes spark-submit's. A task lost with its executor does not count as a task
    # failure; maxFailures bounds real failures.
    spark = start_session(None, {"spark.task.maxFailures": "4", "spark.executor.memory": "512m"})
    master = spark.sparkContext.master
    pause = TASK_SECONDS

    def score(batches):  # runs on the executors: marks where each attempt ran, then computes the rows
        import os
        import time

        import pandas as pd
        from pyspark import TaskContext

        context = TaskContext.get()
        worker = next((p for p in os.getcwd().split(os.sep) if p.startswith("worker-")), "unknown")
        mark = Path(markers) / f"{context.partitionId()}-{context.attemptNumber()}-{worker}"
        mark.with_suffix(".started").touch()
        time.sleep(pause)
        for batch in batches:
            yield pd.DataFrame({"id": batch["id"], "digest": [digest(int(i)) for i in batch["id"]]})
        mark.with_suffix(".done").touch()

    try:
        result = spark.range(0, rows, numPartitions=partitions).mapInPandas(score, "id long, digest string").collect()
    finally:
        spark.stop()
    Path(out, "rows.json").write_text(json.dumps(sorted([r.id, r.digest] for r in result)), encoding="utf-8")
    Path(out, "meta.json").write_text(json.dumps({"master": master}), encoding="utf-8")


def ship(master: str, folder: str, out: str) -> None:
    from shoplens.engine.scoring import ship_folder
    from shoplens.engine.spark_engine import start_session

    spark = start_session(master)
    try:
        name = ship_folder(spark, folder, "probe")

        def read(rows):  # on the executors: every file of the shipped folder, and where the task ran
            import os

            from shoplens.engine.scoring import shipped_path

            root = shipped_path(name)
            files = {str(p.relative_to(root)): p.read_text() for p in sorted(root.rglob("*")) if p.is_file()}
            worker = next((p for p in os.getcwd().split(os.sep) if p.startswith("worker-")), "driver")
            yield {"worker": worker, "files": files, "rows": sum(1 for _ in rows)}

        read_back = spark.sparkContext.parallelize(range(8), 8).mapPartitions(read).collect()
    finally:
        spark.stop()
    Path(out, "read.json").write_text(json.dumps(read_back), encoding="utf-8")


if __name__ == "__main__":
    job, *args = sys.argv[1:]
    if job == "analysis":
        analysis(*args)
    elif job == "fault":
        fault(args[0], args[1], int(args[2]), int(args[3]))
    elif job == "ship":
        ship(*args)
    else:
        raise SystemExit(f"unknown job {job!r}")
