"""The warehouse kept open between requests, and the generation of the data the service reads.

Opening the DuckDB file costs about 25 ms of CPU (the catalog is read, worker threads start) — more than most
answers. Connections of one process share one open database, so while one connection stays open every request
connects in well under a millisecond. :class:`WarehouseKeeper` holds that one read-only connection, and lets go
of it whenever a writer needs the file:

- another process (``shoplens ingest``, ``run``, ``forget``, a retraining child) takes the workspace's write lock
  (``warehouse.lock``) before it opens the warehouse for writing: the keeper looks at that lock at every request
  and every ``poll_s`` seconds, closes when a writer holds it and opens again only once it is free — the writer,
  which retries while readers hold DuckDB's file lock, gets in within ``poll_s``;
- a writer of this process (an upload, a batch of live events) asks it to close first
  (``workspace.register_read_keeper``);
- after ``idle_s`` seconds without a request it closes too, for writers that do not take the lock.

While the keeper is open nobody can change the warehouse: DuckDB's file lock keeps other processes' writers out
and the other configuration keeps this process's out. So the data read under one opening is the same from its
start to its end, and each opening gets a new **generation** number: an answer computed from the warehouse is
valid exactly as long as its generation is current (``serve.answers``). ``generation()`` is None while a writer
holds the lock or the file cannot be opened: then nothing may be cached.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import threading
import time
from pathlib import Path

import duckdb

from shoplens.errors import ShoplensError
from shoplens.workspace import Workspace, register_read_keeper

log = logging.getLogger(__name__)
POLL_S = 0.1
IDLE_S = 5.0


class WarehouseKeeper:
    """One read-only connection to a workspace's warehouse, held between requests (one per app)."""

    def __init__(self, workspace_path: Path, *, poll_s: float = POLL_S, idle_s: float = IDLE_S) -> None:
        self.workspace_path = Path(workspace_path)
        self.poll_s, self.idle_s = poll_s, idle_s
        self._lock = threading.RLock()
        self._con: duckdb.DuckDBPyConnection | None = None
        self._generation = 0
        self._last_used = 0.0
        self._lock_fd: int | None = None
        self._watcher: threading.Thread | None = None
        self._unregister = register_read_keeper(self.workspace_path / "warehouse.duckdb", self.release)

    def generation(self) -> int | None:
        """The generation of the warehouse's data now (the keeper opened when closed); None while a writer holds
        the workspace's write lock or the warehouse cannot be opened read-only."""
        with self._lock:
            if self._writer_waiting():
                self._close()
                return None
            if self._con is None and not self._open():
                return None
            self._last_used = time.monotonic()
            return self._generation

    def current(self) -> int | None:
        """The generation while the keeper is open and no writer holds the lock, without opening, closing or
        waiting for anything (for the event loop); None otherwise (then :meth:`generation`, in a worker thread)."""
        if not self._lock.acquire(blocking=False):
            return None
        try:
            if self._con is None or self._writer_waiting():
                return None
            self._last_used = time.monotonic()
            return self._generation
        finally:
            self._lock.release()

    def is_current(self, generation: int | None) -> bool:
        """Whether data read under ``generation`` is still the warehouse's data (the keeper has not let go since)."""
        with self._lock:
            return generation is not None and self._con is not None and generation == self._generation

    def release(self) -> None:
        """Close the connection (a writer of this process is about to open the warehouse); the next request opens
        it again, under a new generation, once no writer holds the lock."""
        with self._lock:
            self._close()

    def stop(self) -> None:
        """Close for good (the app shuts down)."""
        self._unregister()
        with self._lock:
            self._close()
            if self._lock_fd is not None:
                os.close(self._lock_fd)
                self._lock_fd = None

    # -- inside ---------------------------------------------------------------------------------------------
    def _open(self) -> bool:
        try:
            ws = Workspace.open(self.workspace_path)
            self._con = ws.open_reader()
        except (ShoplensError, duckdb.Error, OSError) as exc:  # the request reports it when it opens its own
            log.debug("warehouse keeper: cannot open the warehouse now (%s)", exc)
            return False
        self._generation += 1
        self._start_watcher()
        return True

    def _close(self) -> None:
        if self._con is not None:
            con, self._con = self._con, None
            with contextlib.suppress(duckdb.Error):
                con.close()

    def _writer_waiting(self) -> bool:
        """Whether another holder has the workspace's write lock (a shared ``flock`` probe, let go at once)."""
        if self._lock_fd is None:
            try:
                self._lock_fd = os.open(self.workspace_path / "warehouse.lock", os.O_RDWR | os.O_CREAT, 0o644)
            except OSError:
                return False  # no workspace (yet): nothing to keep open either
        try:
            fcntl.flock(self._lock_fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        fcntl.flock(self._lock_fd, fcntl.LOCK_UN)
        return False

    def _start_watcher(self) -> None:
        if self._watcher is not None and self._watcher.is_alive():
            return
        self._watcher = threading.Thread(target=self._watch, name="shoplens-warehouse-keeper", daemon=True)
        self._watcher.start()

    def _watch(self) -> None:
        """While open: close when a writer takes the lock or no request came for ``idle_s``; then end."""
        while True:
            time.sleep(self.poll_s)
            with self._lock:
                if self._con is not None and (self._writer_waiting()
                                              or time.monotonic() - self._last_used > self.idle_s):
                    self._close()
                if self._con is None:
                    self._watcher = None  # the next opening starts another
                    return
