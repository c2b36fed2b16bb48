"""Erasing a customer ("right to be forgotten") from everything the workspace owns.

A customer's data spreads: the canonical tables, results derived from them (per-customer analyses, scored
recommendations, review predictions and quotes), models that keep per-customer state (recommenders), the
quarantine, the simulator's truth, caches (embeddings of review texts), reports, logs and the ingest runs'
examples. Each place has a *cleaner*; capabilities register theirs in ``shoplens.<capability>.erasure`` with
:func:`cleaner`, the way they register pipeline steps, so a new capability (the graph, search logs, the
assistant's audit) adds its own. :func:`forget` runs them all and then looks for any trace left
(:func:`find_traces`): an erasure that leaves one fails loudly instead of reporting success.

Stages, in order: ``files`` (models, truth, quarantine, caches, logs), ``warehouse`` (one transaction, with the
erasure recorded under a pseudonym), ``after`` (what is rebuilt from the cleaned warehouse: reports). Files go
first so that a failure leaves the customer findable in the warehouse and ``forget`` can simply be run again.
"""

from __future__ import annotations

import datetime as dt
import html
import json
import re
import shutil
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from shoplens._imports import import_if_present
from shoplens.data.privacy import PSEUDONYM_PREFIX, looks_personal, pseudonym
from shoplens.errors import NotFound, ShoplensError
from shoplens.schema import TABLES

if TYPE_CHECKING:
    import duckdb

    from shoplens.workspace import Workspace

Stage = Literal["files", "warehouse", "after"]
STAGES: tuple[Stage, ...] = ("files", "warehouse", "after")
# What erasing a customer does to each canonical table: delete the rows, or keep them without the customer.
ERASE_ACTIONS = {
    "customers": "delete",
    "reviews": "delete",
    "ratings": "delete",
    "orders": "unlink",
    "events": "unlink",
    "session_features": "unlink",
}
META_TABLES = ("ingest_runs", "erasures")
ERASED = "[erased]"
# Capabilities register their cleaners in these modules once they exist (like pipeline steps).
CLEANER_MODULES = ("shoplens.analytics.erasure", "shoplens.reviews.erasure", "shoplens.recommend.erasure",
                   "shoplens.forecast.erasure", "shoplens.pricing.erasure", "shoplens.graph.erasure",
                   "shoplens.search.erasure", "shoplens.assistant.erasure")
# Folders of the workspace a trace is looked for in, and the files read there (weights are not text).
SCANNED_FOLDERS = ("models", "index", "graph", "reports", "quarantine", "truth", "logs")
TEXT_SUFFIXES = {".json", ".html", ".log", ".txt", ".csv", ".md", ".jsonl"}


@dataclass(frozen=True)
class Subject:
    """Who is erased, gathered before anything is deleted: every form of their id (as given, its pseudonym, the
    profile that holds an e-mail given as the id) and the reviews they wrote (ids and texts, whose quotes and
    predictions live in derived tables, caches and reports)."""

    given: str
    customer_ids: frozenset[str]
    review_ids: frozenset[str] = frozenset()
    review_texts: tuple[str, ...] = ()

    @property
    def distinctive_ids(self) -> list[str]:
        """Ids safe to look for inside free text (a bare number such as CDNOW's ``42`` is not)."""
        return sorted(c for c in self.customer_ids if len(c) >= 5 and not c.isdigit())

    def text_pattern(self) -> re.Pattern[str] | None:
        """Matches a distinctive id as a whole token inside text, JSON or HTML."""
        alternatives = self._alternatives()
        return re.compile(rf"(?<!{_ID_CHAR}){alternatives}{_ID_END}") if alternatives else None

    def sql_pattern(self) -> str | None:
        """:meth:`text_pattern` for DuckDB's ``regexp_matches`` (RE2 has no look-behind)."""
        alternatives = self._alternatives()
        return rf"(?:^|[^\w@.+-]){alternatives}(?:$|[^\w@.+-]|\.$|\.[^\w])" if alternatives else None

    def _alternatives(self) -> str | None:
        ids = self.distinctive_ids
        return "(?:" + "|".join(map(re.escape, ids)) + ")" if ids else None


