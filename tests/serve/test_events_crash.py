"""Kill the service with SIGKILL in the middle of appending a batch of events: after a restart either the whole
batch is visible or none of it, and the client's retry of the same batch makes it whole exactly once.

The service runs as its own process (``run_server``), as in production. The batch is larger than one DuckDB row
group (122,880 rows): DuckDB writes such an insert into the database file before the transaction commits, which
is what a crash must not expose. The kill lands while the append holds the workspace's write lock (its lock file
names the batch), at once, halfway through and near the end of the time a whole append takes.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import threading
import time

import httpx
import pytest

import shoplens as sl
from shoplens.serve import create_key
from tests.serve.conftest import auth, service_process

EVENTS = 130_000
SERVER = ("import sys; from shoplens.serve import ServiceSettings, run_server; "
          "run_server(sys.argv[1], port=int(sys.argv[2]), log_level='warning', "
          "settings=ServiceSettings(max_event_batch_events=200_000, max_event_batch_bytes=64 * 2**20))")


def service(ws: sl.Workspace) -> contextlib.AbstractContextManager[tuple[subprocess.Popen, str]]:
    """``shoplens serve`` of the workspace in a child process; yields it and its base URL once it answers."""
    return service_process(lambda port: [sys.executable, "-c", SERVER, str(ws.path), str(port)])


def batch(tag: str) -> bytes:
    return "".join(json.dumps({"event_id": f"{tag}-{i}", "session_id": f"{tag}-s{i // 20}", "event_type": "view",
                               "event_ts": "2026-02-01T12:00:00Z", "product_id": f"P{i % 500}"}) + "\n"
                   for i in range(EVENTS)).encode()


def post(url: str, key: str, body: bytes) -> dict:
    response = httpx.post(url + "/api/v1/events", content=body, timeout=300,
                          headers={**auth(key), "Content-Type": "application/x-ndjson"})
    assert response.status_code == 200, response.text
    return response.json()


def visible(ws: sl.Workspace, tag: str) -> int:
    return int(ws.sql("SELECT count(*) AS n FROM events WHERE event_id LIKE ?", [f"{tag}-%"])["n"][0])


def batches_agree_with_events(ws: sl.Workspace) -> None:
    """Each recorded batch's events are all there, and no event is there without its batch."""
    rows = ws.sql("""SELECT b.batch_id, b.accepted, count(e.event_id) AS present FROM event_batches b
                     LEFT JOIN events e ON e._ingest_run = b.batch_id GROUP BY ALL""")
    assert (rows["accepted"] == rows["present"]).all(), rows
    orphans = ws.sql("SELECT count(*) AS n FROM events WHERE _ingest_run NOT IN (SELECT batch_id FROM event_batches)")
    assert orphans["n"][0] == 0


def kill_while_appending(ws: sl.Workspace, process: subprocess.Popen, url: str, key: str, body: bytes,
                         delay_s: float) -> None:
    """Send the batch, wait until its append holds the write lock, wait ``delay_s`` more, SIGKILL the service."""
    thread = threading.Thread(target=_post_quietly, args=(url, key, body), daemon=True)
    thread.start()
    lock = ws.path / "warehouse.lock"
    deadline = time.monotonic() + 240
    while "append events" not in (lock.read_text(encoding="utf-8") if lock.exists() else ""):
        assert time.monotonic() < deadline and process.poll() is None, "the append never took the write lock"
        time.sleep(0.001)
    time.sleep(delay_s)
    os.kill(process.pid, signal.SIGKILL)
    process.wait(30)
    thread.join(30)


def _post_quietly(url: str, key: str, body: bytes) -> None:
    with contextlib.suppress(httpx.TransportError):  # the service dies under the request
        httpx.post(url + "/api/v1/events", content=body, timeout=300,
                   headers={**auth(key), "Content-Type": "application/x-ndjson"})


@pytest.mark.slow
def test_a_killed_append_is_all_or_nothing_and_a_retry_counts_once(workspace: sl.Workspace) -> None:
    key = create_key(workspace, "write", "crash test")
    with service(workspace) as (_, url):
        whole = post(url, key, batch("whole"))
    assert whole["accepted"] == EVENTS
    outcomes = []
    for tag, delay_s in (("at-once", 0.0), ("halfway", whole["seconds"] / 2), ("late", whole["seconds"] * 0.9)):
        body = batch(tag)
        with service(workspace) as (process, url):
            kill_while_appending(workspace, process, url, key, body, delay_s)
        seen = visible(workspace, tag)
        assert seen in (0, EVENTS), f"{tag}: {seen:,} of {EVENTS:,} events visible after the crash"
        batches_agree_with_events(workspace)
        outcomes.append(seen)
        with service(workspace) as (_, url):
            retry = post(url, key, body)
        assert (retry["accepted"], retry["duplicates"]) == (EVENTS - seen, seen)
        assert visible(workspace, tag) == EVENTS
    batches_agree_with_events(workspace)
    assert visible(workspace, "whole") == EVENTS
    assert 0 in outcomes, "every kill came after the commit: the test did not crash an append"
