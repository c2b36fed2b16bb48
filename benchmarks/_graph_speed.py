"""simulator_graph: building the product graph from a simulated shop, and a two-hop query beside DuckDB SQL.

    python benchmarks/graph.py speed

Protocol (committed as code):

- Data: the simulator's bulk mode (``shoplens.data.synth.write_bulk_shop``, seed 0): 10,000 products,
  100,000 customers, 1,000,000 order lines (about 555,000 orders), no events; ingested into a fresh workspace.
  The market-basket pairs come from the analytics capability (``pair_counts``) with a support of 3 orders, as
  a shop would run it before the graph; their time is recorded, not counted in the build.
- Build: ``ProductGraph(similar_k=10)`` (every source, SIMILAR_TO by MiniLM over the 10,000 titles), three
  builds; the first embeds the titles, the next two read them from the workspace's embedding cache (a rebuild).
  Seconds: the median of the three, and the first; peak MB: the process's peak RSS during the builds (Linux
  high-water mark, reset before). Reference in the same run: DuckDB writing the graph's node and relation tables
  (the part of the build that is plain SQL), beside LadybugDB's bulk load (COPY) of the same files.
- Query: "in which categories are the products bought together with P, and how many in each?" — product →
  BOUGHT_TOGETHER → product → IN_CATEGORY → category — for 1,000 random products (seed 0), p50/p99 of one
  query, median of three sweeps after a warm-up; the same question as DuckDB SQL joins over the same pairs
  (role ``reference``). Both must give identical answers for every product (gate).
"""

from __future__ import annotations

import shutil
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
WORK = HERE / ".work" / "graph"
LINES, CUSTOMERS, PRODUCTS, SEED = 1_000_000, 100_000, 10_000, 0
PAIR_ORDERS = 3  # pairs bought together in at least this many orders
QUERY_PRODUCTS = 1_000
BUILDS = 3
DATASET = "simulator_graph"


def shop_files(lines: int, customers: int, products: int) -> Path:
    """The bulk shop's files (cached under benchmarks/.work/graph)."""
    from shoplens.data import synth

    folder = WORK / f"bulk_{lines}_{customers}_{products}_seed{SEED}_v{synth.SIMULATOR_VERSION}".replace(".", "_")
    if not (folder / "done").exists():
        shutil.rmtree(folder, ignore_errors=True)
        synth.write_bulk_shop(folder, lines, 0, SEED, n_products=products, n_customers=customers)
        (folder / "done").write_text("ok", encoding="utf-8")
    return folder


def prepared_workspace(folder: Path, files: Path) -> tuple[Any, dict[str, float]]:
    import shoplens as sl
    from shoplens.analytics.api import pair_counts

    ws = sl.Workspace.init(folder / "ws", name="graph benchmark")
    times = {}
    started = time.perf_counter()
    for table in ("products", "customers", "orders", "order_items"):
        ws.ingest(table, files / f"{table}.parquet")
    times["ingest_s"] = time.perf_counter() - started
    baskets = int(ws.sql("SELECT count(DISTINCT order_id) AS n FROM order_items")["n"].iloc[0])
    started = time.perf_counter()
    pairs = pair_counts(ws, PAIR_ORDERS / baskets)
    times["pairs_s"], times["pairs"], times["baskets"] = time.perf_counter() - started, len(pairs), baskets
    return ws, times


def builds(ws: Any) -> tuple[Any, list[float], list[dict[str, float]], float]:
    from shoplens.evaluation.measure import PeakMemory
    from shoplens.graph import ProductGraph

    seconds, timings = [], []
    with PeakMemory() as peak:
        for _ in range(BUILDS):
            started = time.perf_counter()
            graph = ProductGraph(similar_k=10).fit(ws)
            seconds.append(time.perf_counter() - started)
            timings.append(dict(graph.timings_))
    return graph, seconds, timings, peak.mb


def run(lines: int = LINES, customers: int = CUSTOMERS, products: int = PRODUCTS,
        query_products: int = QUERY_PRODUCTS) -> tuple[list[Any], list[tuple[str, bool, str]]]:
    """The records and the gate (smaller sizes only to try the script out; the results file holds the defaults)."""
    from shoplens.evaluation import BenchmarkRecord, Protocol
    from shoplens.graph import schema

    files = shop_files(lines, customers, products)
    with tempfile.TemporaryDirectory(dir=WORK) as scratch:
        ws, prep = prepared_workspace(Path(scratch), files)
        graph, seconds, timings, peak_mb = builds(ws)
        query_records = graph.evaluate(ws, dataset=DATASET, n_products=query_products, seed=SEED)
    counts = graph.counts_
    sql_parts = [sum(v for k, v in t.items() if k not in ("similar", "load")) for t in timings]
    load = statistics.median(t["load"] for t in timings)
    sql = statistics.median(sql_parts)
    notes = (f"bulk simulator seed {SEED}: {products:,} products, {customers:,} customers, {lines:,} order lines "
             f"({prep['baskets']:,} baskets); ingest {prep['ingest_s']:.1f} s; analytics pair counts (≥ "
             f"{PAIR_ORDERS} orders) {prep['pairs_s']:.1f} s → {prep['pairs']:,} pairs; builds "
             f"{', '.join(f'{s:.1f}' for s in seconds)} s (the first embeds {products:,} titles with MiniLM, the "
             f"others read the embedding cache); in the median build DuckDB wrote the tables in {sql:.1f} s and "
             f"LadybugDB loaded them (COPY) in {load:.1f} s")
    protocol = Protocol(split="none", seed=SEED, notes=notes)
    nodes = sum(counts[n] for n in schema.NODE_NAMES)
    relations = sum(counts[r] for r in schema.REL_NAMES)
    build = BenchmarkRecord.create(
        benchmark="graph", dataset=DATASET, variant="build", model="ladybug-copy", role="ours", protocol=protocol,
        seconds=statistics.median(seconds), peak_mb=peak_mb,
        metrics={"build_s": statistics.median(seconds), "first_build_s": seconds[0], "load_s": load,
                 "nodes": nodes, "relations": relations, "load_ratio_to_reference": load / sql})
    reference = BenchmarkRecord.create(
        benchmark="graph", dataset=DATASET, variant="build", model="duckdb-tables", role="reference",
        protocol=protocol, seconds=sql, metrics={"tables_s": sql})
    ours = next(r for r in query_records if r.role == "ours")
    agree = ours.metrics["answers_agree"]
    gates = [("simulator_graph: the graph and DuckDB SQL give the same two-hop answers for all "
              f"{query_products:,} products", agree == 1.0, f"answers agree for {agree:.1%}; graph p50 "
              f"{ours.metrics['p50_ms']:.2f} ms, p99 {ours.metrics['p99_ms']:.2f} ms, "
              f"{ours.metrics['p50_ratio_to_reference']:.2f}× DuckDB's p50")]
    return [build, reference, *query_records], gates
