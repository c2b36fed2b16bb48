"""The operations benchmark's own machinery (benchmarks/_ops_http.py, _ops_shop.py), whose figures depend on it:
the HTTP client reads every answer whole (sized and chunked) over kept-alive connections and counts every
non-200 answer as an error; the open loop keeps its schedule; the click log is cut at whole sessions."""

from __future__ import annotations

import asyncio
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
from fastapi import FastAPI
from fastapi.responses import JSONResponse, StreamingResponse

from tests.serve.conftest import running_server

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"


@pytest.fixture(scope="module")
def ops(request: pytest.FixtureRequest):
    sys.path.insert(0, str(BENCHMARKS))
    request.addfinalizer(lambda: sys.path.remove(str(BENCHMARKS)))
    import _ops_http
    import _ops_shop

    return _ops_http, _ops_shop


def make_app() -> FastAPI:
    app = FastAPI()
    seen: list[str] = []

    @app.get("/sized/{n}")
    def sized(n: int, authorization: str = "") -> dict:
        return {"items": list(range(n))}

    @app.get("/chunked")
    def chunked() -> StreamingResponse:
        return StreamingResponse(iter([b"a" * 70_000, b"b" * 3, b"c" * 5000]), media_type="text/plain")

    @app.post("/echo")
    def echo(body: dict) -> dict:
        seen.append(body["text"])
        return {"length": len(body["text"])}

    @app.get("/refused")
    def refused() -> JSONResponse:
        return JSONResponse({"detail": "busy"}, status_code=503)

    app.state.seen = seen
    return app


def test_closed_loop_reads_every_answer_and_counts_errors(ops) -> None:
    http, _ = ops
    app = make_app()
    requests = [http.Request("sized", "GET", f"/sized/{n}") for n in (1, 5_000, 3)] * 20
    requests += [http.Request("chunked", "GET", "/chunked")] * 10
    requests += [http.Request("echo", "POST", "/echo", '{"text": "质量很好"}'.encode())] * 10
    requests += [http.Request("refused", "GET", "/refused")] * 7 + [http.Request("missing", "GET", "/nowhere")] * 3
    with running_server(app) as url:
        port = int(url.rsplit(":", 1)[1])
        outcomes, seconds = asyncio.run(http.closed_loop(port, ["key-a", "key-b"], requests, concurrency=4))
    assert len(outcomes) == len(requests) and seconds > 0
    statuses = {kind: {o.status for o in found} for kind, found in http.by_kind(outcomes).items()}
    assert statuses == {"sized": {200}, "chunked": {200}, "echo": {200}, "refused": {503}, "missing": {404}}
    assert app.state.seen == ["质量很好"] * 10
    summary = http.summary(outcomes)
    assert summary["requests"] == 90 and summary["errors"] == 10
    assert 0 < summary["p50_ms"] <= summary["p95_ms"] <= summary["p99_ms"]
    assert http.error_statuses(outcomes) == {"refused 503": 7, "missing 404": 3}


def test_open_loop_keeps_its_schedule_and_times_from_when_a_request_was_due(ops) -> None:
    http, _ = ops
    ticks: list[int] = []
    with running_server(make_app()) as url:
        port = int(url.rsplit(":", 1)[1])
        started = time.perf_counter()
        outcomes = asyncio.run(http.open_loop(port, ["k"], [http.Request("sized", "GET", "/sized/2")] * 40,
                                              rate=20.0, connections=4,
                                              on_tick=lambda _, done: ticks.append(len(done)), tick_s=0.5))
        elapsed = time.perf_counter() - started
    assert len(outcomes) == 40 and all(o.status == 200 for o in outcomes)
    assert 1.9 <= elapsed < 10  # 40 requests due over 1.95 s
    assert ticks and ticks == sorted(ticks)


def test_a_refused_connection_is_an_error_not_a_crash(ops) -> None:
    http, _ = ops
    from _loopback import free_port

    outcomes, _ = asyncio.run(http.closed_loop(free_port(), ["k"], [http.Request("x", "GET", "/")] * 3, 2))
    assert [o.status for o in outcomes] == [0, 0, 0]


def test_recent_events_keeps_whole_sessions_of_the_latest_events(ops) -> None:
    _, shop = ops
    ts = pd.to_datetime("2024-01-01", utc=True) + pd.to_timedelta(range(100), unit="h")
    events = pd.DataFrame({"event_id": range(100), "session_id": [f"S{i // 4}" for i in range(100)],
                           "event_ts": ts})
    kept = shop.recent_events(events, 30)
    sessions = kept.groupby("session_id").size()
    assert (sessions == 4).all()  # no session cut in two
    assert kept["event_ts"].min() >= events["event_ts"].iloc[70] and 26 <= len(kept) <= 30
    assert kept["event_ts"].max() == events["event_ts"].max()
    assert shop.recent_events(events, 500) is events
