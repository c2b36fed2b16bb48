"""Scoring every review on Spark with the deployed star (or sentiment) model: the local path's predictions,
spread over the executors (docs/scale.md, "Batch scoring on Spark").

```python
from shoplens.engine.spark_engine import start_session
from shoplens.reviews.spark import score_reviews

spark = start_session("local[2]")                        # or spark://host:7077
reviews = spark.read.parquet("lake/reviews.parquet")
products = spark.read.parquet("lake/products.parquet")
scored = score_reviews(spark, reviews, "shop/models/reviews-stars/v3", products=products)
scored.write.parquet("out/reviews_predictions")          # review_id, predicted_stars, sentiment, p_* …
```

How: the saved model folder (its int8 ONNX export, tokenizer, TF-IDF members, decoders) is shipped with the
job (a zip archive, ``SparkContext.addArchive``) and loaded once per Python worker (``engine.scoring.load_once``).
The reviews are prepared on the executors with the local code (``review_text``, language detection), keyed by the local
path's scoring chunk (CRC-32 of the review id, ``reviews.store.scoring_chunks``: Spark's ``crc32`` is the
same function), and each chunk is scored in one task by :func:`shoplens.reviews.store.predict_chunk` — the
call the local path makes for the same chunk, so the int8 model quantises the same batches and the
predictions are the local ones exactly (English and Chinese alike). A chunk holds up to 4,096 reviews; a
shop with fewer reviews is one task.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd

from shoplens.engine.scoring import load_once, ship_folder, shipped_path
from shoplens.errors import InputError, NotFound
from shoplens.reviews.store import CHUNK_ROWS, PREDICTIONS, chunk_count

# The columns a prepared review carries to its chunk's task (the review frame's, reviews.data).
PREPARED_SCHEMA = ("review_id string, product_id string, category string, review_ts timestamp, language string, "
                   "rating double, text string")
PREDICTION_SCHEMA = ("review_id string, product_id string, category string, review_ts timestamp, language string, "
                     "rating double, predicted_stars double, sentiment string, p_negative double, p_neutral double, "
                     "p_positive double")
RAW_COLUMNS = ("review_id", "product_id", "title", "body", "rating", "review_ts", "language")
# The registry names of the models scored here, the star model first (as the local run prefers it).
MODEL_NAMES = ("reviews-stars", "reviews-sentiment")


def score_reviews(spark: Any, reviews: Any, model: str | os.PathLike, *, products: Any = None,
                  chunk_rows: int = CHUNK_ROWS) -> Any:
    """Predictions of every review with text (a Spark DataFrame with :data:`PREDICTION_SCHEMA`; lazy).

    ``reviews``: the canonical ``reviews`` table as a Spark DataFrame; ``products`` (optional) gives each review
    its product's ``category``. ``model``: the folder of a saved ``RatingModel`` or ``SentimentModel`` (a
    registry version, e.g. ``ws.models.path("reviews-stars")``). ``chunk_rows``: reviews per scoring chunk (the
    local path's, ``reviews.store.predictions``; give both the same to compare them)."""
    folder = Path(model)
    kind = _model_kind(folder)
    missing = [c for c in ("review_id", "title", "body") if c not in reviews.columns]
    if missing:
        raise InputError(f"the reviews to score lack the column(s) {', '.join(missing)}")
    prepared = _prepared(reviews, products).persist()
    chunks = chunk_count(prepared.count(), chunk_rows)
    name = ship_folder(spark, folder, kind)
    keyed = prepared.selectExpr("*", f"pmod(crc32(CAST(review_id AS BINARY)), {chunks}) AS chunk")
    # One task per chunk: left to itself, adaptive execution coalesces the grouping's shuffle by bytes (5 tasks
    # for 100,000 reviews), and 5 equal tasks on two workers take 3 tasks' time. Ranges of the chunk number give
    # each chunk its own partition (a range partitioning also serves the grouping: no second shuffle), and a
    # partition count given explicitly is never coalesced.
    keyed = keyed.repartitionByRange(chunks, "chunk")

    def score(chunk: pd.DataFrame) -> pd.DataFrame:
        return score_chunk(chunk, name, kind)

    return keyed.groupBy("chunk").applyInPandas(score, PREDICTION_SCHEMA)


def _model_kind(folder: Path) -> str:
    from shoplens.reviews.models import CONFIG_FILE

    config = folder / CONFIG_FILE
    if not config.exists():
        raise NotFound(f"{folder} holds no saved review model ({CONFIG_FILE} missing)")
    kind = json.loads(config.read_text(encoding="utf-8")).get("class")
    if kind not in ("RatingModel", "SentimentModel"):
        raise InputError(f"{folder}: a {kind} is not a star or sentiment model")
    return "rating" if kind == "RatingModel" else "sentiment"


def _prepared(reviews: Any, products: Any) -> Any:
    """The review frame of every review with text, built on the executors by the local code."""
    present = set(reviews.columns)
    raw = reviews.selectExpr(*[c if c in present else f"CAST(NULL AS STRING) AS {c}" for c in RAW_COLUMNS])
    raw = raw.selectExpr("CAST(review_id AS STRING) AS review_id", "CAST(product_id AS STRING) AS product_id",
                         "title", "body", "CAST(rating AS DOUBLE) AS rating", "review_ts", "language")
    if products is not None and "category" in products.columns:
        categories = products.selectExpr("product_id AS _product_id", "category")
        raw = raw.join(categories, raw.product_id == categories._product_id, "left").drop("_product_id")
    else:
        raw = raw.selectExpr("*", "CAST(NULL AS STRING) AS category")
    return raw.mapInPandas(_prepare_batches, PREPARED_SCHEMA)


def _prepare_batches(batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
    from shoplens.reviews.data import normalize, review_text

    for batch in batches:
        batch = batch.assign(text=review_text(batch["title"], batch["body"]))
        batch = batch[batch["text"] != ""]
        if batch.empty:
            continue
        frame = normalize(batch)
        yield frame[["review_id", "product_id", "category", "review_ts", "language", "rating", "text"]]


def score_chunk(chunk: pd.DataFrame, name: str, kind: str) -> pd.DataFrame:
    """One chunk's predictions on an executor, with the shipped model loaded once per worker process."""
    from shoplens.reviews.models import RatingModel, SentimentModel
    from shoplens.reviews.store import predict_chunk

    loader = RatingModel if kind == "rating" else SentimentModel
    model = load_once(f"reviews:{name}", lambda: loader.load(shipped_path(name)))
    frame = chunk.drop(columns="chunk").sort_values("review_id", kind="stable").reset_index(drop=True)
    out = predict_chunk(frame, model if kind == "rating" else None, model if kind == "sentiment" else None)
    out["predicted_stars"] = out["predicted_stars"].astype(float)
    return out


def deployed_model(ws: Any) -> Path:
    """The folder of the workspace's deployed star model, else its sentiment model (``NotFound`` without one)."""
    for name in MODEL_NAMES:
        try:
            return ws.models.path(name, "deployed")
        except NotFound:
            continue
    raise NotFound(f"no deployed star or sentiment model in {ws.path}: run `shoplens run` (or `shoplens reviews "
                   "train --deploy`) first")


__all__ = ["PREDICTIONS", "PREDICTION_SCHEMA", "deployed_model", "score_chunk", "score_reviews"]
