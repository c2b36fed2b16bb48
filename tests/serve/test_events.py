"""POST /api/v1/events and GET /api/v1/events/live on the real app: a write key appends, duplicates are left out,
client mistakes are 4xx naming the line and field, and the live KPIs count what the warehouse holds."""

from __future__ import annotations

import datetime as dt
import itertools
import json

import pytest
from fastapi.testclient import TestClient

import shoplens as sl
from tests.serve.conftest import Keys, auth, make_client

NDJSON = {"Content-Type": "application/x-ndjson"}


def now_utc() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


def stamp(moment: dt.datetime) -> str:
    return moment.isoformat() + "Z"


def ndjson(events: list[dict]) -> str:
    return "\n".join(json.dumps(e) for e in events) + "\n"


def post(client: TestClient, key: str, events: list[dict]) -> dict:
    response = client.post("/api/v1/events", content=ndjson(events), headers={**auth(key), **NDJSON})
    assert response.status_code == 200, response.text
    return response.json()


def stored(ws: sl.Workspace) -> int:
    return int(ws.sql("SELECT count(*) AS n FROM events")["n"][0])


def test_a_batch_is_appended_once_and_counted_live(client: TestClient, ws: sl.Workspace, keys: Keys) -> None:
    moment = now_utc().replace(microsecond=0)
    earlier = moment - dt.timedelta(minutes=1)
    events = [
        {"event_id": "v1", "session_id": "s1", "event_type": "view", "event_ts": stamp(earlier), "product_id": "P1"},
        {"event_id": "c1", "session_id": "s1", "event_type": "add_to_cart", "event_ts": stamp(moment)},
        {"event_id": "b1", "session_id": "s1", "event_type": "purchase", "event_ts": stamp(moment), "price": 4.5,
         "quantity": 2},
        {"event_id": "v2", "session_id": "s2", "event_type": "view", "event_ts": stamp(moment)},
        {"event_id": "b2", "session_id": "s2", "event_type": "purchase", "event_ts": stamp(moment), "price": 1.25},
        {"event_id": "old", "session_id": "s3", "event_type": "view",
         "event_ts": stamp(moment - dt.timedelta(hours=2))},
    ]
    first = post(client, keys.write, [*events, events[0]])
    assert (first["received"], first["accepted"], first["duplicates"], first["duplicates_in_batch"]) == (7, 6, 1, 1)
    retry = post(client, keys.write, events)  # the client never saw the answer and sends the batch again
    assert (retry["accepted"], retry["duplicates"]) == (0, 6)
    assert stored(ws) == 6

    live = client.get("/api/v1/events/live", params={"minutes": 15}, headers=auth(keys.read))
    assert live.status_code == 200, live.text
    body = live.json()
    assert body["totals"] == {"sessions": 2, "views": 2, "carts": 1, "purchases": 2, "revenue": 10.25}
    minutes = [dt.datetime.fromisoformat(row["minute"]) for row in body["per_minute"]]
    assert len(minutes) == 15 and all(b - a == dt.timedelta(minutes=1) for a, b in itertools.pairwise(minutes))
    assert minutes[-1] >= moment.replace(second=0)  # the current minute ends the window
    by_minute = {row["minute"]: row for row in body["per_minute"]}
    assert by_minute[earlier.replace(second=0).isoformat()]["views"] == 1
    assert by_minute[moment.replace(second=0).isoformat()] == {
        "minute": moment.replace(second=0).isoformat(), "sessions": 2, "views": 1, "carts": 1, "purchases": 2,
        "revenue": 10.25}
    assert sum(row["views"] for row in body["per_minute"]) == 2  # the event two hours old is outside


def test_a_json_array_is_a_batch_too(client: TestClient, ws: sl.Workspace, keys: Keys) -> None:
    events = [{"event_id": 7, "event_type": "search", "event_ts": "2026-01-01T00:00:00Z", "query": "mug"}]
    response = client.post("/api/v1/events", json=events, headers=auth(keys.write))
    assert response.status_code == 200 and response.json()["accepted"] == 1
    one_object = client.post("/api/v1/events", json=events[0], headers=auth(keys.write))
    assert one_object.status_code == 400 and "one JSON array" in one_object.json()["detail"]
    assert ws.sql("SELECT event_id, query FROM events").values.tolist() == [["7", "mug"]]


