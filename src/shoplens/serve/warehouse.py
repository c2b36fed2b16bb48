"""The service's access to the workspace: short-lived read-only connections, one writer (ingest).

Every function that reads takes an open connection, so one request opens the warehouse once.
Quarantine files are found through ``ingest_runs`` and resolved inside the workspace, never elsewhere.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import decimal
import json
import math
from collections.abc import Callable, Hashable, Iterator, Mapping
from pathlib import Path
from typing import Any

import duckdb
import pyarrow.parquet as pq
from fastapi.responses import Response
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool

from shoplens.data.ingest import IngestReport
from shoplens.errors import InputError, NotFound
from shoplens.schema import TABLES
from shoplens.serve.answers import Answer, AnswerCache
from shoplens.serve.gate import WarehouseGate
from shoplens.serve.keeper import WarehouseKeeper
from shoplens.workspace import Workspace


class Warehouse:
    """One workspace as the service sees it; with the app's keeper and answer cache (``deps.get_warehouse``),
    connections are cheap and reads can be answered from memory (:meth:`answer`)."""

    def __init__(self, ws: Workspace, gate: WarehouseGate, write_wait_s: float, *,
                 keeper: WarehouseKeeper | None = None, answers: AnswerCache | None = None) -> None:
        self.ws = ws
        self.gate = gate
        self.write_wait_s = write_wait_s
        self.keeper = keeper
        self.answers = answers

    @contextlib.contextmanager
    def read(self, wait_s: float = 0.0) -> Iterator[duckdb.DuckDBPyConnection]:
        """A read-only connection for the length of one request (503 while an ingest writes, after waiting up
        to ``wait_s`` for it)."""
        if self.keeper is not None:
            self.keeper.generation()  # the database stays open between requests: this connection opens cheaply
        with self.gate.reading(wait_s), self.ws.connect(read_only=True) as con:
            yield con

    def generation(self) -> int | None:
        """The generation of the warehouse's data now (``serve.keeper``); None when answers may not be cached."""
        return self.keeper.generation() if self.keeper is not None else None

    def kept(self, key: Hashable) -> Answer | None:
        """The answer kept for ``key`` under the current generation, found without waiting for anything (for the
        event loop); None when there is none or the keeper cannot say now."""
        if self.keeper is None or self.answers is None:
            return None
        generation = self.keeper.current()
        return None if generation is None else self.answers.get(generation, key)

    def keep(self, generation: int | None, key: Hashable, answer: Answer) -> None:
        """Keep an answer computed without the warehouse (a prediction) until the next generation begins, if the
        one read before computing it is still current."""
        if self.answers is not None and self.keeper is not None and self.keeper.is_current(generation):
            self.answers.put(generation, key, answer)

    async def answer_async(self, key: Hashable, build: Callable[[duckdb.DuckDBPyConnection], BaseModel],
                           headers: Mapping[str, str] | None = None) -> Response:
        """:meth:`answer` for a coroutine endpoint: a kept answer on the event loop, anything else in a worker
        thread."""
        kept = self.kept(key)
        if kept is not None:
            return kept.response()
        return await run_in_threadpool(self.answer, key, build, headers)

    def answer(self, key: Hashable, build: Callable[[duckdb.DuckDBPyConnection], BaseModel],
               headers: Mapping[str, str] | None = None, *, generation: int | None = None) -> Response:
        """The answer of a read: from memory when the same ``key`` was answered under the current generation of
        the warehouse, else ``build(con)`` on a read-only connection, kept for the next time. ``key`` names the
        endpoint, its normalised parameters and any model or graph version the answer depends on besides the
        warehouse; ``generation``: one the caller read already (else read here)."""
        if generation is None:
            generation = self.generation()
        if self.answers is not None:
            kept = self.answers.get(generation, key)
            if kept is not None:
                return kept.response()
        with self.read() as con:
            answer = Answer.of(build(con), headers)
        if self.answers is not None and self.keeper is not None and self.keeper.is_current(generation):
            self.answers.put(generation, key, answer)  # read under that generation from start to end
        return answer.response()

    def ingest(self, table: str, path: Path, **options: Any) -> IngestReport:
        """Load an uploaded file; fails fast (WorkspaceBusy) when another process holds the write lock."""
        with self.gate.writing(self.write_wait_s):
            with self.ws.write_lock(command="serve: checking the write lock", timeout=0):
                pass
            return self.ws.ingest(table, path, **options)


