"""Rich progress bars for long steps (written to stderr, so ``--json`` output on stdout stays clean)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeRemainingColumn


class _Bar:
    def __init__(self, progress: Progress | None, task: Any) -> None:
        self._progress, self._task = progress, task

    def advance(self, amount: float = 1) -> None:
        if self._progress is not None:
            self._progress.advance(self._task, amount)

    def reset(self) -> None:
        if self._progress is not None:
            self._progress.reset(self._task)


@contextlib.contextmanager
def progress_bar(description: str, total: float | None, *, enabled: bool = True,
                 unit: str = "bytes") -> Iterator[_Bar]:
    """A progress bar over ``total`` units; a no-op when ``enabled`` is false."""
    if not enabled:
        yield _Bar(None, None)
        return
    columns: list[Any] = [TextColumn("{task.description}"), BarColumn()]
    columns.append(DownloadColumn() if unit == "bytes" else TextColumn("{task.completed:,.0f}/{task.total:,.0f}"))
    columns.append(TimeRemainingColumn())
    with Progress(*columns, console=Console(stderr=True), transient=True) as progress:
        task = progress.add_task(description, total=total)
        yield _Bar(progress, task)
