"""What every command of the CLI shares: the console, the common options, JSON-or-table output and the
one-line error handling. Capability command groups (``shoplens/<capability>/cli.py``) import from here."""

from __future__ import annotations

import functools
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from rich.console import Console
from rich.table import Table

from shoplens.errors import ShoplensError
from shoplens.workspace import Workspace, default_path

console = Console()
err_console = Console(stderr=True)

WorkspaceOpt = Annotated[Path | None, typer.Option("--workspace", "-w", help="Workspace folder.",
                                                   envvar="SHOPLENS_WORKSPACE", show_default=False)]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON for scripts instead of tables.")]
F = TypeVar("F", bound=Callable[..., Any])


def handle_errors(func: F) -> F:
    """Print user errors as one line (no traceback) and exit with status 1."""
    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except ShoplensError as error:
            err_console.print(f"[red]error:[/red] {error}", highlight=False, soft_wrap=True)
            raise typer.Exit(1) from None
    return wrapper  # type: ignore[return-value]


def open_workspace(path: Path | None) -> Workspace:
    return Workspace.open(path or default_path())


def show_progress(as_json: bool) -> bool:
    """Progress bars go to stderr, and only for people at a terminal."""
    return not as_json and sys.stderr.isatty()


def emit(data: Any, as_json: bool, render: Callable[[], None] | None = None) -> None:
    """JSON on stdout for scripts, or a human rendering."""
    if as_json or render is None:
        sys.stdout.write(json.dumps(data, indent=2, default=str, ensure_ascii=False) + "\n")
    else:
        render()


def table_of(rows: list[dict[str, Any]], columns: list[str], title: str | None = None) -> Table:
    """A rich table of records (numbers with thousands separators)."""
    table = Table(title=title, show_lines=False)
    for column in columns:
        table.add_column(column, overflow="fold")
    for row in rows:
        table.add_row(*[_cell(row.get(c)) for c in columns])
    return table


def _cell(value: Any) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return f"{value:,.4g}"
    return "" if value is None else str(value)