_ID_CHAR = r"[\w@.+-]"  # characters an id is made of: a match must not continue into them
_ID_END = r"(?![\w@+-])(?!\.\w)"  # … except a full stop that ends a sentence


@dataclass
class Cleaned:
    """One place a cleaner cleaned: ``place`` relative to the workspace (``warehouse/analytics_rfm``,
    ``models/recommend/<version>``), what it did there and to how many rows, customers or files."""

    place: str
    action: str
    count: int


@dataclass
class Erasure:
    """What a cleaner is given: the workspace, the subject, the open warehouse connection (``warehouse`` stage
    only) and what the cleaners before it did."""

    ws: Workspace
    subject: Subject
    con: duckdb.DuckDBPyConnection | None = None
    cleaned: list[Cleaned] = field(default_factory=list)


@dataclass
class ErasureReport:
    """What :func:`forget` did: every place cleaned, and where no trace was found afterwards."""

    customer_key: str  # the pseudonym the erasure is logged under
    erased_at: str
    found: bool  # whether the customer was in the canonical tables
    cleaned: list[Cleaned]
    checked: list[str]  # places searched for a trace afterwards (none found)

    def counts(self) -> dict[str, int]:
        """Rows (or files, customers) affected per place."""
        totals: dict[str, int] = {}
        for item in self.cleaned:
            totals[item.place] = totals.get(item.place, 0) + item.count
        return totals

    def to_dict(self) -> dict[str, Any]:
        return {"customer_key": self.customer_key, "erased_at": self.erased_at, "found": self.found,
                "cleaned": [asdict(c) for c in self.cleaned], "checked": self.checked}


class ErasureIncomplete(ShoplensError):
    """Traces of the customer were found after every cleaner ran (a cleaner is missing for some place)."""


Cleaner = Callable[[Erasure], list[Cleaned]]
_CLEANERS: list[tuple[Stage, str, Cleaner]] = []


def cleaner(stage: Stage, name: str) -> Callable[[Cleaner], Cleaner]:
    """Register ``f(erasure) -> [Cleaned, …]`` to run in ``stage`` of every erasure."""
    if stage not in STAGES:
        raise ValueError(f"unknown stage {stage!r}; stages are {STAGES}")

    def register(func: Cleaner) -> Cleaner:
        if not any(n == name for _, n, _ in _CLEANERS):
            _CLEANERS.append((stage, name, func))
        return func
    return register


def registered_cleaners(stage: Stage) -> list[tuple[str, Cleaner]]:
    for module in CLEANER_MODULES:
        import_if_present(module)
    return [(name, func) for s, name, func in _CLEANERS if s == stage]


# -- the erasure --------------------------------------------------------------------------------------------------
def forget(ws: Workspace, customer_id: str, *, allow_missing: bool = False) -> ErasureReport:
    """Erase a customer from every place the workspace owns (see the module's docstring).

    ``customer_id`` may be the id, the e-mail address or phone number it was given as, or its pseudonym.
    A customer the canonical tables do not hold raises :class:`NotFound` unless ``allow_missing`` (for scripts
    that repeat an erasure): the cleaners still run then, so leftovers of an interrupted erasure go too.
    """
    keys = ws.pii_keys()
    customer_key = pseudonym(customer_id.strip(), keys)
    with ws.write_lock(f"forget {customer_key}"):
        with ws.connect(read_only=False) as con:
            subject, found = _subject(con, customer_id, keys)
        if not found and not allow_missing:
            raise NotFound(f"no customer {customer_id!r} in {ws.path}: nothing was erased (check the id; "
                           "--allow-missing makes a repeated erasure succeed)")
        erasure = Erasure(ws, subject)
        _run_stage(erasure, "files")
        erased_at = dt.datetime.now(dt.UTC).replace(tzinfo=None)
        with ws.connect(read_only=False) as con:
            erasure.con = con
            con.execute("BEGIN TRANSACTION")
            try:
                _run_stage(erasure, "warehouse")
                con.execute("INSERT INTO erasures VALUES (?, ?, ?)",
                            [erased_at, customer_key, json.dumps(ErasureReport(
                                customer_key, "", found, erasure.cleaned, []).counts())])
                con.execute("COMMIT")
            except BaseException:
                con.execute("ROLLBACK")
                raise
            finally:
                erasure.con = None
        erasure.cleaned.append(rewrite_warehouse(ws))
        _run_stage(erasure, "after")
        traces, checked = find_traces(ws, subject)
    if traces:
        raise ErasureIncomplete(f"{customer_key}: traces remain after erasure in {', '.join(traces)}; "
                                "nothing else was left — report this as a bug")
    return ErasureReport(customer_key, erased_at.isoformat(timespec="seconds") + "Z", found, erasure.cleaned,
                         checked)


