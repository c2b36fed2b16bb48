"""``shoplens spark start|stop|status``: a Spark standalone cluster on this machine (one master, N workers on
127.0.0.1) for any shoplens Spark job: ``--master spark://127.0.0.1:7077`` or ``SHOPLENS_SPARK_MASTER``
(docs/scale.md)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from shoplens import clitools as cli
from shoplens.engine import cluster

app = cli.command_group("A Spark standalone cluster on this machine: start, status, stop.")

StateOpt = Annotated[Path | None, typer.Option(
    "--state-dir", envvar=cluster.STATE_DIR_ENV, show_default=False,
    help="Folder of the cluster's state, logs and work files (default ~/.cache/shoplens/spark-cluster).")]


def _say(as_json: bool) -> cluster.Progress | None:
    """Progress lines on stderr for people (stdout stays the command's result)."""
    return None if as_json else (lambda message: cli.err_console.print(message, highlight=False))


@cli.command(app)
def start(workers: Annotated[int, typer.Option(min=1, help="How many workers.")] = 2,
          cores: Annotated[int, typer.Option(min=1, help="Cores per worker.")] = 1,
          memory: Annotated[str, typer.Option(help="Memory per worker for executors (512m, 2g …).")] = "2g",
          port: Annotated[int, typer.Option(help="The master's port.")] = cluster.DEFAULT_PORT,
          timeout: Annotated[float, typer.Option(help="Seconds to wait for the workers to register.")]
          = cluster.START_TIMEOUT_S,
          state_dir: StateOpt = None, as_json: cli.JsonOpt = False) -> None:
    """Start a master and its workers on 127.0.0.1 and wait until every worker has registered."""
    state = cluster.start_cluster(workers, cores, memory, port=port, state_dir=state_dir, timeout=timeout,
                                  progress=_say(as_json))
    status = cluster.cluster_status(state_dir=state.state_dir)
    cli.emit(status, as_json, lambda: _render(status))


@cli.command(app)
def stop(state_dir: StateOpt = None, as_json: cli.JsonOpt = False) -> None:
    """Stop exactly the processes that ``shoplens spark start`` started (and the executors of its workers)."""
    stopped = cluster.stop_cluster(state_dir=state_dir, progress=_say(as_json))
    result = {"stopped": [{"name": p.name, "pid": p.pid} for p in stopped]}
    cli.emit(result, as_json, lambda: cli.console.print(
        f"stopped {', '.join(f'{p.name} (pid {p.pid})' for p in stopped)}" if stopped
        else "no Spark cluster was running", highlight=False))


@cli.command(app)
def status(state_dir: StateOpt = None, as_json: cli.JsonOpt = False) -> None:
    """The cluster's processes (pid, port, running, registered, log) and the master's view of its workers."""
    result = cluster.cluster_status(state_dir=state_dir)
    cli.emit(result, as_json, lambda: _render(result))


def _render(status: dict[str, Any]) -> None:
    if not status["processes"]:
        cli.console.print(f"no Spark cluster is running (state folder {status['state_dir']})", highlight=False)
        return
    master = status["master"]
    summary = (f"{status['master_url']}: master {master['status']}, {master['alive_workers']} worker(s) alive, "
               f"{master['cores']} core(s), {master['memory_mb']:,} MB for executors; web UI {status['webui_url']}"
               if master else f"{status['master_url']}: the master does not answer")
    rows = [{**p, "pid": str(p["pid"]), "port": str(p["port"]),  # numbers without thousands separators
             "registered": p["registered"] if p["role"] == "worker" else None} for p in status["processes"]]
    cli.console.print(cli.table_of(rows, ["name", "pid", "port", "running", "registered", "log"], title=summary))
