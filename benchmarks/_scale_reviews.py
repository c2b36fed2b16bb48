"""Part ``reviews`` of benchmarks/scale.py — simulator_reviews_scoring.

Data: a simulated shop (seed 13, ``review_rate`` 0.5 so that reviews are plentiful) whose first 100,000 reviews
by id are kept (about 70 % English, 30 % Chinese, as the simulator writes them), exported from the warehouse to
Parquet as 8 files (a lake folder, so that Spark reads it in parallel) with the products table.

Model: the deployed star model as ``shoplens.reviews.spark`` scores it — English a fine-tuned MiniLM served by its
int8 ONNX export, Chinese USE Multilingual (int8 ONNX) with a logistic regression — trained on another, small
simulated shop for a few steps (scoring cost does not depend on how long the weights were trained).

Protocol (same run, same data, same model):
- ``local``: the local path in one process — ``reviews.data.from_workspace`` then ``reviews.store.predictions``
  (ONNX on the machine's two cores);
- ``spark_1_worker`` / ``spark_2_workers``: ``reviews.spark.score_reviews`` on the standalone cluster with one,
  then two one-core workers (one executor each, ONNX with one thread per executor), written as Parquet; the
  application stays the same between the two (the second worker joins it).
Each figure is the median of three runs (the first Spark run loads the model in each executor's Python worker).
Peak memory per executor: the executors' own process-tree metrics (JVM + Python workers' RSS) from the driver's
monitoring REST API. The Spark predictions are checked against the local ones (same stars, probabilities to
1e-6). Gate: 2 workers ≥ 1.6 × 1 worker in reviews/s (``speedup_2_workers``).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow.parquet as pq

from _scale_common import BENCHMARK, Gate, largest, load_note, median_timing, one_then_two_workers, say, sizes, work
from shoplens.evaluation.records import BenchmarkRecord, Protocol

DATASET = "simulator_reviews_scoring"
LAKE_FILES = 8
SPEEDUP_GATE = 1.6


def trained_model(steps: int) -> Path:
    """A deployed star model (int8 ONNX English, USE Chinese) trained on a small simulated shop; cached."""
    import shoplens as sl
    from shoplens.data.synth import simulate
    from shoplens.errors import NotFound
    from shoplens.reviews.models import RatingModel
    from shoplens.reviews.spark import deployed_model

    folder = work("reviews", f"model-steps-{steps}")
    if (folder / "ws" / "shoplens.toml").exists():
        try:
            return deployed_model(sl.Workspace.open(folder / "ws"))
        except NotFound:  # an interrupted training: train again
            pass
    import shutil

    shutil.rmtree(folder / "ws", ignore_errors=True)
    say(f"training the star model ({steps} steps) on a small simulated shop")
    ws = sl.Workspace.init(folder / "ws")
    simulate(n_customers=1200, n_products=80, days=365, seed=11, events=False, inventory=False).write(ws)
    model = RatingModel(method="finetune", chinese_method="embedding", max_steps=steps, batch_size=16,
                        epochs=1).fit(ws)
    model.optimize_for_serving(ws, ws.dir("tmp") / "onnx")
    model.serving_["en"] = "onnx"  # what the full profile serves; a short training may not choose it by itself
    model.register(ws, deploy=True)
    return deployed_model(ws)


def review_shop(count: int) -> Any:
    """A workspace holding exactly ``count`` simulated reviews (the first by id) and their shop; cached."""
    import shoplens as sl
    from shoplens.data.synth import simulate

    folder = work("reviews", f"shop-{count}")
    if (folder / "ws" / "shoplens.toml").exists() and (folder / "ws" / "done").exists():
        return sl.Workspace.open(folder / "ws")
    import shutil

    shutil.rmtree(folder / "ws", ignore_errors=True)
    orders = count
    while True:
        shop = simulate(n_customers=max(1000, count // 3), n_products=1000, days=365, seed=13, n_orders=orders,
                        events=False, inventory=False, review_rate=0.5)
        if len(shop.tables["reviews"]) >= count:
            break
        orders = int(orders * 1.3)
    shop.tables["reviews"] = shop.tables["reviews"].sort_values("review_id").head(count).reset_index(drop=True)
    say(f"writing a shop of {len(shop.tables['orders']):,} orders and {count:,} reviews")
    ws = sl.Workspace.init(folder / "ws")
    shop.write(ws)
    (folder / "ws" / "done").touch()
    return ws


def lake(ws: Any) -> Path:
    """The reviews (as ``LAKE_FILES`` Parquet files) and products of the workspace, exported once."""
    from shoplens.engine.sources import WarehouseSource
    from shoplens.engine.spark_engine import export_table

    folder = work("reviews", f"lake-{ws.path.parent.name}")
    if (folder / "reviews" / "_done").exists():
        return folder
    source = WarehouseSource(ws)
    export_table(source, "products", folder)
    whole = pq.read_table(export_table(source, "reviews", folder))
    (folder / "reviews").mkdir(exist_ok=True)
    step = -(-whole.num_rows // LAKE_FILES)
    for index in range(LAKE_FILES):
        pq.write_table(whole.slice(index * step, step), folder / "reviews" / f"part-{index}.parquet")
    (folder / "reviews.parquet").unlink()
    (folder / "reviews" / "_done").touch()
    return folder


def local_path(ws: Any, model: Any) -> pd.DataFrame:
    from shoplens.reviews.data import from_workspace
    from shoplens.reviews.store import predictions

    return predictions(from_workspace(ws), model, None)


def run() -> tuple[list[BenchmarkRecord], list[Gate]]:
    from shoplens.reviews.models import RatingModel
    from shoplens.reviews.spark import score_reviews

    s = sizes()
    folder = trained_model(s.review_train_steps)
    ws = review_shop(s.reviews)
    data = lake(ws)
    model = RatingModel.load(folder)
    notes = [load_note()]
    local = median_timing(lambda: local_path(ws, model), "local")
    expected = local.result.sort_values("review_id").reset_index(drop=True)
    output = work("reviews", "out") / "predictions"

    def job(spark: Any) -> Callable[[], None]:
        reviews = spark.read.parquet(str(data / "reviews"))
        products = spark.read.parquet(str(data / "products.parquet"))
        return lambda: score_reviews(spark, reviews, folder, products=products).write.mode("overwrite").parquet(
            str(output))

    timings, peaks = one_then_two_workers("reviews", job)
    scored = pd.read_parquet(output).sort_values("review_id").reset_index(drop=True)
    parity = compare(scored, expected)
    return records(local, timings, peaks, parity, notes, len(expected))


def compare(scored: pd.DataFrame, expected: pd.DataFrame) -> dict[str, float]:
    """How far the cluster's predictions are from the local ones."""
    same_rows = scored["review_id"].tolist() == expected["review_id"].tolist()
    if not same_rows:
        return {"same_reviews": 0, "same_stars": 0.0, "max_probability_difference": None}
    columns = ["p_negative", "p_neutral", "p_positive"]
    difference = np.abs(scored[columns].to_numpy() - expected[columns].to_numpy()).max()
    return {"same_reviews": 1, "same_stars": float((scored["predicted_stars"].to_numpy()
                                                    == expected["predicted_stars"].to_numpy()).mean()),
            "max_probability_difference": float(difference)}