def rewrite_warehouse(ws: Workspace) -> Cleaned:
    """Copy the warehouse into a fresh file that takes its place: DuckDB keeps the bytes of deleted rows in
    their blocks until they are reused, so without this the customer could still be read out of the file.
    (The caller holds the write lock; a reader that has the old file open keeps reading it until it closes.)"""
    fresh = ws.path / ".warehouse.rewrite.duckdb"
    for leftover in (fresh, fresh.with_name(fresh.name + ".wal")):
        leftover.unlink(missing_ok=True)
    with ws.connect(read_only=False) as con:
        database = con.execute("SELECT current_database()").fetchone()[0]
        con.execute(f"ATTACH '{str(fresh).replace(chr(39), chr(39) * 2)}' AS fresh")
        try:
            con.execute(f'COPY FROM DATABASE "{database}" TO fresh')
        finally:
            con.execute("DETACH fresh")
    fresh.replace(ws.warehouse_path)
    return Cleaned(relative(ws, ws.warehouse_path), "rewritten", 1)


def _run_stage(erasure: Erasure, stage: Stage) -> None:
    for _name, func in registered_cleaners(stage):
        erasure.cleaned.extend(func(erasure))


def _subject(con: duckdb.DuckDBPyConnection, customer_id: str, keys: tuple[str, str]) -> tuple[Subject, bool]:
    """Every form of the customer's id, their reviews, and whether the canonical tables hold them."""
    candidates = {customer_id, customer_id.strip()} - {""}
    if looks_personal(customer_id):
        candidates.add(pseudonym(customer_id.strip(), keys))
    # an e-mail or phone given as the id also finds the profile that holds it (pseudonymized) as an attribute
    for token in [c for c in candidates if c.startswith(PSEUDONYM_PREFIX)]:
        rows = con.execute("SELECT customer_id FROM customers WHERE contains(CAST(attributes AS VARCHAR), ?)",
                           [token]).fetchall()
        candidates.update(r[0] for r in rows)
    ids = sorted(candidates)
    marks = ", ".join("?" for _ in ids)
    found = any(con.execute(f"SELECT count(*) FROM {table} WHERE customer_id IN ({marks})", ids).fetchone()[0]
                for table in ERASE_ACTIONS)
    reviews = con.execute(f"SELECT review_id, coalesce(title, ''), coalesce(body, '') FROM reviews "
                          f"WHERE customer_id IN ({marks}) ORDER BY review_id", ids).fetchall()
    texts = tuple(t for _, title, body in reviews for t in (title, body) if t.strip())
    return Subject(customer_id, frozenset(ids), frozenset(r[0] for r in reviews), texts), found


# -- helpers for cleaners -----------------------------------------------------------------------------------------
def user_tables(con: duckdb.DuckDBPyConnection) -> dict[str, dict[str, str]]:
    """Tables of the warehouse (not views) with their columns and DuckDB types."""
    rows = con.execute("""SELECT c.table_name, c.column_name, c.data_type FROM information_schema.columns c
                          JOIN information_schema.tables t USING (table_schema, table_name)
                          WHERE c.table_schema = 'main' AND t.table_type = 'BASE TABLE'
                          ORDER BY c.table_name, c.ordinal_position""").fetchall()
    tables: dict[str, dict[str, str]] = {}
    for table, column, kind in rows:
        tables.setdefault(table, {})[column] = kind
    return tables


def delete_rows(con: duckdb.DuckDBPyConnection, table: str, column: str, values: frozenset[str]) -> int:
    """Delete the rows of ``table`` whose ``column`` is one of ``values``; returns how many."""
    if not values:
        return 0
    marks = ", ".join("?" for _ in values)
    where = f'"{column}" IN ({marks})'
    count = con.execute(f'SELECT count(*) FROM "{table}" WHERE {where}', sorted(values)).fetchone()[0]
    if count:
        con.execute(f'DELETE FROM "{table}" WHERE {where}', sorted(values))
    return int(count)


