"""Customer-service assistant benchmark (issue 12): ours beside the baselines, same split, same run.

    python benchmarks/assistant.py                 # every part → benchmarks/results/assistant.json
    python benchmarks/assistant.py answers intents # only some parts (records of the others are kept)

Parts (each lives in its own module, ``benchmarks/_assistant_<part>.py``, with the protocol in its docstring):

- ``answers``  — amazon_qa_answers: answer retrieval with real customer questions (Appliances dev part); corpus =
  all answers of all products, relevant = the question's own answers. Gate: MRR@10 ≥ 0.33 and ≥ 1.20 ×
  off-the-shelf MiniLM on the same queries (beside BM25 and naive RRF).
- ``intents``  — clinc150 (full and 10-shot, out-of-scope threshold chosen on val + oos_val) and the shop's
  default English and Chinese intent set on committed held-out utterances.
- ``yesno``    — amazon_qa_yesno: yes/no verdicts read from the question's own answer (evaluation products' Y/N
  questions), answered only above a threshold chosen on validation products; accuracy of answered verdicts and
  coverage beside always-yes and the lead-word rules, with the risk–coverage curve. Gate: answered verdicts beat
  always-yes.
- ``latency``  — simulator_assistant_latency: extractive answers through the real service over loopback on the
  simulated demo shop (1,000 questions), beside a BM25 floor. Gate: p95 ≤ 150 ms.

Each part module defines ``run() -> tuple[list[BenchmarkRecord], list[Gate]]`` where a gate is
``(description, met, detail)``.
"""

from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from _parts import run_parts  # noqa: E402

BENCHMARK = "assistant"
PARTS = ("answers", "intents", "yesno", "latency", "generate")


def main(argv: list[str] | None = None) -> int:
    return run_parts(BENCHMARK, PARTS, __doc__, argv)


if __name__ == "__main__":
    sys.exit(main())
