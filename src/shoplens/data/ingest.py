"""Ingest: map columns → validate → pseudonymize → load, with every source row accounted for.

``read = loaded + quarantined`` holds for every run and is printed and stored (table ``ingest_runs``).
Rows that fail validation go to ``quarantine/<table>/<run_id>.parquet`` with the reason and source row.
The load is one DuckDB transaction (upsert on the key), so a run that fails midway leaves the warehouse
as it was; the file is streamed in batches (or read by DuckDB, which spills to disk past its memory limit),
so it may be larger than memory.

Three readers, fastest first, each falling back to the next from scratch when it meets something it cannot
read exactly as the next would (docs/ingest.md, "Speed"): DuckDB's own CSV reader for plain UTF-8 CSV, Arrow's
CSV parser, Python's csv module. All three hand the same text columns to the same checks (``checks.py``).
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import secrets
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

from shoplens.data import checks, privacy
from shoplens.data.mapping import resolve, synthesized_keys
from shoplens.data.readers import (
    BATCH_ROWS,
    FALLBACK_ENCODINGS,
    ROW,
    CsvSource,
    FastPathFailed,
    Reject,
    Source,
    SourceBatch,
    open_source,
)
from shoplens.errors import InputError
from shoplens.progress import progress_bar
from shoplens.schema import INGEST_RUNS_UPGRADE, Column, Table, get_table

if TYPE_CHECKING:
    from shoplens.workspace import Workspace

QUARANTINE_SCHEMA = pa.schema([("source_row", pa.int64()), ("reason", pa.string()), ("raw", pa.string()),
                               ("values", pa.string())])
INGEST_MEMORY_LIMIT = "1GB"
# "auto": the fastest reader that reads the file exactly (DuckDB's, else Arrow's, else Python's); "arrow" skips
# DuckDB's reader, "python" reads with Python's alone (the reference that tests hold the faster ones to)
READERS = ("auto", "arrow", "python")
FALLBACK_EXAMPLES = 5
log = logging.getLogger(__name__)


@dataclass
class IngestReport:
    """What one ingest run did. ``read == loaded + quarantined`` always."""

    run_id: str
    table: str
    source: str
    read: int = 0
    loaded: int = 0
    quarantined: int = 0
    fallback_decoded: int = 0  # rows not valid in the file's encoding, read with the fallback (mixed files)
    inserted: int = 0
    replaced: int = 0
    file_hash: str | None = None
    mapping: dict[str, str] = field(default_factory=dict)
    extras: list[str] = field(default_factory=list)
    ignored: list[str] = field(default_factory=list)
    synthesized: list[str] = field(default_factory=list)
    timestamp_formats: dict[str, str] = field(default_factory=dict)
    unlinked: dict[str, dict[str, Any]] = field(default_factory=dict)
    quarantine_file: str | None = None
    seconds: float = 0.0
    messages: list[str] = field(default_factory=list)
    drift: dict[str, Any] | None = None  # the run's rows against the deployed model's training data (shoplens.drift)
    reader: str = ""  # what read the source: duckdb, arrow or python for CSV, else its format (jsonl, parquet …)

    def __str__(self) -> str:
        line = (f"{self.source} → {self.table}: read {self.read:,} = loaded {self.loaded:,} + "
                f"quarantined {self.quarantined:,}")
        if self.replaced:
            line += f" ({self.replaced:,} replaced existing rows)"
        return line

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class _Run:
    """State of one run: the connection, the staging table and the quarantine writer."""

    def __init__(self, ws: Workspace, table: Table, source: Source, report: IngestReport, *,
                 mapping: dict[str, str] | None, tz: str, ts_format: str | None, personal: bool) -> None:
        self.ws, self.table, self.source, self.report = ws, table, source, report
        self.explicit = mapping or {}
        self.tz, self.ts_format, self.personal = tz, ts_format, personal
        self.plans: dict[tuple[tuple[str, str], ...], tuple[str, str]] = {}
        self.synthesized: list[str] | None = None
        self.quarantine_dir = ws.dir("quarantine") / table.name
        self.quarantine_tmp = ws.dir("tmp") / f"{report.run_id}.quarantine.parquet"
        self.writer: pq.ParquetWriter | None = None
        self.fallback_examples: list[int] = []  # the first rows read with the fallback encoding
        self.staging_is_view = False  # DuckDB's reader leaves staging as a view of its checked table

    # -- quarantine -----------------------------------------------------------------------------------
    def quarantine(self, rows: pa.Table) -> None:
        if rows.num_rows == 0:
            return
        if self.writer is None:
            self.writer = pq.ParquetWriter(self.quarantine_tmp, QUARANTINE_SCHEMA)
        self.writer.write_table(rows.cast(QUARANTINE_SCHEMA))
        self.report.quarantined += rows.num_rows

    def quarantine_rejects(self, rejects: list[Reject]) -> None:
        if not rejects:
            return
        keys = self.ws.pii_keys()
        raw = [privacy.mask_text(r.raw, keys) if (r.raw and self.personal) else r.raw for r in rejects]
        self.quarantine(pa.table({"source_row": [r.row for r in rejects], "reason": [r.reason for r in rejects],
                                  "raw": raw, "values": [None] * len(rejects)}))

    def reset(self) -> None:
        """Forget everything staged so far (the fast CSV path gave up; the exact path starts over)."""
        if self.writer is not None:
            self.writer.close()
            self.writer = None
        self.quarantine_tmp.unlink(missing_ok=True)
        self.report.read = self.report.quarantined = self.report.fallback_decoded = 0
        self.fallback_examples = []

    def close(self, keep: bool) -> None:
        if self.writer is not None:
            self.writer.close()
            self.writer = None
        if keep and self.quarantine_tmp.exists():
            self.quarantine_dir.mkdir(parents=True, exist_ok=True)
            target = self.quarantine_dir / f"{self.report.run_id}.parquet"
            self.quarantine_tmp.replace(target)
            self.report.quarantine_file = str(target.relative_to(self.ws.path))
        self.quarantine_tmp.unlink(missing_ok=True)

    # -- staging --------------------------------------------------------------------------------------
    def create_staging(self, con: duckdb.DuckDBPyConnection) -> None:
        columns = ", ".join(f"{checks.quote(c.name)} {c.sql_type}" for c in self.table.columns)
        con.execute(f"CREATE OR REPLACE TEMP TABLE staging ({columns}, _source_row BIGINT)")

    def plan(self, con: duckdb.DuckDBPyConnection, schema: list[tuple[str, str]]) -> tuple[str, str]:
        """SQL for one source schema (of the relation ``src``): the checked select and its valid columns.

        The checked relation holds each parsed canonical column as ``"c.<name>"``, ``_reason`` (NULL when the row
        is fine) and ``_values`` (the source values as JSON for the quarantine, for rejected rows only); inside,
        each source column is ``"s.<name>"``.
        """
        key = tuple(schema)
        if key in self.plans:
            return self.plans[key]
        names = [n for n, _ in schema if n != ROW]
        types = dict(schema)
        mapping = resolve(self.table, names, self.explicit, file=self.source.name,
                          require_explicit_present=self.source.columns is not None)
        if self.synthesized is None:
            self.synthesized = synthesized_keys(self.table, mapping, file=self.source.name)
            self.report.mapping, self.report.synthesized = dict(mapping.assign), list(self.synthesized)
            self.report.extras, self.report.ignored = list(mapping.extras), list(mapping.ignored)
        parsed, reasons = [], []
        for column in self.table.columns:
            alias = checks.quote("c." + column.name)
            source_name = mapping.assign.get(column.name)
            sql = self._column(con, column, source_name, types) if source_name else None
            value = sql.value if sql else f"CAST(NULL AS {column.sql_type})"
            if column.name == self.table.extras_column and mapping.extras:
                extras = checks.extras_sql(self.table.name, [(n, types[n]) for n in mapping.extras], self.personal)
                value = f"json_merge_patch({value}, {extras})" if sql else extras
            parsed.append(f"{value} AS {alias}")
            if sql:
                reasons += sql.checks_for(checks.quote("s." + source_name), alias)
            if column.name in self.table.key and column.name not in self.synthesized:
                reasons.append(f"CASE WHEN {alias} IS NULL THEN "
                               f"{checks.literal(column.name + ': missing (it is part of the key)')} END")
        sources = [f"{checks.quote(n)} AS {checks.quote('s.' + n)}" for n in names]
        reason = f"nullif(concat_ws('; ', {', '.join(reasons)}), '')" if reasons else "CAST(NULL AS VARCHAR)"
        valid = ", ".join(checks.quote("c." + c) for c in self.table.column_names)
        values = checks.quarantine_values_sql(self.table.name, [(n, types[n]) for n in names], self.personal,
                                              prefix="s.")
        # Source values are needed for the checks and the quarantine only; the materialized rows keep the parsed
        # columns, and the JSON of the source values only where a row is rejected (a CASE runs for those alone).
        checked = (f"SELECT {ROW}, {valid}, _reason, CASE WHEN _reason IS NOT NULL THEN {values} END AS _values "
                   f"FROM (SELECT *, {reason} AS _reason FROM "
                   f"(SELECT {', '.join([ROW, *sources, *parsed])} FROM src) p) q")
        self.plans[key] = (checked, valid)
        return self.plans[key]

    def _column(self, con: duckdb.DuckDBPyConnection, column: Column, source_name: str,
                types: dict[str, str]) -> checks.ColumnSql:
        ts_format = None
        if column.kind == "timestamp" and checks.is_string_type(types[source_name]):
            formats = self.report.timestamp_formats
            if source_name not in formats:
                formats[source_name] = self.ts_format or checks.detect_timestamp_format(con, "src", source_name)
            ts_format = formats[source_name]
        return checks.column_sql(column, checks.quote(source_name), types[source_name], tz=self.tz,
                                 ts_format=ts_format, personal=self.personal)

    def stage(self, con: duckdb.DuckDBPyConnection, batch: SourceBatch) -> None:
        self.report.read += batch.table.num_rows + len(batch.rejects)
        self.report.fallback_decoded += len(batch.fallback_rows)
        self.fallback_examples += batch.fallback_rows[:FALLBACK_EXAMPLES - len(self.fallback_examples)]
        self.quarantine_rejects(batch.rejects)
        if batch.table.num_rows == 0:
            return
        con.register("src", batch.table)
        try:
            schema = [(r[0], r[1]) for r in con.execute("DESCRIBE src").fetchall()]
            checked, valid = self.plan(con, schema)
            con.execute(f"CREATE OR REPLACE TEMP TABLE checked AS {checked}")
            con.execute(f"INSERT INTO staging SELECT {valid}, {ROW} FROM checked WHERE _reason IS NULL")
            self.quarantine_checked(con, "checked", ROW)
        finally:
            con.unregister("src")

    def quarantine_checked(self, con: duckdb.DuckDBPyConnection, table: str, row: str) -> int:
        """The rejected rows of a checked ``table`` into the quarantine (how many); ``row`` names their record
        number."""
        rejected = con.sql(
            f"SELECT {row} AS source_row, _reason AS reason, CAST(NULL AS VARCHAR) AS raw, _values AS \"values\" "
            f"FROM {table} WHERE _reason IS NOT NULL ORDER BY {row}").to_arrow_table()
        self.quarantine(rejected)
        return rejected.num_rows

    def stage_with_duckdb(self, con: duckdb.DuckDBPyConnection) -> bool:
        """Stage the whole source through DuckDB's own CSV reader, in parallel and without a round trip through
        Arrow; ``False`` (nothing staged) when the source is not a CSV file DuckDB reads exactly as the Python
        reader does (``CsvSource.duckdb_reader``) or when DuckDB's reader refuses a record: the caller then
        reads the file with the other readers."""
        reader = self.source.duckdb_reader() if isinstance(self.source, CsvSource) else None
        ordered = con.execute("SELECT current_setting('preserve_insertion_order')").fetchall()[0][0]
        if reader is None or not ordered:
            return False
        names = self.source.columns or []
        # empty fields are NULL, as the Arrow and Python readers give them (DuckDB reads a quoted "" as '')
        fields = ", ".join(f"nullif({checks.quote(n)}, '') AS {checks.quote(n)}" for n in names)
        relation = f"SELECT {fields}, CAST(NULL AS BIGINT) AS {ROW} FROM {reader}"
        try:
            # planned on the first records, as the other readers plan on their first batch (timestamp formats)
            con.execute(f"CREATE OR REPLACE TEMP VIEW src AS {relation} LIMIT {BATCH_ROWS}")
            checked, _ = self.plan(con, [(n, "VARCHAR") for n in names] + [(ROW, "BIGINT")])
            con.execute(f"CREATE OR REPLACE TEMP VIEW src AS {relation}")
            # the staging table's own columns and types, and the verdict
            columns = ", ".join(f"CAST({checks.quote('c.' + c.name)} AS {c.sql_type}) AS {checks.quote(c.name)}"
                                for c in self.table.columns)
            con.execute(f"CREATE OR REPLACE TEMP TABLE checked AS SELECT {columns}, _reason, _values FROM ({checked})")
        except (duckdb.InvalidInputException, duckdb.IOException) as exc:
            log.info("DuckDB's CSV reader gave up on %s (%s); reading it again with Arrow's", self.source.name,
                     str(exc).splitlines()[0])
            self.plans.clear()  # the next reader plans on its own first batch, as if this one had not run
            self.report.timestamp_formats.clear()
            self.synthesized = None
            return False
        finally:
            con.execute("DROP VIEW IF EXISTS src")
        self.report.read += con.execute("SELECT count(*) FROM checked").fetchall()[0][0]
        # DuckDB keeps the file's order in the table (preserve_insertion_order, checked above): a row's place in it
        # is its record number, which DuckDB's reader does not give
        rejected = self.quarantine_checked(con, "checked", "rowid + 1")
        # Staging is a view of the checked table, not a copy (ten million rows would spill to disk past the memory
        # limit, and so would an UPDATE writing the record numbers); finish_keys copies it only to change rows.
        con.execute("ALTER TABLE checked DROP COLUMN _values")
        if not rejected:
            con.execute("ALTER TABLE checked DROP COLUMN _reason")
        con.execute("DROP TABLE staging")
        names = ", ".join(checks.quote(c) for c in self.table.column_names)
        con.execute(f"CREATE TEMP VIEW staging AS SELECT {names}, rowid + 1 AS _source_row FROM checked"
                    + (" WHERE _reason IS NULL" if rejected else ""))
        self.staging_is_view = True
        return True

    def writable_staging(self, con: duckdb.DuckDBPyConnection) -> None:
        """Staging as a table of its own (when it is a view of the checked table), for rows to be changed."""
        if not self.staging_is_view:
            return
        con.execute("CREATE TEMP TABLE staging_rows AS SELECT * FROM staging")
        con.execute("DROP VIEW staging")
        con.execute("DROP TABLE checked")
        con.execute("ALTER TABLE staging_rows RENAME TO staging")
        self.staging_is_view = False

    # -- after the last batch -------------------------------------------------------------------------
    def finish_keys(self, con: duckdb.DuckDBPyConnection, file_hash: str) -> None:
        """Fill synthesized keys, then quarantine rows whose key repeats an earlier row of the file."""
        if self.synthesized:
            self.writable_staging(con)
        for key in self.synthesized or []:
            if key == "line_no":
                con.execute("""UPDATE staging SET line_no = n.rn FROM (
                    SELECT _source_row, row_number() OVER (PARTITION BY order_id ORDER BY _source_row) AS rn
                    FROM staging) n WHERE staging._source_row = n._source_row""")
            else:
                con.execute(f"UPDATE staging SET {checks.quote(key)} = ? || ':' || CAST(_source_row AS VARCHAR)",
                            [file_hash[:16]])
        if self.synthesized:
            return  # a derived key part (record number, position in the order) is unique by construction
        keys = ", ".join(checks.quote(k) for k in self.table.key)
        if not _hashes_repeat(con, keys):
            return
        dupes = con.sql(f"""
            SELECT s._source_row AS source_row,
                   'duplicate key (' || {_key_text(self.table)} || '), first at row '
                       || CAST(d.first_row AS VARCHAR) AS reason,
                   CAST(NULL AS VARCHAR) AS raw, CAST(to_json(s) AS VARCHAR) AS "values"
            FROM staging s JOIN (
                SELECT {keys}, min(_source_row) AS first_row FROM staging GROUP BY {keys} HAVING count(*) > 1
            ) d USING ({keys})
            WHERE s._source_row <> d.first_row ORDER BY s._source_row""").to_arrow_table()
        if dupes.num_rows:
            self.writable_staging(con)
            self.quarantine(dupes)
            con.register("dupe_rows", dupes.select(["source_row"]))
            con.execute("DELETE FROM staging WHERE _source_row IN (SELECT source_row FROM dupe_rows)")
            con.unregister("dupe_rows")

    def check_links(self, con: duckdb.DuckDBPyConnection) -> None:
        """Count values that refer to rows the warehouse does not have (reported, never dropped)."""
        for column, target in self.table.links.items():
            target_table, target_column = target.split(".")
            col = checks.quote(column)
            unknown = (f"FROM staging s WHERE s.{col} IS NOT NULL AND NOT EXISTS (SELECT 1 FROM "
                       f"{checks.quote(target_table)} t WHERE t.{checks.quote(target_column)} = s.{col})")
            # rows, not distinct ids: counting distinct ids of a 10-million-line file costs seconds; against an
            # empty table every value is unknown, and counting them needs no anti-join
            target_empty = not con.execute(f"SELECT EXISTS (FROM {checks.quote(target_table)})").fetchall()[0][0]
            count = f"SELECT count({col}) FROM staging" if target_empty else f"SELECT count(*) {unknown}"
            rows = con.execute(count).fetchall()[0][0]
            if rows:
                examples = [r[0] for r in con.execute(
                    f"SELECT DISTINCT v FROM (SELECT s.{col} AS v {unknown} LIMIT 1000) ORDER BY v LIMIT 5").fetchall()]
                self.report.unlinked[column] = {"table": target_table, "rows": rows, "examples": examples}
                self.report.messages.append(
                    f"{rows:,} rows have a {column} that is not in {target_table} yet "
                    f"(e.g. {', '.join(map(str, examples[:3]))}); they are loaded — ingest {target_table} to link them")

    def note_fallback(self) -> None:
        """Say how many rows needed the fallback encoding, and which (they were loaded, possibly misread)."""
        count = self.report.fallback_decoded
        if not count:
            return
        rows = ", ".join(map(str, self.fallback_examples)) + (" …" if count > len(self.fallback_examples) else "")
        name = FALLBACK_ENCODINGS.get(self.source.fallback or "", self.source.fallback)
        self.report.messages.append(
            f"{count:,} {'row is' if count == 1 else 'rows are'} not valid UTF-8 and {'was' if count == 1 else 'were'} "
            f"read as {name} (row{'' if count == 1 else 's'} {rows}): the file mixes two encodings")

    def apply(self, con: duckdb.DuckDBPyConnection, started: dt.datetime) -> None:
        """Upsert staging into the table and record the run, in one transaction."""
        name = checks.quote(self.table.name)
        on = " AND ".join(f"t.{checks.quote(k)} = s.{checks.quote(k)}" for k in self.table.key)
        columns = ", ".join(checks.quote(c) for c in self.table.column_names)
        report = self.report
        report.loaded = con.execute("SELECT count(*) FROM staging").fetchone()[0]
        con.execute(INGEST_RUNS_UPGRADE)  # a workspace created before the column was added
        con.execute("BEGIN TRANSACTION")
        try:
            has_rows = con.execute(f"SELECT EXISTS (SELECT 1 FROM {name})").fetchone()[0]
            if has_rows and report.loaded:
                report.replaced = con.execute(
                    f"SELECT count(*) FROM {name} t WHERE EXISTS (SELECT 1 FROM staging s WHERE {on})").fetchone()[0]
                if report.replaced:
                    con.execute(f"DELETE FROM {name} t WHERE EXISTS (SELECT 1 FROM staging s WHERE {on})")
            report.inserted = report.loaded - report.replaced
            con.execute(f"INSERT INTO {name} ({columns}, _ingest_run, _source_row) "
                        f"SELECT {columns}, ?, _source_row FROM staging", [report.run_id])
            _derive_order_totals(con, self.table.name)
            quarantine_file = (f"quarantine/{self.table.name}/{report.run_id}.parquet"
                               if report.quarantined else None)
            con.execute(
                'INSERT INTO ingest_runs (run_id, "table", source, file_hash, started_at, finished_at, status, "read", '
                'loaded, quarantined, inserted, replaced, unlinked, quarantine_file, message, fallback_decoded) '
                "VALUES (?, ?, ?, ?, ?, ?, 'ok', ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [report.run_id, self.table.name, report.source, report.file_hash, started.replace(tzinfo=None),
                 dt.datetime.now(dt.UTC).replace(tzinfo=None), report.read, report.loaded, report.quarantined,
                 report.inserted, report.replaced, json.dumps(report.unlinked, default=str), quarantine_file,
                 "; ".join(report.messages) or None, report.fallback_decoded])
            con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            raise


def _hashes_repeat(con: duckdb.DuckDBPyConnection, keys: str) -> bool:
    """Whether two staged rows have the same 64-bit hash of their key (rows whose hashes all differ have different
    keys). Sorting the hashes in NumPy takes under a second for ten million rows, steadily: grouping the text keys,
    or counting distinct hashes, in DuckDB took two to three times longer beside a ten-million-row staging table
    (its hash table pushed staging out to disk under the ingest's memory limit)."""
    hashes = con.execute(f"SELECT hash({keys}) AS h FROM staging").fetchnumpy()["h"]
    hashes.sort()
    return bool((hashes[1:] == hashes[:-1]).any())


def _key_text(table: Table) -> str:
    return " || ', ' || ".join(f"'{k}=' || coalesce(CAST(s.{checks.quote(k)} AS VARCHAR), 'NULL')" for k in table.key)


def _derive_order_totals(con: duckdb.DuckDBPyConnection, table: str) -> None:
    """orders.n_items from order_items, and total_amount where the order file gave none."""
    if table not in ("orders", "order_items") or not con.execute("SELECT EXISTS (FROM orders)").fetchone()[0]:
        return
    con.execute("""
        UPDATE orders SET n_items = CAST(agg.units AS BIGINT),
                          total_amount = coalesce(orders.total_amount, CAST(agg.amount AS DECIMAL(18,2)))
        FROM (SELECT i.order_id, sum(i.quantity) AS units,
                     -- no priced line: the total is unknown, not 0 (baskets without prices, e.g. the bakery)
                     CASE WHEN count(i.unit_price) > 0 THEN
                         round(sum(i.quantity * coalesce(i.unit_price, 0) - coalesce(i.discount, 0)), 2) END AS amount
              FROM order_items i WHERE i.order_id IN (SELECT order_id FROM staging) GROUP BY i.order_id) agg
        WHERE orders.order_id = agg.order_id""")


def new_run_id(table: str) -> str:
    return f"{table}-{dt.datetime.now(dt.UTC).strftime('%Y%m%dT%H%M%S')}-{secrets.token_hex(3)}"


def ingest(ws: Workspace, table: str, source: Any, *, mapping: dict[str, str] | None = None,
           format: str | None = None, tz: str | None = None, ts_format: str | None = None,
           delimiter: str | None = None, encoding: str | None = None, header: bool = True,
           keep_pii: bool = False, name: str | None = None, progress: bool = False,
           reader: str = "auto") -> IngestReport:
    """Validate and load ``source`` into the canonical ``table``; returns what happened.

    ``source`` is a path (CSV with any delimiter and encoding, JSON lines, Parquet; gzip allowed) or a
    pandas DataFrame / Arrow table. ``mapping`` maps source column names to canonical ones (``""`` drops a
    column). Naive timestamps are read in ``tz`` (default: the shop's timezone); ``ts_format`` (strptime)
    overrides the detected timestamp format. ``keep_pii`` turns pseudonymization off. ``reader`` (CSV only):
    ``"auto"`` or, to compare or rule out the faster readers, ``"arrow"`` or ``"python"`` (see ``READERS``).
    """
    spec = get_table(table)
    if reader not in READERS:
        raise InputError(f"unknown reader {reader!r}; use one of {', '.join(READERS)}")
    if ts_format:
        checks.check_ts_format(ts_format)
    src = open_source(source, format=format, delimiter=delimiter, encoding=encoding, header=header, name=name)
    report = IngestReport(run_id=new_run_id(table), table=table,
                          source=name or (Path(src.name).name if src.format != "frame" else src.name))
    tz = tz or ws.config.timezone
    from shoplens.period import check_timezone

    check_timezone(tz)
    run = _Run(ws, spec, src, report, mapping=mapping, tz=tz, ts_format=ts_format, personal=not keep_pii)
    started = dt.datetime.now(dt.UTC)
    clock = time.perf_counter()
    committed = False
    with ws.connect(read_only=False, command=f"ingest {table} {report.source}",
                    memory_limit=INGEST_MEMORY_LIMIT) as con:
        privacy.bind_keys(con, ws.pii_keys())
        try:
            with progress_bar(f"ingest {report.source}", total=src.total_bytes, enabled=progress) as bar:
                report.reader = _stage_all(con, run, bar, reader)
            if src.columns is not None and run.synthesized is None:  # no data rows: still check the mapping
                empty = pa.table({**{c: pa.array([], pa.string()) for c in src.columns}, ROW: pa.array([], pa.int64())})
                con.register("src", empty)
                run.plan(con, [(c, "VARCHAR") for c in src.columns] + [(ROW, "BIGINT")])
                con.unregister("src")
            if report.read == 0:
                report.messages.append("the source has no data rows")
            run.note_fallback()
            report.file_hash = src.file_hash
            if run.synthesized is not None:
                run.finish_keys(con, src.file_hash or "")
                run.check_links(con)
            run.apply(con, started)
            committed = True
        finally:
            run.close(keep=committed)
    report.seconds = round(time.perf_counter() - clock, 3)
    assert report.read == report.loaded + report.quarantined, report
    _check_drift(ws, report)
    return report


def _check_drift(ws: Workspace, report: IngestReport) -> None:
    """Compare the run's rows with the deployed model's training data (when a model is deployed); a drift check
    that fails is said in the report's messages, never a failed ingest (the rows are committed)."""
    from shoplens.drift import check_drift

    if not report.loaded:
        return
    try:
        drift = check_drift(ws, new_runs=[report.run_id], trigger=f"ingest {report.run_id}")
    except Exception as exc:
        report.messages.append(f"drift check failed: {exc}")
        return
    if drift is not None and drift.features:
        report.drift = drift.to_dict()
        if drift.alarms:
            report.messages.append(drift.line())


def _stage_all(con: duckdb.DuckDBPyConnection, run: _Run, bar: Any, reader: str) -> str:
    """Stage every row of the source with the fastest reader that reads it exactly; returns that reader's name."""
    run.create_staging(con)
    csv = isinstance(run.source, CsvSource)
    if reader == "auto" and run.stage_with_duckdb(con):
        bar.advance(run.source.total_bytes)
        return "duckdb"
    try:
        for batch in run.source.batches(bar.advance, fast=reader != "python"):
            run.stage(con, batch)
        if not csv:
            return run.source.format
        return "python" if reader == "python" or run.source.fallback is not None else "arrow"
    except FastPathFailed:
        run.reset()
        run.create_staging(con)
        bar.reset()
        for batch in run.source.batches(bar.advance, fast=False):
            run.stage(con, batch)
        return "python"
