"""Computations in the service: a time budget each, and one heavy computation per key at a time.

Endpoints that compute rather than read (a price optimisation, review predictions, recommendations) run
their work through :class:`ComputeLimits`: in a worker thread, answered within
``ServiceSettings.compute_budget_s`` or refused with 503 and Retry-After. Python cannot stop a thread, so
work past its budget finishes in the background: its answer is dropped, and a *heavy* computation keeps its
key busy until it has really ended, so no key ever runs two at once (a second one is 429 with Retry-After).
Validated request ranges keep the worst case well inside the budget; the budget is the safety net (a much
larger shop, a slower machine).
"""

from __future__ import annotations

import asyncio
import math
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, TypeVar

from shoplens.errors import ShoplensError
from shoplens.serve.auth import KeyInfo

T = TypeVar("T")


class ComputeRefused(ShoplensError):
    """A computation the service will not answer now; ``retry_after_s`` says when to try again."""

    def __init__(self, message: str, retry_after_s: int) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s


class KeyBusy(ComputeRefused):
    """The key already runs a heavy computation (→ 429)."""


class OverBudget(ComputeRefused):
    """The computation did not finish within its budget (→ 503)."""


class ComputeLimits:
    """The service's worker threads, its budget, and the heavy computation each key is running."""

    def __init__(self, budget_s: float, workers: int) -> None:
        self.budget_s = budget_s
        self.retry_after_s = max(1, math.ceil(budget_s))
        self._executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="shoplens-compute")
        self._running: dict[str, str] = {}  # key id → what it computes
        self._lock = threading.Lock()

    async def run(self, key: KeyInfo, what: str, work: Callable[..., T], *args: Any, heavy: bool = True,
                  narrow: str = "") -> T:
        """``work(*args)`` in a worker thread, answered within the budget; ``what`` names the endpoint in
        messages, ``narrow`` says how to ask for less work; ``heavy``: one at a time per key."""
        if heavy:
            self._claim(key, what)
        try:
            future = self._executor.submit(work, *args)
        except BaseException:
            if heavy:
                self._release(key)
            raise
        if heavy:
            future.add_done_callback(lambda _: self._release(key))
        return await self._answer(future, what, narrow)

    async def _answer(self, future: Future[T], what: str, narrow: str) -> T:
        try:
            return await asyncio.wait_for(asyncio.wrap_future(future), self.budget_s)
        except TimeoutError:
            future.cancel()  # still waiting for a worker: it never starts
            hint = f"ask for less ({narrow}) or " if narrow else ""
            raise OverBudget(f"{what} did not finish within its budget of {self.budget_s:g} s; {hint}try again "
                             "later", self.retry_after_s) from None

    def _claim(self, key: KeyInfo, what: str) -> None:
        with self._lock:
            running = self._running.get(key.id)
            if running is not None:
                raise KeyBusy(f"key {key.id!r} is already computing {running}; one computation per key at a "
                              f"time: try {what} again when it has finished", self.retry_after_s)
            self._running[key.id] = what

    def _release(self, key: KeyInfo) -> None:
        with self._lock:
            self._running.pop(key.id, None)


@dataclass(frozen=True)
class Compute:
    """What an endpoint uses to compute (``deps.get_compute``): the service's limits bound to the request's key."""

    limits: ComputeLimits
    key: KeyInfo

    async def __call__(self, what: str, work: Callable[..., T], *args: Any, heavy: bool = True,
                       narrow: str = "") -> T:
        return await self.limits.run(self.key, what, work, *args, heavy=heavy, narrow=narrow)

