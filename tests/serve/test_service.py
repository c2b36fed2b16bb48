"""The service's own machinery: the in-process writer gate, the compute limits, run_server's checks, the access-log
redaction."""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from pathlib import Path

import httpx
import pytest

import shoplens as sl
from shoplens.serve import KeyInfo, Role, create_app, run_server
from shoplens.serve.app import RedactKeys
from shoplens.serve.compute import ComputeLimits, KeyBusy, OverBudget
from shoplens.serve.gate import WarehouseGate
from shoplens.serve.upload import safe_filename
from tests.serve.conftest import ORDERS_CSV, ORDERS_LOADED, Keys, auth, running_server


def test_readers_are_turned_away_while_an_ingest_writes() -> None:
    gate = WarehouseGate()
    with gate.writing(timeout=1), pytest.raises(sl.WorkspaceBusy), gate.reading():
        pass
    with gate.reading():
        pass  # open again once the writer is done


def test_an_ingest_waits_for_the_readers_in_flight() -> None:
    gate, order = WarehouseGate(), []
    reading = threading.Event()

    def reader() -> None:
        with gate.reading():
            reading.set()
            time.sleep(0.2)
            order.append("read")

    thread = threading.Thread(target=reader)
    thread.start()
    reading.wait(5)
    with gate.writing(timeout=5):
        order.append("write")
    thread.join()
    assert order == ["read", "write"]


def test_a_second_ingest_gives_up_after_the_wait() -> None:
    gate = WarehouseGate()
    with gate.writing(timeout=1), pytest.raises(sl.WorkspaceBusy), gate.writing(timeout=0.05):
        pass


def test_run_server_refuses_a_folder_that_is_not_a_workspace(tmp_path: Path) -> None:
    with pytest.raises(sl.WorkspaceError, match="not a shoplens workspace"):
        run_server(tmp_path / "nowhere", port=0)


def test_access_log_never_shows_a_key() -> None:
    record = logging.LogRecord("uvicorn.access", logging.INFO, __file__, 1, '%s - "%s %s HTTP/%s" %d',
                               ("127.0.0.1:5", "GET", "/?key=sl_12345678_secret&x=1", "1.1", 303), None)
    RedactKeys().filter(record)
    assert "secret" not in record.getMessage() and "key=<redacted>&x=1" in record.getMessage()


@pytest.mark.parametrize(("given", "expected"), [
    ("orders.csv", "orders.csv"), ("../../etc/passwd", "passwd"), ("C:\\exports\\a b.jsonl.gz", "a_b.jsonl.gz"),
    ("..", "upload.csv"), (".bashrc", "bashrc"), (None, "upload.csv"),
    ("x" * 300 + ".jsonl.gz", "x" * 111 + ".jsonl.gz"),
])
def test_upload_names_are_made_safe(given: str | None, expected: str) -> None:
    assert safe_filename(given) == expected


def test_reads_during_an_upload_are_answered_or_503_never_500(ws: sl.Workspace, keys: Keys) -> None:
    """A real server: an upload and dashboard/API reads at once. DuckDB would refuse the read-only
    connections next to the writer with a ConnectionException; the gate turns that into a clean 503."""
    lines = "".join(f"B{i},C{i % 97},2024-01-{1 + i % 28:02d} 10:00:00,paid,{i % 50}.25\n" for i in range(60_000))
    statuses: list[int] = []
    with running_server(create_app(ws.path)) as url, httpx.Client(base_url=url, timeout=60) as http:
        done = threading.Event()

        def read_until_done() -> None:
            while not done.is_set():
                statuses.append(http.get("/api/v1/tables", headers=auth(keys.read)).status_code)
                statuses.append(http.get("/readyz").status_code)

        reader = threading.Thread(target=read_until_done)
        reader.start()
        try:
            answer = http.post("/api/v1/ingest/orders", headers=auth(keys.write),
                               files={"file": ("big.csv", ORDERS_CSV.encode() + lines.encode())})
        finally:
            done.set()
            reader.join()
    assert answer.status_code == 200 and answer.json()["loaded"] == ORDERS_LOADED + 60_000
    assert statuses and set(statuses) <= {200, 503}


def _key(key_id: str) -> KeyInfo:
    return KeyInfo(id=key_id, name=key_id, role=Role.read, created_at="2026-12-05T00:00:00+00:00")


def test_a_key_runs_one_heavy_computation_at_a_time() -> None:
    limits, started, release = ComputeLimits(budget_s=10, workers=4), threading.Event(), threading.Event()

    def blocked() -> str:
        started.set()
        release.wait(10)
        return "done"

    async def scenario() -> list[object]:
        first = asyncio.ensure_future(limits.run(_key("a"), "pricing/optimize", blocked))
        await asyncio.to_thread(started.wait, 10)
        outcomes: list[object] = []
        for key, heavy in (("a", True), ("a", False), ("b", True)):
            try:
                outcomes.append(await limits.run(_key(key), "reviews/predict", lambda: "ran", heavy=heavy))
            except KeyBusy as exc:
                outcomes.append(exc)
        release.set()
        outcomes.append(await first)
        outcomes.append(await limits.run(_key("a"), "reviews/predict", lambda: "free again"))
        return outcomes

    busy, light, other_key, first, after = asyncio.run(scenario())
    assert isinstance(busy, KeyBusy) and busy.retry_after_s == 10
    assert "'a' is already computing pricing/optimize" in str(busy) and "reviews/predict" in str(busy)
    assert (light, other_key, first, after) == ("ran", "ran", "done", "free again")


def test_past_its_budget_a_computation_is_refused_and_its_key_stays_busy_until_the_work_ends() -> None:
    limits, release, finished = ComputeLimits(budget_s=0.05, workers=1), threading.Event(), threading.Event()
    queued_ran = threading.Event()

    def slow() -> None:
        release.wait(10)
        finished.set()

    async def scenario() -> tuple[OverBudget, OverBudget, KeyBusy]:
        with pytest.raises(OverBudget) as late:
            await limits.run(_key("a"), "pricing/optimize", slow, narrow="a smaller max_change")
        with pytest.raises(OverBudget) as queued:  # the only worker is still busy: it waits, then gives up
            await limits.run(_key("b"), "reviews/predict", queued_ran.set)
        with pytest.raises(KeyBusy) as busy:
            await limits.run(_key("a"), "pricing/optimize", lambda: None)
        return late.value, queued.value, busy.value

    late, queued, busy = asyncio.run(scenario())
    assert "pricing/optimize did not finish within its budget of 0.05 s" in str(late)
    assert "reviews/predict did not finish" in str(queued) and "'a' is already computing" in str(busy)
    assert "ask for less (a smaller max_change)" in str(late) and late.retry_after_s == 1
    release.set()
    assert finished.wait(10)
    deadline = time.monotonic() + 10
    while True:  # the slot is given back by the worker thread as the work ends
        try:
            assert asyncio.run(limits.run(_key("a"), "pricing/optimize", lambda: "free")) == "free"
            break
        except KeyBusy:
            assert time.monotonic() < deadline
            time.sleep(0.01)
    assert not queued_ran.is_set()  # work whose budget ran out before it started never runs
