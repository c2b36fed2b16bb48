"""The workspace: one folder holding a shop's warehouse, models, indexes, graph, reports and config.

```
shoplens-workspace/
  shoplens.toml      name, timezone, currency, schema version
  warehouse.duckdb   canonical tables, derived views, ingest runs
  quarantine/        rejected rows, one Parquet file per table and ingest run, with reasons
  models/ index/ graph/ reports/
  spark/             `shoplens run --engine spark`: tables/ (canonical tables as Parquet), results/ (its results)
  logs/              the command line's log: library warnings, steps of runs (see shoplens.logs)
  secrets/           the pseudonymization key and hashed API keys (never inside the warehouse)
```

DuckDB allows one writer at a time: writes take an exclusive lock on ``warehouse.lock`` (who holds it is
written inside), readers open the warehouse read-only.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import json
import os
import secrets
import sys
import threading
import time
import tomllib
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import duckdb
import tomli_w

from shoplens.errors import InputError, NotFound, WorkspaceBusy, WorkspaceError
from shoplens.period import check_timezone
from shoplens.schema import META_SQL, TABLES, create_table_sql
from shoplens.views import daily_sales_sql, interactions_sql

if TYPE_CHECKING:
    import pandas as pd

    from shoplens.data.erasure import ErasureReport
    from shoplens.data.ingest import IngestReport
    from shoplens.registry import ModelRegistry

SCHEMA_VERSION = 1
WRITE_OPEN_WAIT_S = 30.0  # how long a writer retries while another process's readers hold DuckDB's file lock
# (lock file, thread) → depth: the write lock a thread of this process holds, for re-entry
_HELD_LOCKS: dict[tuple[str, int], int] = {}
# warehouse file → callables that close the read-only connections this process keeps open between reads (the
# service's keeper): DuckDB refuses a read-write connection beside a read-only one in one process, so a writer of
# this process asks them to let go first (register_read_keeper)
_READ_KEEPERS: dict[str, list[Callable[[], None]]] = {}
_READ_KEEPERS_LOCK = threading.Lock()
DEFAULT_DIR = "shoplens-workspace"
SUBDIRS = ("quarantine", "models", "index", "graph", "search", "assistant", "reports", "secrets", "tmp", "logs",
           "spark")


def has_table(con: duckdb.DuckDBPyConnection, name: str) -> bool:
    """Whether the warehouse behind ``con`` holds a table or view ``name`` (a stored result, say)."""
    return bool(con.execute("SELECT count(*) FROM information_schema.tables WHERE table_schema = 'main' "
                            "AND table_name = ?", [name]).fetchall()[0][0])


def column_names(con: duckdb.DuckDBPyConnection, name: str) -> list[str]:
    """The columns of a table or view, in their order (none when there is no such table)."""
    rows = con.execute("SELECT column_name FROM information_schema.columns WHERE table_schema = 'main' "
                       "AND table_name = ? ORDER BY ordinal_position", [name]).fetchall()
    return [r[0] for r in rows]


def register_read_keeper(warehouse: Path, release: Callable[[], None]) -> Callable[[], None]:
    """Have ``release()`` called before this process opens ``warehouse`` for writing (it must close the read-only
    connection it keeps, and open none while the workspace's write lock is held); returns the unregistering call."""
    key = str(Path(warehouse).resolve())
    with _READ_KEEPERS_LOCK:
        _READ_KEEPERS.setdefault(key, []).append(release)

    def unregister() -> None:
        with _READ_KEEPERS_LOCK:
            keepers = _READ_KEEPERS.get(key, [])
            if release in keepers:
                keepers.remove(release)
            if not keepers:
                _READ_KEEPERS.pop(key, None)

    return unregister


def _release_read_keepers(warehouse: Path) -> None:
    with _READ_KEEPERS_LOCK:
        keepers = list(_READ_KEEPERS.get(str(Path(warehouse).resolve()), []))
    for release in keepers:
        release()


def default_path() -> Path:
    """``$SHOPLENS_WORKSPACE`` when set, else ``./shoplens-workspace``."""
    return Path(os.environ.get("SHOPLENS_WORKSPACE") or DEFAULT_DIR)


def _start_session(con: duckdb.DuckDBPyConnection) -> None:
    """Every warehouse connection: UTC, and no DuckDB progress bar unless stdout is a terminal — DuckDB draws it on
    stdout, where it would break what a script reads (`--json`) once a query runs longer than two seconds."""
    con.execute("SET TimeZone = 'UTC'")
    if sys.stdout is None or not sys.stdout.isatty():
        con.execute("SET enable_progress_bar = false")


@dataclass
class Config:
    """``shoplens.toml``: settings of one shop."""

    name: str = "shop"
    timezone: str = "UTC"
    currency: str = "USD"
    schema_version: int = SCHEMA_VERSION
    created_at: str = field(default_factory=lambda: dt.datetime.now(dt.UTC).isoformat(timespec="seconds"))

    @classmethod
    def read(cls, path: Path) -> Config:
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except tomllib.TOMLDecodeError as exc:
            raise WorkspaceError(f"{path}: not valid TOML ({exc})", file=str(path)) from None
        known = {k: v for k, v in data.get("shop", {}).items() if k in cls.__dataclass_fields__}
        return cls(**known)

    def write(self, path: Path) -> None:
        path.write_text(tomli_w.dumps({"shop": asdict(self)}), encoding="utf-8")


class Workspace:
    """A shop's workspace folder. Create one with :meth:`init`, open an existing one with :meth:`open`."""

    def __init__(self, path: Path, config: Config) -> None:
        self.path = path
        self.config = config

    # -- creation -------------------------------------------------------------------------------------
    @classmethod
    def init(cls, path: str | os.PathLike | None = None, *, name: str | None = None, timezone: str = "UTC",
             currency: str = "USD") -> Workspace:
        """Create the workspace (or open it when it already exists) and its warehouse schema."""
        root = Path(path) if path is not None else default_path()
        config_file = root / "shoplens.toml"
        if config_file.exists():
            ws = cls.open(root)
        else:
            if root.exists() and not root.is_dir():
                raise WorkspaceError(f"{root} exists and is not a folder", file=str(root))
            root.mkdir(parents=True, exist_ok=True)
            config = Config(name=name or root.resolve().name, timezone=check_timezone(timezone),
                            currency=currency.upper())
            ws = cls(root, config)
            for sub in SUBDIRS:
                (root / sub).mkdir(exist_ok=True)
            (root / "secrets").chmod(0o700)
            ws._write_pii_key()
            config.write(config_file)
        ws.ensure_schema()
        return ws

    @classmethod
    def open(cls, path: str | os.PathLike | None = None) -> Workspace:
        """Open an existing workspace; a clear error when the folder is not one."""
        root = Path(path) if path is not None else default_path()
        config_file = root / "shoplens.toml"
        if not config_file.exists():
            raise WorkspaceError(
                f"{root} is not a shoplens workspace (no shoplens.toml); create one with `shoplens init {root}`",
                file=str(root))
        config = Config.read(config_file)
        if config.schema_version > SCHEMA_VERSION:
            raise WorkspaceError(f"{root} was written by a newer shoplens (schema {config.schema_version})",
                                 file=str(config_file))
        for sub in SUBDIRS:
            (root / sub).mkdir(exist_ok=True)
        return cls(root, config)

    def __repr__(self) -> str:
        return f"Workspace({str(self.path)!r}, timezone={self.config.timezone!r})"

    # -- paths ----------------------------------------------------------------------------------------
    @property
    def warehouse_path(self) -> Path:
        return self.path / "warehouse.duckdb"

    def dir(self, name: str) -> Path:
        """One of the workspace's folders (``models``, ``index``, ``graph``, ``reports``, ``quarantine`` …)."""
        if name not in SUBDIRS:
            raise NotFound(f"no workspace folder {name!r}; folders are {', '.join(SUBDIRS)}")
        return self.path / name

    def resolve_inside(self, relative: str | os.PathLike) -> Path:
        """A path inside the workspace; refuses anything that would escape it (``..``, absolute paths)."""
        candidate = (self.path / relative).resolve()
        if not candidate.is_relative_to(self.path.resolve()):
            raise InputError(f"path {str(relative)!r} is outside the workspace")
        return candidate

    @property
    def models(self) -> ModelRegistry:
        """The workspace's model registry (``models/``): versions, cards, the deployed one."""
        from shoplens.registry import ModelRegistry

        return ModelRegistry(self)

    # -- secrets --------------------------------------------------------------------------------------
    def _write_pii_key(self) -> None:
        key_file = self.path / "secrets" / "pii.key"
        if not key_file.exists():
            key_file.write_text(secrets.token_hex(32) + "\n" + secrets.token_hex(32) + "\n", encoding="ascii")
            key_file.chmod(0o600)

    def pii_keys(self) -> tuple[str, str]:
        """The two secret keys of the keyed hash used for pseudonyms (kept outside the warehouse)."""
        key_file = self.path / "secrets" / "pii.key"
        if not key_file.exists():
            self._write_pii_key()
        inner, outer = key_file.read_text(encoding="ascii").split()[:2]
        return inner, outer

    # -- connections ----------------------------------------------------------------------------------
    @contextlib.contextmanager
    def write_lock(self, command: str | None = None, timeout: float = 60.0) -> Iterator[None]:
        """Hold the workspace's single-writer lock; waits up to ``timeout`` seconds for another writer.

        Re-entrant within a thread: a command that holds the lock for several steps (``forget``) may open
        write connections inside it."""
        lock_path = self.path / "warehouse.lock"
        held_key = (str(lock_path.resolve()), threading.get_ident())
        if _HELD_LOCKS.get(held_key):
            _HELD_LOCKS[held_key] += 1
            try:
                yield
            finally:
                _HELD_LOCKS[held_key] -= 1
            return
        with open(lock_path, "a+", encoding="utf-8") as handle:
            deadline = time.monotonic() + timeout
            while True:
                try:
                    fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if time.monotonic() >= deadline:
                        handle.seek(0)
                        holder = handle.read().strip() or "another process"
                        raise WorkspaceBusy(f"{self.path} is being written by {holder}; try again later") from None
                    time.sleep(0.1)
            _HELD_LOCKS[held_key] = 1
            try:
                handle.seek(0)
                handle.truncate()
                what = command or " ".join(Path(sys.argv[0]).name.split() + sys.argv[1:])
                handle.write(f"pid {os.getpid()} ({what}) since {dt.datetime.now().isoformat(timespec='seconds')}")
                handle.flush()
                yield
            finally:
                del _HELD_LOCKS[held_key]
                handle.seek(0)
                handle.truncate()
                fcntl.flock(handle, fcntl.LOCK_UN)

    def _duckdb_config(self) -> dict[str, Any]:
        # one configuration for every connection of a process: DuckDB refuses a second connection to the
        # same file with a different one (hence the resolved path, and memory limits set after connecting)
        return {"temp_directory": str((self.path / "tmp").resolve())}

    @contextlib.contextmanager
    def connect(self, *, read_only: bool = True, command: str | None = None,
                memory_limit: str | None = None) -> Iterator[duckdb.DuckDBPyConnection]:
        """A DuckDB connection to the warehouse. Writers hold the workspace lock for its lifetime."""
        config = self._duckdb_config()
        if read_only:
            con = self.open_reader()
            try:
                yield con
            finally:
                con.close()
            return
        with self.write_lock(command):
            _release_read_keepers(self.warehouse_path)  # read-only connections kept open in this process let go
            con = self._open_for_writing(config)
            _start_session(con)
            if memory_limit:
                con.execute(f"SET memory_limit = '{memory_limit}'")
            try:
                yield con
            finally:
                con.close()

    def open_reader(self) -> duckdb.DuckDBPyConnection:
        """A read-only connection to the warehouse (the caller closes it); ``WorkspaceBusy`` while a writer holds it.
        Connections of one process share one open database: while one stays open, the next opens in well under a
        millisecond instead of reading the catalog again (the service keeps one open: ``serve.keeper``)."""
        if not self.warehouse_path.exists():
            raise WorkspaceError(f"{self.path} has no warehouse yet; run `shoplens init {self.path}`")
        try:
            con = duckdb.connect(str(self.warehouse_path), read_only=True, config=self._duckdb_config())
        except duckdb.IOException as exc:
            raise WorkspaceBusy(f"{self.warehouse_path} is locked by a writer: {exc}") from None
        _start_session(con)
        return con

    def _open_for_writing(self, config: dict[str, Any], wait_s: float = WRITE_OPEN_WAIT_S) -> duckdb.DuckDBPyConnection:
        """Open the warehouse for writing; while another process reads it (a service answering a request), DuckDB's
        file lock refuses, and while a thread of this one still reads it, DuckDB refuses the other configuration:
        retried for up to ``wait_s`` seconds, since readers hold it for one request only."""
        deadline = time.monotonic() + wait_s
        while True:
            try:
                return duckdb.connect(str(self.warehouse_path), config=config)
            except (duckdb.IOException, duckdb.ConnectionException) as exc:
                text = str(exc).lower()
                busy = "lock" in text or "different configuration" in text
                if not busy or time.monotonic() >= deadline:
                    raise WorkspaceBusy(f"{self.warehouse_path} is open in another process or thread: {exc}") from None
                time.sleep(0.05)

    def ensure_schema(self) -> None:
        """Create the canonical tables, meta tables and views when missing; views follow the timezone."""
        with self.connect(read_only=False, command="schema") as con:
            for table in TABLES.values():
                con.execute(create_table_sql(table))
            for statement in META_SQL:
                con.execute(statement)
            con.execute(interactions_sql())
            con.execute(daily_sales_sql(self.config.timezone))

    # -- reading --------------------------------------------------------------------------------------
    def sql(self, query: str, params: list[Any] | None = None) -> pd.DataFrame:
        """Run a read-only SQL query on the warehouse and return a pandas DataFrame."""
        with self.connect() as con:
            return con.execute(query, params or []).df()

    def table(self, name: str, limit: int | None = None) -> pd.DataFrame:
        """A canonical table or view as a pandas DataFrame (lineage columns left out)."""
        if name not in self.table_names():
            raise NotFound(f"no table {name!r} in {self.warehouse_path}; tables are: {', '.join(self.table_names())}")
        columns = ", ".join(f'"{c}"' for c in self.columns(name) if not c.startswith("_"))
        query = f'SELECT {columns} FROM "{name}"' + (f" LIMIT {int(limit)}" if limit is not None else "")
        return self.sql(query)

    def table_names(self) -> list[str]:
        with self.connect() as con:
            rows = con.execute(
                "SELECT table_name FROM information_schema.tables WHERE table_schema = 'main' ORDER BY 1").fetchall()
        return [r[0] for r in rows]

    def columns(self, name: str) -> list[str]:
        with self.connect() as con:
            return column_names(con, name)

    def counts(self) -> dict[str, int]:
        """Row counts of the canonical tables."""
        with self.connect() as con:
            return {name: con.execute(f'SELECT count(*) FROM "{name}"').fetchone()[0] for name in TABLES}

    def ingest_runs(self, table: str | None = None) -> pd.DataFrame:
        """The stored ingest runs (``read = loaded + quarantined`` for each), newest first."""
        where = 'WHERE "table" = ?' if table else ""
        return self.sql(f"SELECT * FROM ingest_runs {where} ORDER BY started_at DESC, run_id",
                        [table] if table else None)

    def data_fingerprint(self) -> str:
        """A short hash of what the warehouse holds (its ingest runs and their files, erasures), for model cards."""
        import hashlib

        with self.connect() as con:
            runs = con.execute("SELECT run_id, file_hash, loaded FROM ingest_runs ORDER BY run_id").fetchall()
            erasures = con.execute("SELECT count(*) FROM erasures").fetchone()[0]
        return hashlib.sha256(repr((runs, erasures)).encode()).hexdigest()[:16]

    # -- writing --------------------------------------------------------------------------------------
    def ingest(self, table: str, source: Any, **options: Any) -> IngestReport:
        """Validate and load ``source`` (a path, pandas DataFrame or Arrow table) into ``table``.

        See :func:`shoplens.data.ingest.ingest` for the options (``mapping``, ``format``, ``tz`` …).
        """
        from shoplens.data.ingest import ingest

        return ingest(self, table, source, **options)

    def forget(self, customer_id: str, *, allow_missing: bool = False) -> ErasureReport:
        """Erase a customer from every place the workspace owns (see :func:`shoplens.data.erasure.forget`)."""
        from shoplens.data.erasure import forget

        return forget(self, customer_id, allow_missing=allow_missing)

    def set_timezone(self, timezone: str) -> None:
        """Change the shop's timezone; the day-bucketing views follow."""
        self.config.timezone = check_timezone(timezone)
        self.config.write(self.path / "shoplens.toml")
        self.ensure_schema()

    def summary(self) -> dict[str, Any]:
        """Counts per table and the latest ingest runs, for the CLI, service and dashboard."""
        runs = self.ingest_runs().head(20)
        return {
            "workspace": str(self.path),
            "name": self.config.name,
            "timezone": self.config.timezone,
            "tables": self.counts(),
            "ingest_runs": json.loads(runs.to_json(orient="records", date_format="iso")),
        }
