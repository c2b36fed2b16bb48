"""One writer, many short readers, inside the service process.

DuckDB refuses a read-only connection to a file this process has open for writing (and the other way
round), so the service keeps them apart itself: readers pass while no ingest runs and get
:class:`~shoplens.errors.WorkspaceBusy` (→ 503 with Retry-After) while one does; an ingest waits for
the readers in flight to finish and keeps new ones out. Other processes are kept apart by the
workspace's lock file and DuckDB's own file lock.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator

from shoplens.errors import WorkspaceBusy


class WarehouseGate:
    def __init__(self) -> None:
        self._condition = threading.Condition()
        self._readers = 0
        self._writing = False

    @contextlib.contextmanager
    def reading(self, wait_s: float = 0.0) -> Iterator[None]:
        """Read while no one writes; waits up to ``wait_s`` for a writer to finish (the live tile reads between
        the short appends of event batches instead of failing)."""
        with self._condition:
            if not self._condition.wait_for(lambda: not self._writing, wait_s):
                raise WorkspaceBusy("an ingest is writing the warehouse; try again shortly")
            self._readers += 1
        try:
            yield
        finally:
            with self._condition:
                self._readers -= 1
                self._condition.notify_all()

    @contextlib.contextmanager
    def writing(self, timeout: float) -> Iterator[None]:
        with self._condition:
            if not self._condition.wait_for(lambda: not self._writing, timeout):
                raise WorkspaceBusy("another ingest is writing the warehouse; try again later")
            self._writing = True
            if not self._condition.wait_for(lambda: self._readers == 0, timeout):
                self._writing = False
                self._condition.notify_all()
                raise WorkspaceBusy("the warehouse is busy with readers; try again shortly")
        try:
            yield
        finally:
            with self._condition:
                self._writing = False
                self._condition.notify_all()