def test_bad_batches_are_refused_whole_naming_line_and_field(client: TestClient, ws: sl.Workspace,
                                                            keys: Keys) -> None:
    good = {"event_id": "g", "event_type": "view", "event_ts": "2026-01-01T00:00:00Z"}
    body = ndjson([good, {**good, "event_id": "h", "event_type": "teleport"}, {**good, "event_id": "i",
                                                                                "quantity": 1.5}])
    response = client.post("/api/v1/events", content=body, headers={**auth(keys.write), **NDJSON})
    assert response.status_code == 400
    answer = response.json()
    assert answer["detail"].startswith("line 2, field 'event_type': not one of view")
    assert [(e["line"], e["field"]) for e in answer["errors"]] == [(2, "event_type"), (3, "quantity")]
    not_json = client.post("/api/v1/events", content=ndjson([good]) + "{nope\n", headers={**auth(keys.write), **NDJSON})
    assert not_json.status_code == 400 and not_json.json()["errors"][0]["line"] == 2
    assert stored(ws) == 0  # the good lines of a refused batch are not appended either


def test_keys_and_limits(ws: sl.Workspace, keys: Keys) -> None:
    event = {"event_id": "e", "event_type": "view", "event_ts": "2026-01-01T00:00:00Z"}
    with make_client(ws, max_event_batch_bytes=2000, max_event_batch_events=3) as client:
        assert client.post("/api/v1/events", content=ndjson([event])).status_code == 401
        assert client.post("/api/v1/events", content=ndjson([event]), headers=auth(keys.read)).status_code == 403
        too_large = client.post("/api/v1/events", content=ndjson([event]) * 40, headers=auth(keys.write))
        assert too_large.status_code == 413
        too_many = client.post("/api/v1/events", content=ndjson([event]) * 4, headers=auth(keys.write))
        assert too_many.status_code == 400 and "more than the limit of 3" in too_many.json()["detail"]
        assert client.get("/api/v1/events/live").status_code == 401
        for minutes in (0, 1441):
            assert client.get("/api/v1/events/live", params={"minutes": minutes},
                              headers=auth(keys.read)).status_code == 422
    assert stored(ws) == 0


@pytest.mark.parametrize("body", ["", "null", "[]", "[1]", '{"event_id": "x"}', "\ufeff\n", "\x00"])
def test_odd_bodies_are_4xx(client: TestClient, keys: Keys, body: str) -> None:
    response = client.post("/api/v1/events", content=body.encode(), headers={**auth(keys.write), **NDJSON})
    assert 400 <= response.status_code < 500, response.text


def test_concurrent_batches_are_grouped_and_each_counted_once(ws: sl.Workspace, keys: Keys) -> None:
    """Twelve clients at once, each batch sharing half its ids with another client's: the appends that wait for
    one another go through one connection, each batch in its own transaction, and every id is stored once."""
    import threading

    import httpx

    from shoplens.serve import create_app
    from tests.serve.conftest import running_server

    def batch(client_no: int, round_no: int) -> str:
        ids = [f"c{client_no}-r{round_no}-{i}" for i in range(20)] + \
              [f"c{(client_no + 1) % 12}-r{round_no}-{i}" for i in range(10)]  # the next client's first ten
        return ndjson([{"event_id": i, "session_id": i[:3], "event_type": "view",
                        "event_ts": "2026-01-01T00:00:00Z"} for i in ids])

    answers: list[dict] = []
    with running_server(create_app(ws.path)) as url:
        def client(client_no: int) -> None:
            with httpx.Client(base_url=url, timeout=60, headers={**auth(keys.write), **NDJSON}) as http:
                for round_no in range(5):
                    response = http.post("/api/v1/events", content=batch(client_no, round_no))
                    assert response.status_code == 200, response.text
                    answers.append(response.json())

        threads = [threading.Thread(target=client, args=(n,)) for n in range(12)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert len(answers) == 60 and all(a["received"] == a["accepted"] + a["duplicates"] == 30 for a in answers)
    assert sum(a["accepted"] for a in answers) == 12 * 5 * 20 == stored(ws)
    assert int(ws.sql("SELECT count(DISTINCT event_id) AS n FROM events")["n"][0]) == stored(ws)
    recorded = ws.sql('SELECT count(*) AS n, sum(accepted) AS accepted FROM event_batches').iloc[0]
    assert (int(recorded["n"]), int(recorded["accepted"])) == (60, 1200)