def ping(con: duckdb.DuckDBPyConnection) -> None:
    """Read the warehouse once (the count of its ingest runs): a ``duckdb.Error`` when it cannot be read."""
    con.execute("SELECT count(*) FROM ingest_runs").fetchone()


def canonical_table(name: str) -> str:
    if name not in TABLES:
        raise NotFound(f"no table {name!r}; tables are: {', '.join(TABLES)}")
    return name


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


# -- tables -----------------------------------------------------------------------------------------------
def table_columns(con: duckdb.DuckDBPyConnection, name: str) -> list[tuple[str, str]]:
    """(column, DuckDB type) of a table, lineage columns (``_ingest_run``, ``_source_row``) left out."""
    rows = con.execute(
        "SELECT column_name, data_type FROM information_schema.columns "
        "WHERE table_schema = 'main' AND table_name = ? ORDER BY ordinal_position", [name]).fetchall()
    return [(column, kind) for column, kind in rows if not column.startswith("_")]


def row_count(con: duckdb.DuckDBPyConnection, name: str) -> int:
    return con.execute(f"SELECT count(*) FROM {_quote(name)}").fetchone()[0]


def table_overview(con: duckdb.DuckDBPyConnection) -> list[dict[str, Any]]:
    """Name, row count and columns of each canonical table, in the schema's order."""
    return [{"name": name, "rows": row_count(con, name),
             "columns": [{"name": c, "type": t} for c, t in table_columns(con, name)]} for name in TABLES]


def table_rows(con: duckdb.DuckDBPyConnection, name: str, limit: int, offset: int) -> dict[str, Any]:
    """One page of a canonical table, ordered by its key."""
    table = TABLES[canonical_table(name)]
    columns = [c for c, _ in table_columns(con, name)]
    order = ", ".join(_quote(k) for k in table.key)
    result = con.execute(
        f"SELECT {', '.join(map(_quote, columns))} FROM {_quote(name)} ORDER BY {order} LIMIT ? OFFSET ?",
        [limit, offset])
    json_columns = {c.name for c in table.columns if c.kind == "json"}
    rows = [{c: _json_cell(v) if c in json_columns else jsonable(v) for c, v in zip(columns, row, strict=True)}
            for row in result.fetchall()]
    return {"name": name, "columns": columns, "rows": rows, "total": row_count(con, name),
            "limit": limit, "offset": offset}


def jsonable(value: Any) -> Any:
    """A warehouse value as JSON: decimals as numbers, timestamps in ISO 8601, NaN and infinities as null."""
    if isinstance(value, decimal.Decimal):
        return float(value) if value.is_finite() else None
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, (dt.datetime, dt.date, dt.time)):
        return value.isoformat()
    if isinstance(value, (bytes, bytearray)):
        return value.hex()
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    return value


def _json_cell(value: Any) -> Any:
    if isinstance(value, str):
        try:
            return jsonable(json.loads(value))
        except ValueError:
            return value
    return jsonable(value)


# -- ingest runs ----------------------------------------------------------------------------------------
RUN_COLUMNS = ("run_id", "table", "source", "started_at", "finished_at", "status", "read", "loaded",
               "quarantined", "inserted", "replaced", "quarantine_file", "message")


def ingest_runs(con: duckdb.DuckDBPyConnection, *, limit: int | None = None, table: str | None = None,
                quarantined_only: bool = False) -> list[dict[str, Any]]:
    """Stored ingest runs, newest first."""
    where = ["quarantined > 0"] if quarantined_only else []
    params: list[Any] = []
    if table is not None:
        where.append('"table" = ?')
        params.append(table)
    query = (f"SELECT {', '.join(map(_quote, RUN_COLUMNS))} FROM ingest_runs"
             + (f" WHERE {' AND '.join(where)}" if where else "")
             + " ORDER BY started_at DESC, run_id" + (f" LIMIT {int(limit)}" if limit is not None else ""))
    rows = con.execute(query, params).fetchall()
    return [dict(zip(RUN_COLUMNS, map(jsonable, row), strict=True)) for row in rows]


