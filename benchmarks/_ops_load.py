"""operations / load: mixed read requests to the real service over loopback, beside a bare FastAPI endpoint.

Protocol:

- Data: the mid-size simulated shop trained by ``shoplens run --profile demo`` (benchmarks/_ops_shop.py; the
  figures part leaves it, and this part builds it the same way when it is absent). ``--quick``: a 500-customer shop.
- Ours: the real ``shoplens serve`` as a child process (FastAPI under uvicorn, one process, its default settings).
- Reference: a bare FastAPI app answering a constant JSON, served by uvicorn with the same settings
  (``benchmarks/_ops_http.py``), loaded by the same client in the same run: what HTTP, uvicorn and FastAPI cost
  on this machine before any shoplens work.
- Load: 20,000 requests (``--quick``: 1,200) in 3 rounds, each round first to ours then the same number to the
  bare app; 32 keep-alive connections, closed loop (each sends its next request when its answer is in); each
  connection has its own read key (32 clients: a key runs one heavy computation at a time). The mix, fixed by a
  seed: 35 % recommendations (``GET /api/v1/recommend/customers/{id}``, customers with orders), 35 % analytics
  reads (KPIs per day and per week and category, RFM segments and pages of customers, churn, CLV, cohorts), 15 %
  forecasts (``GET /api/v1/forecast/{series}``), 15 % review scoring (``POST /api/v1/reviews/predict``, one
  review text of the shop, English or Chinese). 200 requests of the same mix warm the service up first.
- Client: a minimal asyncio HTTP/1.1 client (benchmarks/_ops_http.py) in this process; time per request from
  sending to the last byte of the answer. An error is any answer but 200, or none within 30 s.
- Reported per kind and overall: p50, p95, p99 (the median of the three rounds' percentiles), errors, requests;
  overall also requests/s, the service's CPU time per request (/proc) and the ratios of our p50 and p99 to the
  bare app's; per kind also the service's CPU time per request, measured after the rounds with 200 requests of
  that kind alone. The machine's cores and load average at the start are in the notes.
- Gate: p99 ≤ 50 ms for recommendations and analytics reads, and zero errors.
"""

from __future__ import annotations

import asyncio
import os
import statistics
import time
from typing import Any

import _ops_http as http
from _loopback import cpu_seconds
from _ops_shop import dataset_name, shop_counts, shop_files, size, trained_workspace

ROUNDS = 3
WARMUP = 200
COST_REQUESTS = 200  # per kind, for the service's CPU time per request of each kind
GATE_P99_MS = 50.0
GATED_KINDS = ("recommend", "analytics")
MODEL = "shoplens-serve"


def _rounds(ours: http.Service, bare: http.Service, keys: list[str], mix: list[http.Request],
            concurrency: int) -> dict[str, Any]:
    """Each round: its share of the mix to ours, then as many bare requests; outcomes and seconds per round."""
    per_round = len(mix) // ROUNDS
    found: dict[str, Any] = {"ours": [], "bare": [], "ours_s": [], "bare_s": []}
    for r in range(ROUNDS):
        share = mix[r * per_round:(r + 1) * per_round]
        for name, service, requests in (("ours", ours, share), ("bare", bare, [http.Request("bare", "GET", "/bare")]
                                                                               * len(share))):
            outcomes, seconds = asyncio.run(http.closed_loop(service.port, keys, requests, concurrency,
                                                             label=f"round {r + 1}/{ROUNDS} {name}"))
            found[name].append(outcomes)
            found[f"{name}_s"].append(seconds)
            print(f"round {r + 1} {name}: {http.summary(outcomes)} in {seconds:.1f} s", flush=True)
    return found


def _cpu_per_kind(ours: http.Service, keys: list[str], ids: http.ShopIds, concurrency: int) -> dict[str, float]:
    """The service's CPU milliseconds per request of each kind alone (COST_REQUESTS of it, same concurrency):
    what each kind costs, whatever else the machine runs."""
    cost = {}
    for kind in http.KINDS:
        requests = [r for r in http.request_mix(ids, COST_REQUESTS * 8, seed=4) if r.kind == kind][:COST_REQUESTS]
        before = cpu_seconds(ours.process.pid)
        asyncio.run(http.closed_loop(ours.port, keys, requests, concurrency))
        cost[kind] = round((cpu_seconds(ours.process.pid) - before) * 1000 / len(requests), 2)
    print(f"service CPU ms per request, each kind alone: {cost}", flush=True)
    return cost


