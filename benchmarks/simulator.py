"""Simulator throughput: normal mode (orders/s, the whole shop with events and reviews) and bulk mode
(order lines/s to Parquet and CSV), printed as JSON and recorded in benchmarks/results/simulator.json.

    python benchmarks/simulator.py                 # 100,000 orders; 10,000,000 bulk lines (about 2 minutes)
    python benchmarks/simulator.py --quick         # 20,000 orders; 1,000,000 lines → benchmarks/.work/results/

Every speed is the median of at least three runs. Its reference, measured in the same run: for bulk mode,
pyarrow writing an already generated chunk of the same lines again and again (the I/O floor, so the
ratio says what generation costs on top of writing); for normal mode, the issue's budget (100,000
orders in 30 s), reported as a ratio because no other simulator produces the same shop.
Gates (issue 2): normal mode under 30 s for 100,000 orders; bulk Parquet at least 1,000,000 lines/s.
The script exits with status 1 when a gate fails at full size.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq

from shoplens.data import synth
from shoplens.data.synth.bulk import BulkSpec, _chunks
from shoplens.evaluation.measure import MIN_RUNS, Timing, peak_rss_mb, ratio
from shoplens.evaluation.records import BenchmarkRecord, Protocol, write_results

BENCHMARK = "simulator"
DATASET = "simulator_throughput"
FULL_ORDERS, FULL_LINES = 100_000, 10_000_000
NORMAL_BUDGET_S = 30.0
BULK_GATE_LINES_PER_S = 1_000_000
HERE = Path(__file__).resolve().parent


def normal_mode(orders: int, runs: int, seed: int) -> tuple[Timing[Any], int]:
    """Times of simulate() for a shop with about ``orders`` orders (20 customers per 100 orders, 1 year)."""
    seconds, placed = [], 0
    for run in range(runs):
        start = time.perf_counter()
        shop = synth.simulate(n_customers=max(orders // 5, 100), n_products=1_000, days=365, seed=seed + run,
                              n_orders=orders)
        seconds.append(time.perf_counter() - start)
        placed = int((shop.tables["orders"]["status"] != "returned").sum())
    return Timing(tuple(seconds)), placed


def bulk_mode(lines: int, runs: int, seed: int, fmt: str, folder: Path) -> Timing[Any]:
    seconds = []
    for run in range(runs):
        path = folder / f"lines_{run}.{fmt}"
        report = synth.write_order_lines(path, lines, seed, format=fmt)
        seconds.append(report.seconds)
        path.unlink()
    return Timing(tuple(seconds))


def write_floor(lines: int, runs: int, seed: int, folder: Path) -> Timing[Any]:
    """pyarrow writing one pre-generated chunk repeatedly up to ``lines`` rows: the Parquet I/O floor."""
    _, chunk = next(_chunks(BulkSpec(n_lines=min(lines, 1_000_000), seed=seed)))
    seconds = []
    for run in range(runs):
        path = folder / f"floor_{run}.parquet"
        start = time.perf_counter()
        with pq.ParquetWriter(path, chunk.schema, compression="snappy") as writer:
            written = 0
            while written < lines:
                part = chunk.slice(0, min(chunk.num_rows, lines - written))
                writer.write_table(part)
                written += part.num_rows
        seconds.append(time.perf_counter() - start)
        path.unlink()
    return Timing(tuple(seconds))


def records(orders: int, placed: int, normal: Timing[Any], lines: int, parquet: Timing[Any], csv_lines: int,
            csv: Timing[Any], floor: Timing[Any], seed: int, full: bool) -> list[BenchmarkRecord]:
    variant = "default" if full else f"orders_{orders}_lines_{lines}"
    common: dict[str, Any] = {"benchmark": BENCHMARK, "dataset": DATASET, "variant": variant}
    peak = round(peak_rss_mb(), 1)
    normal_protocol = Protocol(split="none", seed=seed, notes=(
        f"simulate(n_customers={max(orders // 5, 100)}, n_products=1000, days=365, n_orders={orders}) with events, "
        f"reviews, Q&A and inventory; {placed:,} orders placed in the last run; {normal.note('simulate')}; "
        f"reference: the {NORMAL_BUDGET_S:.0f} s budget of issue 2 for 100,000 orders"))
    bulk_protocol = Protocol(split="none", seed=seed, notes=(
        f"write_order_lines({lines:,} lines, parquet) {parquet.note('parquet')}; csv {csv_lines:,} lines "
        f"{csv.note('csv')}; reference: pyarrow ParquetWriter writing one generated 1M-line chunk repeatedly "
        f"to {lines:,} lines, {floor.note('floor')}; peak RSS of the whole benchmark process"))
    parquet_rate, floor_rate = parquet.rate(lines), floor.rate(lines)
    return [
        BenchmarkRecord.create(**common, model="shoplens-simulate", role="ours", protocol=normal_protocol,
                               seconds=round(normal.median, 3), peak_mb=peak,
                               metrics={"orders_per_s": round(placed / normal.median),
                                        "seconds": round(normal.median, 3), "orders": placed,
                                        "speed_ratio_vs_budget": round(ratio(NORMAL_BUDGET_S, normal.median), 3)}),
        BenchmarkRecord.create(**common, model="shoplens-write_order_lines", role="ours", protocol=bulk_protocol,
                               seconds=round(parquet.median, 3), peak_mb=peak,
                               metrics={"lines_per_s": round(parquet_rate),
                                        "csv_lines_per_s": round(csv.rate(csv_lines)), "lines": lines,
                                        "speed_ratio_vs_write_floor": round(ratio(parquet_rate, floor_rate), 3)}),
        BenchmarkRecord.create(**common, model="pyarrow-parquetwriter-floor", role="reference",
                               protocol=bulk_protocol, seconds=round(floor.median, 3),
                               metrics={"lines_per_s": round(floor_rate), "lines": lines}),
    ]


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--orders", type=int, default=FULL_ORDERS, help="orders in normal mode (default 100,000)")
    parser.add_argument("--lines", type=int, default=FULL_LINES, help="bulk order lines (default 10,000,000)")
    parser.add_argument("--csv-lines", type=int, default=2_000_000, help="bulk CSV lines (default 2,000,000)")
    parser.add_argument("--runs", type=int, default=MIN_RUNS, help="runs of each, at least 3 (default 3)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--quick", action="store_true", help="20,000 orders and 1,000,000 lines")
    parser.add_argument("--output", type=Path, help="results file (default benchmarks/results/simulator.json at "
                                                     "full size, benchmarks/.work/results/simulator.json otherwise)")
    args = parser.parse_args(argv)
    if args.runs < MIN_RUNS:
        parser.error(f"--runs must be at least {MIN_RUNS}")
    if args.quick:
        args.orders, args.lines, args.csv_lines = 20_000, 1_000_000, 200_000
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    full = args.orders == FULL_ORDERS and args.lines == FULL_LINES
    folder = Path(tempfile.mkdtemp(prefix="shoplens-simulator-bench-"))
    try:
        normal, placed = normal_mode(args.orders, args.runs, args.seed)
        parquet = bulk_mode(args.lines, args.runs, args.seed, "parquet", folder)
        csv = bulk_mode(args.csv_lines, args.runs, args.seed, "csv", folder)
        floor = write_floor(args.lines, args.runs, args.seed, folder)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    recs = records(args.orders, placed, normal, args.lines, parquet, args.csv_lines, csv, floor, args.seed, full)
    output = args.output or (HERE / "results" if full else HERE / ".work" / "results") / f"{BENCHMARK}.json"
    write_results(BENCHMARK, recs, output)
    summary = {"orders_per_s": recs[0].metrics["orders_per_s"], "normal_seconds": recs[0].metrics["seconds"],
               "orders": placed, "lines_per_s": recs[1].metrics["lines_per_s"],
               "csv_lines_per_s": recs[1].metrics["csv_lines_per_s"], "write_floor_lines_per_s": recs[2].metrics[
                   "lines_per_s"], "results": str(output)}
    print(json.dumps(summary, indent=2))
    scale = args.orders / FULL_ORDERS
    failed = recs[0].metrics["seconds"] > NORMAL_BUDGET_S * scale or recs[1].metrics["lines_per_s"] < (
        BULK_GATE_LINES_PER_S)
    if failed:
        print("gate failed: normal mode over budget or bulk Parquet under 1,000,000 lines/s", file=sys.stderr)
    return 1 if failed and full else 0


if __name__ == "__main__":
    sys.exit(main())
