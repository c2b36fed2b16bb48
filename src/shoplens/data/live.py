"""Live events: batches of click-stream events sent to the service (``POST /api/v1/events``).

A batch is JSON lines (one event object per line) or one JSON array of event objects. Each event has the
canonical ``events`` fields (``event_id``, ``session_id``, ``customer_id``, ``product_id``, ``event_type``,
``event_ts``, ``query``, ``properties``) plus ``price`` and ``quantity`` (what a purchase event is worth, kept
in ``properties``); any other field is kept in ``properties`` too. ``event_id``, ``event_type`` and ``event_ts``
are required. The rules are the canonical schema's (event types and their aliases, timestamps between 1900
and 2100, naive timestamps in the shop's timezone) and personal data is treated as ingest treats it (customer
ids that are e-mail addresses or phone numbers pseudonymized, such values masked in text and properties).

A batch is checked whole before anything is written: one bad event refuses the batch with every problem named
by line and field (:class:`~shoplens.errors.InvalidRecords`). A valid batch is appended in one transaction,
together with its row in ``event_batches``: after a crash either the whole batch is in the warehouse or none of
it. Events whose id is already stored, or repeated within the batch, are counted as duplicates and not stored
again, so a client may resend a batch it got no answer for.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import time
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

import pyarrow as pa

from shoplens.data import privacy
from shoplens.data.checks import EARLIEST, LATEST, MAX_TEXT_CHARS
from shoplens.data.ingest import new_run_id
from shoplens.data.mapping import normalize
from shoplens.errors import InputError, InvalidRecords
from shoplens.schema import EVENT_BATCHES_SQL, EVENTS

if TYPE_CHECKING:
    from shoplens.workspace import Workspace

ID_FIELDS = ("event_id", "session_id", "customer_id", "product_id")
REQUIRED = ("event_id", "event_type", "event_ts")
VALUE_FIELDS = ("price", "quantity")  # what a purchase is worth (revenue = price × quantity); kept in properties
FIELDS = (*EVENTS.column_names, *VALUE_FIELDS)
MAX_ID_CHARS = 512
MAX_PRICE = 10**14  # DECIMAL(18,4), the canonical price
MAX_PROBLEMS = 100  # problems listed in one refusal; the count says how many there were
EVENT_TYPE = EVENTS.column("event_type")
EVENT_TYPES = EVENT_TYPE.choices or ()
ALIASES = dict(EVENT_TYPE.aliases)
TS_RANGE = (dt.datetime.fromisoformat(EARLIEST), dt.datetime.fromisoformat(LATEST))
ARROW_SCHEMA = pa.schema([("event_id", pa.string()), ("session_id", pa.string()), ("customer_id", pa.string()),
                          ("product_id", pa.string()), ("event_type", pa.string()), ("event_ts", pa.timestamp("us")),
                          ("query", pa.string()), ("properties", pa.string()), ("_source_row", pa.int64())])


class _Problem(Exception):
    """One field of one event breaks a rule (collected into InvalidRecords)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field, self.message = field, message


@dataclass(frozen=True)
class EventBatch:
    """A checked batch: the distinct events as rows of ``events`` (``_source_row`` = the line), and counts."""

    table: pa.Table
    received: int  # events in the batch
    repeated: int  # events whose id an earlier line of the batch has (not appended)
    received_at: dt.datetime = field(default_factory=lambda: dt.datetime.now(dt.UTC).replace(tzinfo=None))
    checked_at: float = field(default_factory=time.monotonic)  # the clock of AppendResult.seconds


@dataclass(frozen=True)
class AppendResult:
    """What appending a batch did: ``received = accepted + duplicates``."""

    batch_id: str
    received: int
    accepted: int
    duplicates: int  # already stored + repeated within the batch
    duplicates_in_batch: int
    seconds: float  # from the batch checked to its commit (waiting for other writers included)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


# -- reading the body ------------------------------------------------------------------------------------
def parse_body(body: bytes, *, max_events: int) -> list[tuple[int, Any]]:
    """``(line, value)`` for each event of a JSON-lines body, or of a body holding one JSON array (its items
    numbered from 1). Blank lines are skipped but counted, so line numbers match the client's file; every line
    that is not JSON is named (:class:`~shoplens.errors.InvalidRecords`)."""
    try:
        text = body.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputError(f"the batch is not UTF-8 text (byte {exc.start})") from None
    problems: list[dict[str, Any]] = []
    if text.lstrip().startswith("["):
        items = _json(text, 1, problems)
        events = list(enumerate(items, start=1)) if isinstance(items, list) else []
        if not problems and not isinstance(items, list):
            raise InputError("line 1: a batch that opens with '[' must be one JSON array of events")
    else:
        events = [(number, _json(line, number, problems)) for number, line in enumerate(text.splitlines(), start=1)
                  if line.strip()]
    if problems:
        raise refusal(problems)
    if not events:
        raise InputError("the batch holds no events (send JSON lines, one event object per line, or a JSON array)")
    if len(events) > max_events:
        raise InputError(f"the batch holds {len(events):,} events, more than the limit of {max_events:,}; "
                         f"split it into smaller batches")
    return events


