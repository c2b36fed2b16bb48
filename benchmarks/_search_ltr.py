"""simulator_search: a ranker learned from logged search clicks, judged against the simulator's true relevance.

Protocol (per seed 0, 1, 2):

- Data: ``simulate(n_customers=3000, n_products=400, days=365, seed, search_sessions_per_day=500,
  search_days=37)``: the last 37 days have search sessions whose pages were ranked by the simulator's default
  ranker (BM25 over the product text), 5 % of pages shuffled, clicks under a position-based model with
  examination (1/k); true relevance grades 0–3 per (query, product) are the simulator's truth.
- Split (temporal): training = every event before the last 7 days (the 30 days of search sessions, and the shop's
  other events for popularity and conversion; reviews written before then for ratings); test = the distinct queries
  typed in the last 7 days.
- Index: :class:`shoplens.search.index.ProductIndex` over title, brand, category, attributes and description
  with MiniLM vectors of title + brand + category.
- Ours: :class:`shoplens.search.ltr.LearnedRanker` (LambdaRank on clicks debiased by propensities estimated from
  the shuffled pages; settings by 3-fold cross-validation over training queries, no truth used), re-ranking the
  union of the BM25 top 100 and the dense top 100.
- Baselines, same run, same queries: BM25 (the index's field-weighted BM25 order) and the untrained hybrid (the
  same candidate union ordered by min-max-normalised BM25 + min-max-normalised cosine, equal weights).
- Metric: NDCG@10 with exponential gain 2^rel − 1, the ideal order from every product's true relevance.
  Gate: mean over seeds of ours ≥ 1.10 × the better baseline's mean.
"""

from __future__ import annotations

import json
import os
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from shoplens.data.synth import simulate
from shoplens.evaluation.ranking import graded_ndcg
from shoplens.evaluation.records import BenchmarkRecord, Protocol
from shoplens.search.index import ProductIndex
from shoplens.search.ltr import LearnedRanker, normalize_query

SEEDS = (0, 1, 2)
SHOP = {"n_customers": 3_000, "n_products": 400, "days": 365, "search_sessions_per_day": 500, "search_days": 37}
TEST_DAYS = 7
CANDIDATES = 100
DATASET = "simulator_search"


def documents(products: pd.DataFrame) -> pd.DataFrame:
    """Index documents of simulated products: attributes as "name: value" text."""
    def attribute_text(raw: str | None) -> str:
        attrs = json.loads(raw) if isinstance(raw, str) else {}
        return ". ".join(f"{k}: {', '.join(v) if isinstance(v, list) else v}" for k, v in attrs.items()
                         if k in ("material", "colour", "features"))

    return pd.DataFrame({"product_id": products["product_id"], "title": products["title"],
                         "brand": products["brand"], "category": products["category"],
                         "attributes": products["attributes"].map(attribute_text),
                         "description": products["description"], "price": products["price"]})


def dense_text(products: pd.DataFrame) -> list[str]:
    return (products["title"] + ". " + products["brand"] + ". " + products["category"]).tolist()


def minmax(values: np.ndarray) -> np.ndarray:
    span = values.max() - values.min() if len(values) else 0
    return (values - values.min()) / span if span > 0 else np.zeros_like(values)


def run_seed(seed: int, encoder, folder: Path) -> dict[str, object]:
    shop = simulate(seed=seed, **SHOP)
    events, products = shop.tables["events"], shop.tables["products"]
    cutoff = pd.Timestamp(shop.config.start, tz="UTC") + pd.Timedelta(days=SHOP["days"] - TEST_DAYS)
    train = {"products": products, "events": events[events["event_ts"] < cutoff],
             "reviews": shop.tables["reviews"][shop.tables["reviews"]["review_ts"] < cutoff]}
    test_searches = events[(events["event_ts"] >= cutoff) & (events["event_type"] == "search")
                           & events["session_id"].str.startswith("SS")]
    queries = list(dict.fromkeys(test_searches["query"]))
    truth = shop.truth["search_relevance"]
    grades = {q: dict(zip(g["product_id"], g["relevance"], strict=True)) for q, g in truth.groupby("query")}

    clock = time.perf_counter()
    index = ProductIndex.build(documents(products), folder / f"index-{seed}",
                               vectors={"minilm": encoder.encode(dense_text(products), show_progress=False)})
    ranker = LearnedRanker(seed=seed).fit(train, index=index, encode=lambda t: encoder.encode(t,
                                                                                              show_progress=False))
    fit_seconds = time.perf_counter() - clock
    qvecs = encoder.encode(queries, show_progress=False)
    ids = index.products["product_id"].to_numpy()
    scores: dict[str, list[float]] = {"ours": [], "bm25": [], "hybrid": []}
    clock = time.perf_counter()
    for query, qvec in zip(queries, qvecs, strict=True):
        truth_q = grades.get(query, {})
        lexical = index.lexical(query, k=CANDIDATES)
        dense = index.dense("minilm", qvec, k=CANDIDATES)
        pool = np.array(list(dict.fromkeys([*lexical.rows.tolist(), *dense.rows.tolist()])), dtype=np.int64)
        bm25_of = dict(zip(lexical.rows.tolist(), lexical.scores.tolist(), strict=True))
        hybrid = minmax(np.array([bm25_of.get(r, 0.0) for r in pool])) + minmax(index.cosines("minilm", qvec, pool))
        ranked = {"ours": ranker.rerank(index, query, pool, query_vector=qvec)[:10],
                  "bm25": lexical.rows[:10], "hybrid": pool[np.argsort(-hybrid, kind="stable")][:10]}
        for name, rows in ranked.items():
            scores[name].append(graded_ndcg([truth_q.get(p, 0) for p in ids[rows]], list(truth_q.values()), 10))
    rank_seconds = time.perf_counter() - clock
    theta = shop.truth["search_examination"]["probability"].to_numpy()
    seen = set(normalize_query(q) for q in train["events"]["query"].dropna())
    return {"ndcg": {k: float(np.mean(v)) for k, v in scores.items()}, "n_queries": len(queries),
            "seen_share": float(np.mean([normalize_query(q) in seen for q in queries])),
            "propensity_mae": float(np.abs(ranker.propensities_[:len(theta)] - theta).mean()),
            "chosen": ranker.params_, "importances": ranker.importances(), "fit_seconds": fit_seconds,
            "rank_seconds": rank_seconds}