def records(local: Any, timings: dict[str, Any], peaks: dict[str, float], parity: dict[str, float],
            notes: list[str], count: int) -> tuple[list[BenchmarkRecord], list[Gate]]:
    s = sizes()
    one, two = timings["spark_1_worker"], timings["spark_2_workers"]
    speedup = one.median / two.median
    peak = largest(peaks)
    protocol = Protocol(split="none", notes="; ".join(filter(None, [
        f"{count:,} simulated reviews (seed 13) scored by the deployed star model (int8 ONNX MiniLM English, USE "
        "Chinese); standalone cluster on 127.0.0.1, one-core workers with one executor each (1 GB heap, one ONNX "
        "thread); median of 3 runs each", local.note("local"), one.note("1 worker"), two.note("2 workers"),
        f"peak RSS per executor (JVM + Python workers) {peaks} MB",
        f"Spark predictions vs local: {parity}", *notes])))
    common = {"benchmark": BENCHMARK, "dataset": DATASET, "variant": s.variant, "protocol": protocol}
    out = [
        BenchmarkRecord.create(**common, model="spark_2_workers", role="ours", seconds=round(two.median, 3),
                               peak_mb=peak, metrics={
                                   "reviews_per_s": round(two.rate(count), 1),
                                   "reviews_per_s_1_worker": round(one.rate(count), 1),
                                   "speedup_2_workers": round(speedup, 3),
                                   "reviews_per_s_per_core": round(two.rate(count) / 2, 1),
                                   "ratio_to_local": round(local.median / two.median, 3),
                                   "peak_executor_mb": peak, **parity}),
        BenchmarkRecord.create(**common, model="spark_1_worker", role="ours", seconds=round(one.median, 3),
                               peak_mb=peak, metrics={"reviews_per_s": round(one.rate(count), 1)}),
        BenchmarkRecord.create(**common, model="local_onnx", role="reference", seconds=round(local.median, 3),
                               metrics={"reviews_per_s": round(local.rate(count), 1)}),
    ]
    gates = [(f"{DATASET}: 2 workers ≥ {SPEEDUP_GATE} × 1 worker", speedup >= SPEEDUP_GATE,
              f"{one.rate(count):.0f} → {two.rate(count):.0f} reviews/s ({speedup:.2f}×); local "
              f"{local.rate(count):.0f} reviews/s; same stars {parity['same_stars']:.4f}")]
    return out, gates
