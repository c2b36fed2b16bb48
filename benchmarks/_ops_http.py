"""The load and soak parts' client and servers: a minimal HTTP/1.1 keep-alive client on asyncio streams (the
lightest Python client, so that on a 2-core machine the client takes as little as possible from the service
it measures), the request mix, the real ``shoplens serve`` and the bare FastAPI endpoint as child processes.

    python benchmarks/_ops_http.py bare PORT     # the bare app alone (what the load part starts)

The bare app answers a constant JSON and is served by uvicorn with the settings of ``shoplens serve``
(``shoplens.serve.run_server``: one process, log level info with the access log, no server header).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from _loopback import child, child_env, free_port

KINDS = ("recommend", "analytics", "forecast", "reviews")
MIX = {"recommend": 0.35, "analytics": 0.35, "forecast": 0.15, "reviews": 0.15}
ANALYTICS_READS = ("/api/v1/analytics/kpis?grain=day&limit=100",
                   "/api/v1/analytics/kpis?grain=month&dimension=category",
                   "/api/v1/analytics/rfm/segments",
                   "/api/v1/analytics/rfm/customers?limit=50&offset={offset}",
                   "/api/v1/analytics/churn?limit=50",
                   "/api/v1/analytics/clv?limit=50&offset={offset}",
                   "/api/v1/analytics/cohorts?limit=100")
REQUEST_TIMEOUT_S = 30.0


@dataclass(frozen=True)
class Request:
    kind: str
    method: str
    path: str
    body: bytes = b""


@dataclass
class Outcome:
    kind: str
    ms: float
    status: int  # 0: no answer (connection error or timeout)


# -- the request mix -------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ShopIds:
    """What the requests name: customers with orders, forecast series, review texts (English and Chinese)."""

    customers: list[str]
    series: list[str]
    reviews: list[str]
    rfm_rows: int

    @classmethod
    def read(cls, ws_path: Path) -> ShopIds:
        import shoplens as sl

        ws = sl.Workspace.open(ws_path)
        customers = ws.sql("SELECT DISTINCT customer_id FROM orders WHERE customer_id IS NOT NULL "
                           "ORDER BY hash(customer_id), customer_id LIMIT 5000")["customer_id"].tolist()
        series = ws.sql("SELECT DISTINCT unique_id FROM forecast_daily ORDER BY unique_id")["unique_id"].tolist()
        reviews = ws.sql("SELECT body FROM reviews WHERE body IS NOT NULL AND length(body) > 0 "
                         "ORDER BY hash(review_id), review_id LIMIT 2000")["body"].tolist()
        rfm_rows = int(ws.sql("SELECT count(*) AS n FROM analytics_rfm")["n"].iloc[0])
        if not (customers and series and reviews):
            raise SystemExit(f"the workspace {ws_path} lacks customers, forecast series or reviews")
        return cls(customers, [str(s) for s in series], reviews, rfm_rows)


def request_mix(ids: ShopIds, n: int, seed: int) -> list[Request]:
    """``n`` requests drawn with the MIX shares (fixed by ``seed``)."""
    rng = random.Random(seed)
    kinds = rng.choices(list(MIX), weights=list(MIX.values()), k=n)
    return [_request(kind, ids, rng) for kind in kinds]


def _request(kind: str, ids: ShopIds, rng: random.Random) -> Request:
    if kind == "recommend":
        return Request(kind, "GET", f"/api/v1/recommend/customers/{rng.choice(ids.customers)}?k=10")
    if kind == "analytics":
        offset = rng.randrange(max(1, ids.rfm_rows - 50))
        return Request(kind, "GET", rng.choice(ANALYTICS_READS).format(offset=offset))
    if kind == "forecast":
        return Request(kind, "GET", f"/api/v1/forecast/{rng.choice(ids.series)}")
    body = json.dumps({"texts": [rng.choice(ids.reviews)]}, ensure_ascii=False).encode()
    return Request(kind, "POST", "/api/v1/reviews/predict", body)


# -- the client ---------------------------------------------------------------------------------------------
class Connection:
    """One keep-alive HTTP/1.1 connection with its own key; reconnects after an error or ``Connection: close``."""

    def __init__(self, port: int, key: str) -> None:
        self.port, self.key = port, key
        self._streams: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None = None

    async def send(self, request: Request) -> int:
        """The status of the answer (its body read whole), 0 when none came."""
        try:
            return await asyncio.wait_for(self._exchange(request), REQUEST_TIMEOUT_S)
        except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, TimeoutError, ValueError):
            await self.close()
            return 0

    async def _exchange(self, request: Request) -> int:
        if self._streams is None:
            self._streams = await asyncio.open_connection("127.0.0.1", self.port)
        reader, writer = self._streams
        head = (f"{request.method} {request.path} HTTP/1.1\r\nHost: 127.0.0.1:{self.port}\r\n"
                f"Authorization: Bearer {self.key}\r\n")
        if request.body:
            head += f"Content-Type: application/json\r\nContent-Length: {len(request.body)}\r\n"
        writer.write(head.encode() + b"\r\n" + request.body)
        await writer.drain()
        status_line, *lines = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1").split("\r\n")
        headers = dict(line.lower().split(": ", 1) for line in lines if ": " in line)
        if "content-length" in headers:
            await reader.readexactly(int(headers["content-length"]))
        elif headers.get("transfer-encoding") == "chunked":
            await _read_chunks(reader)
        if headers.get("connection") == "close":
            await self.close()
        return int(status_line.split()[1])

    async def close(self) -> None:
        if self._streams is not None:
            writer = self._streams[1]
            self._streams = None
            writer.close()
            with contextlib.suppress(OSError):
                await writer.wait_closed()


async def _read_chunks(reader: asyncio.StreamReader) -> None:
    while True:
        size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
        await reader.readexactly(size + 2)
        if size == 0:
            return


async def closed_loop(port: int, keys: list[str], requests: list[Request], concurrency: int,
                      label: str = "") -> tuple[list[Outcome], float]:
    """Every request, ``concurrency`` at a time (each connection sends its next as soon as it has an answer);
    the outcomes and the wall seconds. Prints progress every tenth."""
    queue = iter(requests)
    outcomes: list[Outcome] = []
    step = max(1, len(requests) // 10)

    async def worker(connection: Connection) -> None:
        for request in queue:
            started = time.perf_counter()
            status = await connection.send(request)
            outcomes.append(Outcome(request.kind, (time.perf_counter() - started) * 1000, status))
            if label and len(outcomes) % step == 0:
                print(f"  {label}: {len(outcomes):,}/{len(requests):,}", flush=True)
        await connection.close()

    started = time.perf_counter()
    await asyncio.gather(*(worker(Connection(port, keys[i % len(keys)])) for i in range(concurrency)))
    return outcomes, time.perf_counter() - started


async def open_loop(port: int, keys: list[str], requests: list[Request], rate: float, connections: int,
                    on_tick: Any = None, tick_s: float = 30.0) -> list[Outcome]:
    """Request ``i`` is due at ``i / rate`` s whatever the answers (open loop); its time runs from when it was
    due, so waiting for a free connection counts (one not sent within REQUEST_TIMEOUT_S is an error).
    ``on_tick(elapsed, outcomes)`` every ``tick_s``."""
    idle: asyncio.Queue[Connection] = asyncio.Queue()
    for i in range(connections):
        idle.put_nowait(Connection(port, keys[i % len(keys)]))
    outcomes: list[Outcome] = []
    start = time.perf_counter()

    async def one(request: Request, due: float) -> None:
        connection = await idle.get()
        try:
            # a client gives up on a request it could not even send within the timeout (an error), so an
            # overloaded service cannot pile up a backlog that outlasts the run
            late = time.perf_counter() - due > REQUEST_TIMEOUT_S
            status = 0 if late else await connection.send(request)
        finally:
            idle.put_nowait(connection)
        outcomes.append(Outcome(request.kind, (time.perf_counter() - due) * 1000, status))

    tasks, next_tick = [], start + tick_s
    for i, request in enumerate(requests):
        due = start + i / rate
        await asyncio.sleep(max(0.0, due - time.perf_counter()))
        tasks.append(asyncio.create_task(one(request, due)))
        if on_tick is not None and time.perf_counter() >= next_tick:
            on_tick(time.perf_counter() - start, outcomes)
            next_tick += tick_s
    await asyncio.gather(*tasks)
    while not idle.empty():
        await idle.get_nowait().close()
    return outcomes


# -- figures ----------------------------------------------------------------------------------------------------
def summary(outcomes: list[Outcome]) -> dict[str, float | int]:
    """p50/p95/p99 (ms) of every request's time, and the errors (any answer but 200, or none)."""
    if not outcomes:
        return {"requests": 0, "errors": 0}
    ms = np.array([o.ms for o in outcomes])
    return {"requests": len(outcomes), "errors": sum(o.status != 200 for o in outcomes),
            "p50_ms": round(float(np.percentile(ms, 50)), 2), "p95_ms": round(float(np.percentile(ms, 95)), 2),
            "p99_ms": round(float(np.percentile(ms, 99)), 2)}


