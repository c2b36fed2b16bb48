"""What every command of the CLI shares: the console, the common options, JSON-or-table output and the
one-line error handling. Capability command groups (``shoplens/<capability>/cli.py``) import from here."""

from __future__ import annotations

import functools
import json
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Annotated, Any, NoReturn, TypeVar

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text
from typer.core import TyperGroup

from shoplens.errors import ShoplensError
from shoplens.logs import log_to_workspace
from shoplens.workspace import Workspace, default_path

try:  # typer ships its own copy of click from 0.2x on
    from typer._click import ClickException
except ImportError:  # pragma: no cover - older typer uses click itself
    from click import ClickException  # type: ignore[no-redef]

console = Console()
err_console = Console(stderr=True)

WorkspaceOpt = Annotated[Path | None, typer.Option("--workspace", "-w", help="Workspace folder.",
                                                   envvar="SHOPLENS_WORKSPACE", show_default=False)]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON for scripts instead of tables.")]
F = TypeVar("F", bound=Callable[..., Any])


def handle_errors(func: F) -> F:
    """Print user errors as one line (no traceback) — one JSON object on stdout with ``--json`` — and exit
    with status 1. A file the system cannot read (permissions, a full disk) is a user error too."""
    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        as_json = bool(kwargs.get("as_json"))
        try:
            return func(*args, **kwargs)
        except (typer.Exit, typer.Abort, ClickException, BrokenPipeError):
            raise  # an intended exit, a usage error or a closed pipe: typer knows what to do
        except ShoplensError as error:
            fail(str(error), as_json, file=error.file, row=error.row, column=error.column)
        except OSError as error:
            where = f"{error.filename}: " if error.filename else ""
            fail(f"{where}{error.strerror or error}", as_json, file=error.filename and str(error.filename))
        except Exception as error:
            if not as_json:
                raise
            # a bug: scripts still get their JSON; the traceback goes to stderr for whoever reports it
            err_console.print_exception()
            fail(f"unexpected {type(error).__name__}: {error}", as_json)
    return wrapper  # type: ignore[return-value]


def command_group(help_text: str) -> typer.Typer:
    """A command group (``shoplens <capability> …``): help shown when called without a command."""
    return typer.Typer(help=help_text, no_args_is_help=True)


def command(app: typer.Typer, name: str | None = None) -> Callable[[F], F]:
    """Register a function as a command of ``app`` (named ``name``, default the function's name with '-'),
    with the shared error handling (:func:`handle_errors`)."""
    def register(func: F) -> F:
        app.command(name)(handle_errors(func))
        return func
    return register


def fail(message: str, as_json: bool, *, file: str | None = None, row: int | None = None,
         column: str | None = None) -> NoReturn:
    """End the command with an error (see :func:`print_error`) and exit status 1."""
    print_error(message, as_json, file=file, row=row, column=column)
    raise typer.Exit(1)


def print_error(message: str, as_json: bool, *, file: str | None = None, row: int | None = None,
                column: str | None = None) -> None:
    """One line on stderr, or ``{"error", "file", "row", "column"}`` on stdout with ``--json`` (null where
    unknown)."""
    line = " ".join(part.strip() for part in message.splitlines() if part.strip())
    if as_json:
        emit({"error": line, "file": file, "row": row, "column": column}, True)
    else:  # the message as text, not markup: it may hold brackets ("[email]", "x[1]")
        err_console.print(Text.assemble(("error:", "red"), " ", line), highlight=False, soft_wrap=True)


class JsonErrorsGroup(TyperGroup):
    """The top command group: with ``--json`` among the arguments, a usage error (a bad option value, a missing
    argument) is one JSON object on stdout too, with click's exit status 2."""

    def main(self, args: Sequence[str] | None = None, prog_name: str | None = None,  # type: ignore[override]
             complete_var: str | None = None, standalone_mode: bool = True, **extra: Any) -> Any:
        argv = list(sys.argv[1:] if args is None else args)
        if not standalone_mode or "--json" not in argv:
            return super().main(args, prog_name, complete_var, standalone_mode, **extra)
        try:
            # not standalone: click raises usage errors instead of printing them, and returns exit codes
            code = super().main(argv, prog_name, complete_var, standalone_mode=False, **extra)
        except ClickException as error:
            print_error(error.format_message(), True)
            code = error.exit_code
        except typer.Abort:
            print_error("aborted", True)
            code = 1
        sys.exit(code if isinstance(code, int) else 0)


def open_workspace(path: Path | None) -> Workspace:
    """The workspace at ``path`` (default: ``$SHOPLENS_WORKSPACE`` or ``./shoplens-workspace``), with the
    command's log in it."""
    ws = Workspace.open(path or default_path())
    log_to_workspace(ws)
    return ws


def init_workspace(path: Path | None, **settings: Any) -> Workspace:
    """Like :func:`open_workspace`, creating the workspace when it does not exist (``settings``: timezone …)."""
    ws = Workspace.init(path or default_path(), **settings)
    log_to_workspace(ws)
    return ws


def name_values(pairs: list[str] | None, option: str = "--param", example: str = "lam=300") -> dict[str, Any]:
    """``NAME=VALUE`` options as a mapping: a value that reads as JSON (``300``, ``true``, ``[1, 2]``) is that
    value, anything else is text."""
    from shoplens.errors import InputError

    values: dict[str, Any] = {}
    for pair in pairs or []:
        name, sep, value = pair.partition("=")
        if not sep or not name.strip():
            raise InputError(f"{option} {pair!r}: use NAME=VALUE, e.g. {option} {example}")
        try:
            values[name.strip()] = json.loads(value)
        except json.JSONDecodeError:
            values[name.strip()] = value
    return values


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
