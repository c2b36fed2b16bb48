"""A Spark standalone cluster on this machine — one master and N workers on 127.0.0.1 — started from the
installed ``pyspark``'s own launcher (``$SPARK_HOME/bin/spark-class``), and the one rule that picks the master
every Spark job of shoplens runs on (:func:`resolve_master`)::

    from shoplens.engine import cluster, make_engine

    state = cluster.start_cluster(workers=2, cores=1, memory="2g")     # waits until both workers registered
    with make_engine(ws, "spark", master=state.master_url) as engine:  # spark://127.0.0.1:7077
        ...
    cluster.stop_cluster()                                             # exactly the processes it started

What was started (pids, ports, log files, start time) is kept in a state file, by default
``~/.cache/shoplens/spark-cluster/state.json`` (``$SHOPLENS_SPARK_CLUSTER_DIR`` or ``state_dir=`` elsewhere), so
that ``shoplens spark status|stop`` in another process finds them. A pid is acted on only while it is still the
process that was started (its command line names the Spark class and its port, and its start time is the one
recorded): a recycled pid is never signalled. Needs ``shoplens[spark]`` and Java 17+; only the standard library is
imported here, so the CLI starts fast without PySpark.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import importlib.util
import itertools
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from shoplens._files import replace_file
from shoplens.errors import InputError, NotFound, ShoplensError

DEFAULT_MASTER = "local[2]"
MASTER_ENV = "SHOPLENS_SPARK_MASTER"
STATE_DIR_ENV = "SHOPLENS_SPARK_CLUSTER_DIR"
DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 7077
MASTER_CLASS = "org.apache.spark.deploy.master.Master"
WORKER_CLASS = "org.apache.spark.deploy.worker.Worker"
START_TIMEOUT_S = 120.0  # a cold JVM on a busy 2-core laptop takes 10-30 s per daemon
MEMORY_PATTERN = re.compile(r"^[1-9][0-9]*[mMgG]$")
Progress = Callable[[str], None]

# Popen objects of the daemons this process started: kept so that they are reaped when they exit (no zombies in
# a long-lived process such as the test run) and so that Python does not warn about a child still running.
_CHILDREN: dict[int, subprocess.Popen] = {}
_EXITED: dict[int, int] = {}  # their exit statuses once reaped (negative: the signal that ended them)


def resolve_master(master: str | None = None) -> str:
    """The Spark master a job runs on: ``master`` when given, else ``$SHOPLENS_SPARK_MASTER``, else the
    ``--master`` of spark-submit when this Python was launched by it, else ``local[2]`` (so a shop points every
    shoplens Spark job at its cluster with one option, one variable or its usual spark-submit line)."""
    for candidate in (master, os.environ.get(MASTER_ENV)):
        if candidate and candidate.strip():
            return candidate.strip()
    return _submitted_master() or DEFAULT_MASTER


def _submitted_master() -> str | None:
    """spark-submit's ``--master`` when it launched this Python: it then passes the address of its JVM, which
    holds the settings, in ``PYSPARK_GATEWAY_PORT`` (a driver started from Python has no such variable)."""
    if "PYSPARK_GATEWAY_PORT" not in os.environ:
        return None
    from pyspark import SparkConf, SparkContext

    SparkContext._ensure_initialized()  # connects to spark-submit's JVM (the port above); starts nothing
    return SparkConf().get("spark.master", None)


@dataclass
class SparkProcess:
    """One daemon of the cluster, as started."""

    name: str  # "master", "worker-1" …
    main_class: str
    pid: int
    port: int
    log: str
    start_ticks: int | None  # the kernel's start time of the process (None where /proc is absent)

    @property
    def role(self) -> str:
        return "master" if self.main_class == MASTER_CLASS else "worker"


@dataclass
class ClusterState:
    """What :func:`start_cluster` started; stored as JSON in the state folder."""

    host: str
    port: int
    webui_port: int
    cores: int
    memory: str
    spark_home: str
    state_dir: str
    started_at: str
    master: SparkProcess
    workers: list[SparkProcess] = field(default_factory=list)

    @property
    def master_url(self) -> str:
        return f"spark://{self.host}:{self.port}"

    @property
    def webui_url(self) -> str:
        return f"http://{self.host}:{self.webui_port}"

    def processes(self) -> list[SparkProcess]:
        return [self.master, *self.workers]

    def worker(self, pid: int) -> SparkProcess:
        for process in self.workers:
            if process.pid == pid:
                return process
        raise NotFound(f"no worker of the cluster at {self.master_url} has pid {pid} "
                       f"(its workers: {', '.join(str(w.pid) for w in self.workers) or 'none'})")

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2)

    @classmethod
    def from_json(cls, text: str) -> ClusterState:
        data = json.loads(text)
        data["master"] = SparkProcess(**data["master"])
        data["workers"] = [SparkProcess(**w) for w in data["workers"]]
        return cls(**data)


# ---- the state folder ---------------------------------------------------------------------------------------

def state_folder(state_dir: str | Path | None = None) -> Path:
    """Where the cluster's state file, logs and work folders live."""
    chosen = state_dir or os.environ.get(STATE_DIR_ENV) or Path.home() / ".cache" / "shoplens" / "spark-cluster"
    return Path(chosen).expanduser().resolve()


