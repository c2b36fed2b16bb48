"""Operations benchmark (issue 14): what the service holds under load and over time, what a crash leaves, and how
long a shop waits for its decisions — on the mid-size simulated shop (50,000 customers, 2,000 products, about
1,000,000 order lines, 2,000,000 events, 50,000 reviews in English and Chinese; benchmarks/_ops_shop.py).

    python benchmarks/operations.py                  # figures, load, soak → benchmarks/results/operations.json
    python benchmarks/operations.py crash            # only some parts (records of the others are kept)
    python benchmarks/operations.py --quick          # small sizes → benchmarks/.work/results/operations.json

Parts (each in its own module, ``benchmarks/_ops_<part>.py``, with its protocol in its docstring), run in this
order: the figures part trains the workspace the load and soak parts serve (cached under
``~/.cache/shoplens/ops/``; alone, they build it the same way when it is absent). ``crash`` runs only when named
(about 9 minutes; its record ``crash_ingest`` stays in the results file between runs), so that the default run
stays near 25 minutes.

- ``figures`` — ``shoplens run --profile demo`` on the shop less its last day (``run_fast_seconds``), then on the
  shop with its last day appended (``run_incremental_seconds``): seconds per stage, peak memory; beside them the
  ingest speed ratio and the Chinese review scoring speed, cited from ingest.json and reviews.json. Gates: fast
  < 10 min, incremental < 2 min, ingest ≥ 0.5 × bare parse, Chinese ≥ 300 reviews/s.
- ``load``    — 20,000 mixed reads (recommend, analytics, forecast, reviews predict) at concurrency 32 over
  loopback to ``shoplens serve``, beside a bare FastAPI endpoint. Gate: p99 ≤ 50 ms for recommend and analytics
  reads, zero errors (``p99_ms`` per kind: variant ``load_<kind>``).
- ``soak``    — 50 requests/s for 10 minutes: errors, resident memory at start and end. Gate: zero errors,
  growth ≤ 10 %.
- ``crash``   — ``kill -9`` of a 2,000,000-line ingest at 10 random points (benchmarks/_ops_crash.py). Gate: the
  previous state every time, the rerun loads everything.

Time on a 2-core machine: figures = the two runs (≤ 12 minutes when their gates are met) plus the ingest (about a
minute) and, the first time only, the shop's simulation (about 5 minutes, 6 GB; then cached); load about 5
minutes (20,000 requests at the service's ~25 ms of CPU each, and as many bare ones); soak 10 minutes; crash about
9 minutes.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from _ops_shop import BENCHMARK, QUICK_ENV  # noqa: E402
from _parts import run_parts  # noqa: E402

PARTS = ("figures", "load", "soak", "crash")
DEFAULT_PARTS = ("figures", "load", "soak")


def main(argv: list[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if "--quick" in args:
        args.remove("--quick")
        os.environ[QUICK_ENV] = "1"  # the parts read their sizes from it (benchmarks/_ops_shop.py)
        if not any(a == "--output" or a.startswith("--output=") for a in args):
            # a smoke run's figures are never mixed into the published results
            args += ["--output", str(HERE / ".work" / "results" / f"{BENCHMARK}.json")]
    return run_parts(BENCHMARK, PARTS, __doc__ + "\n--quick: small sizes, results in benchmarks/.work/", args,
                     prefix="_ops_", default=DEFAULT_PARTS)


if __name__ == "__main__":
    sys.exit(main())
