"""Product knowledge graph benchmark (issue 10): ours beside the baselines, same split, same run.

    python benchmarks/graph.py                 # every part → benchmarks/results/graph.json
    python benchmarks/graph.py cold links      # only some parts (records of the others are kept)

Parts (each lives in its own module, ``benchmarks/_graph_<part>.py``, with the protocol in its docstring):

- ``cold``  — recbole_ml100k_kg_cold: cold-item recommendation on MovieLens-100K with RecBole's Freebase
  triples; 20 % of the KG-linked items become cold, five seeds. Gate: the KG-aware model's mean NDCG@20
  ≥ 1.05 × the best baseline's and better on at least 4 of the 5 seeds.
- ``links`` — amazon_giftcards_links: hidden ``also_buy`` edges of the Amazon Gift Cards meta, ranked by
  graph-based scoring beside co-occurrence counting and text similarity. Gate: best MRR.
- ``speed`` — simulator_graph: the graph built from a simulated shop (100,000 customers, 10,000 products,
  1,000,000 order lines) — seconds and peak MB; a two-hop neighbourhood query p50/p99 over 1,000 products
  beside the same question in DuckDB SQL.

Each part module defines ``run() -> tuple[list[BenchmarkRecord], list[Gate]]`` where a gate is
``(description, met, detail)``.
"""

from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from _parts import run_parts  # noqa: E402

BENCHMARK = "graph"
PARTS = ("cold", "links", "speed")


def main(argv: list[str] | None = None) -> int:
    return run_parts(BENCHMARK, PARTS, __doc__, argv)


if __name__ == "__main__":
    sys.exit(main())