def relative(ws: Workspace, path: Path) -> str:
    return path.relative_to(ws.path).as_posix()


def filter_parquet(path: Path, subject: Subject) -> int:
    """Drop the rows of a Parquet file that belong to the subject (by ``customer_id`` or ``review_id``);
    rewritten atomically; returns how many rows went."""
    table = pq.read_table(path)
    drop = np.zeros(table.num_rows, dtype=bool)
    for column, values in (("customer_id", subject.customer_ids), ("review_id", subject.review_ids)):
        if column in table.column_names and values:
            matches = pc.is_in(pc.cast(table[column], pa.string()), value_set=pa.array(sorted(values), pa.string()))
            drop |= np.asarray(matches.fill_null(False))
    if not drop.any():
        return 0
    tmp = path.with_name(f".{path.name}.tmp")
    pq.write_table(table.filter(pa.array(~drop)), tmp)
    tmp.replace(path)
    return int(drop.sum())


# -- the core cleaners --------------------------------------------------------------------------------------------
@cleaner("files", "quarantine")
def _quarantine(erasure: Erasure) -> list[Cleaned]:
    """Quarantined rows whose values or raw text mention the customer."""
    from shoplens.data.quarantine import forget_in_quarantine

    removed = forget_in_quarantine(erasure.ws, set(erasure.subject.customer_ids))
    return [Cleaned("quarantine", "deleted", removed)] if removed else []


@cleaner("files", "simulator truth")
def _truth(erasure: Erasure) -> list[Cleaned]:
    """The store simulator's ground truth (``truth/``) holds customers' latent traits and their reviews."""
    folder = erasure.ws.path / "truth"
    done = []
    for path in sorted(folder.glob("*.parquet")) if folder.is_dir() else []:
        removed = filter_parquet(path, erasure.subject)
        if removed:
            done.append(Cleaned(relative(erasure.ws, path), "deleted", removed))
    return done


@cleaner("files", "embedding cache")
def _embeddings(erasure: Erasure) -> list[Cleaned]:
    """Cached embeddings are keyed by a hash of the text; which texts were embedded in which form is not known
    here, and an embedding can give its text away, so the cache is cleared (it refills on the next use)."""
    folder = erasure.ws.dir("index") / "embeddings"
    if not erasure.subject.review_texts or not folder.is_dir():
        return []
    shards = list(folder.rglob("*.npz"))
    if not shards:
        return []
    aside = folder.with_name(f".embeddings.erased-{dt.datetime.now().strftime('%Y%m%d%H%M%S%f')}")
    folder.rename(aside)
    shutil.rmtree(aside)
    return [Cleaned(relative(erasure.ws, folder), "cleared", len(shards))]


@cleaner("files", "logs")
def _logs(erasure: Erasure) -> list[Cleaned]:
    """Lines of the workspace's logs that name the customer are redacted."""
    folder = erasure.ws.path / "logs"
    pattern = erasure.subject.text_pattern()
    done = []
    for path in sorted(p for p in folder.rglob("*") if p.is_file()) if folder.is_dir() and pattern else []:
        text = path.read_text(encoding="utf-8", errors="replace")
        cleaned, count = pattern.subn(ERASED, text)
        if count:
            tmp = path.with_name(f".{path.name}.tmp")
            tmp.write_text(cleaned, encoding="utf-8")
            tmp.replace(path)
            done.append(Cleaned(relative(erasure.ws, path), "redacted", count))
    return done


@cleaner("warehouse", "canonical tables")
def _canonical(erasure: Erasure) -> list[Cleaned]:
    """Profile, reviews and ratings deleted; orders, events and sessions kept for aggregates without the customer."""
    con, ids = erasure.con, sorted(erasure.subject.customer_ids)
    assert con is not None
    done = []
    where = f"customer_id IN ({', '.join('?' for _ in ids)})"
    for table, action in ERASE_ACTIONS.items():
        if action == "delete":
            count = delete_rows(con, table, "customer_id", erasure.subject.customer_ids)
        else:
            count = con.execute(f"SELECT count(*) FROM {table} WHERE {where}", ids).fetchone()[0]
            if count:
                con.execute(f"UPDATE {table} SET customer_id = NULL WHERE {where}", ids)
        done.append(Cleaned(f"warehouse/{table}", "deleted" if action == "delete" else "unlinked", int(count)))
    return done


