"""Ingest benchmark: a 10-million-line order_items CSV through ``Workspace.ingest`` (with validation)
side by side with ``pandas.read_csv(engine="pyarrow")`` on the same file, in the same run.

    python benchmarks/ingest.py                  # 10,000,000 lines → benchmarks/results/ingest.json
    python benchmarks/ingest.py --lines 200000   # a quick run → benchmarks/.work/results/ingest.json

Each run happens in its own subprocess, so its peak memory (the kernel's RSS high-water mark, read by
the process itself at its end) is of that run alone; times are measured inside the subprocess around
the call, so interpreter start and imports are not counted. Runs alternate (ours, pandas, ours, …) and
each side is run at least three times; the medians are recorded with every run's seconds in the notes.
Gate (issue 2): peak memory of the ingest under 2 GB; the script exits with status 1 when it fails.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from shoplens.data import synth
from shoplens.evaluation.measure import MIN_RUNS, Timing, peak_rss_mb, ratio
from shoplens.evaluation.records import BenchmarkRecord, Protocol, write_results

BENCHMARK = "ingest"
DATASET = "simulator_ingest"
FULL_LINES = 10_000_000
PEAK_MB_GATE = 2048
HERE = Path(__file__).resolve().parent
WORK = HERE / ".work"
OURS_MODEL = "shoplens-ingest"
PANDAS_MODEL = "pandas-read_csv-pyarrow"


# -- the input file --------------------------------------------------------------------------------------

def order_lines_csv(lines: int, seed: int) -> tuple[Path, str]:
    """The cached simulator CSV for (lines, seed), written when missing; returns it and its generator's name."""
    version = str(synth.SIMULATOR_VERSION).replace(".", "_")
    generator = f"shoplens.data.synth.write_order_lines of simulator {synth.SIMULATOR_VERSION}"
    path = WORK / f"order_items_synth{version}_{lines}_seed{seed}.csv"
    if path.exists():
        return path, generator
    WORK.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".partial")
    started = time.perf_counter()
    synth.write_order_lines(partial, lines, seed, format="csv")
    partial.replace(path)
    print(f"wrote {path} ({lines:,} lines, {path.stat().st_size / 1e6:,.0f} MB) in "
          f"{time.perf_counter() - started:.1f} s with {generator}", flush=True)
    return path, generator


# -- one measured run, inside its own process --------------------------------------------------------------

def run_ours(csv_path: Path, workspace: Path) -> dict[str, Any]:
    import shoplens as sl
    import shoplens.data.ingest  # imported before the clock starts

    shutil.rmtree(workspace, ignore_errors=True)
    ws = sl.Workspace.init(workspace)
    started = time.perf_counter()
    report = ws.ingest("order_items", csv_path)
    seconds = time.perf_counter() - started
    return {"seconds": seconds, "rows": report.loaded, "read": report.read, "quarantined": report.quarantined,
            "peak_mb": peak_rss_mb(), "reader": report.reader}


def run_pandas(csv_path: Path) -> dict[str, Any]:
    import pandas as pd
    import pyarrow.csv  # noqa: F401 - pandas imports it lazily; imported before the clock starts

    started = time.perf_counter()
    frame = pd.read_csv(csv_path, engine="pyarrow")
    seconds = time.perf_counter() - started
    return {"seconds": seconds, "rows": len(frame), "read": len(frame), "quarantined": 0, "peak_mb": peak_rss_mb(),
            "reader": "pandas"}


@dataclass(frozen=True)
class Run:
    seconds: float
    rows: int
    read: int
    quarantined: int
    peak_mb: float
    reader: str  # what read the CSV (ingest's report.reader: duckdb, arrow or python)


def measure_in_subprocess(side: str, csv_path: Path, workspace: Path) -> Run:
    """Run one side (``ours`` or ``pandas``) in a fresh Python process and read back what it measured."""
    command = [sys.executable, str(Path(__file__).resolve()), "--child", side, "--csv", str(csv_path),
               "--workspace", str(workspace)]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"{side} run failed (exit {done.returncode}):\n{done.stderr[-4000:]}")
    result = json.loads(done.stdout.strip().splitlines()[-1])
    return Run(**result)


# -- the benchmark ---------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Measured:
    ours: list[Run]
    pandas: list[Run]
    load: tuple[float, float]  # the 1-minute load average before and after the runs (the machine's other work)

    def timing(self, side: str) -> Timing[None]:
        return Timing(tuple(r.seconds for r in getattr(self, side)))

    def peak_mb(self, side: str) -> float:
        return max(r.peak_mb for r in getattr(self, side))


def measure(csv_path: Path, runs: int) -> Measured:
    ours: list[Run] = []
    pandas: list[Run] = []
    workspace = WORK / "workspace"
    load_before = os.getloadavg()[0]
    for index in range(runs):
        ours.append(measure_in_subprocess("ours", csv_path, workspace))
        print(f"run {index + 1}/{runs} ours:   {ours[-1]}", flush=True)
        pandas.append(measure_in_subprocess("pandas", csv_path, workspace))
        print(f"run {index + 1}/{runs} pandas: {pandas[-1]}", flush=True)
    shutil.rmtree(workspace, ignore_errors=True)
    return Measured(ours, pandas, (load_before, os.getloadavg()[0]))