def by_kind(outcomes: list[Outcome]) -> dict[str, list[Outcome]]:
    grouped: dict[str, list[Outcome]] = {kind: [] for kind in {o.kind for o in outcomes}}
    for outcome in outcomes:
        grouped[outcome.kind].append(outcome)
    return grouped


def error_statuses(outcomes: list[Outcome]) -> dict[str, int]:
    return dict(Counter(f"{o.kind} {o.status or 'no answer'}" for o in outcomes if o.status != 200))


# -- servers ------------------------------------------------------------------------------------------------------
def bare_app() -> Any:
    from fastapi import FastAPI

    app = FastAPI()

    @app.get("/bare")
    def bare() -> dict[str, Any]:
        return {"ok": True, "items": [1, 2, 3]}

    return app


def serve_bare(port: int) -> None:
    import uvicorn

    # shoplens.serve.run_server's uvicorn settings
    uvicorn.Server(uvicorn.Config(bare_app(), host="127.0.0.1", port=port, log_level="info",
                                  server_header=False)).run()


@dataclass
class Service:
    process: subprocess.Popen
    port: int
    log: Path
    extra: dict[str, Any] = field(default_factory=dict)


@contextlib.contextmanager
def service(command: list[str], port: int, log: Path, ready_path: str = "/healthz") -> Iterator[Service]:
    """A server child process (output to ``log``), once ``ready_path`` answers 200; terminated at the end."""
    import httpx

    with open(log, "ab") as out:
        process = subprocess.Popen(command, env=child_env(), stdout=out, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 300
        while True:
            if process.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"the server did not start (exit {process.poll()}); see {log}")
            with contextlib.suppress(httpx.TransportError):
                if httpx.get(f"http://127.0.0.1:{port}{ready_path}", timeout=2).status_code == 200:
                    break
            time.sleep(0.3)
        yield Service(process, port, log)
    finally:
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(30)