@cleaner("warehouse", "derived tables")
def _derived(erasure: Erasure) -> list[Cleaned]:
    """Any other table with a ``customer_id`` (per-customer analyses, scored recommendations …) or a
    ``review_id`` of the customer's reviews (predictions, aspect mentions): those rows are deleted."""
    con = erasure.con
    assert con is not None
    done = []
    for table, columns in user_tables(con).items():
        if table in TABLES or table in META_TABLES:
            continue
        for column, values in (("customer_id", erasure.subject.customer_ids),
                               ("review_id", erasure.subject.review_ids)):
            if column in columns:
                count = delete_rows(con, table, column, values)
                if count:
                    done.append(Cleaned(f"warehouse/{table}", "deleted", count))
    return done


@cleaner("warehouse", "knowledge triples")
def _triples(erasure: Erasure) -> list[Cleaned]:
    """Triples of ``kg_triples`` whose head or tail is the customer."""
    con, ids = erasure.con, sorted(erasure.subject.customer_ids)
    assert con is not None
    marks = ", ".join("?" for _ in ids)
    where = f"head IN ({marks}) OR tail IN ({marks})"
    count = con.execute(f"SELECT count(*) FROM kg_triples WHERE {where}", ids + ids).fetchone()[0]
    if count:
        con.execute(f"DELETE FROM kg_triples WHERE {where}", ids + ids)
    return [Cleaned("warehouse/kg_triples", "deleted", int(count))] if count else []


@cleaner("warehouse", "ingest runs")
def _ingest_runs(erasure: Erasure) -> list[Cleaned]:
    """Ingest reports keep up to five example values of unlinked ids (``unlinked`` and ``message``)."""
    con, ids = erasure.con, erasure.subject.customer_ids
    assert con is not None
    rows = con.execute("SELECT run_id, unlinked, message FROM ingest_runs WHERE unlinked IS NOT NULL").fetchall()
    changed = 0
    for run_id, unlinked, message in rows:
        details = json.loads(unlinked) if isinstance(unlinked, str) else (unlinked or {})
        named = [v for part in details.values() for v in part.get("examples", []) if str(v) in ids]
        if not named:
            continue
        for part in details.values():
            part["examples"] = [ERASED if str(v) in ids else v for v in part.get("examples", [])]
        for value in named:
            message = re.sub(rf"(?<!{_ID_CHAR}){re.escape(str(value))}{_ID_END}", ERASED, message or "")
        con.execute("UPDATE ingest_runs SET unlinked = ?, message = ? WHERE run_id = ?",
                    [json.dumps(details, default=str), message, run_id])
        changed += 1
    return [Cleaned("warehouse/ingest_runs", "redacted", changed)] if changed else []


# -- reports -------------------------------------------------------------------------------------------------------
# A report written before the erasure that names the customer or quotes one of their reviews is removed, and
# ``latest.html`` is written again from the cleaned workspace.
MIN_QUOTE_CHARS = 12  # shorter clauses ("great fit") are shared by many reviews: no evidence of this one
LATEST = "latest.html"


@cleaner("after", "reports")
def _reports(erasure: Erasure) -> list[Cleaned]:
    folder = erasure.ws.dir("reports")
    quotes = _own_quotes(erasure, quotes_of(erasure.subject))
    tainted = [p for p in sorted(folder.glob("*.html")) if _report_mentions(p, erasure.subject, quotes)]
    if not tainted:
        return []
    for path in tainted:
        path.unlink()
    done = [Cleaned(relative(erasure.ws, p), "removed", 1) for p in tainted if p.name != LATEST]
    if any(p.name == LATEST for p in tainted):
        from shoplens.report import build_report  # the report reads the cleaned warehouse

        build_report(erasure.ws, path=folder / LATEST)
        done.append(Cleaned(relative(erasure.ws, folder / LATEST), "rebuilt", 1))
    return done


