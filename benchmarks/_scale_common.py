"""What the batch parts of ``benchmarks/scale.py`` share: the sizes (full, or ``--quick`` for a smoke run), the work
folder, a Spark standalone cluster on 127.0.0.1 that starts with one one-core worker and grows to two within the
same application, the executors' peak memory (the driver's monitoring REST API), timings, and simulated shops.

Every cluster is started by :func:`cluster_run` and stopped when its block ends, whatever happened."""

from __future__ import annotations

import json
import os
import statistics
import time
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from shoplens.evaluation.measure import Timing, timed

BENCHMARK = "scale"
HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
WORK = Path(os.environ.get("SHOPLENS_SCALE_WORK", Path.home() / ".cache" / "shoplens" / "scale"))
WORKER_MEMORY = "3g"  # what each worker offers its executor: the 1 GB heap below plus the Python workers
CLUSTER_START_S = 300.0  # cold JVMs on a busy 2-core machine
Gate = tuple[str, bool, str]


@dataclass(frozen=True)
class Sizes:
    """How large each part is; ``quick`` is a smoke run (its records say so in their variant)."""

    reviews: int = 100_000
    users: int = 100_000
    series: int = 10_000
    runs: int = 3
    review_train_steps: int = 60
    sasrec_epochs: int = 200
    # MLlib ALS, chosen on validation in two stages: regParam × alpha at the first rank, then the rank
    als_grid: dict[str, list[Any]] = field(default_factory=lambda: {"reg_param": [0.01, 0.1, 1.0],
                                                                    "alpha": [1.0, 10.0, 40.0]})
    als_ranks: tuple[int, ...] = (64, 32, 128)
    als_iterations: int = 15
    quick: bool = False

    @property
    def variant(self) -> str:
        return "quick" if self.quick else "default"


FULL = Sizes()
QUICK = replace(FULL, reviews=3_000, users=3_000, series=300, review_train_steps=4, sasrec_epochs=2,
                als_grid={"reg_param": [0.1], "alpha": [10.0]}, als_ranks=(16, 8), als_iterations=5, quick=True)
_CHOSEN: list[Sizes] = [FULL]


def choose(sizes: Sizes) -> None:
    _CHOSEN[0] = sizes


def sizes() -> Sizes:
    return _CHOSEN[0]