def shoplens_service(ws_path: Path, log: Path) -> contextlib.AbstractContextManager[Service]:
    """The real ``shoplens serve`` on the workspace."""
    port = free_port()
    command = [sys.executable, "-m", "shoplens.cli", "serve", "--workspace", str(ws_path), "--port", str(port)]
    # traffic once the start-up warm-up has loaded every model, as a load balancer pointed at this would send it
    return service(command, port, log, ready_path="/readyz?warm=true")


def bare_service(log: Path) -> contextlib.AbstractContextManager[Service]:
    port = free_port()
    return service(child(__file__, "bare", str(port)), port, log, ready_path="/bare")


def read_keys(ws_path: Path, n: int) -> list[str]:
    """``n`` read keys (one per connection: a key runs one heavy computation at a time, as each client would),
    created once and kept beside the workspace (a key is shown only when it is created)."""
    store = ws_path.parent / "read_keys.json"
    keys: list[str] = json.loads(store.read_text(encoding="utf-8")) if store.exists() else []
    if len(keys) < n:
        import shoplens as sl
        from shoplens.serve import create_key

        ws = sl.Workspace.open(ws_path)
        keys += [create_key(ws, "read", f"operations-benchmark-{i}") for i in range(len(keys), n)]
        store.write_text(json.dumps(keys), encoding="utf-8")
    return keys[:n]


def rss_mb(pid: int) -> float:
    """Resident memory of a process now (VmRSS, /proc)."""
    for line in Path(f"/proc/{pid}/status").read_text(encoding="ascii").splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS for process {pid}")


if __name__ == "__main__":
    if sys.argv[1:2] == ["bare"]:
        serve_bare(int(sys.argv[2]))
    else:
        raise SystemExit(__doc__)
