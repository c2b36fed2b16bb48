"""Scale-out benchmark (issue 13): batch scoring on a Spark standalone cluster (one, then two one-core workers on
127.0.0.1, started by ``shoplens.engine.cluster`` and stopped at the end of each part), MLlib ALS beside our
recommender on the same cluster, and real-time KPIs from an event stream.

    python benchmarks/scale.py                 # every part → benchmarks/results/scale.json
    python benchmarks/scale.py reviews als     # only some parts (records of the others are kept)
    python benchmarks/scale.py --quick stream  # a smoke run at small sizes → benchmarks/.work/results/scale.json

Parts (each in its own module, ``benchmarks/_scale_<part>.py``, with its protocol in its docstring):

- ``reviews``   — simulator_reviews_scoring: 100,000 simulated reviews scored by the deployed star model (int8
  ONNX) on 1 and on 2 workers, and by the local single-process path, same run. Gate: 2 workers ≥ 1.6 × 1 worker
  (``speedup_2_workers``). Peak memory per executor.
- ``recommend`` — simulator_recommend_scoring: top-10 with explanations for every one of 100,000 simulated
  customers (SessionEASE), seconds on 1 and 2 workers and locally.
- ``forecast``  — simulator_forecast_scoring: forecasts and inventory plans of 10,000 product series, seconds on
  1 and 2 workers and locally.
- ``als``       — movielens_100k and s3rec_beauty (the recommend benchmark's protocols): Spark MLlib ALS
  (implicitPrefs; rank, regParam and alpha chosen on the validation split) beside our recommender (SessionEASE,
  SASRec), both scored on the 2-worker cluster, with the protocols' baselines.
- ``stream``    — simulator_events (variant stream): 2,000 events/s for 5 minutes landing as JSON-lines files,
  one-minute KPIs by Structured Streaming. Gates: latency p95 ≤ 10 s from the file landing that closes a window
  to its KPI row (``latency_p95_s``), KPIs equal to a batch recount (``exactly_once``).
- ``rest``      — simulator_events (variant rest): 1,000 events/s for 2 minutes to ``POST /api/v1/events`` from a
  loopback client. Gates: zero lost, zero double-counted; p99 append latency.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import _scale_common as common  # noqa: E402
from _parts import run_parts  # noqa: E402

PARTS = ("reviews", "recommend", "forecast", "als", "stream", "rest")
# the streaming parts size themselves from the environment (benchmarks/_scale_stream.py, _scale_rest.py)
QUICK_STREAMS = {"SCALE_STREAM_RATE": "400", "SCALE_STREAM_SECONDS": "45", "SCALE_REST_RATE": "200",
                 "SCALE_REST_SECONDS": "15"}


def main(argv: list[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if "--quick" in args:
        args.remove("--quick")
        common.choose(common.QUICK)
        for name, value in QUICK_STREAMS.items():
            os.environ.setdefault(name, value)
        if not any(a == "--output" or a.startswith("--output=") for a in args):
            # a smoke run's figures are never mixed into the published results
            args += ["--output", str(HERE / ".work" / "results" / f"{common.BENCHMARK}.json")]
    return run_parts(common.BENCHMARK, PARTS, __doc__ + "\n--quick: small sizes, results in benchmarks/.work/", args)


if __name__ == "__main__":
    sys.exit(main())