def _state_option(folder: Path) -> str:
    """The ``--state-dir`` a command needs to find this folder's cluster (none for the default folder)."""
    return "" if folder == state_folder() else f" --state-dir {folder}"


def read_state(state_dir: str | Path | None = None) -> ClusterState | None:
    """The recorded cluster, or None when none was started (or it was stopped)."""
    path = state_folder(state_dir) / "state.json"
    if not path.exists():
        return None
    try:
        return ClusterState.from_json(path.read_text(encoding="utf-8"))
    except (ValueError, KeyError, TypeError) as error:
        raise ShoplensError(f"{path}: not a cluster state file ({error}); remove it once no Spark daemon "
                            "started from it is running", file=str(path)) from None


def _write_state(state: ClusterState) -> None:
    replace_file(Path(state.state_dir) / "state.json", state.to_json())


def _forget_state(state: ClusterState) -> None:
    (Path(state.state_dir) / "state.json").unlink(missing_ok=True)


# ---- processes ------------------------------------------------------------------------------------------------

def _cmdline(pid: int, settle: bool = False) -> list[str] | None:
    """The process's arguments, or None when it is gone (a zombie has none). ``settle``: a live process that shows
    no arguments is in the middle of an exec (the kernel has the new program's memory but not yet its arguments:
    spark-class execs env, bash, then java), so ask again for up to a second before taking it for another."""
    for _ in range(50 if settle else 1):
        args = _read_cmdline(pid)
        if args or not settle or _proc_state(pid) in (None, "Z", "X"):
            return args
        time.sleep(0.02)
    return None


def _read_cmdline(pid: int) -> list[str] | None:
    if Path("/proc/self").exists():
        try:
            args = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        except OSError:
            return None
        return [a.decode(errors="replace") for a in args if a] or None
    found = subprocess.run(["ps", "-o", "args=", "-p", str(pid)], capture_output=True, text=True, check=False)
    return found.stdout.split() or None  # macOS and the BSDs: no /proc


def _proc_state(pid: int) -> str | None:
    """The process's state letter (R, S, Z …), None when there is no such process."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return None


def _start_ticks(pid: int) -> int | None:
    """The process's start time in clock ticks since boot (field 22 of /proc/<pid>/stat), None without /proc."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return int(stat.rsplit(")", 1)[1].split()[19])  # after the command name, which may hold spaces


def is_running(process: SparkProcess) -> bool:
    """Whether ``process`` is still the daemon that was started: its pid runs the recorded Spark class on the
    recorded port, since the recorded time. A pid reused by another program is never taken for it."""
    _reap(process.pid)
    args = _cmdline(process.pid, settle=True)
    if not args or process.main_class not in args:
        return False
    if not any(a == "--port" and b == str(process.port) for a, b in itertools.pairwise(args)):
        return False
    return process.start_ticks is None or _start_ticks(process.pid) == process.start_ticks


def _reap(pid: int) -> None:
    child = _CHILDREN.get(pid)
    if child is not None and child.poll() is not None:
        _EXITED[pid] = _CHILDREN.pop(pid).returncode


