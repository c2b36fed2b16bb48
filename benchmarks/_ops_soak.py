"""operations / soak: the real service under a steady request rate for 10 minutes; errors and memory growth.

Protocol:

- Data and service: as the load part (the trained mid-size shop, ``shoplens serve`` as a child process).
- Load: 50 requests/s for 600 s (``--quick``: 30 s), open loop (request ``i`` is due at ``i / 50`` s whatever the
  answers; its time runs from when it was due, so a slow service cannot slow the load down), the load part's mix
  (another seed), over a pool of 32 keep-alive connections with a read key each. 200 requests warm the service up
  first (models loaded, caches filled).
- Memory: the service process's resident memory (VmRSS, /proc) after the warm-up ("start") and after the last
  answer ("end"), and every 30 s in between (the largest is reported); growth = end / start − 1.
- Reported: requests, errors (any answer but 200, or none within 30 s), p50 and p99 of the time per request,
  resident memory at start, end and peak, growth.
- Gate: zero errors and growth ≤ 10 %.
"""

from __future__ import annotations

import asyncio
import os
import time

import _ops_http as http
from _ops_shop import dataset_name, size, trained_workspace

WARMUP = 200
CONNECTIONS = 32
GATE_GROWTH = 0.10


def run() -> tuple[list, list]:
    from shoplens.evaluation.records import BenchmarkRecord, Protocol

    chosen = size()
    ws_path, trained_by = trained_workspace(chosen)
    ids = http.ShopIds.read(ws_path)
    keys = http.read_keys(ws_path, CONNECTIONS)
    mix = http.request_mix(ids, int(chosen.soak_seconds * chosen.soak_rate), seed=2)
    logs = chosen.folder / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    load_average = os.getloadavg()[0]
    tick_s = 30.0 if chosen.soak_seconds >= 300 else 10.0
    with http.shoplens_service(ws_path, logs / "soak-serve.log") as ours:
        pid = ours.process.pid
        warm, _ = asyncio.run(http.closed_loop(ours.port, keys, http.request_mix(ids, WARMUP, seed=3), CONNECTIONS))
        print(f"warm-up: {http.summary(warm)}", flush=True)
        samples = [http.rss_mb(pid)]

        def tick(elapsed: float, outcomes: list[http.Outcome]) -> None:
            samples.append(http.rss_mb(pid))
            errors = sum(o.status != 200 for o in outcomes)
            print(f"soak {elapsed:.0f}/{chosen.soak_seconds} s: {len(outcomes):,} answers, {errors} errors, "
                  f"RSS {samples[-1]:.0f} MB (start {samples[0]:.0f})", flush=True)

        started = time.perf_counter()
        outcomes = asyncio.run(http.open_loop(ours.port, keys, mix, chosen.soak_rate, CONNECTIONS, tick, tick_s))
        seconds = time.perf_counter() - started
        samples.append(http.rss_mb(pid))
    start_mb, end_mb = samples[0], samples[-1]
    summary = http.summary(outcomes)
    metrics = {"requests": summary["requests"], "errors": summary["errors"], "p50_ms": summary["p50_ms"],
               "p99_ms": summary["p99_ms"], "requests_per_s": round(len(outcomes) / seconds, 1),
               "rss_start_mb": round(start_mb, 1), "rss_end_mb": round(end_mb, 1),
               "rss_peak_mb": round(max(samples), 1), "rss_growth": round(end_mb / start_mb - 1, 4)}
    notes = (f"{chosen.soak_rate:g} requests/s for {chosen.soak_seconds} s, open loop, the load part's mix "
             f"({', '.join(f'{k} {v:.0%}' for k, v in http.MIX.items())}, seed 2) over {CONNECTIONS} keep-alive "
             f"connections with a read key each; resident memory of the service process after a {WARMUP}-request "
             f"warm-up and after the last answer, sampled every {tick_s:g} s: "
             f"{', '.join(f'{s:.0f}' for s in samples)} MB; trained by shoplens run --profile demo at commit "
             f"{trained_by[:12]}; {os.cpu_count()} cores, load average {load_average:.1f} at the start; errors: "
             f"{http.error_statuses(outcomes) or 'none'}")
    record = BenchmarkRecord.create(benchmark="operations", dataset=dataset_name(), variant="soak",
                                    model="shoplens-serve", role="ours", protocol=Protocol(split="none", seed=2,
                                                                                           notes=notes),
                                    metrics=metrics, seconds=round(seconds, 1), peak_mb=round(max(samples), 1))
    gates = [(f"soak: zero errors, resident memory growth ≤ {GATE_GROWTH:.0%}",
              metrics["errors"] == 0 and metrics["rss_growth"] <= GATE_GROWTH,
              f"{metrics['errors']} errors in {metrics['requests']:,} requests; RSS {start_mb:.0f} → {end_mb:.0f} MB "
              f"({metrics['rss_growth']:+.1%})")]
    return [record], gates