# -- quarantine -----------------------------------------------------------------------------------------
def quarantine_path(ws: Workspace, relative: str | None) -> Path | None:
    """The run's quarantine file when it exists inside the workspace's ``quarantine/`` folder."""
    if not relative:
        return None
    try:
        path = ws.resolve_inside(relative)
    except InputError:
        return None
    inside = path.is_relative_to(ws.dir("quarantine").resolve())
    return path if inside and path.is_file() else None


def quarantine_overview(ws: Workspace, con: duckdb.DuckDBPyConnection) -> list[dict[str, Any]]:
    """Per table: rows quarantined in total and per run (newest first), with each run's file."""
    by_table: dict[str, list[dict[str, Any]]] = {}
    for run in ingest_runs(con, quarantined_only=True):
        run["file"] = run.pop("quarantine_file")
        run["file_present"] = quarantine_path(ws, run["file"]) is not None
        by_table.setdefault(run["table"], []).append(run)
    return [{"table": table, "quarantined": sum(r["quarantined"] for r in runs), "runs": runs}
            for table, runs in sorted(by_table.items())]


def _quarantine_files(ws: Workspace, runs: list[dict[str, Any]]) -> list[tuple[str, Path]]:
    files = [(run["run_id"], quarantine_path(ws, run["quarantine_file"])) for run in runs]
    return [(run_id, path) for run_id, path in files if path is not None]


def quarantine_rows(ws: Workspace, con: duckdb.DuckDBPyConnection, table: str, *, run_id: str | None,
                    limit: int, offset: int) -> dict[str, Any]:
    """One page of a table's quarantined rows: newest run first, then by source row."""
    canonical_table(table)
    runs = ingest_runs(con, table=table, quarantined_only=True)
    if run_id is not None:
        runs = [r for r in runs if r["run_id"] == run_id]
        if not runs:
            raise NotFound(f"no ingest run {run_id!r} with quarantined rows in table {table!r}")
    files = _quarantine_files(ws, runs)
    sizes = [pq.ParquetFile(path).metadata.num_rows for _, path in files]
    rows: list[dict[str, Any]] = []
    skip = offset
    with duckdb.connect() as scratch:
        for (run, path), size in zip(files, sizes, strict=True):
            if len(rows) >= limit:
                break
            if skip >= size:
                skip -= size
                continue
            rows += _read_quarantine(scratch, run, path, limit - len(rows), skip)
            skip = 0
    return {"table": table, "total": sum(sizes), "limit": limit, "offset": offset, "rows": rows}


def _read_quarantine(scratch: duckdb.DuckDBPyConnection, run_id: str, path: Path, limit: int,
                     offset: int) -> list[dict[str, Any]]:
    result = scratch.execute(
        'SELECT source_row, reason, raw, "values" FROM read_parquet(?) ORDER BY source_row, reason '
        "LIMIT ? OFFSET ?", [str(path), limit, offset]).fetchall()
    return [{"run_id": run_id, "source_row": source_row, "reason": reason, "raw": raw,
             "values": _json_cell(values) if values is not None else None}
            for source_row, reason, raw, values in result]


def quarantine_reasons(ws: Workspace, con: duckdb.DuckDBPyConnection, *, top: int = 5) -> dict[str, list[dict]]:
    """Per table, the most frequent reasons across its quarantine files, with counts."""
    reasons: dict[str, list[dict]] = {}
    with duckdb.connect() as scratch:
        for table in TABLES:
            files = _quarantine_files(ws, ingest_runs(con, table=table, quarantined_only=True))
            if not files:
                continue
            rows = scratch.execute(
                "SELECT reason, count(*) AS n FROM read_parquet(?) GROUP BY reason ORDER BY n DESC, reason LIMIT ?",
                [[str(path) for _, path in files], top]).fetchall()
            reasons[table] = [{"reason": reason, "rows": n} for reason, n in rows]
    return reasons
