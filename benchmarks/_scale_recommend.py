"""Part ``recommend`` of benchmarks/scale.py — simulator_recommend_scoring.

Data: a simulated shop (seed 17, 2,000 products, a year of orders, no browsing events); the interactions of the
first 100,000 customers by id who have any. Model: SessionEASE with its default parameters (the deployed
recommender of the full profile), fitted locally once.

Protocol (same run, same model): top-10 with explanations for every one of those customers —
``recommend.serving.batch_recommendations`` in one process (``local``), and ``recommend.spark.recommend_all`` on
the standalone cluster with one, then two one-core workers (item-side state broadcast, customers partitioned two
per core, lists written as Parquet). Median of three runs each. The lists from the cluster are checked against
the local ones. Not gated (the issue asks for the seconds).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from _scale_common import (
    BENCHMARK,
    Gate,
    load_note,
    median_timing,
    one_then_two_workers,
    say,
    scaling_records,
    sizes,
    work,
)
from shoplens.evaluation.records import BenchmarkRecord, Protocol

DATASET = "simulator_recommend_scoring"
K = 10


def shop(users: int) -> Any:
    import shoplens as sl
    from shoplens.data.synth import simulate

    folder = work("recommend", f"shop-{users}")
    if (folder / "ws" / "done").exists():
        return sl.Workspace.open(folder / "ws")
    import shutil

    shutil.rmtree(folder / "ws", ignore_errors=True)
    say(f"simulating a shop of {users * 2:,} customers")  # about 60 % of simulated customers ever order
    ws = sl.Workspace.init(folder / "ws")
    simulate(n_customers=users * 2, n_products=2000, days=365, seed=17, n_orders=users * 5, events=False,
             reviews=False, inventory=False).write(ws)
    (folder / "ws" / "done").touch()
    return ws


def fitted_model(ws: Any, users: int) -> Any:
    from shoplens.recommend.api import make_model
    from shoplens.recommend.data import USER, interactions_frame

    frame = interactions_frame(ws)
    chosen = np.sort(frame[USER].astype(str).unique())[:users]
    if len(chosen) < users:
        raise RuntimeError(f"the simulated shop has {len(chosen):,} customers with interactions, not {users:,}")
    return make_model("session_ease").fit(frame[frame[USER].astype(str).isin(set(chosen))], ws)


def run() -> tuple[list[BenchmarkRecord], list[Gate]]:
    from shoplens.recommend.serving import batch_recommendations
    from shoplens.recommend.spark import recommend_all

    s = sizes()
    model = fitted_model(shop(s.users), s.users)
    notes = [load_note()]
    local = median_timing(lambda: batch_recommendations(model, K), "recommend: local")
    output = work("recommend", "out") / "top_k"

    def job(spark: Any) -> Callable[[], None]:
        return lambda: recommend_all(spark, model, K).write.mode("overwrite").parquet(str(output))

    timings, peaks = one_then_two_workers("recommend", job)
    remote = pd.read_parquet(output).sort_values(["customer_id", "rank"]).reset_index(drop=True)
    expected = local.result.sort_values(["customer_id", "rank"]).reset_index(drop=True)
    same = float(remote["product_id"].tolist() == expected["product_id"].tolist()
                 and remote["customer_id"].tolist() == expected["customer_id"].tolist())
    users = len(model.user_ids_)
    one, two = timings["spark_1_worker"], timings["spark_2_workers"]
    protocol = Protocol(split="none", k=K, candidates="full", notes="; ".join(filter(None, [
        f"top-{K} with explanations for {users:,} simulated customers (seed 17, 2,000 products), SessionEASE "
        f"(default parameters, fitted in {model.fit_seconds_:.1f} s); standalone cluster on 127.0.0.1, one-core "
        "workers, customers in two partitions per core; median of 3 runs each", local.note("local"),
        one.note("1 worker"), two.note("2 workers"), f"peak RSS per executor {peaks} MB",
        f"cluster lists equal to the local ones: {bool(same)}", *notes])))
    common = {"benchmark": BENCHMARK, "dataset": DATASET, "variant": s.variant, "protocol": protocol}
    records = scaling_records(common, timings, local, peaks, unit="users", count=users,
                              extra={"same_lists_as_local": same})
    return records, []
