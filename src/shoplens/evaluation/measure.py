"""Measuring time and memory the way benchmark records require.

Absolute speed figures are medians of at least three runs, each run's seconds kept (:func:`timed`,
:class:`Timing`). Peak memory is the peak resident set size (RSS) in MB:

- :func:`peak_rss_mb` — this process's peak so far (``resource.getrusage``; on Linux ``VmHWM``);
- :class:`PeakMemory` — the peak of a block of code: on Linux it resets the high-water mark first
  (``/proc/self/clear_refs``), so the figure belongs to the block; elsewhere it falls back to the
  process's lifetime peak, an upper bound, and says so in ``exact``;
- a child process's own peak is best measured inside it (call :func:`peak_rss_mb` at its end and
  print it), which is what ``benchmarks/ingest.py`` does so the figure is of the ingest alone.

``tracemalloc`` is not used: it sees only Python's allocations, not Arrow's or DuckDB's.
"""

from __future__ import annotations

import resource
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Generic, TypeVar

MIN_RUNS = 3
T = TypeVar("T")

_STATUS = Path("/proc/self/status")
_CLEAR_REFS = Path("/proc/self/clear_refs")


@dataclass(frozen=True)
class Timing(Generic[T]):
    """Seconds of each run of the same work, and what the last run returned."""

    runs: tuple[float, ...]
    result: T | None = field(default=None, compare=False)

    def __post_init__(self) -> None:
        if len(self.runs) < MIN_RUNS:
            raise ValueError(f"speed figures are medians of at least {MIN_RUNS} runs; got {len(self.runs)}")

    @property
    def median(self) -> float:
        return statistics.median(self.runs)

    def rate(self, items: int) -> float:
        """Items per second at the median time."""
        return items / self.median

    def note(self, what: str = "") -> str:
        """E.g. ``ingest: median of 3 runs 16.92 s (16.71, 16.92, 17.40)``."""
        runs = ", ".join(f"{s:.3g}" for s in self.runs)
        prefix = f"{what}: " if what else ""
        return f"{prefix}median of {len(self.runs)} runs {self.median:.3g} s ({runs})"


def timed(work: Callable[[], T], runs: int = MIN_RUNS, warmup: int = 0) -> Timing[T]:
    """Run ``work`` ``warmup`` times untimed, then ``runs`` (at least 3) times timed."""
    if runs < MIN_RUNS:
        raise ValueError(f"speed figures are medians of at least {MIN_RUNS} runs; asked for {runs}")
    for _ in range(warmup):
        work()
    seconds: list[float] = []
    result: T | None = None
    for _ in range(runs):
        start = time.perf_counter()
        result = work()
        seconds.append(time.perf_counter() - start)
    return Timing(tuple(seconds), result)


def ratio(ours: float, reference: float) -> float:
    """``ours / reference`` (e.g. rows/s over the reference's rows/s; above 1 means faster for rates)."""
    if reference <= 0:
        raise ValueError(f"reference must be positive, got {reference}")
    return ours / reference


def _status_kb(field_name: str) -> int | None:
    try:
        for line in _STATUS.read_text(encoding="ascii").splitlines():
            if line.startswith(field_name + ":"):
                return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        return None
    return None


def peak_rss_mb() -> float:
    """This process's peak RSS in MB (since start, or since the last :class:`PeakMemory` reset on Linux)."""
    hwm_kb = _status_kb("VmHWM")
    if hwm_kb is not None:
        return hwm_kb / 1024
    maxrss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return maxrss / (1024 * 1024) if sys.platform == "darwin" else maxrss / 1024  # bytes on macOS, KB elsewhere


def reset_peak_rss() -> bool:
    """Reset the kernel's RSS high-water mark of this process (Linux); False where that is impossible."""
    try:
        _CLEAR_REFS.write_text("5", encoding="ascii")
    except OSError:
        return False
    return True


class PeakMemory:
    """``with PeakMemory() as peak: ...`` then ``peak.mb``: the peak RSS while the block ran."""

    def __init__(self) -> None:
        self.mb = 0.0
        self.exact = False

    def __enter__(self) -> PeakMemory:
        self.exact = reset_peak_rss()
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        self.mb = peak_rss_mb()
