"""The service's background retraining: ``shoplens serve --retrain "daily 03:00"``.

One thread waits for the schedule's next time and runs ``shoplens retrain`` in a child process — one at a time
(a run that outlasts the next time skips it), never in the request path: the fitting uses the child's own
interpreter and cores, and the child writes the warehouse only to publish a deploy (readers then get a 503 with
Retry-After for that moment, as during an ingest). The child dies with the service (Linux: a parent-death
signal), so a killed service leaves no orphan writing the workspace; what a killed deploy left is finished or
forgotten by :func:`shoplens.retrain.recover` when the service starts again.
"""

from __future__ import annotations

import contextlib
import ctypes
import datetime as dt
import json
import logging
import signal
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

from shoplens.retrain import parse_schedule

log = logging.getLogger(__name__)
PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:  # runs in the child between fork and exec
    with contextlib.suppress(OSError):  # not Linux: the child outlives a killed service and finishes its run
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)


class RetrainWorker:
    """Runs ``shoplens retrain`` for one workspace on a schedule; ``status()`` says what it last did."""

    def __init__(self, workspace_path: Path, schedule: str, timezone: str = "UTC") -> None:
        self.path = workspace_path
        self.schedule = parse_schedule(schedule)
        self.timezone = timezone
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="shoplens-retrain", daemon=True)
        self._child: subprocess.Popen[str] | None = None
        self.last: dict[str, Any] = {"schedule": schedule, "runs": 0, "next_at": None, "last_result": None}

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        """Stop waiting; a retrain in progress is ended (its deploy, if any, is crash-safe)."""
        self._stop.set()
        child = self._child
        if child is not None and child.poll() is None:
            child.terminate()
        self._thread.join(timeout)

    def status(self) -> dict[str, Any]:
        return dict(self.last)

    def _loop(self) -> None:
        while not self._stop.is_set():
            now = dt.datetime.now(dt.UTC)
            due = self.schedule.next_after(now, self.timezone)
            self.last["next_at"] = due.isoformat(timespec="seconds")
            if self._stop.wait((due - now).total_seconds()):
                return
            self._run_once()

    def _run_once(self) -> None:
        command = [sys.executable, "-m", "shoplens.cli", "retrain", "--workspace", str(self.path), "--json"]
        started = dt.datetime.now(dt.UTC)
        log.info("retrain: starting (%s)", self.schedule.text)
        self._child = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                       preexec_fn=_die_with_parent)
        out, err = self._child.communicate()
        result: dict[str, Any] = {"started_at": started.isoformat(timespec="seconds"),
                                  "finished_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
                                  "exit_code": self._child.returncode}
        try:
            decisions = json.loads(out) if out.strip() else []
        except ValueError:
            decisions = []
        if self._child.returncode == 0 and isinstance(decisions, list):
            result["decisions"] = [{k: d.get(k) for k in ("capability", "deployed", "deployed_version", "reason")}
                                   for d in decisions]
            log.info("retrain: %s", "; ".join(f"{d['capability']}: {d['reason']}" for d in result["decisions"]))
        else:
            result["error"] = (err.strip().splitlines() or ["no output"])[-1][:500]
            log.warning("retrain failed (exit %s): %s", self._child.returncode, result["error"])
        self.last["runs"] += 1
        self.last["last_result"] = result
        self._child = None


def start_operations(workspace_path: Path, schedule: str | None) -> RetrainWorker | None:
    """At service start: finish or forget deploys a killed process left (logged), then start the retraining
    worker when a schedule is given. Nothing when the workspace does not exist yet."""
    from shoplens.errors import ShoplensError
    from shoplens.retrain import recover
    from shoplens.workspace import Workspace

    try:
        ws = Workspace.open(workspace_path)
        for line in recover(ws):
            log.warning("deploy recovered at start: %s", line)
    except ShoplensError as exc:
        log.info("no deploy recovery: %s", exc)
        return None
    if schedule is None:
        return None
    worker = RetrainWorker(workspace_path, schedule, ws.config.timezone)
    worker.start()
    log.info("retraining scheduled: %s", schedule)
    return worker
