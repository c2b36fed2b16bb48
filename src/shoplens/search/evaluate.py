"""Known-item evaluation of a fitted :class:`~shoplens.search.Search` on a workspace's own (query, product) pairs.

Each pair's query is searched (top 10, no filters); a hit is its product in the top 10. The same index is also
searched with BM25 alone (the baseline, same run). Pairs come from :func:`shoplens.search.finetune.training_pairs`,
at most ``max_queries`` of them (a seeded sample), so the evaluation stays quick on a large shop.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from shoplens.errors import InputError

if TYPE_CHECKING:
    from shoplens.search.base import Search

K = 10


def evaluate_search(search: Search, ws: Any, *, dataset: str | None = None, max_queries: int = 500,
                    seed: int = 0, **_: Any) -> list[Any]:
    from shoplens.evaluation.records import BenchmarkRecord, Protocol, workspace_dataset
    from shoplens.search.finetune import training_pairs

    pairs = training_pairs(ws)
    known = set(search.index_.products["product_id"])
    pairs = pairs[pairs["product_id"].isin(known)]
    if pairs.empty:
        raise InputError("no (query, product) pairs to evaluate with: the workspace has no Q&A, search events "
                         "with a product, or reviews with a title")
    pairs = pairs.sample(n=min(max_queries, len(pairs)), random_state=seed)
    ranks = {"ours": [], "bm25": []}
    for query, product in zip(pairs["query"], pairs["product_id"], strict=True):
        ours = [item["product_id"] for item in search.query(query, k=K).items]
        lexical = search.index_.lexical(query, K, weights=search.field_weights)
        bm25 = search.index_.products["product_id"].iloc[lexical.rows].tolist()
        for name, ranked in (("ours", ours), ("bm25", bm25)):
            ranks[name].append(ranked.index(product) + 1 if product in ranked else 0)
    name = dataset or workspace_dataset(ws, "search")
    notes = (f"{len(pairs)} (query, product) pairs of the workspace ({', '.join(sorted(pairs['source'].unique()))}), "
             f"sample seed {seed}; a hit is the pair's product in the top {K}; in-sample: the queries' text is "
             f"indexed too (questions, review titles), so this checks the wiring, the held-out figures are in "
             f"benchmarks/search.py")
    protocol = Protocol(split="none", seed=seed, candidates="full", k=K, notes=notes)
    records = []
    for model, role in (("bm25", "baseline"), ("ours", "ours")):
        r = np.asarray(ranks[model])
        metrics = {f"recall@{K}": float((r > 0).mean()),
                   f"mrr@{K}": float(np.where(r > 0, 1 / np.maximum(r, 1), 0).mean())}
        records.append(BenchmarkRecord.create(benchmark="search", dataset=name, role=role, protocol=protocol,
                                              model="hybrid" if model == "ours" else "bm25", metrics=metrics))
    return records
