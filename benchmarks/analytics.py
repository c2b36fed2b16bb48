"""Analytics benchmark (issue 3): CLV on CDNOW against lifetimes' published fit, churn against BG/NBD,
association rules against mlxtend, the simulator's latent states, and the SQL engine's speed.

    python benchmarks/analytics.py                          # everything, full size → benchmarks/results/analytics.json
    python benchmarks/analytics.py --parts speed --lines 1000000 --no-scale   # a quick speed run → .work/results

Parts (``--parts``, comma-separated; default all):

- ``cdnow``: BG/NBD + Gamma-Gamma on CDNOW_sample (calibration to 1997-09-30) beside lifetimes' published
  parameters; churn on CDNOW_master: LightGBM (features before 1997-10-01, trained on the 26 weeks before
  with labels observed before the cutoff) against BG/NBD — AUC, Brier score, calibration error.
- ``groceries``: association rules (support ≥ 0.01, confidence ≥ 0.1) against mlxtend's apriori: equal top 50.
- ``truth``: a simulated shop; the RFM segments, the churn model and BG/NBD against the latent states.
- ``speed``: the analysis set (daily KPIs, RFM + segments, monthly cohorts, the default session funnel,
  co-purchase pair counts) on ``--lines`` order lines and twice as many events written as Parquet by the
  simulator's bulk mode: the DuckDB engine against idiomatic pandas (pyarrow dtypes, vectorised) and lazy
  Polars, each run in its own process that reads the Parquet files inside its timed region; two threads
  each; runs alternate; results checked equal; medians of ``--runs`` runs; peak RSS per process. Then the
  Spark engine (local[2]) on the same files, and — unless ``--no-scale`` — the same SQL on ten times the
  data with DuckDB's memory limit at 4 GB (spilling to disk) and pandas in a process capped at 8 GB of
  address space.

Gates (issue 3): speed ≥ 3× pandas, ≤ 1.5× Polars' time, peak memory ≤ half of pandas'; the script exits
with status 1 when one fails.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from shoplens.evaluation.measure import MIN_RUNS, Timing, peak_rss_mb, ratio
from shoplens.evaluation.records import BenchmarkRecord, Protocol, write_results

BENCHMARK = "analytics"
HERE = Path(__file__).resolve().parent
WORK = HERE / ".work"
SHARED = HERE.parent.parent / "shared" / "data"
FULL_LINES = 10_000_000
EVENTS_PER_LINE = 2
MIN_SUPPORT = 0.00005  # pair counts: products bought together in at least 1 of 20,000 baskets
THREADS = 2
PUBLISHED = {"r": 0.2426, "alpha": 4.4135, "a": 0.7929, "b": 2.4258, "p": 6.25, "q": 3.74, "v": 15.45}
IMPLEMENTATIONS = ("duckdb", "pandas", "polars")
SCALE_MEMORY = "4GB"
PANDAS_ADDRESS_SPACE = 8 * 1024**3


# -- data ------------------------------------------------------------------------------------------------
def bulk_folder(lines: int, seed: int) -> tuple[Path, str]:
    """The cached bulk shop for (lines, seed), written when missing."""
    from shoplens.data import synth

    version = str(synth.SIMULATOR_VERSION).replace(".", "_")
    generator = f"shoplens.data.synth.write_bulk_shop of simulator {synth.SIMULATOR_VERSION}"
    folder = WORK / f"analytics_synth{version}_{lines}_seed{seed}"
    if (folder / "done").exists():
        return folder, generator
    shutil.rmtree(folder, ignore_errors=True)
    started = time.perf_counter()
    synth.write_bulk_shop(folder, lines, lines * EVENTS_PER_LINE, seed)
    (folder / "done").write_text(generator, encoding="utf-8")
    size = sum(p.stat().st_size for p in folder.glob("*.parquet")) / 1e6
    print(f"wrote {folder} ({lines:,} lines, {lines * EVENTS_PER_LINE:,} events, {size:,.0f} MB) in "
          f"{time.perf_counter() - started:.0f} s", flush=True)
    return folder, generator


# -- workers: one measured run in its own process ---------------------------------------------------------
def worker(kind: str, folder: Path, dump: Path | None) -> dict[str, Any]:
    """Run the analysis set once with one implementation; the timed region includes reading the Parquet."""
    from shoplens.analytics.funnels import Funnel

    spec = Funnel.parse()
    if kind == "pandas-capped":
        resource.setrlimit(resource.RLIMIT_AS, (PANDAS_ADDRESS_SPACE, PANDAS_ADDRESS_SPACE))
    runner = {"duckdb": _duckdb, "duckdb-4gb": _duckdb, "pandas": _pandas, "pandas-capped": _pandas,
              "polars": _polars, "spark": _spark}[kind]
    try:
        seconds, results = runner(folder, spec, kind)
    except MemoryError:
        return {"kind": kind, "finished": False, "reason": "MemoryError", "peak_mb": peak_rss_mb()}
    if dump is not None:
        dump.mkdir(parents=True, exist_ok=True)
        for name, frame in results.items():
            frame.to_parquet(dump / f"{name}.parquet")
    return {"kind": kind, "finished": True, "seconds": seconds, "peak_mb": peak_rss_mb()}


def _duckdb(folder: Path, spec: Any, kind: str) -> tuple[float, dict]:
    from shoplens.analytics import api
    from shoplens.analytics.queries import baskets, cohorts, funnel, kpis, rfm

    batch = [*kpis("day"), *rfm(), *cohorts(), *funnel(spec), *baskets(MIN_SUPPORT)]
    limit = SCALE_MEMORY if kind == "duckdb-4gb" else None
    started = time.perf_counter()
    with api.AnalysisSession(folder, "duckdb", threads=THREADS, memory_limit=limit) as session:
        if limit:
            temp = WORK / "duckdb_spill"
            temp.mkdir(parents=True, exist_ok=True)
            session.engine.connection.execute(f"SET temp_directory = '{temp}'")
        tables = session.run(batch)
    seconds = time.perf_counter() - started
    return seconds, {name: table.to_pandas() for name, table in tables.items()}


def _pandas(folder: Path, spec: Any, kind: str) -> tuple[float, dict]:
    import pyarrow as pa

    from shoplens.analytics.reference import pandas_impl

    pa.set_cpu_count(THREADS)
    started = time.perf_counter()
    results = pandas_impl.run_all(folder, spec, MIN_SUPPORT)
    return time.perf_counter() - started, results


def _polars(folder: Path, spec: Any, kind: str) -> tuple[float, dict]:
    from shoplens.analytics.reference import polars_impl

    started = time.perf_counter()
    results = polars_impl.run_all(folder, spec, MIN_SUPPORT)
    return time.perf_counter() - started, {name: frame.to_pandas() for name, frame in results.items()}


def _spark(folder: Path, spec: Any, kind: str) -> tuple[float, dict]:
    from shoplens.analytics import api
    from shoplens.analytics.queries import baskets, cohorts, funnel, kpis, rfm
    from shoplens.engine.spark_engine import start_session

    session = start_session(f"local[{THREADS}]", {"spark.driver.memory": "6g", "spark.ui.showConsoleProgress": "false",
                                                   "spark.sql.shuffle.partitions": "16"})
    batch = [*kpis("day"), *rfm(), *cohorts(), *funnel(spec), *baskets(MIN_SUPPORT)]
    started = time.perf_counter()  # the JVM is up; reading the Parquet files is inside the timed region
    with api.AnalysisSession(folder, "spark", spark=session) as analyses:
        tables = analyses.run(batch)
    seconds = time.perf_counter() - started
    session.stop()
    return seconds, {name: table.to_pandas() for name, table in tables.items()}


def run_worker(kind: str, folder: Path, dump: Path | None = None, timeout: float | None = None) -> dict[str, Any]:
    env = {**os.environ, "POLARS_MAX_THREADS": str(THREADS), "OMP_NUM_THREADS": str(THREADS)}
    command = [sys.executable, str(Path(__file__).resolve()), "--worker", kind, "--folder", str(folder)]
    if dump is not None:
        command += ["--dump", str(dump)]
    try:
        done = subprocess.run(command, capture_output=True, text=True, check=False, env=env, timeout=timeout)
    except subprocess.TimeoutExpired:
        return {"kind": kind, "finished": False, "reason": f"over {timeout:.0f} s"}
    lines = [line for line in done.stdout.strip().splitlines() if line.startswith("{")]
    if done.returncode != 0 or not lines:
        reason = (done.stderr.strip().splitlines() or [f"exit {done.returncode}"])[-1][:300]
        return {"kind": kind, "finished": False, "reason": f"exit {done.returncode}: {reason}"}
    return json.loads(lines[-1])


# -- parts -----------------------------------------------------------------------------------------------
def part_cdnow() -> list[BenchmarkRecord]:
    import shoplens as sl
    from shoplens.analytics.churn import ChurnModel
    from shoplens.analytics.clv import CLVModel
    from shoplens.data.datasets import load_dataset

    folder = WORK / "cdnow"
    shutil.rmtree(folder, ignore_errors=True)
    sample, master = sl.Workspace.init(folder / "sample"), sl.Workspace.init(folder / "master")
    load_dataset("cdnow", sample, SHARED / "cdnow" / "CDNOW_sample.txt")
    load_dataset("cdnow", master, SHARED / "cdnow" / "CDNOW_master.txt")
    started = time.perf_counter()
    clv = CLVModel(calibration_end="1997-09-30").fit(sample)
    fit_seconds = time.perf_counter() - started
    started = time.perf_counter()
    churn = ChurnModel(horizon_days=273, train_horizon_days=182).backtest(master, "1997-10-01")
    churn_seconds = time.perf_counter() - started
    metrics = churn["metrics"]
    params = {k: round(v, 6) for k, v in clv.params.items()}
    notes = (f"BG/NBD + Gamma-Gamma on CDNOW_sample.txt (2,357 customers): calibration 1997-01-01 … 1997-09-30 "
             f"(39 weeks), purchases on the same day merged, frequency = repeat purchase days, recency and T in "
             f"weeks, Gamma-Gamma on the {clv.gamma_gamma_.n_customers_} repeat customers with the mean value of "
             f"their repeat purchases; maximum likelihood from neutral starting values (all 1); log-likelihood "
             f"{clv.bgnbd_.log_likelihood_:.2f}; fit {fit_seconds:.2f} s. Churn on CDNOW_master.txt (23,570 "
             f"customers): {churn['protocol']}; label = no purchase in the 39 weeks from 1997-10-01; churn rate "
             f"{metrics['churn_rate']:.3f}. palive_auc scores churn as 1 − P(alive) (BG/NBD gives one-time buyers "
             f"P(alive) = 1, hence below 0.5); bgnbd_auc uses BG/NBD's probability of no purchase in the horizon.")
    protocol = Protocol(split="temporal", notes=notes)
    ours = BenchmarkRecord.create(
        benchmark=BENCHMARK, dataset="cdnow", model="bgnbd-gamma-gamma+lightgbm-churn", role="ours",
        protocol=protocol, seconds=round(fit_seconds + churn_seconds, 2), peak_mb=None,
        metrics={**params, "log_likelihood": round(clv.bgnbd_.log_likelihood_, 3),
                 **{k: round(metrics[k], 4) for k in ("churn_auc", "palive_auc", "bgnbd_auc", "churn_brier",
                                                      "palive_brier", "bgnbd_brier", "churn_ece", "palive_ece",
                                                      "bgnbd_ece")}})
    baseline = BenchmarkRecord.create(
        benchmark=BENCHMARK, dataset="cdnow", model="bgnbd-no-purchase-probability", role="baseline",
        protocol=protocol, seconds=None, peak_mb=None,
        metrics={"churn_auc": round(metrics["bgnbd_auc"], 4), "palive_auc": round(metrics["palive_auc"], 4),
                 "churn_brier": round(metrics["bgnbd_brier"], 4)})
    reference = BenchmarkRecord.create(
        benchmark=BENCHMARK, dataset="cdnow", model="lifetimes-published", role="reference",
        protocol=Protocol(split="none", notes="lifetimes' published fit on CDNOW_sample (BetaGeoFitter, "
                                              "GammaGammaFitter), the same calibration protocol"),
        seconds=None, peak_mb=None, metrics=dict(PUBLISHED))
    print(f"cdnow: {params}; churn AUC {metrics['churn_auc']:.4f} vs 1 − P(alive) {metrics['palive_auc']:.4f} "
          f"vs BG/NBD P(no purchase) {metrics['bgnbd_auc']:.4f}", flush=True)
    return [ours, baseline, reference]


def part_groceries() -> list[BenchmarkRecord]:
    import numpy as np
    import pandas as pd
    from mlxtend.frequent_patterns import apriori, association_rules
    from mlxtend.preprocessing import TransactionEncoder

    import shoplens as sl
    from shoplens.analytics.baskets import AssociationRules
    from shoplens.data.datasets import load_dataset

    folder = WORK / "groceries"
    shutil.rmtree(folder, ignore_errors=True)
    ws = sl.Workspace.init(folder)
    load_dataset("groceries_baskets", ws, SHARED / "groceries_baskets")
    ours_timing = timed_runs(lambda: AssociationRules(0.01, 0.1).fit(ws))
    lines = (SHARED / "groceries_baskets" / "groceries.csv").read_text(encoding="utf-8").splitlines()
    baskets = [sorted({item.strip() for item in line.split(",")}) for line in lines if line.strip()]

    def reference() -> pd.DataFrame:
        encoder = TransactionEncoder()
        onehot = pd.DataFrame(encoder.fit(baskets).transform(baskets), columns=encoder.columns_)
        return association_rules(apriori(onehot, min_support=0.01, use_colnames=True), metric="confidence",
                                 min_threshold=0.1)

    reference_timing = timed_runs(reference)
    ours, theirs = ours_timing.result.rules(50), reference_timing.result
    theirs = theirs.assign(a=theirs["antecedents"].map(lambda s: ", ".join(sorted(s))),
                           c=theirs["consequents"].map(lambda s: ", ".join(sorted(s))))
    theirs = theirs.sort_values(["lift", "support", "a", "c"], ascending=[False, False, True, True]).head(50)
    equal = (ours["antecedents"].map(", ".join).tolist() == theirs["a"].tolist()
             and ours["consequents"].map(", ".join).tolist() == theirs["c"].tolist()
             and all(np.allclose(ours[c], theirs[c], rtol=1e-12, atol=0) for c in ("support", "confidence", "lift")))
    notes = (f"9,835 baskets; support ≥ 0.01, confidence ≥ 0.1; rules sorted by lift, support, antecedent and "
             f"consequent names; top 50 compared on items, support, confidence and lift (rtol 1e-12). "
             f"{ours_timing.note('ours (SQL counts + bit vectors)')}; {reference_timing.note('mlxtend apriori')}")
    protocol = Protocol(split="none", notes=notes)
    print(f"groceries: top 50 equal to mlxtend: {equal}", flush=True)
    return [BenchmarkRecord.create(benchmark=BENCHMARK, dataset="groceries_baskets", model="shoplens-apriori",
                                   role="ours", protocol=protocol, seconds=round(ours_timing.median, 3), peak_mb=None,
                                   metrics={"top50_equal_reference": bool(equal),
                                            "rules": len(ours_timing.result.rules_),
                                            "itemsets": len(ours_timing.result.itemsets_)}),
            BenchmarkRecord.create(benchmark=BENCHMARK, dataset="groceries_baskets", model="mlxtend-apriori",
                                   role="reference", protocol=protocol, seconds=round(reference_timing.median, 3),
                                   peak_mb=None, metrics={"rules": len(reference_timing.result)})]


def timed_runs(work: Any) -> Timing:
    from shoplens.evaluation.measure import timed

    return timed(work, runs=MIN_RUNS)


def part_truth(seed: int) -> list[BenchmarkRecord]:
    import shoplens as sl
    from shoplens.analytics.truth import truth_recovery
    from shoplens.data.synth import simulate

    folder = WORK / "truth_shop"
    shutil.rmtree(folder, ignore_errors=True)
    ws = sl.Workspace.init(folder)
    simulate(n_customers=2000, n_products=200, days=365, seed=seed).write(ws)
    started = time.perf_counter()
    result = truth_recovery(ws, horizon_days=90)
    seconds = time.perf_counter() - started
    metrics = {k: round(v, 4) for k, v in result["metrics"].items()}
    notes = (f"simulate(n_customers=2000, n_products=200, days=365, seed={seed}); truth = latent state on "
             f"{result['at']} (lapsing or churned vs active) among the {metrics['customers']} customers who bought "
             f"({metrics['left_share']:.1%} had left); scores: RFM segment order (champions … lost), churn model "
             f"(90-day horizon, trained on the 90 days before the last day), BG/NBD 1 − P(alive); AUC with 95% "
             f"intervals (Hanley & McNeil); chance = 0.5")
    protocol = Protocol(split="simulator_truth", seed=seed, notes=notes)
    print(f"truth: segments {metrics['segment_auc']:.3f} [{metrics['segment_auc_low']:.3f}], churn "
          f"{metrics['churn_auc']:.3f} [{metrics['churn_auc_low']:.3f}], P(alive) {metrics['palive_auc']:.3f}",
          flush=True)
    keys = ("segment_auc", "segment_auc_low", "churn_auc", "churn_auc_low", "palive_auc", "palive_auc_low",
            "left_share", "customers")
    return [BenchmarkRecord.create(benchmark=BENCHMARK, dataset="simulator_churn", model="rfm-segments+lightgbm",
                                   role="ours", protocol=protocol, seconds=round(seconds, 2), peak_mb=None,
                                   metrics={k: metrics[k] for k in keys})]


def part_speed(lines: int, seed: int, runs: int, scale: bool, spark: bool = True) -> tuple[list[BenchmarkRecord], bool]:
    folder, generator = bulk_folder(lines, seed)
    runs_by_kind: dict[str, list[dict[str, Any]]] = {k: [] for k in IMPLEMENTATIONS}
    dumps = WORK / "analytics_dumps"
    shutil.rmtree(dumps, ignore_errors=True)
    for index in range(runs):
        for kind in IMPLEMENTATIONS:
            result = run_worker(kind, folder, dumps / kind if index == 0 else None)
            if not result.get("finished"):
                raise SystemExit(f"{kind} failed: {result}")
            runs_by_kind[kind].append(result)
            print(f"run {index + 1}/{runs} {kind}: {result['seconds']:.1f} s, peak {result['peak_mb']:,.0f} MB",
                  flush=True)
    problems = check_equal(dumps)
    spark_runs = [run_worker("spark", folder) for _ in range(runs)] if spark else []
    print(f"spark: {spark_runs}", flush=True)
    large = scale_runs(lines, seed) if scale else None
    return speed_records(lines, seed, generator, runs_by_kind, spark_runs, large, problems)


def check_equal(dumps: Path) -> list[str]:
    import pandas as pd

    from shoplens.analytics.parity import differences

    problems = []
    for path in sorted((dumps / "duckdb").glob("*.parquet")):
        expected = pd.read_parquet(path)
        for kind in ("pandas", "polars"):
            actual = pd.read_parquet(dumps / kind / path.name)
            problems += [f"{kind}: {p}" for p in differences(path.stem, expected, actual, money_tolerance=0.01)]
    print("results equal" if not problems else "RESULTS DIFFER:\n" + "\n".join(problems), flush=True)
    return problems


def scale_runs(lines: int, seed: int) -> dict[str, Any]:
    folder, _ = bulk_folder(lines * 10, seed)
    duck = run_worker("duckdb-4gb", folder)
    print(f"{lines * 10:,} lines, DuckDB at {SCALE_MEMORY}: {duck}", flush=True)
    pandas = run_worker("pandas-capped", folder, timeout=3600)
    print(f"{lines * 10:,} lines, pandas capped at {PANDAS_ADDRESS_SPACE / 1024**3:.0f} GB: {pandas}", flush=True)
    return {"lines": lines * 10, "duckdb": duck, "pandas": pandas}


def speed_records(lines: int, seed: int, generator: str, runs: dict[str, list[dict[str, Any]]],
                  spark: list[dict[str, Any]], large: dict[str, Any] | None,
                  problems: list[str]) -> tuple[list[BenchmarkRecord], bool]:
    timing = {kind: Timing(tuple(r["seconds"] for r in runs[kind])) for kind in IMPLEMENTATIONS}
    peak = {kind: max(r["peak_mb"] for r in runs[kind]) for kind in IMPLEMENTATIONS}
    finished = spark and all(r.get("finished") for r in spark)
    spark_timing = Timing(tuple(r["seconds"] for r in spark)) if finished else None
    vs_pandas = ratio(timing["pandas"].median, timing["duckdb"].median)
    vs_polars = ratio(timing["polars"].median, timing["duckdb"].median)
    gates = {"gate_3x_pandas": vs_pandas >= 3,
             "gate_within_1_5x_polars": timing["duckdb"].median <= 1.5 * timing["polars"].median,
             "gate_half_pandas_memory": peak["duckdb"] <= peak["pandas"] / 2, "results_equal": not problems}
    metrics: dict[str, Any] = {
        "speedup_vs_pandas": round(vs_pandas, 3), "speedup_vs_polars": round(vs_polars, 3),
        "duckdb_seconds": round(timing["duckdb"].median, 2), "pandas_seconds": round(timing["pandas"].median, 2),
        "polars_seconds": round(timing["polars"].median, 2),
        "spark_seconds": round(spark_timing.median, 2) if spark_timing else None,
        "duckdb_peak_mb": round(peak["duckdb"]), "pandas_peak_mb": round(peak["pandas"]),
        "polars_peak_mb": round(peak["polars"]),
        "seconds_100m_4gb": round(large["duckdb"]["seconds"], 1) if large and large["duckdb"].get("finished") else None,
        "pandas_100m_finished": bool(large["pandas"].get("finished")) if large else None, **gates}
    scale_note = ("; the 10× run was not made (--no-scale)" if not large else
                  f"; {large['lines']:,} lines and {large['lines'] * EVENTS_PER_LINE:,} events: DuckDB with "
                  f"memory_limit {SCALE_MEMORY} (spilling to benchmarks/.work) {_outcome(large['duckdb'])}; pandas in "
                  f"a process capped at {PANDAS_ADDRESS_SPACE / 1024**3:.0f} GB of address space "
                  f"{_outcome(large['pandas'])}")
    notes = (f"{lines:,} order lines (+ orders) and {lines * EVENTS_PER_LINE:,} events as Parquet by {generator}, "
             f"seed {seed}; analysis set: KPIs per day (overall, country, channel, category), RFM + segments, "
             f"monthly cohorts, session funnel view → cart → checkout? → purchase, pair counts (support ≥ "
             f"{MIN_SUPPORT}); each implementation in its own process reading the Parquet inside the timed region, "
             f"{THREADS} threads, runs alternating; peak = largest peak RSS of a run's process; results "
             f"{'equal (money to the cent, ratios to 1e-9)' if not problems else 'DIFFER: ' + '; '.join(problems[:3])}"
             "; "
             + "; ".join(timing[k].note(k) for k in IMPLEMENTATIONS)
             + (f"; {spark_timing.note('spark local[2]')}" if spark_timing else f"; spark: {spark}") + scale_note)
    protocol = Protocol(split="none", seed=seed, notes=notes)
    variant = "default" if lines == FULL_LINES else f"lines_{lines}"
    common = {"benchmark": BENCHMARK, "dataset": "simulator_analytics", "variant": variant, "protocol": protocol}
    records = [BenchmarkRecord.create(**common, model="duckdb-sql", role="ours", seconds=metrics["duckdb_seconds"],
                                      peak_mb=metrics["duckdb_peak_mb"], metrics=metrics)]
    for kind, model in (("pandas", "pandas-pyarrow"), ("polars", "polars-lazy")):
        records.append(BenchmarkRecord.create(**common, model=model, role="reference",
                                              seconds=round(timing[kind].median, 2), peak_mb=round(peak[kind]),
                                              metrics={f"{kind}_seconds": round(timing[kind].median, 2)}))
    if spark_timing:
        records.append(BenchmarkRecord.create(**common, model="spark-sql-local2", role="reference",
                                              seconds=round(spark_timing.median, 2), peak_mb=None,
                                              metrics={"spark_seconds": round(spark_timing.median, 2)}))
    print(json.dumps(metrics, indent=1), flush=True)
    return records, all(gates.values())


def _outcome(result: dict[str, Any]) -> str:
    if result.get("finished"):
        return f"finished in {result['seconds']:.0f} s (peak {result['peak_mb']:,.0f} MB)"
    return f"did not finish ({result.get('reason')})"


# -- main ------------------------------------------------------------------------------------------------
def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--parts", default="cdnow,groceries,truth,speed", help="comma-separated parts to run")
    parser.add_argument("--lines", type=int, default=FULL_LINES, help="order lines of the speed part (10,000,000)")
    parser.add_argument("--runs", type=int, default=MIN_RUNS, help="runs per implementation, at least 3")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--no-scale", action="store_true", help="skip the 10× run (100M lines at full size)")
    parser.add_argument("--no-spark", action="store_true", help="skip the Spark engine's runs")
    parser.add_argument("--output", type=Path, help="results file (default benchmarks/results/analytics.json at "
                                                     "full size, benchmarks/.work/results/analytics.json otherwise)")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--folder", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--dump", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.runs < MIN_RUNS:
        parser.error(f"--runs must be at least {MIN_RUNS}")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.worker:
        print(json.dumps(worker(args.worker, args.folder, args.dump)))
        return 0
    parts = set(args.parts.split(","))
    records: list[BenchmarkRecord] = []
    passed = True
    if "cdnow" in parts:
        records += part_cdnow()
    if "groceries" in parts:
        records += part_groceries()
    if "truth" in parts:
        records += part_truth(args.seed)
    if "speed" in parts:
        speed, passed = part_speed(args.lines, args.seed, args.runs, not args.no_scale, not args.no_spark)
        records += speed
    full = args.lines == FULL_LINES
    output = args.output or (HERE / "results" if full else WORK / "results") / f"{BENCHMARK}.json"
    write_results(BENCHMARK, records, output)
    print(f"wrote {len(records)} records to {output}; gates {'pass' if passed else 'FAIL'}", flush=True)
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())