def quotes_of(subject: Subject) -> list[str]:
    """What a report could quote of the customer's reviews: their clauses, as the aspect summaries cut them."""
    aspects = import_if_present("shoplens.reviews.aspects")
    pieces = [c for text in subject.review_texts for c in (aspects.clauses_of(text) if aspects else [text])]
    return sorted({p for p in pieces if len(p) >= MIN_QUOTE_CHARS})


def _own_quotes(erasure: Erasure, quotes: list[str]) -> list[str]:
    """The quotes no remaining review also contains (a simulated shop's reviews share many clauses)."""
    if not quotes:
        return []
    with erasure.ws.connect() as con:
        return [q for q in quotes if not con.execute(
            "SELECT count(*) FROM reviews WHERE contains(title, ?) OR contains(body, ?)", [q, q]).fetchone()[0]]


def _report_mentions(path: Path, subject: Subject, quotes: list[str]) -> bool:
    text = html.unescape(path.read_text(encoding="utf-8", errors="replace"))
    pattern = subject.text_pattern()
    return bool(pattern and pattern.search(text)) or any(q in text for q in quotes)


# -- looking for traces -------------------------------------------------------------------------------------------
def find_traces(ws: Workspace, subject: Subject) -> tuple[list[str], list[str]]:
    """Places that still hold the customer: warehouse tables (an id in any text column: whole values, or a
    distinctive id inside text and JSON), and files of the workspace (Parquet cells, string arrays of saved
    models, text files). Returns (places with a trace, places searched). Binary weights are not searched:
    models that keep customers keep them as ids in arrays, which are."""
    traces: list[str] = []
    checked: list[str] = []
    with ws.connect() as con:
        for table, columns in user_tables(con).items():
            if table == "erasures":
                continue
            checked.append(f"warehouse/{table}")
            if _table_mentions(con, table, columns, subject):
                traces.append(f"warehouse/{table}")
    for path in _scanned_files(ws):
        place = relative(ws, path)
        checked.append(place)
        if _file_mentions(path, subject):
            traces.append(place)
    return traces, checked


def _table_mentions(con: duckdb.DuckDBPyConnection, table: str, columns: dict[str, str], subject: Subject) -> bool:
    ids = sorted(subject.customer_ids)
    pattern = subject.sql_pattern()
    marks = ", ".join("?" for _ in ids)
    tests, params = [], []
    for column, kind in columns.items():
        if kind not in ("VARCHAR", "JSON") and not kind.endswith("[]"):
            continue
        value = f'CAST("{column}" AS VARCHAR)'
        if kind == "VARCHAR":
            tests.append(f"{value} IN ({marks})")
            params += ids
        if pattern is not None:
            tests.append(f"regexp_matches({value}, ?)")
            params.append(pattern)
    if not tests:
        return False
    query = f'SELECT count(*) FROM "{table}" WHERE ' + " OR ".join(tests)
    return bool(con.execute(query, params).fetchone()[0])


def _scanned_files(ws: Workspace) -> Iterator[Path]:
    for name in SCANNED_FOLDERS:
        folder = ws.path / name
        if folder.is_dir():
            yield from sorted(p for p in folder.rglob("*") if p.is_file() and not p.name.startswith("."))


def _file_mentions(path: Path, subject: Subject) -> bool:
    suffix = path.suffix.lower()
    if suffix == ".parquet":
        table = pq.read_table(path)
        return any(_strings_mention(table[c].to_pylist(), subject) for c in table.column_names
                   if pa.types.is_string(table.schema.field(c).type) or
                   pa.types.is_large_string(table.schema.field(c).type))
    if suffix == ".npz":
        with np.load(path, allow_pickle=False) as arrays:
            return any(_strings_mention(arrays[k].tolist(), subject) for k in arrays.files
                       if arrays[k].dtype.kind in "US")
    if suffix in TEXT_SUFFIXES:
        pattern = subject.text_pattern()
        text = html.unescape(path.read_text(encoding="utf-8", errors="replace"))
        return bool(pattern and pattern.search(text))
    return False


def _strings_mention(values: list[Any], subject: Subject) -> bool:
    pattern = subject.text_pattern()
    for value in values:
        if value is None:
            continue
        text = value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)
        if text in subject.customer_ids or (pattern is not None and pattern.search(text)):
            return True
    return False
