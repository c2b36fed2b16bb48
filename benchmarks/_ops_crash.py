"""Crash benchmark (part of the operations benchmark, issue 14): ``kill -9`` of ``shoplens ingest`` at random
points of a 2-million-line ingest. After each kill the warehouse must open and hold exactly the previous state
(every value of every row, the same ingest runs); after the last, a rerun of the same command must load
everything an uninterrupted ingest loads. The test suite does the same with 3 points of 150,000 lines
(tests/operations/test_crash.py).

    python benchmarks/operations.py crash                        # 2,000,000 lines, 10 points → results/operations.json
    python benchmarks/operations.py --quick crash                # 200,000 lines, 3 points → benchmarks/.work/results/
    python benchmarks/_ops_crash.py --lines 200000 --points 3    # any size alone (a quick one → benchmarks/.work/)

The kill points are drawn uniformly between 5 % and 95 % of the time one whole ingest takes (measured first, on a
copy); a kill that lands after the commit (the process was finishing) is counted apart — the warehouse must then
hold the whole new state — and the point is drawn again from the previous state.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import shoplens as sl
from shoplens.data import synth
from shoplens.evaluation.records import BenchmarkRecord, Protocol, write_results

BENCHMARK = "operations"
DATASET = "simulator_ingest"
FULL_LINES = 2_000_000
FULL_POINTS = 10
HERE = Path(__file__).resolve().parent
CACHE = Path.home() / ".cache" / "shoplens" / "retrain"


def _command(ws: Path, path: Path) -> list[str]:
    return [sys.executable, "-m", "shoplens.cli", "ingest", "order_items", str(path), "--workspace", str(ws), "--json"]


def _env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": os.pathsep.join([str(HERE.parent / "src"), os.environ.get("PYTHONPATH", "")])}


def state_of(ws: Path) -> tuple:
    """Rows and a hash of every value of order_items, and the ingest runs (count and ids)."""
    with sl.Workspace.open(ws).connect() as con:
        lines = con.execute("SELECT count(*), sum(hash(order_id, line_no, product_id, quantity, unit_price, discount, "
                            "_source_row)) FROM order_items").fetchone()
        runs = con.execute("SELECT count(*), string_agg(run_id, ',' ORDER BY run_id) FROM ingest_runs").fetchone()
    return lines, runs


def _copy(source: Path, target: Path) -> Path:
    shutil.rmtree(target, ignore_errors=True)
    shutil.copytree(source, target, ignore=shutil.ignore_patterns("warehouse.lock", "*.wal"))
    return target


def _ingest(ws: Path, path: Path) -> float:
    clock = time.perf_counter()
    done = subprocess.run(_command(ws, path), env=_env(), capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"ingest failed: {done.stderr[-2000:]}")
    return time.perf_counter() - clock


def _kill_after(ws: Path, path: Path, seconds: float) -> bool:
    """Start the ingest, SIGKILL it after ``seconds``; whether the kill landed (the process had not ended)."""
    process = subprocess.Popen(_command(ws, path), env=_env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        process.wait(seconds)
    except subprocess.TimeoutExpired:
        process.send_signal(signal.SIGKILL)
    return process.wait(120) == -signal.SIGKILL


def kill_and_rerun(lines: int, points: int, seed: int, work: Path) -> dict:
    CACHE.mkdir(parents=True, exist_ok=True)
    big, small = CACHE / f"order_items_{lines}_seed{seed}.csv", CACHE / "order_items_20000_seed1.csv"
    for path, n, s in ((big, lines, seed), (small, 20_000, 1)):
        if not path.exists():
            synth.write_order_lines(path.with_suffix(".partial"), n, s, format="csv")
            path.with_suffix(".partial").replace(path)
    base = work / "base"
    shutil.rmtree(work, ignore_errors=True)
    sl.Workspace.init(base)
    _ingest(base, small)
    previous = state_of(base)
    whole = _ingest(_copy(base, work / "timing"), big)
    complete = state_of(work / "timing")
    rng = random.Random(seed)
    ws, kills, committed_first, kept = _copy(base, work / "ws"), [], 0, 0
    while len(kills) < points:
        delay = rng.uniform(0.05, 0.95) * whole
        landed = _kill_after(ws, big, delay)
        after = state_of(ws)
        if landed and after == previous:
            kills.append(round(delay, 2))
            kept += 1
            continue
        if after[0] != complete[0] or after[1][0] != previous[1][0] + 1:
            raise SystemExit(f"kill at {delay:.2f} s left a part of the ingest: {after} (previous {previous})")
        committed_first += 1  # the kill came after the commit: the whole new state, as it must; start again
        ws = _copy(base, work / f"ws-{len(kills)}-{committed_first}")
    rerun = _ingest(ws, big)
    final = state_of(ws)
    return {"whole_s": whole, "rerun_s": rerun, "kills": kills, "kept": kept, "after_commit": committed_first,
            "rerun_complete": final[0] == complete[0] and final[1][0] == previous[1][0] + 1}


def measure(lines: int, points: int, seed: int) -> BenchmarkRecord:
    """The kills, the checks and the rerun, as one record (variant ``crash_ingest`` at full size)."""
    full = lines == FULL_LINES and points >= FULL_POINTS
    work = CACHE / "crash-work"
    clock = time.perf_counter()
    result = kill_and_rerun(lines, points, seed, work)
    seconds = time.perf_counter() - clock
    shutil.rmtree(work, ignore_errors=True)
    notes = (f"shoplens ingest order_items of a {lines:,}-line CSV (write_order_lines seed {seed}) on top of "
             f"20,000 lines, killed with SIGKILL at {len(result['kills'])} random points (uniform in 5–95 % of one "
             f"whole ingest, {result['whole_s']:.1f} s): {', '.join(map(str, result['kills']))} s; every time the "
             f"warehouse opened with exactly the previous state (values hashed, same ingest runs); "
             f"{result['after_commit']} further kill(s) came after the commit and found the whole new state; the "
             f"rerun took {result['rerun_s']:.1f} s and loaded everything")
    print(notes, flush=True)
    return BenchmarkRecord.create(
        benchmark=BENCHMARK, dataset=DATASET, variant="crash_ingest" if full else "crash_ingest_quick",
        model="shoplens-ingest-kill9", role="ours",
        protocol=Protocol(split="none", seed=seed, notes=notes),
        metrics={"kill_points": len(result["kills"]), "previous_state_kept": result["kept"] / len(result["kills"]),
                 "rerun_complete": float(result["rerun_complete"]), "ingest_lines": lines},
        seconds=round(seconds, 1))


def gate_of(record: BenchmarkRecord) -> tuple[str, bool, str]:
    metrics = record.metrics
    return ("crash: kill -9 of ingest leaves the previous state, the rerun loads everything",
            metrics["previous_state_kept"] == 1 and metrics["rerun_complete"] == 1,
            f"{metrics['kill_points']} kill points of a {metrics['ingest_lines']:,}-line ingest")


def run() -> tuple[list, list]:
    """The part of benchmarks/operations.py: full size, or 200,000 lines and 3 points with --quick."""
    from _ops_shop import FULL, size

    lines, points = (FULL_LINES, FULL_POINTS) if size() is FULL else (200_000, 3)
    record = measure(lines, points, seed=0)
    return [record], [gate_of(record)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--lines", type=int, default=FULL_LINES)
    parser.add_argument("--points", type=int, default=FULL_POINTS)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    record = measure(args.lines, args.points, args.seed)
    target = None if record.variant == "crash_ingest" else HERE / ".work" / "results" / f"{BENCHMARK}.json"
    print(write_results(BENCHMARK, [record], target))
    if not gate_of(record)[1]:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
