"""Batch scoring on Spark: what the capabilities' Spark scorers share (docs/scale.md, "Batch scoring on Spark").

The engine sits below the capabilities (docs/contributing.md, "Layers"), so this module knows no model: a
capability's scorer (``shoplens.reviews.spark``, ``shoplens.recommend.spark``, ``shoplens.forecast.spark``)
gives it the functions to run on the executors, and it gives them

- :func:`ship_folder`: a model folder sent with the job (a zip archive, ``SparkContext.addArchive``, unpacked on
  each executor), found on an executor with :func:`shipped_path` (``SparkFiles.get``);
- :func:`load_once`: a value (a loaded model) kept in the Python worker process, so that a model is loaded
  once per worker, not once per batch — Spark reuses its Python workers (``spark.python.worker.reuse``, on by
  default), so that is once per executor core for the whole job — with as many threads as its task has cores;
- :func:`to_spark` and :func:`spark_schema`: pandas frames into Spark (through Arrow) and the schemas of the
  frames the executors give back;
- :func:`check_spark`: a clear error when PySpark or Java is missing.

Functions run on the executors must be importable there (shoplens installed in the executors' Python, which
is the driver's own ``sys.executable`` in local mode and on the standalone cluster of ``shoplens spark``).
"""

from __future__ import annotations

import atexit
import hashlib
import os
import shutil
import tempfile
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import pandas as pd

from shoplens.errors import InputError, ShoplensError

T = TypeVar("T")
THREADS_ENV = "SHOPLENS_THREADS"  # shoplens.text.threads.THREADS_ENV (text and engine do not import each other)
SPARK_MISSING = "Spark needs PySpark: install shoplens[spark]"
JAVA_MISSING = ("Spark needs Java 17 or later, which this machine lacks: install it (Debian: apt-get install "
                "openjdk-17-jre-headless) or set JAVA_HOME")
# Loaded models kept in a Python worker process between tasks: key → value.
_LOADED: dict[str, Any] = {}
_LOADED_LOCK = threading.Lock()
_SHIP_LOCK = threading.Lock()
_STAGING: Path | None = None


def check_spark() -> None:
    """Raise a one-line ``ShoplensError`` when PySpark or Java is missing (before a session is started)."""
    try:
        import pyspark  # noqa: F401
    except ImportError:
        raise ShoplensError(SPARK_MISSING) from None
    java_home = os.environ.get("JAVA_HOME")
    if java_home and (Path(java_home) / "bin" / "java").exists():
        return
    if shutil.which("java") is None:
        raise ShoplensError(JAVA_MISSING)


def folder_digest(folder: Path) -> str:
    """A short fingerprint of a folder's files (names, sizes, modification times): a new model version, or a
    model rewritten in place, ships under a new name."""
    digest = hashlib.sha256()
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        stat = path.stat()
        digest.update(f"{path.relative_to(folder)}:{stat.st_size}:{stat.st_mtime_ns}\n".encode())
    return digest.hexdigest()[:16]


def ship_folder(spark: Any, folder: str | os.PathLike, label: str) -> str:
    """Send ``folder`` (a saved model) to every executor with the job; returns the name that
    :func:`shipped_path` resolves there: ``label`` and the folder's fingerprint, since Spark refuses a second,
    different file under a name it has already shipped. A folder cannot be added as a file on a cluster (Spark
    refuses local directories outside local mode): it travels as a zip archive, which each executor unpacks into
    a folder of that name."""
    source = Path(folder)
    if not source.is_dir():
        raise InputError(f"{source}: not a model folder to ship to the executors")
    name = f"{label}-{folder_digest(source)}"
    with _SHIP_LOCK:
        archive = _staging_root() / f"{name}.zip"
        if not archive.exists():
            shutil.make_archive(str(archive.with_suffix("")), "zip", root_dir=source)
        spark.sparkContext.addArchive(f"{archive.as_uri()}#{name}")  # adding the same archive again is a no-op
    return name


def _staging_root() -> Path:
    """This process's folder of shipped archives, removed when it exits (the executors have fetched them by then:
    they live no longer than the driver)."""
    global _STAGING
    if _STAGING is None:
        _STAGING = Path(tempfile.mkdtemp(prefix="shoplens-spark-ship-"))
        atexit.register(shutil.rmtree, _STAGING, True)
    return _STAGING


def shipped_path(name: str) -> Path:
    """Where a folder sent with :func:`ship_folder` lies on this executor."""
    from pyspark import SparkFiles

    path = Path(SparkFiles.get(name))
    if not path.exists():
        raise ShoplensError(f"the model folder {name!r} did not reach this executor ({path})")
    return path


def load_once(key: str, loader: Callable[[], T]) -> T:
    """``loader()``'s value, computed once per Python process and kept for the next batches and tasks. On an
    executor, the model is loaded with as many threads as its task has cores (:func:`limit_threads_to_task`)."""
    with _LOADED_LOCK:
        if key not in _LOADED:
            limit_threads_to_task()
            _LOADED[key] = loader()
        return _LOADED[key]


def limit_threads_to_task() -> None:
    """Inside a Spark task, size the thread pools of the models loaded next (ONNX Runtime, torch: they read
    ``$SHOPLENS_THREADS``, shoplens.text.threads) to the task's cores (``spark.task.cpus``, default 1), unless the
    variable is set already. Each concurrent task runs in its own Python worker: a model that took every core of
    the machine would compete with the executor's other tasks, and with other executors on the same machine."""
    try:
        from pyspark import TaskContext
    except ImportError:
        return
    context = TaskContext.get()
    if context is not None:
        os.environ.setdefault(THREADS_ENV, str(max(1, int(context.cpus()))))


def to_spark(spark: Any, frame: pd.DataFrame, schema: str | None = None, partitions: int | None = None) -> Any:
    """A pandas frame as a Spark DataFrame (through Arrow), spread over ``partitions`` when given."""
    data = spark.createDataFrame(frame, schema=schema) if schema else spark.createDataFrame(frame)
    return data.repartition(partitions) if partitions else data


def default_partitions(spark: Any) -> int:
    """Two tasks per core the job may use (``spark.default.parallelism``): each core busy, stragglers short."""
    return max(2, 2 * int(spark.sparkContext.defaultParallelism))


SPARK_TYPES = {"float64": "double", "float32": "float", "int64": "bigint", "int32": "int", "int16": "smallint",
               "int8": "tinyint", "bool": "boolean", "object": "string", "string": "string"}


def spark_schema(frame: pd.DataFrame) -> str:
    """The Spark schema (DDL) of a pandas frame's columns: what ``mapInPandas``/``applyInPandas`` give back when
    they return frames like it. Timestamps become ``timestamp`` (naive values read as UTC, the session's zone)."""
    columns = []
    for name, dtype in frame.dtypes.items():
        timestamp = pd.api.types.is_datetime64_any_dtype(dtype)
        spark_type = "timestamp" if timestamp else SPARK_TYPES.get(str(dtype))
        if spark_type is None:
            raise InputError(f"column {name!r}: no Spark type for the pandas type {dtype}")
        columns.append(f"`{name}` {spark_type}")
    return ", ".join(columns)