def _median_of_rounds(rounds: list[list[http.Outcome]]) -> dict[str, float | int]:
    """Percentiles: the median of the rounds'; requests and errors: their sums."""
    summaries = [http.summary(outcomes) for outcomes in rounds]
    merged: dict[str, float | int] = {"requests": sum(s["requests"] for s in summaries),
                                      "errors": sum(s["errors"] for s in summaries)}
    for key in ("p50_ms", "p95_ms", "p99_ms"):
        merged[key] = round(statistics.median(s[key] for s in summaries if key in s), 2)
    return merged


def run() -> tuple[list, list]:
    from shoplens.evaluation.records import BenchmarkRecord, Protocol

    chosen = size()
    ws_path, trained_by = trained_workspace(chosen)
    counts = shop_counts(shop_files(chosen))
    ids = http.ShopIds.read(ws_path)
    keys = http.read_keys(ws_path, chosen.load_concurrency)
    mix = http.request_mix(ids, chosen.load_requests, seed=0)
    logs = chosen.folder / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    load_average = os.getloadavg()[0]
    started = time.perf_counter()
    with http.shoplens_service(ws_path, logs / "load-serve.log") as ours, \
            http.bare_service(logs / "load-bare.log") as bare:
        warm, _ = asyncio.run(http.closed_loop(ours.port, keys, http.request_mix(ids, WARMUP, seed=1),
                                               chosen.load_concurrency))
        print(f"warm-up: {http.summary(warm)}; errors {http.error_statuses(warm) or 'none'}", flush=True)
        cpu_before = cpu_seconds(ours.process.pid)
        found = _rounds(ours, bare, keys, mix, chosen.load_concurrency)
        server_cpu = cpu_seconds(ours.process.pid) - cpu_before
        cpu_per_kind = _cpu_per_kind(ours, keys, ids, chosen.load_concurrency)
    seconds = time.perf_counter() - started
    ours_all = [o for outcomes in found["ours"] for o in outcomes]
    overall = _median_of_rounds(found["ours"])
    floor = _median_of_rounds(found["bare"])
    per_kind = {kind: _median_of_rounds([[o for o in outcomes if o.kind == kind] for outcomes in found["ours"]])
                for kind in http.KINDS}
    for kind, metrics in per_kind.items():
        metrics["server_cpu_ms_per_request"] = cpu_per_kind[kind]
    overall.update({
        "requests_per_s": round(statistics.median(len(o) / s for o, s in zip(found["ours"], found["ours_s"],
                                                                             strict=True)), 1),
        "server_cpu_ms_per_request": round(server_cpu * 1000 / len(ours_all), 2),
        "p50_ratio_vs_bare": round(overall["p50_ms"] / floor["p50_ms"], 2),
        "p99_ratio_vs_bare": round(overall["p99_ms"] / floor["p99_ms"], 2)})
    floor["requests_per_s"] = round(statistics.median(len(o) / s for o, s in zip(found["bare"], found["bare_s"],
                                                                                 strict=True)), 1)
    errors = http.error_statuses(ours_all)
    notes = (f"{len(ours_all):,} requests ({', '.join(f'{k} {v:.0%}' for k, v in http.MIX.items())}) to shoplens "
             f"serve and as many to a bare FastAPI endpoint (same uvicorn settings), {ROUNDS} rounds alternating, "
             f"{chosen.load_concurrency} keep-alive connections closed loop, one read key each; percentiles = median "
             f"of the rounds' (ours p99 per round: "
             f"{', '.join(str(http.summary(o)['p99_ms']) for o in found['ours'])} ms); warm-up {WARMUP}; shop "
             f"{counts}; trained by shoplens run --profile demo at commit {trained_by[:12]}; {os.cpu_count()} cores, "
             f"load average {load_average:.1f} at the start; errors: {errors or 'none'}")
    protocol = Protocol(split="none", seed=0, notes=notes)
    dataset = dataset_name()

    def record(variant: str, model: str, role: str, metrics: dict[str, Any]) -> BenchmarkRecord:
        return BenchmarkRecord.create(benchmark="operations", dataset=dataset, variant=variant, model=model,
                                      role=role, protocol=protocol, metrics=metrics, seconds=round(seconds, 1))

    records = [record("load_all", MODEL, "ours", overall), record("load_all", "fastapi-bare", "reference", floor)]
    records += [record(f"load_{kind}", MODEL, "ours", metrics) for kind, metrics in per_kind.items()]
    slow = {k: per_kind[k]["p99_ms"] for k in GATED_KINDS}
    gates = [(f"load: p99 ≤ {GATE_P99_MS:g} ms for recommend and analytics reads, zero errors",
              all(v <= GATE_P99_MS for v in slow.values()) and overall["errors"] == 0,
              f"p99 {slow} ms; errors {overall['errors']}; overall p99 {overall['p99_ms']} ms = "
              f"{overall['p99_ratio_vs_bare']} × bare")]
    return records, gates