def check_counts(measured: Measured, lines: int) -> None:
    for run in measured.ours + measured.pandas:
        if run.read != lines or run.rows + run.quarantined != run.read:
            raise SystemExit(f"row counts do not add up for {lines:,} lines: {run}")


def protocol_for(lines: int, seed: int, generator: str, csv_path: Path, measured: Measured, gate: bool) -> Protocol:
    notes = "; ".join([
        f"{lines:,} order_items lines, CSV of {csv_path.stat().st_size / 1e6:,.0f} MB written by {generator}, "
        f"seed {seed}",
        "ours = shoplens.Workspace.init(fresh folder).ingest('order_items', csv): types, ranges, keys, duplicate "
        "keys and links validated, quarantine, one DuckDB transaction; CSV reader: "
        + ", ".join(sorted({run.reader for run in measured.ours})) + " (report.reader)",
        "reference = pandas.read_csv(csv, engine='pyarrow') on the same file: parsing only, no validation, "
        "no load into a database",
        "each run in its own subprocess, runs alternating, timed inside the process (imports excluded); "
        "peak_mb = largest peak RSS (VmHWM) of any run's process",
        measured.timing("ours").note("ours"),
        measured.timing("pandas").note("pandas"),
        f"1-minute load average {measured.load[0]:.2f} before the runs, {measured.load[1]:.2f} after (2 cores: "
        "other work on the machine slows both sides, not always alike)",
        f"gate: ingest peak memory under {PEAK_MB_GATE} MB: {'pass' if gate else 'FAIL'}",
    ])
    return Protocol(split="none", seed=seed, notes=notes)


def records_for(lines: int, seed: int, generator: str, csv_path: Path, measured: Measured) -> list[BenchmarkRecord]:
    ours_rate = measured.timing("ours").rate(lines)
    pandas_rate = measured.timing("pandas").rate(lines)
    ours_peak, pandas_peak = measured.peak_mb("ours"), measured.peak_mb("pandas")
    gate = ours_peak < PEAK_MB_GATE
    protocol = protocol_for(lines, seed, generator, csv_path, measured, gate)
    variant = "default" if lines == FULL_LINES else f"lines_{lines}"
    common = {"benchmark": BENCHMARK, "dataset": DATASET, "variant": variant, "protocol": protocol}
    ours = BenchmarkRecord.create(
        **common, model=OURS_MODEL, role="ours", seconds=round(measured.timing("ours").median, 3),
        peak_mb=round(ours_peak, 1),
        metrics={"rows_per_s": round(ours_rate), "pandas_rows_per_s": round(pandas_rate),
                 "speed_ratio_vs_pandas": round(ratio(ours_rate, pandas_rate), 4), "peak_mb": round(ours_peak, 1),
                 "pandas_peak_mb": round(pandas_peak, 1), "peak_under_2gb": gate, "lines": lines})
    reference = BenchmarkRecord.create(
        **common, model=PANDAS_MODEL, role="reference", seconds=round(measured.timing("pandas").median, 3),
        peak_mb=round(pandas_peak, 1), metrics={"rows_per_s": round(pandas_rate), "peak_mb": round(pandas_peak, 1)})
    return [ours, reference]


def default_output(lines: int) -> Path:
    folder = HERE / "results" if lines == FULL_LINES else WORK / "results"
    return folder / f"{BENCHMARK}.json"


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--lines", type=int, default=FULL_LINES, help="order lines in the CSV (default 10,000,000)")
    parser.add_argument("--runs", type=int, default=MIN_RUNS, help="runs per side, at least 3 (default 3)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the generated data (default 0)")
    parser.add_argument("--output", type=Path, help="results file (default benchmarks/results/ingest.json for "
                                                     "10M lines, benchmarks/.work/results/ingest.json otherwise)")
    parser.add_argument("--child", choices=("ours", "pandas"), help=argparse.SUPPRESS)
    parser.add_argument("--csv", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--workspace", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.runs < MIN_RUNS:
        parser.error(f"--runs must be at least {MIN_RUNS} (speed figures are medians of at least 3 runs)")
    if args.lines < 1:
        parser.error("--lines must be positive")
    return args


def child_main(args: argparse.Namespace) -> int:
    result = run_ours(args.csv, args.workspace) if args.child == "ours" else run_pandas(args.csv)
    print(json.dumps(result))
    return 0


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.child:
        return child_main(args)
    csv_path, generator = order_lines_csv(args.lines, args.seed)
    measured = measure(csv_path, args.runs)
    check_counts(measured, args.lines)
    records = records_for(args.lines, args.seed, generator, csv_path, measured)
    output = write_results(BENCHMARK, records, args.output or default_output(args.lines))
    ours = records[0].metrics
    print(f"ours {ours['rows_per_s']:,.0f} rows/s, pandas {ours['pandas_rows_per_s']:,.0f} rows/s, "
          f"ratio {ours['speed_ratio_vs_pandas']:.3f}; peak {ours['peak_mb']:,.0f} MB "
          f"(gate < {PEAK_MB_GATE} MB: {'pass' if ours['peak_under_2gb'] else 'FAIL'}) → {output}")
    return 0 if ours["peak_under_2gb"] else 1


if __name__ == "__main__":
    sys.exit(main())