def run() -> tuple[list[BenchmarkRecord], list[tuple[str, bool, str]]]:
    from shoplens.text import load_encoder

    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    encoder = load_encoder("minilm")
    results = []
    with tempfile.TemporaryDirectory(prefix="search-ltr-") as tmp:
        for seed in SEEDS:
            started = time.perf_counter()
            out = run_seed(seed, encoder, Path(tmp))
            out["seconds"] = time.perf_counter() - started
            print(f"seed {seed}: {json.dumps(out, default=str)}", flush=True)
            results.append(out)
    return _records(results), _gates(results)


def _records(results: list[dict]) -> list[BenchmarkRecord]:
    models = {"ours": ("ltr-lambdarank-ipw", "ours"), "bm25": ("bm25", "baseline"),
              "hybrid": ("hybrid-bm25-minilm-equal", "baseline")}
    records = []
    for key, (model, role) in models.items():
        values = [r["ndcg"][key] for r in results]
        metrics = {"ndcg@10": statistics.mean(values), "ndcg_sd@10": statistics.stdev(values)}
        if key == "ours":
            metrics["propensity_mae"] = statistics.mean(r["propensity_mae"] for r in results)
        notes = (f"simulate({', '.join(f'{k}={v}' for k, v in SHOP.items())}, seed); train = events before the last "
                 f"{TEST_DAYS} days (30 days of search sessions logged under the simulator's BM25 ranker, 5% of pages "
                 f"shuffled; clicks only, debiased by propensities estimated from the shuffled pages); test = distinct "
                 f"queries of the last {TEST_DAYS} days ({statistics.mean(r['n_queries'] for r in results):.0f} per "
                 f"seed, {statistics.mean(r['seen_share'] for r in results):.0%} also typed in training); graded "
                 f"NDCG@10 (2^rel-1) against the simulator's true relevance; candidates for ours and the hybrid = "
                 f"BM25 top {CANDIDATES} ∪ MiniLM top {CANDIDATES}; LambdaRank settings by 3-fold CV over training "
                 f"queries on debiased labels (chosen: {[r['chosen'] for r in results]}); mean ± sd over seeds "
                 f"{list(SEEDS)} (per seed: {', '.join(f'{v:.4f}' for v in values)})")
        # every product may be returned ("full"); ours and the hybrid order the BM25 ∪ dense pool (see notes)
        protocol = Protocol(split="simulator_truth", seed=None, candidates="full", k=10, notes=notes)
        seconds = statistics.mean(r["fit_seconds"] + r["rank_seconds"] for r in results) if key == "ours" else None
        records.append(BenchmarkRecord.create(benchmark="search", dataset=DATASET, model=model, role=role,
                                              protocol=protocol, metrics=metrics, seconds=seconds))
    return records


def _gates(results: list[dict]) -> list[tuple[str, bool, str]]:
    mean = {k: statistics.mean(r["ndcg"][k] for r in results) for k in ("ours", "bm25", "hybrid")}
    best = max(mean["bm25"], mean["hybrid"])
    ratio = mean["ours"] / best if best > 0 else float("inf")
    return [("simulator_search: NDCG@10 ≥ 1.10 × max(BM25, untrained hybrid), mean over seeds", ratio >= 1.10,
             f"ours {mean['ours']:.4f}, BM25 {mean['bm25']:.4f}, hybrid {mean['hybrid']:.4f}: ×{ratio:.3f}")]
