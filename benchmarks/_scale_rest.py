"""scale / simulator_events, variant rest: live events through the REST API over loopback HTTP.

Protocol:

- Serving: the real shoplens service (``run_server``: FastAPI under uvicorn, one process) on a fresh workspace,
  ``POST /api/v1/events`` with a write key; each request is one batch, appended in one DuckDB transaction.
- Load: ``RATE`` events/s for ``SECONDS`` s, in batches of ``BATCH`` events sent on a fixed schedule (open loop:
  a batch is due every BATCH/RATE s whatever the answers) by ``CLIENTS`` keep-alive connections; 1 in 20 batches is
  sent a second time (a client retry after a lost answer), so duplicates are part of the load. Events are a
  simulated click stream stamped with the send time (sessions of views, carts, purchases with a price).
- Reading while writing: the dashboard's live read (``GET /api/v1/events/live?minutes=15``) every 2 s, as the tile
  does; its answers and failures are counted.
- Checks: zero lost (every distinct event id sent is stored), zero double-counted (no event id stored twice, and
  accepted over all answers = distinct ids), the live totals equal to a DuckDB count of the same minutes.
- Reported: achieved events/s, p50 and p99 of the client-side time per batch (send to answer), the live read's
  p99, and the service process's CPU time per 1,000 events (from /proc: independent of other work on the
  machine). The machine has 2 cores shared with other work: the load average at the start is in the notes.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import numpy as np

from _loopback import child, child_env, cpu_seconds, free_port

RATE = int(os.environ.get("SCALE_REST_RATE", 1000))
SECONDS = int(os.environ.get("SCALE_REST_SECONDS", 120))
BATCH = 100
CLIENTS = 16
RESEND_EVERY = 20
DATASET = "simulator_events"


def serve(workspace: str, port: str) -> None:
    from shoplens.serve import run_server

    run_server(workspace, port=int(port), log_level="warning")


def events_of(batch_no: int, sent_at: float) -> list[dict[str, Any]]:
    """One batch of a simulated stream: sessions of 5 events (view, view, cart, view, purchase at 12.50 × 1–3)."""
    stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(sent_at)) + f".{int(sent_at % 1 * 1e6):06d}Z"
    kinds = ("view", "view", "add_to_cart", "view", "purchase")
    found = []
    for i in range(BATCH):
        event = {"event_id": f"b{batch_no}-{i}", "session_id": f"s{batch_no}-{i // 5}", "event_type": kinds[i % 5],
                 "event_ts": stamp, "product_id": f"P{(batch_no * 7 + i) % 300}"}
        if event["event_type"] == "purchase":
            event.update(price=12.5, quantity=1 + i % 3)
        found.append(event)
    return found


def start_service(folder: Path) -> tuple[subprocess.Popen, str]:
    port = free_port()
    process = subprocess.Popen(child(__file__, "serve", str(folder), str(port)), env=child_env())
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while True:
        if process.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError("the service did not start")
        try:
            if httpx.get(url + "/healthz", timeout=2).status_code == 200:
                return process, url
        except httpx.TransportError:
            time.sleep(0.2)


def load(url: str, key: str) -> dict[str, Any]:
    """Send the batches on schedule; returns per-batch latencies, answers and the live reads."""
    interval = BATCH / RATE
    n_batches = int(SECONDS / interval)
    headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/x-ndjson"}
    latencies: list[float] = []
    answers: list[dict[str, Any]] = []
    failures: list[str] = []
    live: dict[str, list] = {"seconds": [], "failures": []}
    done = threading.Event()
    local = threading.local()

    def client() -> httpx.Client:
        if not hasattr(local, "client"):
            local.client = httpx.Client(timeout=60)
        return local.client

    def send(batch_no: int, due: float) -> None:
        time.sleep(max(0.0, due - time.monotonic()))
        body = "\n".join(json.dumps(e) for e in events_of(batch_no % n_batches, time.time()))
        started = time.perf_counter()
        response = client().post(url + "/api/v1/events", content=body, headers=headers)
        latencies.append(time.perf_counter() - started)
        (answers.append(response.json()) if response.status_code == 200
         else failures.append(f"{response.status_code} {response.text[:200]}"))

    def read_live() -> None:
        with httpx.Client(timeout=30) as reader:
            while not done.wait(2.0):
                started = time.perf_counter()
                response = reader.get(url + "/api/v1/events/live", params={"minutes": 15},
                                      headers={"Authorization": headers["Authorization"]})
                live["seconds"].append(time.perf_counter() - started)
                if response.status_code != 200:
                    live["failures"].append(response.status_code)

    reader = threading.Thread(target=read_live, daemon=True)
    reader.start()
    started = time.monotonic()
    schedule = [(b, started + b * interval) for b in range(n_batches)]
    resends = [(b, started + (b + 1.5) * interval) for b in range(0, n_batches, RESEND_EVERY)]
    with ThreadPoolExecutor(CLIENTS) as pool:
        list(pool.map(lambda item: send(*item), sorted(schedule + resends, key=lambda item: item[1])))
    elapsed = time.monotonic() - started
    done.set()
    reader.join(10)
    return {"latencies": latencies, "answers": answers, "failures": failures, "live": live, "elapsed": elapsed,
            "batches": n_batches, "resent": len(resends)}


def run() -> tuple[list, list]:
    import shoplens as sl
    from shoplens.evaluation.records import BenchmarkRecord, Protocol
    from shoplens.serve import create_key

    load_average = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="scale-rest-") as folder:
        ws = sl.Workspace.init(Path(folder) / "ws", name="rest events")
        key = create_key(ws, "write", "benchmark")
        process, url = start_service(ws.path)
        try:
            cpu_before = cpu_seconds(process.pid)
            result = load(url, key)
            server_cpu = cpu_seconds(process.pid) - cpu_before
            live_answer = httpx.get(url + "/api/v1/events/live", params={"minutes": 15},
                                    headers={"Authorization": f"Bearer {key}"}, timeout=30).json()
        finally:
            process.terminate()
            process.wait(30)
        stored = ws.sql("SELECT count(*) AS n, count(DISTINCT event_id) AS ids FROM events").iloc[0]
        counted = ws.sql("SELECT count(*) AS views FROM events WHERE event_type = 'view' AND event_ts >= ? "
                         "AND event_ts < ?", [live_answer["start"], live_answer["end"]]).iloc[0]
    sent = result["batches"] * BATCH
    accepted = sum(a["accepted"] for a in result["answers"])
    latencies = np.array(result["latencies"]) * 1000
    metrics = {
        "events_per_s": round(sent / result["elapsed"], 1),
        # the service's CPU time per 1,000 events sent (checking, appending, the live reads): what a core can
        # take whatever else the machine runs
        "server_cpu_ms_per_1000_events": round(server_cpu * 1000 / (sent / 1000), 1),
        "append_p50_ms": round(float(np.percentile(latencies, 50)), 1),
        "append_p99_ms": round(float(np.percentile(latencies, 99)), 1),
        "lost": sent - int(stored["ids"]),
        "double_counted": int(stored["n"]) - int(stored["ids"]) + (accepted - int(stored["ids"])),
        "failed_requests": len(result["failures"]),
        "live_read_p99_ms": round(float(np.percentile(np.array(result["live"]["seconds"]) * 1000, 99)), 1)
        if result["live"]["seconds"] else None,
        "live_read_failures": len(result["live"]["failures"]),
        "live_equals_warehouse": int(live_answer["totals"]["views"] == int(counted["views"])),
    }
    notes = (f"{RATE} events/s for {SECONDS} s in batches of {BATCH} over {CLIENTS} keep-alive connections, open "
             f"loop; 1 batch in {RESEND_EVERY} resent ({result['resent']} batches); live read every 2 s; "
             f"load average at start {load_average:.1f} on {os.cpu_count()} cores; failures: "
             f"{sorted(set(result['failures']))[:3]}")
    record = BenchmarkRecord.create(benchmark="scale", dataset=DATASET, variant="rest", model="shoplens-serve-events",
                                    role="ours", protocol=Protocol(split="none", notes=notes), metrics=metrics,
                                    seconds=round(result["elapsed"], 1))
    gates = [("REST: zero lost, zero double-counted", metrics["lost"] == 0 and metrics["double_counted"] == 0,
              f"lost {metrics['lost']}, double-counted {metrics['double_counted']}, p99 {metrics['append_p99_ms']} ms")]
    print(json.dumps({"metrics": metrics, "median_ms": statistics.median(latencies.tolist())}), flush=True)
    return [record], gates


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "serve":
        serve(sys.argv[2], sys.argv[3])
    else:
        from _parts import run_parts

        sys.exit(run_parts("scale", ("rest",), __doc__))
