"""Live event batches: the canonical rules, personal data, problems named by line and field, and appends that
leave duplicates out (against the warehouse and within the batch)."""

from __future__ import annotations

import datetime as dt
import json

import pytest

import shoplens as sl
from shoplens.data.live import append_events, check_events, parse_body
from shoplens.data.privacy import pseudonym
from shoplens.errors import InputError, InvalidRecords

KEYS = ("k1" * 16, "k2" * 16)


def lines(*events: dict) -> bytes:
    return "\n".join(json.dumps(event) for event in events).encode()


def event(event_id: str, event_type: str = "view", ts: str = "2026-03-01T10:00:05Z", **more: object) -> dict:
    return {"event_id": event_id, "session_id": "s1", "event_type": event_type, "event_ts": ts, **more}


def test_events_follow_the_canonical_rules() -> None:
    body = lines(event("e1", "PV"), event("e2", "buy", "2026-03-01T11:00:00", price=4.5, quantity=2),
                 event("e3", "add to cart", "2026-03-01T10:00:00+01:00", customer_id="ann@example.com",
                       query="call me on +44 20 7946 0958", email="ann@example.com", device="app",
                       properties={"note": "from bob@example.org"}))
    batch = check_events(parse_body(body, max_events=10), timezone="Europe/Berlin", keys=KEYS)
    rows = {row["event_id"]: row for row in batch.table.to_pylist()}
    assert [rows[e]["event_type"] for e in ("e1", "e2", "e3")] == ["view", "purchase", "add_to_cart"]
    assert rows["e1"]["event_ts"] == dt.datetime(2026, 3, 1, 10, 0, 5)  # Z: UTC as sent
    assert rows["e2"]["event_ts"] == dt.datetime(2026, 3, 1, 10, 0)  # naive: the shop's time (Berlin, UTC+1)
    assert rows["e3"]["event_ts"] == dt.datetime(2026, 3, 1, 9, 0)
    assert json.loads(rows["e2"]["properties"]) == {"price": 4.5, "quantity": 2}
    assert rows["e3"]["customer_id"] == pseudonym("ann@example.com", KEYS)
    assert rows["e3"]["query"] == "call me on [phone]"
    assert json.loads(rows["e3"]["properties"]) == {"note": "from [email]", "email": pseudonym("ann@example.com", KEYS),
                                                   "device": "app"}
    assert rows["e1"]["properties"] is None and [rows[e]["_source_row"] for e in ("e1", "e2", "e3")] == [1, 2, 3]


def test_every_problem_is_named_by_line_and_field() -> None:
    body = b"\n".join([
        json.dumps(event("ok")).encode(),
        json.dumps(event("e2", "teleport")).encode(),
        b"",  # blank lines are skipped but counted
        json.dumps({"event_id": "e4", "event_type": "view"}).encode(),
        json.dumps(event("e5", price="free", quantity=0)).encode(),
        json.dumps(event("e6", ts="31/01/2026")).encode(),
        json.dumps([1, 2]).encode(),
        json.dumps(event({"nested": 1})).encode(),  # type: ignore[arg-type]
    ])
    with pytest.raises(InvalidRecords) as refused:
        check_events(parse_body(body, max_events=100), timezone="UTC", keys=KEYS)
    found = [(p["line"], p["field"]) for p in refused.value.problems]
    assert found == [(2, "event_type"), (4, "event_ts"), (5, "price"), (6, "event_ts"), (7, ""), (8, "event_id")]
    assert str(refused.value).startswith("line 2, field 'event_type': not one of view, search")
    assert "(and 5 more problems)" in str(refused.value)


def test_json_errors_name_their_lines_and_limits_hold() -> None:
    with pytest.raises(InvalidRecords) as refused:
        parse_body(b'{"event_id": "a"}\n{"event_id": \n\n{oops}', max_events=10)
    assert [p["line"] for p in refused.value.problems] == [2, 4]
    with pytest.raises(InputError, match="more than the limit of 2"):
        parse_body(lines(event("a"), event("b"), event("c")), max_events=2)
    with pytest.raises(InputError, match="no events"):
        parse_body(b"\n \n", max_events=2)
    items = parse_body(json.dumps([event("a"), event("b")]).encode(), max_events=2)  # a JSON array: items from 1
    assert [line for line, _ in items] == [1, 2]


def test_append_leaves_out_what_is_stored_and_repeated(workspace: sl.Workspace) -> None:
    def append(*events: dict):
        batch = check_events(parse_body(lines(*events), max_events=100), timezone="UTC", keys=workspace.pii_keys())
        return append_events(workspace, batch, key_id="test")

    first = append(event("e1"), event("e2"), event("e1"))
    assert (first.received, first.accepted, first.duplicates, first.duplicates_in_batch) == (3, 2, 1, 1)
    again = append(event("e2"), event("e3", "purchase", price=2.0))
    assert (again.accepted, again.duplicates, again.duplicates_in_batch) == (1, 1, 0)
    stored = workspace.sql("SELECT event_id, _ingest_run, _source_row FROM events ORDER BY event_id")
    assert stored.values.tolist() == [["e1", first.batch_id, 1], ["e2", first.batch_id, 2], ["e3", again.batch_id, 2]]
    batches = workspace.sql('SELECT batch_id, "events", accepted, duplicates, key_id FROM event_batches ORDER BY 1')
    assert sorted(batches.values.tolist()) == sorted([[first.batch_id, 3, 2, 1, "test"],
                                                      [again.batch_id, 2, 1, 1, "test"]])
