"""The two-hop question, asked of the graph and of the warehouse: "in which categories are the products bought
together with P, and how many of them in each?" — product → BOUGHT_TOGETHER → product → IN_CATEGORY → category
in Cypher on LadybugDB, and the same question as DuckDB SQL joins over the same pairs (the analytics capability's
``analytics_pair_counts``) and the products table. Both must give the same answer for every product asked; the
latency of each (p50/p99 per query, median of three sweeps over the same products) goes into benchmark records,
the graph as ``ours`` and DuckDB as ``reference``, with the ratio.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np

from shoplens.errors import InputError
from shoplens.evaluation.measure import MIN_RUNS
from shoplens.graph.sources import PAIRS_TABLE, normalized_path_sql
from shoplens.graph.store import GraphStore

if TYPE_CHECKING:
    from shoplens.graph.build import ProductGraph
    from shoplens.workspace import Workspace

CYPHER = """MATCH (p:Product)-[:BOUGHT_TOGETHER]->(o:Product)-[:IN_CATEGORY]->(c:Category) WHERE p.id = $id
RETURN c.id AS category, count(*) AS products ORDER BY products DESC, category"""
SQL = f"""
WITH others AS (
    SELECT item_b AS other FROM {PAIRS_TABLE} WHERE item_a = $id
    UNION ALL
    SELECT item_a FROM {PAIRS_TABLE} WHERE item_b = $id
)
SELECT {normalized_path_sql('p.category')} AS category, count(*) AS products
FROM others JOIN products p ON p.product_id = others.other
WHERE nullif(trim(p.category), '') IS NOT NULL
GROUP BY 1 ORDER BY products DESC, category"""


def sample_products(ws: Workspace, n: int, seed: int) -> list[str]:
    """``n`` products drawn at random (``seed``) from the catalog, in the order drawn."""
    ids = ws.sql("SELECT product_id FROM products WHERE product_id IS NOT NULL ORDER BY product_id")["product_id"]
    if ids.empty:
        raise InputError("no products to ask about")
    rng = np.random.default_rng(seed)
    return [str(i) for i in rng.choice(ids.to_numpy(dtype=object), size=min(n, len(ids)), replace=False)]


def sweep(ask: Callable[[str], list[tuple[Any, ...]]], products: list[str]) -> tuple[list[float], list[Any]]:
    """Each product asked once: (seconds per question, answers)."""
    seconds, answers = [], []
    for product in products:
        started = time.perf_counter()
        answers.append(ask(product))
        seconds.append(time.perf_counter() - started)
    return seconds, answers


def latencies(ask: Callable[[str], list[tuple[Any, ...]]], products: list[str],
              runs: int = MIN_RUNS) -> tuple[dict[str, float], list[Any]]:
    """p50/p99 in milliseconds (each the median over ``runs`` sweeps, after one warm-up sweep) and the answers."""
    _, answers = sweep(ask, products)
    p50, p99 = [], []
    for _ in range(runs):
        seconds, _ = sweep(ask, products)
        p50.append(float(np.percentile(seconds, 50)) * 1000)
        p99.append(float(np.percentile(seconds, 99)) * 1000)
    return {"p50_ms": statistics.median(p50), "p99_ms": statistics.median(p99)}, answers


def compare(graph_folder: Any, ws: Workspace, products: list[str]) -> dict[str, Any]:
    """Latencies of the graph and of DuckDB for ``products``, and whether their answers agree for each."""
    with GraphStore(graph_folder) as store, ws.connect() as con:
        def cypher(product: str) -> list[tuple[Any, ...]]:
            return [tuple(r) for r in store.query(CYPHER, {"id": product}).rows]

        def sql(product: str) -> list[tuple[Any, ...]]:
            return [tuple(r) for r in con.execute(SQL, {"id": product}).fetchall()]

        ours, graph_answers = latencies(cypher, products)
        reference, sql_answers = latencies(sql, products)
    agree = sum(a == b for a, b in zip(graph_answers, sql_answers, strict=True))
    return {"ours": ours, "reference": reference, "agree": agree, "asked": len(products),
            "non_empty": sum(bool(a) for a in graph_answers)}


def two_hop_records(graph: ProductGraph, ws: Workspace, *, dataset: str | None = None, n_products: int = 200,
                    seed: int = 0, notes: str = "", **_protocol: Any) -> list[Any]:
    """Benchmark records of :func:`compare`: the graph (ours) beside DuckDB SQL (reference)."""
    from shoplens.evaluation import BenchmarkRecord, Protocol
    from shoplens.evaluation.records import workspace_dataset

    products = sample_products(ws, n_products, seed)
    found = compare(graph.path_, ws, products)
    protocol = Protocol(split="none", seed=seed, candidates=f"sampled:{len(products)}", notes=(
        f"{len(products)} random products; two hops: product → BOUGHT_TOGETHER → product → IN_CATEGORY → "
        "category, counted per category; "
        f"p50/p99 of one query, median of {MIN_RUNS} sweeps after a warm-up; same answers for "
        f"{found['agree']}/{found['asked']} products ({found['non_empty']} with co-purchases). {notes}").strip())
    name = dataset or workspace_dataset(ws, "graph")
    ours, reference = found["ours"], found["reference"]
    ratio = {"p50_ratio_to_reference": ours["p50_ms"] / reference["p50_ms"],
             "p99_ratio_to_reference": ours["p99_ms"] / reference["p99_ms"]}
    agreement = {"answers_agree": found["agree"] / found["asked"]}
    return [BenchmarkRecord.create(benchmark="graph", dataset=name, variant="two_hop", model="ladybug-cypher",
                                   role="ours", protocol=protocol, metrics={**ours, **ratio, **agreement}),
            BenchmarkRecord.create(benchmark="graph", dataset=name, variant="two_hop", model="duckdb-sql",
                                   role="reference", protocol=protocol, metrics={**reference, **agreement})]
