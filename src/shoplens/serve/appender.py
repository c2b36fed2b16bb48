"""Group commit of live event batches: the batches that arrive while one append runs are appended together next.

Each batch still has its own transaction (all or nothing, checked against the batches before it), but the group
shares one connection: opening the warehouse and checkpointing it when the connection closes cost more than a
small batch's insert, so a site sending many small batches at once is served at the rate of a few large ones.
Whoever holds the write gate appends everything waiting (at most ``MAX_GROUP`` batches); the others find their
batch done when they get the gate, or wait for it.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

from shoplens.data.live import AppendResult, EventBatch, append_batches
from shoplens.errors import WorkspaceBusy
from shoplens.serve.warehouse import Warehouse

MAX_GROUP = 64
LOCK_WAIT_S = 5.0  # a group waits this long for another process's write (a CLI ingest), then 503


@dataclass(eq=False)  # compared by identity
class _Waiting:
    batch: EventBatch
    key_id: str | None
    done: threading.Event = field(default_factory=threading.Event)
    outcome: AppendResult | BaseException | None = None


class EventAppender:
    """One per service: appends batches of events for the requests, grouped."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._waiting: list[_Waiting] = []

    def append(self, warehouse: Warehouse, batch: EventBatch, key_id: str | None) -> AppendResult:
        mine = _Waiting(batch, key_id)
        with self._lock:
            self._waiting.append(mine)
        while not mine.done.is_set():  # a group is the first MAX_GROUP waiting: ours may be in a later one
            try:
                with warehouse.gate.writing(warehouse.write_wait_s):
                    if not mine.done.is_set():
                        self._append_waiting(warehouse)
            except WorkspaceBusy:
                if self._withdraw(mine):  # nobody took it: the request fails (503) and nothing was appended
                    raise
                mine.done.wait()  # another request's group has it: its outcome comes with that group
        if isinstance(mine.outcome, BaseException):
            raise mine.outcome
        assert mine.outcome is not None
        return mine.outcome

    def _append_waiting(self, warehouse: Warehouse) -> None:
        with self._lock:
            group, self._waiting = self._waiting[:MAX_GROUP], self._waiting[MAX_GROUP:]
        try:
            outcomes = append_batches(warehouse.ws, [(w.batch, w.key_id) for w in group],
                                      lock_wait_s=min(warehouse.write_wait_s, LOCK_WAIT_S))
        except BaseException as exc:  # the lock or the connection: nothing of the group was appended
            outcomes = [exc] * len(group)
        for waiting, outcome in zip(group, outcomes, strict=True):
            waiting.outcome = outcome
            waiting.done.set()

    def _withdraw(self, mine: _Waiting) -> bool:
        """Take ``mine`` out of the queue; False when another request's group has it already."""
        with self._lock:
            if mine in self._waiting:
                self._waiting.remove(mine)
                return True
            return False
