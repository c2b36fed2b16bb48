"""operations / figures: time to every decision on the mid-size shop, and the speed figures the issue cites.

Protocol:

- Measured: ``shoplens run --profile demo`` (the fast profile: ``demo`` settings, every capability) as a child
  process on a fresh workspace holding the mid-size simulated shop's days before its last (benchmarks/_ops_shop.py;
  the data are ingested first, outside the timing: ``shoplens run`` starts from the warehouse) → wall seconds,
  seconds per stage, the run process's peak resident memory. Then the last day of the shop (its orders, lines,
  events, reviews, stock counts, new customers and products) is ingested, and the same command runs again on the
  same workspace → ``run_incremental_seconds``: what a daily rerun costs (``shoplens run`` is incremental by
  default: the models the first run deployed are kept and score the new rows; docs/operations.md, "Daily runs").
  ``--quick``: a 500-customer shop.
  The workspace both runs leave is kept as the one the load and soak parts serve.
- Cited, not re-measured (their own benchmarks measure them, each with its reference in the same run): the
  ingest speed ratio to ``pandas.read_csv(engine="pyarrow")`` (``speed_ratio_vs_pandas`` of
  ``benchmarks/results/ingest.json``) and the Chinese review scoring speed (the fastest ``reviews_per_s`` of our
  models on ``online_shopping_10_cats`` in ``benchmarks/results/reviews.json``); the notes name the records.
- Gates (issue 14): fast run < 600 s, incremental run < 120 s, ingest ≥ 0.5 × the bare parse, Chinese scoring
  ≥ 300 reviews/s.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from pathlib import Path
from typing import Any

from _ops_shop import (
    HERE,
    dataset_name,
    fresh_workspace,
    ingest_folder,
    keep_trained,
    shop_counts,
    shop_files,
    size,
    timed_run,
)

RESULTS = HERE / "results"
GATE_FAST_S = 600.0
GATE_INCREMENTAL_S = 120.0
GATE_INGEST_RATIO = 0.5
GATE_ZH_PER_S = 300.0
ZH_DATASET = "online_shopping_10_cats"


def _records(name: str) -> list[dict[str, Any]]:
    return json.loads((RESULTS / f"{name}.json").read_text(encoding="utf-8"))


def _cite(record: dict[str, Any]) -> str:
    return (f"{record['benchmark']}.json {record['dataset']}/{record['variant']}/{record['model']} "
            f"(commit {record['commit'][:8]}, {record['date'][:10]})")


def cited_figures() -> tuple[dict[str, float], list[str]]:
    """The ingest speed ratio (the newest of our ingest records that has one) and the fastest Chinese review
    scoring of our models, with where each comes from."""
    ingest = [r for r in _records("ingest") if r["role"] == "ours" and "speed_ratio_vs_pandas" in r["metrics"]]
    zh = [r for r in _records("reviews") if r["role"] == "ours" and r["dataset"] == ZH_DATASET
          and "reviews_per_s" in r["metrics"]]
    if not ingest or not zh:
        raise SystemExit("benchmarks/results/ingest.json or reviews.json lacks the cited figures: run "
                         "benchmarks/ingest.py and benchmarks/reviews.py first")
    newest = max(ingest, key=lambda r: r["date"])
    fastest = max(zh, key=lambda r: r["metrics"]["reviews_per_s"])
    figures = {"speed_ratio_vs_pandas": newest["metrics"]["speed_ratio_vs_pandas"],
               "zh_reviews_per_s": fastest["metrics"]["reviews_per_s"]}
    return figures, [f"speed_ratio_vs_pandas from {_cite(newest)}", f"zh_reviews_per_s from {_cite(fastest)}"]


def time_runs(work: Path) -> dict[str, Any]:
    """The timed fast run, the last day appended, the timed rerun; the workspace is kept for the service parts."""
    chosen = size()
    files = shop_files(chosen)
    ws_path, ingest_s = fresh_workspace(work / "ws", files)
    print(f"ingested the shop's days before the last in {ingest_s:.0f} s", flush=True)
    fast = timed_run(ws_path)
    append_s = ingest_folder(ws_path, files / "last_day")
    print(f"ingested the last day in {append_s:.1f} s", flush=True)
    incremental = timed_run(ws_path)
    if not fast.failed and not incremental.failed:
        keep_trained(ws_path, chosen)
    shutil.rmtree(work, ignore_errors=True)
    return {"fast": fast, "incremental": incremental, "ingest_s": ingest_s, "append_s": append_s,
            "counts": shop_counts(files)}


def run() -> tuple[list, list]:
    from shoplens.evaluation.records import BenchmarkRecord, Protocol

    cited, sources = cited_figures()  # before the long runs: a missing file fails at once
    started = time.perf_counter()
    timed = time_runs(size().folder / "work-figures")
    fast, incremental = timed["fast"], timed["incremental"]
    metrics = {"run_fast_seconds": fast.seconds, "run_incremental_seconds": incremental.seconds,
               "run_fast_peak_mb": fast.peak_mb, "run_incremental_peak_mb": incremental.peak_mb,
               "failed_steps": len(fast.failed) + len(incremental.failed), **cited}
    notes = (f"shoplens run --profile demo on the simulated shop {timed['counts']} less its last day (ingested "
             f"first in {timed['ingest_s']:.0f} s, not timed): {fast.seconds:.0f} s, per stage {fast.stages}; the "
             f"last day ingested ({timed['append_s']:.1f} s), the same command again: {incremental.seconds:.0f} s, "
             f"per stage {incremental.stages}; peak RSS of the run process {fast.peak_mb:.0f} / "
             f"{incremental.peak_mb:.0f} MB; failed steps: {fast.failed + incremental.failed or 'none'}; cited, not "
             f"re-measured: {'; '.join(sources)}; {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f} at "
             "the end")
    record = BenchmarkRecord.create(benchmark="operations", dataset=dataset_name(), variant="figures",
                                    model="shoplens-run-demo", role="ours", protocol=Protocol(split="none", seed=0,
                                                                                              notes=notes),
                                    metrics=metrics, seconds=round(time.perf_counter() - started, 1),
                                    peak_mb=max(fast.peak_mb, incremental.peak_mb))
    gates = [
        (f"figures: fast run < {GATE_FAST_S:g} s", fast.seconds < GATE_FAST_S and not fast.failed,
         f"{fast.seconds:.0f} s, failed steps {fast.failed or 'none'}"),
        (f"figures: incremental run < {GATE_INCREMENTAL_S:g} s",
         incremental.seconds < GATE_INCREMENTAL_S and not incremental.failed, f"{incremental.seconds:.0f} s"),
        (f"figures (cited): ingest ≥ {GATE_INGEST_RATIO} × pandas pyarrow parse",
         cited["speed_ratio_vs_pandas"] >= GATE_INGEST_RATIO, sources[0]),
        (f"figures (cited): Chinese review scoring ≥ {GATE_ZH_PER_S:g} reviews/s",
         cited["zh_reviews_per_s"] >= GATE_ZH_PER_S, sources[1]),
    ]
    return [record], gates