def work(*parts: str) -> Path:
    """A folder under the work folder (generated shops, models, outputs), created."""
    folder = WORK.joinpath(*parts)
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def say(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


# -- the cluster -------------------------------------------------------------------------------------------------
def session_config(ui_port: int) -> dict[str, str]:
    """The benchmark's session on the cluster: the monitoring REST API on (for executors' peak memory, with the
    process tree's RSS polled every half second and reported every 2 s); native thread pools of one thread in the
    one-core executors' Python workers (the models' own ONNX and torch pools follow the task's cores by themselves:
    ``engine.scoring.load_once``)."""
    return {"spark.ui.enabled": "true", "spark.ui.port": str(ui_port),
            "spark.executor.processTreeMetrics.enabled": "true", "spark.executor.metrics.pollingInterval": "500ms",
            "spark.executor.heartbeatInterval": "2s", "spark.executor.memory": "1g", "spark.driver.memory": "2g",
            "spark.executorEnv.OMP_NUM_THREADS": "1", "spark.executorEnv.OPENBLAS_NUM_THREADS": "1",
            "spark.executorEnv.MKL_NUM_THREADS": "1", "spark.executorEnv.TOKENIZERS_PARALLELISM": "false",
            "spark.executorEnv.OMP_WAIT_POLICY": "PASSIVE"}


@dataclass
class ClusterRun:
    """A cluster started for one part and the session of the benchmark's application on it."""

    state: Any  # shoplens.engine.cluster.ClusterState
    spark: Any
    folder: Path

    @property
    def workers(self) -> int:
        return len(self.executors())

    def executors(self) -> list[dict[str, Any]]:
        """The application's live executors (the driver left out), from the monitoring REST API."""
        return [e for e in self._api("executors") if e.get("id") != "driver"]

    def _api(self, what: str) -> Any:
        sc = self.spark.sparkContext
        url = f"{sc.uiWebUrl}/api/v1/applications/{sc.applicationId}/{what}"
        with urllib.request.urlopen(url, timeout=30) as answer:
            return json.loads(answer.read())

    def wait_executors(self, count: int, timeout: float = CLUSTER_START_S) -> None:
        deadline = time.monotonic() + timeout
        while len(self.executors()) < count:
            if time.monotonic() > deadline:
                raise RuntimeError(f"the application has {len(self.executors())} executors after {timeout:.0f} s, "
                                   f"not {count}")
            time.sleep(0.5)

    def grow(self, workers: int) -> None:
        """Add workers until the cluster has ``workers``, and wait until the application has an executor on each
        (the standalone master gives a running application the new workers' cores)."""
        from shoplens.engine import cluster

        missing = workers - len(self.state.workers)
        if missing > 0:
            cluster.add_workers(missing, state_dir=self.folder, timeout=CLUSTER_START_S, progress=say)
        self.wait_executors(workers)

    def peak_memory_mb(self) -> dict[str, float | None]:
        """Per executor (by id): the peak resident memory of its process tree — the executor's JVM plus its
        Python workers (where the models run) — as the executors' metrics report them (peaks over the application
        so far; the two peaks are summed, an upper bound when they did not coincide)."""
        time.sleep(4.0)  # two heartbeats: the last polled peaks reach the driver
        out = {}
        for executor in self._api("allexecutors"):
            if executor.get("id") == "driver":
                continue
            peaks = executor.get("peakMemoryMetrics") or {}
            rss = peaks.get("ProcessTreeJVMRSSMemory", 0) + peaks.get("ProcessTreePythonRSSMemory", 0)
            out[str(executor["id"])] = round(rss / 2**20, 1) if rss else None
        return out


@contextmanager
def cluster_run(name: str, workers: int = 1, config: dict[str, str] | None = None) -> Iterator[ClusterRun]:
    """A standalone cluster of ``workers`` one-core workers (``WORKER_MEMORY`` each) on free ports, and a session on
    it; the session and the cluster are stopped at the end of the block."""
    from shoplens.engine import cluster
    from shoplens.engine.spark_engine import start_session

    folder = work("clusters", name)
    cluster.stop_cluster(state_dir=folder)  # a cluster left by an interrupted run of this part
    say(f"starting a cluster with {workers} worker(s) for {name}")
    state = cluster.start_cluster(workers, 1, WORKER_MEMORY, port=cluster.free_port(), state_dir=folder,
                                  timeout=CLUSTER_START_S, progress=say)
    try:
        spark = start_session(state.master_url, {**session_config(cluster.free_port()), **(config or {})})
        try:
            run = ClusterRun(state, spark, folder)
            run.wait_executors(workers)
            yield run
        finally:
            spark.stop()
    finally:
        stopped = cluster.stop_cluster(state_dir=folder)
        say(f"stopped the cluster of {name} ({len(stopped)} daemons)")


def one_then_two_workers(name: str, make_job: Callable[[Any], Callable[[], Any]]
                         ) -> tuple[dict[str, Timing], dict[str, float | None]]:
    """Time a job (``make_job(spark)``) on a cluster of one one-core worker, then, in the same application, of
    two; the timings (``spark_1_worker``, ``spark_2_workers``) and each executor's peak memory."""
    with cluster_run(name, 1) as cluster:
        job = make_job(cluster.spark)
        one = median_timing(job, f"{name}: 1 worker")
        cluster.grow(2)
        two = median_timing(job, f"{name}: 2 workers")
        peaks = cluster.peak_memory_mb()
    return {"spark_1_worker": one, "spark_2_workers": two}, peaks


# -- timings ---------------------------------------------------------------------------------------------------
def median_timing(work_fn: Callable[[], Any], label: str) -> Timing:
    """``sizes().runs`` timed runs (at least 3), each printed."""
    timing = timed(work_fn, runs=max(3, sizes().runs))
    say(timing.note(label))
    return timing


def runs_note(timings: dict[str, Timing]) -> str:
    return "; ".join(t.note(label) for label, t in timings.items())


def load_note() -> str:
    """The machine's load when a timing began (the 1-minute load average on its cores)."""
    try:
        one, _, _ = os.getloadavg()
    except OSError:
        return ""
    return f"load average {one:.2f} on {os.cpu_count()} cores at the start"


def median(values: list[float]) -> float:
    return float(statistics.median(values))


def largest(peaks: dict[str, float | None]) -> float | None:
    """The largest executor's peak (None when no executor reported one)."""
    known = [v for v in peaks.values() if v is not None]
    return max(known) if known else None


def scaling_records(common: dict[str, Any], timings: dict[str, Timing], local: Timing, peaks: dict[str, float | None],
                    *, unit: str, count: int, extra: dict[str, Any]) -> list[Any]:
    """The three records of a batch part timed on 1 and 2 workers and locally: ``spark_2_workers`` (seconds on
    both, speedup, ``<unit>_per_s_per_core``, the executors' largest peak and ``extra``), ``spark_1_worker`` and
    ``local`` (``<unit>_per_s``)."""
    from shoplens.evaluation.records import BenchmarkRecord

    one, two = timings["spark_1_worker"], timings["spark_2_workers"]
    peak = largest(peaks)
    return [
        BenchmarkRecord.create(**common, model="spark_2_workers", role="ours", seconds=round(two.median, 3),
                               peak_mb=peak, metrics={
                                   unit: count, "seconds_2_workers": round(two.median, 3),
                                   "seconds_1_worker": round(one.median, 3),
                                   "speedup_2_workers": round(one.median / two.median, 3),
                                   f"{unit}_per_s_per_core": round(two.rate(count) / 2, 1),
                                   **extra, "peak_executor_mb": peak}),
        BenchmarkRecord.create(**common, model="spark_1_worker", role="ours", seconds=round(one.median, 3),
                               peak_mb=peak, metrics={unit: count, f"{unit}_per_s": round(one.rate(count), 1)}),
        BenchmarkRecord.create(**common, model="local", role="reference", seconds=round(local.median, 3),
                               metrics={unit: count, f"{unit}_per_s": round(local.rate(count), 1)}),
    ]