def _all_processes() -> list[tuple[int, int]]:
    """(pid, parent pid) of every process."""
    listed = subprocess.run(["ps", "-A", "-o", "pid=,ppid="], capture_output=True, text=True, check=False)
    pairs = []
    for line in listed.stdout.splitlines():
        parts = line.split()
        if len(parts) == 2 and parts[0].isdigit() and parts[1].isdigit():
            pairs.append((int(parts[0]), int(parts[1])))
    return pairs


def _descendants(pid: int) -> list[int]:
    """The process's children, their children …: a worker's executors and their Python workers."""
    children: dict[int, list[int]] = {}
    for child, parent in _all_processes():
        children.setdefault(parent, []).append(child)
    found, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def _executors_of(state: ClusterState) -> list[int]:
    """Executors that the cluster's workers launched and that outlived their worker (an executor names its worker
    in its command line, ``--worker-url spark://Worker@host:port``)."""
    urls = {f"spark://Worker@{state.host}:{w.port}" for w in state.workers}
    return [pid for pid, _ in _all_processes() if urls & set(_cmdline(pid) or [])]


def _signal(pids: list[int], sig: signal.Signals) -> None:
    for pid in pids:
        with contextlib.suppress(ProcessLookupError, PermissionError):  # gone already, or not ours to signal
            os.kill(pid, sig)


def _gone(pid: int) -> bool:
    _reap(pid)
    return _cmdline(pid) is None


def _wait_gone(pids: list[int], timeout: float) -> list[int]:
    """Wait up to ``timeout`` seconds for the processes to exit; those still running."""
    deadline = time.monotonic() + timeout
    left = [p for p in pids if not _gone(p)]
    while left and time.monotonic() < deadline:
        time.sleep(0.2)
        left = [p for p in left if not _gone(p)]
    return left


def _end(pids: list[int], timeout: float) -> None:
    """SIGTERM (the daemons stop their executors on it), then SIGKILL what is left after ``timeout`` s."""
    _signal(pids, signal.SIGTERM)
    left = _wait_gone(pids, timeout)
    if left:
        _signal(left, signal.SIGKILL)
        _wait_gone(left, 5.0)


# ---- what a start needs ---------------------------------------------------------------------------------------

def spark_home() -> Path:
    """The installed pyspark's folder: it holds the jars and ``bin/spark-class`` of the same Spark version (a
    ``$SPARK_HOME`` elsewhere may be another version than the driver's, so it is not used)."""
    spec = importlib.util.find_spec("pyspark")
    if spec is None or not spec.submodule_search_locations:
        raise ShoplensError("a Spark cluster needs PySpark: install shoplens[spark] (and Java 17+)")
    home = Path(next(iter(spec.submodule_search_locations)))
    if not (home / "bin" / "spark-class").exists():
        raise ShoplensError(f"{home} has no bin/spark-class: reinstall pyspark (pip install shoplens[spark])")
    return home


def java_command() -> str:
    """The ``java`` that Spark's launcher will use (``$JAVA_HOME/bin/java``, else the one on the PATH)."""
    java_home = os.environ.get("JAVA_HOME")
    java = str(Path(java_home) / "bin" / "java") if java_home else shutil.which("java")
    if not java or not Path(java).exists():
        raise ShoplensError("Spark needs Java 17 or later: install it (Debian: apt-get install "
                            "openjdk-17-jre-headless) or set JAVA_HOME")
    return java


