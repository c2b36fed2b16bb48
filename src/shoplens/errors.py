"""User-facing errors: each carries a one-line message naming what is wrong and where.

The CLI prints ``str(error)`` without a traceback and exits non-zero; the service maps them to 4xx
(``InputError``, ``NotFound``) or 503 (``WorkspaceBusy``).
"""

from __future__ import annotations


class ShoplensError(Exception):
    """Base class of every error meant for the user rather than for a developer. ``file``, ``row`` and
    ``column`` say where the problem is, when an error knows (``--json`` prints them as fields)."""

    def __init__(self, *args: object, file: str | None = None, row: int | None = None,
                 column: str | None = None) -> None:
        super().__init__(*args)
        self.file, self.row, self.column = file, row, column


class InputError(ShoplensError, ValueError):
    """Bad input: names the file, and the row and column where they are known."""

    def __init__(self, message: str, *, file: str | None = None, row: int | None = None,
                 column: str | None = None) -> None:
        where = ", ".join(
            part for part in (
                file and f"{file}",
                row is not None and f"row {row}",
                column and f"column {column!r}",
            ) if part
        )
        super().__init__(f"{where}: {message}" if where else message, file=file, row=row, column=column)


class InvalidRecords(InputError):
    """Records of a batch that break the rules, each named: ``problems`` holds one ``{"line", "field",
    "message"}`` per problem (the first ones, in line order); the message is the first problem and a count."""

    def __init__(self, message: str, problems: list[dict[str, object]]) -> None:
        super().__init__(message)
        self.problems = problems


class WorkspaceError(ShoplensError):
    """The workspace is missing, not initialised or inconsistent."""


class WorkspaceBusy(ShoplensError):
    """Another process holds the workspace's write lock."""


class NotFound(ShoplensError, KeyError):
    """A named thing (table, customer, model, dataset) does not exist."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else ""
