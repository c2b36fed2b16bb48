"""Spark MLlib's ALS with implicit preferences as a shoplens recommender: the library a shop that already runs
Spark would otherwise pick for recommendations at scale, fitted on the Spark session's executors and then used
like any other model (the benchmark's reference on the same cluster, docs/scale.md).

```python
from shoplens.engine.spark_engine import start_session
from shoplens.recommend.spark_als import SparkALS

spark = start_session("spark://127.0.0.1:7077")          # or local[2]; an open session is used as it is
model = SparkALS(rank=64, reg_param=0.1, alpha=10.0).fit(ws)
model.recommend("C000123")                                # top-k with explanations, seen items excluded
```

How: the interactions (the binary user × item matrix every recommender builds, ``X_``) go to Spark as
``(user, item, 1.0)`` rows; ``pyspark.ml.recommendation.ALS(implicitPrefs=True)`` learns user and item factors
with confidence ``1 + alpha · r`` (Hu, Koren & Volinsky 2008, as MLlib implements it: its ``regParam`` is scaled
by each user's and item's number of interactions, so its values are not those of the ``implicit`` library's ALS).
The factors come back to the driver in the model's user and item order; scoring, seen-item exclusion,
explanations, saving and loading are those of every factor model (:class:`~shoplens.recommend.factor.ALS`'s), so
the model is evaluated by the same code as ours and scored on Spark by ``recommend.spark.recommend_all``.
Catalogue items without interactions get zero factors (MLlib learns nothing for them).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from shoplens.errors import InputError
from shoplens.recommend.factor import _Factorization
from shoplens.recommend.persist import register

RATINGS_SCHEMA = "user int, item int, rating float"


def spark_session() -> Any:
    """The open Spark session of this process, else one on the usual master (``resolve_master``)."""
    from pyspark.sql import SparkSession

    from shoplens.engine.spark_engine import start_session

    return SparkSession.getActiveSession() or start_session()


@register
class SparkALS(_Factorization):
    """Spark MLlib ALS (``implicitPrefs=True``): ``rank`` factors, ``reg_param`` (MLlib's ``regParam``),
    ``alpha`` (confidence of an interaction), ``iterations`` (``maxIter``). ``partitions``: how many partitions
    of the interactions (and user and item blocks; default MLlib's 10)."""

    name = "spark_als"

    def __init__(self, rank: int = 64, reg_param: float = 0.1, alpha: float = 10.0, iterations: int = 15,
                 seed: int = 0, partitions: int | None = None) -> None:
        self.rank = rank
        self.reg_param = reg_param
        self.alpha = alpha
        self.iterations = iterations
        self.seed = seed
        self.partitions = partitions

    def _fit(self, frame: pd.DataFrame) -> None:
        from pyspark.ml.recommendation import ALS as MLlibALS

        from shoplens.engine.scoring import check_spark, to_spark

        if self.rank < 1 or self.iterations < 1 or self.reg_param < 0 or self.alpha < 0:
            raise InputError(f"SparkALS needs rank ≥ 1, iterations ≥ 1, reg_param ≥ 0 and alpha ≥ 0; got rank="
                             f"{self.rank}, iterations={self.iterations}, reg_param={self.reg_param}, "
                             f"alpha={self.alpha}")
        check_spark()
        spark = spark_session()
        pairs = self.X_.tocoo()
        ratings = pd.DataFrame({"user": pairs.row.astype(np.int32), "item": pairs.col.astype(np.int32),
                                "rating": np.ones(len(pairs.row), dtype=np.float32)})
        blocks = {"numUserBlocks": self.partitions, "numItemBlocks": self.partitions} if self.partitions else {}
        als = MLlibALS(rank=self.rank, maxIter=self.iterations, regParam=self.reg_param, alpha=self.alpha,
                       implicitPrefs=True, userCol="user", itemCol="item", ratingCol="rating", seed=self.seed,
                       **blocks)
        data = to_spark(spark, ratings, RATINGS_SCHEMA, self.partitions).persist()
        try:
            fitted = als.fit(data)
            self.user_factors_ = factors_by_index(fitted.userFactors, len(self.user_ids_), self.rank)
            self.item_factors_ = factors_by_index(fitted.itemFactors, len(self.item_ids_), self.rank)
        finally:
            data.unpersist()
        self._model = None


def factors_by_index(factors: Any, count: int, rank: int) -> np.ndarray:
    """MLlib's ``(id, features)`` factor rows as a ``count × rank`` array in id order (rows it has no factor
    for, such as items nobody interacted with, stay zero)."""
    collected = factors.toPandas()
    out = np.zeros((count, rank), dtype=np.float32)
    if len(collected):
        out[collected["id"].to_numpy(dtype=np.int64)] = np.stack(collected["features"].to_numpy()).astype(np.float32)
    return out


__all__ = ["SparkALS", "factors_by_index", "spark_session"]