def port_is_free(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the JVM binds: TIME_WAIT is no obstacle
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def free_port(host: str = DEFAULT_HOST) -> int:
    """A port nobody listens on now (the OS's choice)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def _check_options(workers: int, cores: int, memory: str, port: int) -> None:
    if workers < 1:
        raise InputError(f"--workers {workers}: a cluster needs at least one worker")
    if cores < 1:
        raise InputError(f"--cores {cores}: a worker needs at least one core")
    if not MEMORY_PATTERN.match(memory):
        raise InputError(f"--memory {memory!r}: give megabytes or gigabytes, e.g. 512m or 2g")
    if not 0 < port < 65536:
        raise InputError(f"--port {port}: a port is between 1 and 65535")


def _daemon_env(home: Path, host: str) -> dict[str, str]:
    env = {**os.environ, "SPARK_HOME": str(home), "SPARK_LOCAL_IP": host}
    env.setdefault("SPARK_DAEMON_MEMORY", "512m")  # the master and worker daemons themselves (jobs run in executors)
    return env


def _spawn(name: str, main_class: str, args: list[str], port: int, folder: Path, env: dict[str, str]) -> SparkProcess:
    """Start one daemon in its own session (it outlives the command that started it and ignores the terminal's
    Ctrl-C), its output appended to ``logs/<name>.log``."""
    log = folder / "logs" / f"{name}.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    launcher = Path(env["SPARK_HOME"]) / "bin" / "spark-class"
    with log.open("ab") as out:
        out.write(f"---- {dt.datetime.now(dt.UTC).isoformat(timespec='seconds')} shoplens starts {name}\n".encode())
        out.flush()
        # spark-class execs java: the pid stays the daemon's
        child = subprocess.Popen([str(launcher), main_class, *args], stdout=out, stderr=subprocess.STDOUT,
                                 stdin=subprocess.DEVNULL, env=env, cwd=folder, start_new_session=True)
    _CHILDREN[child.pid] = child
    _EXITED.pop(child.pid, None)
    return SparkProcess(name, main_class, child.pid, port, str(log), _start_ticks(child.pid))


def _spawn_worker(state: ClusterState, env: dict[str, str], cores: int, memory: str) -> SparkProcess:
    taken = {int(w.name.rsplit("-", 1)[1]) for w in state.workers}
    number = next(n for n in range(1, len(taken) + 2) if n not in taken)
    folder = Path(state.state_dir)
    port = free_port(state.host)
    work = folder / "work" / f"worker-{number}"
    work.mkdir(parents=True, exist_ok=True)
    args = ["--host", state.host, "--port", str(port), "--webui-port", "0", "--cores", str(cores),
            "--memory", memory, "--work-dir", str(work), state.master_url]
    return _spawn(f"worker-{number}", WORKER_CLASS, args, port, folder, env)


# ---- the master's view ----------------------------------------------------------------------------------------

def master_view(state: ClusterState, timeout: float = 2.0) -> dict[str, Any] | None:
    """The master's own status (its web UI's ``/json/``: workers with their state, cores, memory, applications),
    or None while it does not answer."""
    no_proxy = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # loopback never goes via a proxy
    try:
        with no_proxy.open(f"{state.webui_url}/json/", timeout=timeout) as response:
            return json.loads(response.read())
    except (OSError, ValueError):
        return None


def alive_worker_ports(view: dict[str, Any] | None) -> set[int]:
    return {int(w["port"]) for w in (view or {}).get("workers", []) if w.get("state") == "ALIVE"}


def log_tail(process: SparkProcess, lines: int = 6) -> str:
    """The last lines of the daemon's log, on one line (for an error message)."""
    try:
        text = Path(process.log).read_text(encoding="utf-8", errors="replace")
    except OSError:
        return "(no log)"
    kept = [line.strip() for line in text.splitlines() if line.strip()][-lines:]
    return " | ".join(kept) or "(empty log)"


def _wait_registered(state: ClusterState, waiting_for: list[SparkProcess], timeout: float) -> dict[str, Any]:
    """Poll the master until it is ALIVE and every worker in ``waiting_for`` is registered and ALIVE; a daemon that
    exits, or the timeout, is an error quoting the log of the daemon concerned."""
    deadline = time.monotonic() + timeout
    wanted = {w.port for w in waiting_for}
    while True:
        for process in [state.master, *waiting_for]:
            if not is_running(process):
                status = f" with status {_EXITED[process.pid]}" if process.pid in _EXITED else ""
                raise ShoplensError(f"the Spark {process.name} (pid {process.pid}) exited{status} while starting; "
                                    f"{process.log} ends: {log_tail(process)}", file=process.log)
        view = master_view(state)
        registered = alive_worker_ports(view) & wanted
        if view and view.get("status") == "ALIVE" and registered == wanted:
            return view
        if time.monotonic() > deadline:
            late = [w for w in waiting_for if w.port not in registered]
            culprit = late[0] if view and view.get("status") == "ALIVE" and late else state.master
            raise ShoplensError(
                f"the Spark cluster was not ready after {timeout:.0f} s (master "
                f"{'answering' if view else 'not answering'} at {state.webui_url}, {len(registered)} of "
                f"{len(wanted)} workers registered); {culprit.log} ends: {log_tail(culprit)}", file=culprit.log)
        time.sleep(0.5)