def _json(text: str, line: int, problems: list[dict[str, Any]]) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        problems.append({"line": line + exc.lineno - 1, "field": "",
                         "message": f"not valid JSON ({exc.msg} at column {exc.colno})"})
        return None


def refusal(problems: list[dict[str, Any]]) -> InvalidRecords:
    """The error that refuses a batch: the first problem (line and field) and how many more, then the list."""
    first = problems[0]
    where = f"line {first['line']}" + (f", field {first['field']!r}" if first["field"] else "")
    others = len(problems) - 1
    more = f" (and {others:,} more problem{'s' if others > 1 else ''})" if others else ""
    return InvalidRecords(f"{where}: {first['message']}{more}; nothing was appended", problems[:MAX_PROBLEMS])


# -- checking the events ---------------------------------------------------------------------------------
def check_events(events: list[tuple[int, Any]], *, timezone: str, keys: tuple[str, str]) -> EventBatch:
    """The events as canonical rows, or :class:`InvalidRecords` naming every problem (line and field)."""
    zone = ZoneInfo(timezone)
    rows: dict[str, dict[str, Any]] = {}
    problems: list[dict[str, Any]] = []
    for line, value in events:
        try:
            row = _event_row(value, zone, keys)
        except _Problem as problem:
            problems.append({"line": line, "field": problem.field, "message": problem.message})
            continue
        row["_source_row"] = line
        rows.setdefault(row["event_id"], row)  # the first line with an id wins; later ones are duplicates
    if problems:
        raise refusal(problems)
    table = pa.Table.from_pylist(list(rows.values()), schema=ARROW_SCHEMA)
    return EventBatch(table=table, received=len(events), repeated=len(events) - table.num_rows)


def _event_row(value: Any, zone: ZoneInfo, keys: tuple[str, str]) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise _Problem("", f"an event is a JSON object, not {_json_type(value)}")
    for name in REQUIRED:
        if value.get(name) is None or (isinstance(value[name], str) and not value[name].strip()):
            raise _Problem(name, "missing (every event needs event_id, event_type and event_ts)")
    row: dict[str, Any] = {name: _identifier(value.get(name), name) for name in ID_FIELDS}
    if row["customer_id"] is not None and privacy.looks_personal(row["customer_id"]):
        row["customer_id"] = privacy.pseudonym(row["customer_id"].strip(), keys)
    row["event_type"] = _event_type(value["event_type"])
    row["event_ts"] = _timestamp(value["event_ts"], zone)
    row["query"] = _text(value.get("query"), "query")
    row["properties"] = _properties(value, keys)
    return row


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    return "an array" if isinstance(value, list) else "an object"


def _identifier(value: Any, name: str) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise _Problem(name, f"an id is a string or a whole number, not {_json_type(value)}")
    text = str(value).strip()
    if len(text) > MAX_ID_CHARS:
        raise _Problem(name, f"{len(text):,} characters, more than the limit of {MAX_ID_CHARS}")
    return text or None


def _event_type(value: Any) -> str:
    if not isinstance(value, str):
        raise _Problem("event_type", f"a string, not {_json_type(value)}")
    lowered = value.strip().lower()
    canonical = ALIASES.get(lowered, lowered)
    if canonical not in EVENT_TYPES:
        raise _Problem("event_type", f"not one of {', '.join(EVENT_TYPES)}: {_shown(value)}")
    return canonical


def _timestamp(value: Any, zone: ZoneInfo) -> dt.datetime:
    """Naive UTC; a timestamp without an offset is the shop's local time (as ingest reads it)."""
    if not isinstance(value, str):
        raise _Problem("event_ts", f"an ISO 8601 timestamp string (2026-01-31T12:00:00Z), not {_json_type(value)}")
    try:
        parsed = dt.datetime.fromisoformat(value.strip())
    except ValueError:
        raise _Problem("event_ts", f"not an ISO 8601 timestamp (2026-01-31T12:00:00Z): {_shown(value)}") from None
    aware = parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=zone)
    utc = aware.astimezone(dt.UTC).replace(tzinfo=None)
    if not TS_RANGE[0] <= utc <= TS_RANGE[1]:
        raise _Problem("event_ts", f"not a timestamp between {EARLIEST[:4]} and {LATEST[:4]}: {_shown(value)}")
    return utc


def _text(value: Any, name: str) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise _Problem(name, f"a string, not {_json_type(value)}")
    if len(value) > MAX_TEXT_CHARS:
        raise _Problem(name, f"{len(value):,} characters, more than the limit of {MAX_TEXT_CHARS:,}")
    return privacy.mask_text(value) or None


def _shown(value: str) -> str:
    """A client's value quoted in a message, short, with e-mail addresses and phone numbers masked."""
    return json.dumps(privacy.mask_text(value[:60]), ensure_ascii=False)


