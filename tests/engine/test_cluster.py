"""A real Spark standalone cluster on 127.0.0.1 (a master and two one-core workers, started by
``shoplens.engine.cluster``): a shoplens analysis runs on it and equals DuckDB's, a worker killed mid-job loses
no result, and stopping it leaves no process behind.

The drivers run in their own processes (tests/engine/cluster_jobs.py): Spark allows one SparkContext per
process and this one may hold the local ``spark`` fixture's. The tests of this module share one cluster and run
in file order: the fault test restores the second worker it killed, the last test stops the cluster."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

import shoplens as sl
from shoplens.analytics import queries
from shoplens.analytics.parity import differences
from shoplens.cli import app
from shoplens.engine import cluster, make_engine
from shoplens.errors import InputError, ShoplensError
from tests.conftest import copy_workspace
from tests.engine.cluster_jobs import digest

pytestmark = pytest.mark.spark

ROOT = Path(__file__).resolve().parents[2]
START_TIMEOUT_S = 240.0  # cold JVMs on a busy 2-core machine
JOB_TIMEOUT_S = 300.0


@pytest.fixture(scope="module")
def running(tmp_path_factory: pytest.TempPathFactory) -> Iterator[cluster.ClusterState]:
    """Two workers, one core and 1 GB each, on free ports; stopped at the end whatever happened."""
    pytest.importorskip("pyspark", reason="pyspark is not installed (extra shoplens[spark])")
    if not (os.environ.get("JAVA_HOME") or shutil.which("java")):
        pytest.skip("java is not installed (Spark needs Java 17+; .ci/run installs openjdk-17-jre-headless)")
    folder = tmp_path_factory.mktemp("spark-cluster")
    try:
        yield cluster.start_cluster(2, 1, "1g", port=cluster.free_port(), state_dir=folder, timeout=START_TIMEOUT_S)
    finally:
        cluster.stop_cluster(state_dir=folder)


def run_job(*args: str, log: Path, submit_to: str | None = None) -> subprocess.Popen:
    """A driver process (tests/engine/cluster_jobs.py) with its output in ``log``; ``submit_to``: launched by
    spark-submit with that ``--master`` (as docs/scale.md shows), else by this Python."""
    jobs = ROOT / "tests" / "engine" / "cluster_jobs.py"
    command = ([str(cluster.spark_home() / "bin" / "spark-submit"), "--master", submit_to, str(jobs)] if submit_to
               else [sys.executable, "-m", "tests.engine.cluster_jobs"])
    env = {**os.environ, "PYTHONPATH": _path(), "PYSPARK_PYTHON": sys.executable,
           "PYSPARK_DRIVER_PYTHON": sys.executable}
    env.pop(cluster.MASTER_ENV, None)  # the master must come from the job's own settings
    with log.open("wb") as out:
        return subprocess.Popen([*command, *args], cwd=ROOT, stdout=out, stderr=subprocess.STDOUT, env=env)


def _path() -> str:
    return os.pathsep.join(p for p in (str(ROOT / "src"), str(ROOT), os.environ.get("PYTHONPATH")) if p)


def finish(job: subprocess.Popen, log: Path) -> None:
    try:
        code = job.wait(timeout=JOB_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        job.kill()
        job.wait()
        raise AssertionError(f"the driver did not finish in {JOB_TIMEOUT_S:.0f} s: {log.read_text()[-3000:]}") from None
    assert code == 0, log.read_text(errors="replace")[-3000:]


def app_names(state: cluster.ClusterState) -> list[str]:
    view = cluster.master_view(state) or {}
    return [a["name"] for a in view.get("activeapps", []) + view.get("completedapps", [])]


def cluster_processes(state: cluster.ClusterState) -> list[tuple[int, str]]:
    """Every process on this machine that belongs to this cluster: started in its state folder (the daemons run
    there, executors in their workers' work folders) or naming one of its workers (an executor's
    ``--worker-url``)."""
    marks = [state.state_dir, *[f"spark://Worker@{state.host}:{w.port}" for w in state.workers]]
    found = []
    for pid, _ in cluster._all_processes():
        args = " ".join(cluster._cmdline(pid) or [])
        try:
            folder = os.readlink(f"/proc/{pid}/cwd")
        except OSError:
            folder = ""
        if pid != os.getpid() and (folder.startswith(state.state_dir) or any(m in args for m in marks)):
            found.append((pid, args[:200]))
    return found


def test_status_shows_the_master_and_two_registered_workers(running: cluster.ClusterState) -> None:
    status = cluster.cluster_status(state_dir=running.state_dir)
    assert status["running"] and status["master_url"] == running.master_url
    assert status["master"]["status"] == "ALIVE" and status["master"]["alive_workers"] == 2
    assert status["master"]["cores"] == 2 and status["master"]["memory_mb"] == 2048
    workers = [p for p in status["processes"] if p["role"] == "worker"]
    assert len(workers) == 2 and all(w["running"] and w["registered"] for w in workers)

    printed = CliRunner().invoke(app, ["spark", "status", "--state-dir", running.state_dir, "--json"])
    assert printed.exit_code == 0, printed.output
    assert json.loads(printed.stdout)["processes"] == status["processes"]


def test_a_second_start_is_refused(running: cluster.ClusterState, tmp_path: Path) -> None:
    with pytest.raises(ShoplensError, match="already running at " + running.master_url):
        cluster.start_cluster(state_dir=running.state_dir, port=cluster.free_port())
    with pytest.raises(InputError, match=f"port {running.port} on 127.0.0.1 is in use"):
        cluster.start_cluster(state_dir=tmp_path, port=running.port)
    assert not (tmp_path / "state.json").exists()


def test_an_analysis_on_the_cluster_equals_duckdb(running: cluster.ClusterState, small_shop: sl.Workspace,
                                                   tmp_path: Path) -> None:
    ws = copy_workspace(small_shop, tmp_path)  # the Spark engine exports tables into the workspace's tmp/
    out = tmp_path / "out"
    out.mkdir()
    finish(run_job("analysis", running.master_url, str(ws.path), str(out), log=tmp_path / "driver.log"),
           tmp_path / "driver.log")
    assert json.loads((out / "meta.json").read_text())["master"] == running.master_url
    assert "shoplens" in app_names(running)  # the master ran it: not a local session

    with make_engine(ws, "duckdb", store=False) as engine:
        expected = {q.name: engine.run(q).to_pandas() for q in queries.rfm()}
    assert set(expected) == {"rfm", "rfm_segments"}
    for name, frame in expected.items():
        assert len(frame) > 0, name
        assert differences(name, frame, pd.read_parquet(out / f"{name}.parquet")) == []


def test_a_model_folder_shipped_with_a_job_reaches_every_executor(running: cluster.ClusterState,
                                                                  tmp_path: Path) -> None:
    """What the model scorers do (engine.scoring.ship_folder): a folder with nested files sent with the job is
    readable by every task on both workers (Spark refuses a local folder as a file outside local mode)."""
    model = tmp_path / "model"
    (model / "onnx").mkdir(parents=True)
    (model / "config.json").write_text('{"class": "probe"}', encoding="utf-8")
    (model / "onnx" / "weights.bin").write_text("0123456789" * 100, encoding="utf-8")
    out = tmp_path / "out"
    out.mkdir()
    log = tmp_path / "driver.log"
    finish(run_job("ship", running.master_url, str(model), str(out), log=log), log)
    read = json.loads((out / "read.json").read_text(encoding="utf-8"))
    assert sum(task["rows"] for task in read) == 8
    expected = {"config.json": '{"class": "probe"}', "onnx/weights.bin": "0123456789" * 100}
    assert all(task["files"] == expected for task in read), read
    assert {task["worker"] for task in read} <= {"worker-1", "worker-2"}


def test_a_worker_killed_mid_job_loses_no_result(running: cluster.ClusterState, tmp_path: Path) -> None:
    rows, partitions = 4_000, 16
    markers, out, log = tmp_path / "markers", tmp_path / "out", tmp_path / "driver.log"
    markers.mkdir()
    out.mkdir()
    job = run_job("fault", str(markers), str(out), str(rows), str(partitions), log=log, submit_to=running.master_url)
    try:
        victim = wait_for_busy_worker(running, markers, job, log)
        cluster.kill_worker(victim.pid, state_dir=running.state_dir)
        assert not cluster.is_running(victim)
    finally:
        finish(job, log)

    assert json.loads((out / "meta.json").read_text())["master"] == running.master_url  # spark-submit's
    result = json.loads((out / "rows.json").read_text())
    assert result == [[i, digest(i)] for i in range(rows)]  # every row once, as computed without a failure
    started = {m.stem for m in markers.glob("*.started")}
    done = {m.stem for m in markers.glob("*.done")}
    lost = [m for m in started - done if m.endswith(victim.name)]
    assert lost, f"no task was running on {victim.name} when it was killed: {sorted(started)}"
    for attempt in lost:  # each task lost with the worker ran again, to the end, on another worker
        partition = attempt.split("-", 1)[0]
        assert any(d.startswith(f"{partition}-") and not d.endswith(victim.name) for d in done), attempt

    added = cluster.add_workers(1, state_dir=running.state_dir, timeout=START_TIMEOUT_S)
    status = cluster.cluster_status(state_dir=running.state_dir)
    assert status["master"]["alive_workers"] == 2 and cluster.is_running(added[0])
    assert {p["name"]: p["running"] for p in status["processes"]}[victim.name] is False  # kept, shown as killed
    running.workers[:] = cluster.read_state(running.state_dir).workers  # type: ignore[union-attr]


def wait_for_busy_worker(state: cluster.ClusterState, markers: Path, job: subprocess.Popen,
                         log: Path) -> cluster.SparkProcess:
    """Once both workers have finished a task, the first worker seen in the middle of one (a task started, not
    done, less than half its sleep ago): killing it then loses that task."""
    deadline = time.monotonic() + JOB_TIMEOUT_S
    while time.monotonic() < deadline:
        assert job.poll() is None, f"the job ended before a worker was killed: {log.read_text()[-3000:]}"
        done = {m.stem for m in markers.glob("*.done")}
        if all(any(d.endswith(w.name) for d in done) for w in state.workers):
            for worker in state.workers:
                busy = [m for m in markers.glob(f"*-{worker.name}.started") if m.stem not in done
                        and time.time() - m.stat().st_mtime < 0.75]
                if busy:
                    return worker
        time.sleep(0.05)
    seen = sorted(p.name for p in markers.iterdir())
    raise AssertionError(f"no worker was seen busy in {JOB_TIMEOUT_S:.0f} s: {seen}")


def test_stop_leaves_no_process_behind(running: cluster.ClusterState) -> None:
    started = {p.pid for p in running.processes() if cluster.is_running(p)}
    assert len(started) == 3
    assert {pid for pid, _ in cluster_processes(running)} >= started
    printed = CliRunner().invoke(app, ["spark", "stop", "--state-dir", running.state_dir, "--json"])
    assert printed.exit_code == 0, printed.output
    assert {p["pid"] for p in json.loads(printed.stdout)["stopped"]} == started
    assert cluster_processes(running) == []
    assert not any(cluster.is_running(p) for p in running.processes())
    assert cluster.port_is_free(running.host, running.port)
    assert cluster.cluster_status(state_dir=running.state_dir)["running"] is False


def test_a_cluster_that_is_not_ready_in_time_is_stopped_with_its_log_quoted(running: cluster.ClusterState,
                                                                            tmp_path: Path) -> None:
    with pytest.raises(ShoplensError, match=r"not ready after 1 s .* ends: ") as failure:
        cluster.start_cluster(1, 1, "512m", port=cluster.free_port(), state_dir=tmp_path, timeout=1.0)
    assert failure.value.file and failure.value.file.startswith(str(tmp_path / "logs"))
    assert not (tmp_path / "state.json").exists()
    leftover = [(pid, args) for pid, _ in cluster._all_processes()
                if str(tmp_path) in (args := " ".join(cluster._cmdline(pid) or []))]
    assert leftover == []