# ---- start, add, kill, stop, status ---------------------------------------------------------------------------

def start_cluster(workers: int = 2, cores: int = 1, memory: str = "2g", *, port: int = DEFAULT_PORT,
                  host: str = DEFAULT_HOST, webui_port: int | None = None, state_dir: str | Path | None = None,
                  timeout: float = START_TIMEOUT_S, progress: Progress | None = None) -> ClusterState:
    """Start a master on ``host:port`` and ``workers`` workers (``cores`` cores and ``memory`` for executors
    each), and wait until every worker has registered with the master. ``webui_port``: the master's web UI (and
    the JSON status polled here), a free port when None; the workers' UIs take free ports. On any failure what
    was started is stopped again."""
    _check_options(workers, cores, memory, port)
    say = progress or (lambda message: None)
    folder = state_folder(state_dir)
    running = read_state(folder)
    if running is not None:
        if any(is_running(p) for p in running.processes()):
            raise ShoplensError(f"a Spark cluster is already running at {running.master_url} (state in {folder}); "
                                f"stop it first: shoplens spark stop{_state_option(folder)}")
        _forget_state(running)  # left by a cluster whose processes are all gone (a reboot)
    home, _ = spark_home(), java_command()
    if not port_is_free(host, port):
        raise InputError(f"port {port} on {host} is in use: stop what listens there or choose another --port")
    webui = webui_port or free_port(host)
    if not port_is_free(host, webui):
        raise InputError(f"port {webui} on {host} (the master's web UI) is in use: choose another")
    env = _daemon_env(home, host)
    now = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    say(f"starting the Spark master on spark://{host}:{port} (Spark from {home})")
    master = _spawn("master", MASTER_CLASS, ["--host", host, "--port", str(port), "--webui-port", str(webui)],
                    port, folder, env)
    state = ClusterState(host, port, webui, cores, memory, str(home), str(folder), now, master)
    _write_state(state)  # at once: a stop from another terminal finds what is starting
    try:
        _add(state, env, workers, cores, memory, timeout, say)
    except BaseException:
        _stop(state, timeout=10.0)
        raise
    say(f"cluster ready: {state.master_url} with {workers} worker(s), {cores} core(s) and {memory} each; "
        f"web UI {state.webui_url}")
    return state


def _add(state: ClusterState, env: dict[str, str], count: int, cores: int, memory: str, timeout: float,
         say: Progress) -> list[SparkProcess]:
    added = []
    for _ in range(count):
        worker = _spawn_worker(state, env, cores, memory)
        say(f"starting {worker.name} ({cores} core(s), {memory}), pid {worker.pid}")
        state.workers.append(worker)
        added.append(worker)
        _write_state(state)
    say(f"waiting for {count} worker(s) to register with the master")
    _wait_registered(state, added, timeout)
    return added


def add_workers(count: int = 1, cores: int | None = None, memory: str | None = None, *,
                state_dir: str | Path | None = None, timeout: float = START_TIMEOUT_S,
                progress: Progress | None = None) -> list[SparkProcess]:
    """Start ``count`` more workers (by default as large as the cluster's first ones) on the running cluster
    and wait until they have registered; the new workers."""
    state = _running_state(state_dir)
    cores, memory = cores or state.cores, memory or state.memory
    _check_options(count, cores, memory, state.port)
    env = _daemon_env(Path(state.spark_home), state.host)
    return _add(state, env, count, cores, memory, timeout, progress or (lambda message: None))


