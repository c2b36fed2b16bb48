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

import argparse
import importlib
import json
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from shoplens.evaluation.records import write_results  # noqa: E402

BENCHMARK = "assistant"
PARTS = ("answers", "intents", "yesno", "latency", "generate")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("parts", nargs="*", help=f"parts to run (default all: {', '.join(PARTS)})")
    parser.add_argument("--output", type=Path, help="results file (default benchmarks/results/assistant.json)")
    args = parser.parse_args(argv)
    names = args.parts or list(PARTS)
    unknown = [n for n in names if n not in PARTS]
    if unknown:
        parser.error(f"unknown part {', '.join(unknown)}; parts are {', '.join(PARTS)}")
    gates = []
    for name in names:
        started = time.perf_counter()
        records, part_gates = importlib.import_module(f"_assistant_{name}").run()
        path = write_results(BENCHMARK, records, args.output)
        gates += part_gates
        print(f"{name}: {len(records)} records → {path} in {time.perf_counter() - started:.0f} s", flush=True)
    print(json.dumps({"gates": [{"gate": g[0], "met": g[1], "detail": g[2]} for g in gates]}, indent=2,
                     ensure_ascii=False))
    return 1 if any(not g[1] for g in gates) else 0


if __name__ == "__main__":
    sys.exit(main())