def _properties(value: dict[str, Any], keys: tuple[str, str]) -> str | None:
    """``properties`` merged with the other fields (they win, as at ingest), then price and quantity."""
    given = value.get("properties")
    if given is not None and not isinstance(given, dict):
        raise _Problem("properties", f"a JSON object, not {_json_type(given)}")
    merged = dict(given or {})
    merged.update((name, v) for name, v in value.items() if name not in FIELDS)
    merged = {name: _private(name, v, keys) for name, v in merged.items()}
    price, quantity = _price(value.get("price")), _quantity(value.get("quantity"))
    if price is not None:
        merged["price"] = price
    if quantity is not None:
        merged["quantity"] = quantity
    return json.dumps(merged, ensure_ascii=False, allow_nan=False) if merged else None


def _private(name: str, value: Any, keys: tuple[str, str]) -> Any:
    """A property with personal data treated as ingest treats extra columns: pseudonymized when its name says
    it is personal (``email``, ``phone`` …) or its value is an e-mail address or phone number, masked inside
    text; nested objects and arrays alike."""
    if value is None:
        return None
    if privacy.is_pii_column_name("events", normalize(name)) and not isinstance(value, (dict, list)):
        return privacy.pseudonym(str(value).strip(), keys)
    if isinstance(value, dict):
        return {k: _private(k, v, keys) for k, v in value.items()}
    if isinstance(value, list):
        return [_private("", v, keys) for v in value]
    if isinstance(value, str):
        return privacy.pseudonym(value.strip(), keys) if privacy.looks_personal(value) else privacy.mask_text(value)
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _price(value: Any) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise _Problem("price", f"a number, not {_json_type(value)}")
    if not 0 <= value < MAX_PRICE:
        raise _Problem("price", f"{value} is not between 0 and {MAX_PRICE:,}")
    return value


def _quantity(value: Any) -> int | None:
    if value is None:
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise _Problem("quantity", f"a whole number, not {_json_type(value)}")
    if not 1 <= value < 10**9:
        raise _Problem("quantity", f"{value} is not between 1 and 999,999,999")
    return value


# -- appending ---------------------------------------------------------------------------------------------
def append_events(ws: Workspace, batch: EventBatch, *, key_id: str | None = None,
                  lock_wait_s: float = 5.0) -> AppendResult:
    """Append the batch's new events and its ``event_batches`` row in one transaction; events whose id is
    stored already are left out. Waits up to ``lock_wait_s`` for another writer (then ``WorkspaceBusy``)."""
    outcome = append_batches(ws, [(batch, key_id)], lock_wait_s=lock_wait_s)[0]
    if isinstance(outcome, BaseException):
        raise outcome
    return outcome


def append_batches(ws: Workspace, batches: list[tuple[EventBatch, str | None]], *,
                   lock_wait_s: float = 5.0) -> list[AppendResult | BaseException]:
    """Append several batches through one connection (opening the warehouse and checkpointing it on close cost
    more than a small batch's insert), each in its own transaction, in order: a batch's events are checked
    against those of the batches before it. The outcome of each, in order: its result, or the error that
    stopped it (the batches after a failed one are not tried and get the same error)."""
    outcomes: list[AppendResult | BaseException] = []
    with ws.write_lock(command=f"serve: append events ({len(batches)} batches)", timeout=lock_wait_s), \
            ws.connect(read_only=False) as con:
        con.execute(EVENT_BATCHES_SQL)  # a workspace created before event batches were recorded
        for batch, key_id in batches:
            try:
                outcomes.append(_append(con, batch, key_id))
            except Exception as exc:  # this batch rolled back; the connection may be unusable: stop here
                outcomes += [exc] * (len(batches) - len(outcomes))
                break
    return outcomes


INSERT_NEW_EVENTS = """
    INSERT INTO events (event_id, session_id, customer_id, product_id, event_type, event_ts, query, properties,
                        _ingest_run, _source_row)
    SELECT i.event_id, i.session_id, i.customer_id, i.product_id, i.event_type, i.event_ts, i.query,
           CAST(i.properties AS JSON), ?, i._source_row
    FROM incoming i
    WHERE NOT EXISTS (SELECT 1 FROM events e WHERE e.event_id = i.event_id)"""
INSERT_BATCH = """
    INSERT INTO event_batches (batch_id, received_at, committed_at, "events", accepted, duplicates, key_id)
    VALUES (?, ?, ?, ?, ?, ?, ?)"""


def _append(con: Any, batch: EventBatch, key_id: str | None) -> AppendResult:
    batch_id = new_run_id("events-api")
    con.register("incoming", batch.table)
    con.execute("BEGIN TRANSACTION")
    try:
        accepted = int(con.execute(INSERT_NEW_EVENTS, [batch_id]).fetchone()[0])
        committed_at = dt.datetime.now(dt.UTC).replace(tzinfo=None)
        con.execute(INSERT_BATCH, [batch_id, batch.received_at, committed_at, batch.received, accepted,
                                   batch.received - accepted, key_id])
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    finally:
        con.unregister("incoming")
    return AppendResult(batch_id=batch_id, received=batch.received, accepted=accepted,
                        duplicates=batch.received - accepted, duplicates_in_batch=batch.repeated,
                        seconds=round(time.monotonic() - batch.checked_at, 4))
