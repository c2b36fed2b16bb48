"""Product search benchmark (issue 11): ours beside the baselines, same split, same run.

    python benchmarks/search.py                 # every part → benchmarks/results/search.json
    python benchmarks/search.py product parse   # only some parts (records of the others are kept)

Parts (each lives in its own module, ``benchmarks/_search_<part>.py``, with the protocol in its docstring):

- ``product``  — amazon_qa_product: known-item search with real customer questions (Appliances dev part); a
  product's document is its other questions and answers. Gate: Recall@10 ≥ 0.45 and MRR@10 ≥ 1.15 × the best
  same-run baseline (BM25, off-the-shelf MiniLM, equal-weight RRF).
- ``ltr``      — simulator_search: a ranker learned from 30 days of logged search sessions (clicks, position
  bias) evaluated on the next 7 days against true relevance. Gate: NDCG@10 ≥ 1.10 × max(BM25, untrained hybrid).
- ``parse``    — query understanding: committed English and Chinese cases parsed exactly (≥ 90 %); Chinese
  retrieval on online_shopping_10_cats beside character BM25.
- ``speed``    — simulator_search_latency: 50,000 products, query latency with ranking over loopback
  (p50 ≤ 30 ms, p99 ≤ 100 ms), index build seconds and peak MB, beside plain tantivy BM25.

Each part module defines ``run() -> tuple[list[BenchmarkRecord], list[Gate]]`` where a gate is
``(description, met, detail)``.
"""

from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from _parts import run_parts  # noqa: E402

BENCHMARK = "search"
PARTS = ("product", "ltr", "parse", "speed")


def main(argv: list[str] | None = None) -> int:
    return run_parts(BENCHMARK, PARTS, __doc__, argv)


if __name__ == "__main__":
    sys.exit(main())