def kill_worker(pid: int, *, state_dir: str | Path | None = None) -> SparkProcess:
    """Kill one worker of the cluster and everything it launched (its executors and their Python workers) with
    SIGKILL, at once, as a machine that fails would: for fault tests and benchmarks. The worker stays in the state
    (shown as not running); the master notices the loss and the jobs' tasks are retried elsewhere."""
    state = _running_state(state_dir)
    worker = state.worker(pid)
    if not is_running(worker):
        raise ShoplensError(f"{worker.name} (pid {pid}) is not running")
    tree = [pid, *_descendants(pid)]
    _signal(tree, signal.SIGKILL)
    left = _wait_gone(tree, 10.0)
    if left:
        raise ShoplensError(f"{worker.name}: processes {left} survived SIGKILL")
    return worker


def stop_cluster(*, state_dir: str | Path | None = None, timeout: float = 20.0,
                 progress: Progress | None = None) -> list[SparkProcess]:
    """Stop the recorded cluster: exactly the daemons it started (those still running as started) and the
    executors its workers launched; the daemons that were stopped. Nothing recorded: nothing to do."""
    state = read_state(state_dir)
    if state is None:
        return []
    return _stop(state, timeout, progress or (lambda message: None))


def _stop(state: ClusterState, timeout: float, say: Progress = lambda message: None) -> list[SparkProcess]:
    # workers first (each stops its executors), then the master, so that no worker retries a lost master
    running = [p for p in [*state.workers, state.master] if is_running(p)]
    for process in running:
        say(f"stopping {process.name} (pid {process.pid})")
        _end([process.pid, *_descendants(process.pid)], timeout)
    orphans = _executors_of(state)  # executors of a worker that was killed, not stopped
    if orphans:
        say(f"stopping {len(orphans)} executor(s) left by killed workers")
        _end(orphans, timeout)
    _forget_state(state)
    return running


def _running_state(state_dir: str | Path | None) -> ClusterState:
    state = read_state(state_dir)
    if state is None or not is_running(state.master):
        folder = state_folder(state_dir)
        raise ShoplensError(f"no Spark cluster is running (state folder {folder}); start one: "
                            f"shoplens spark start{_state_option(folder)}")
    return state


def cluster_status(*, state_dir: str | Path | None = None) -> dict[str, Any]:
    """The recorded cluster: each daemon (pid, port, whether it still runs, its log) and the master's own view
    (workers alive, cores, memory, running applications)."""
    folder = state_folder(state_dir)
    state = read_state(folder)
    if state is None:
        return {"running": False, "state_dir": str(folder), "processes": [], "master": None}
    view = master_view(state) if is_running(state.master) else None
    alive = alive_worker_ports(view)
    processes = [{"name": p.name, "role": p.role, "pid": p.pid, "port": p.port, "running": is_running(p),
                  "registered": p.role == "worker" and p.port in alive, "log": p.log} for p in state.processes()]
    master = None if view is None else {
        "status": view.get("status"), "alive_workers": int(view.get("aliveworkers", 0)),
        "cores": int(view.get("cores", 0)), "cores_used": int(view.get("coresused", 0)),
        "memory_mb": int(view.get("memory", 0)), "active_apps": [a.get("name") for a in view.get("activeapps", [])]}
    return {"running": processes[0]["running"], "master_url": state.master_url, "webui_url": state.webui_url,
            "started_at": state.started_at, "state_dir": state.state_dir, "spark_home": state.spark_home,
            "processes": processes, "master": master}


def session_defaults(master: str) -> dict[str, str]:
    """Spark settings a driver needs for ``master``: on a cluster on this machine's loopback the driver must be
    reachable at 127.0.0.1 too (else it advertises the host name, which may resolve elsewhere)."""
    host = master.removeprefix("spark://").split(":", 1)[0] if master.startswith("spark://") else ""
    if host in ("127.0.0.1", "localhost"):
        return {"spark.driver.host": "127.0.0.1", "spark.driver.bindAddress": "127.0.0.1"}
    return {}


def python_for_executors() -> str:
    """The Python the executors run (``$PYSPARK_PYTHON``, else this interpreter): it must have pandas and pyarrow,
    which a bare ``python3`` on the PATH often lacks."""
    return os.environ.get("PYSPARK_PYTHON") or sys.executable
