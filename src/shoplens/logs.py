"""The command line's log: library warnings and the steps of runs, in ``<workspace>/logs/shoplens.log``.

Libraries (torch, transformers, onnxruntime, statsforecast …) warn through Python's ``warnings`` and
``logging``: a TracerWarning with its source line during an ONNX export, a UserWarning from a model. The
terminal is for shoplens' own progress and results, so the command line captures warnings into logging from
its start (held in memory until it knows the workspace; dropped by a command without one, such as
``datasets list``) and writes them, beside the start and outcome of each step of a run, to the workspace's log,
rotated at 5 MB with three older files kept. Other records of the libraries (WARNING and above) go there too.
``shoplens run`` says how many library warnings it logged and where.

Only the command line does this (:func:`capture_warnings` is called by its entry point); the Python API leaves
warnings and logging as the calling program set them.
"""

from __future__ import annotations

import logging
from logging.handlers import RotatingFileHandler
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

if TYPE_CHECKING:
    from shoplens.workspace import Workspace

LOG_FILE = "shoplens.log"
MAX_BYTES = 5 * 1024 * 1024
BACKUPS = 3
FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
MAX_PENDING = 1_000  # records kept while the workspace is not known yet
run_log = logging.getLogger("shoplens.run")
H = TypeVar("H", bound=logging.Handler)


class _Pending(logging.Handler):
    """Holds the first records until :func:`log_to_workspace` knows where they go."""

    def __init__(self) -> None:
        super().__init__()
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        if len(self.records) < MAX_PENDING:
            self.records.append(record)


class _WorkspaceLog(RotatingFileHandler):
    """The workspace's log file; counts the warnings written to it."""

    def __init__(self, path: Path) -> None:
        super().__init__(path, maxBytes=MAX_BYTES, backupCount=BACKUPS, encoding="utf-8", delay=True)
        self.setFormatter(logging.Formatter(FORMAT))
        self.path = path
        self.warnings = 0

    def emit(self, record: logging.LogRecord) -> None:
        if record.levelno >= logging.WARNING:
            self.warnings += 1
        super().emit(record)


def capture_warnings() -> None:
    """From here on, warnings and library log records go to the log instead of stderr (see the module)."""
    root = logging.getLogger()
    if any(isinstance(h, (_Pending, _WorkspaceLog)) for h in root.handlers):
        return
    logging.captureWarnings(True)
    logging.getLogger("shoplens").setLevel(logging.INFO)
    root.addHandler(_Pending())


def log_to_workspace(ws: Workspace) -> Path | None:
    """Write the captured records to ``ws``'s log from now on (with those held so far); returns the log's path,
    or ``None`` when warnings are not captured (the Python API)."""
    root = logging.getLogger()
    current = _handler(_WorkspaceLog)
    path = ws.dir("logs") / LOG_FILE
    if current is not None and current.path == path:
        return path
    pending = _handler(_Pending)
    if pending is None and current is None:
        return None
    handler = _WorkspaceLog(path)
    for record in pending.records if pending else []:
        handler.handle(record)
    for old in (pending, current):
        if old is not None:
            root.removeHandler(old)
            old.close()
    root.addHandler(handler)
    return path


def logged_warnings() -> tuple[int, Path] | None:
    """How many warnings the workspace's log received in this process, and its path (``None``: no log)."""
    handler = _handler(_WorkspaceLog)
    return (handler.warnings, handler.path) if handler is not None else None


def _handler(kind: type[H]) -> H | None:
    return next((h for h in logging.getLogger().handlers if isinstance(h, kind)), None)
