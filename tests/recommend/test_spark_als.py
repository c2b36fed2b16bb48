"""SparkALS: MLlib's implicit ALS as a shoplens recommender — its factors are MLlib's, in the model's user and item
order (scores equal MLlib's own predictions), it learns something (beats random on held-out purchases), saves and
loads without Spark, and is scored for every customer on Spark like any factor model."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import shoplens as sl

pytestmark = pytest.mark.spark


@pytest.fixture(scope="module")
def fitted(spark, small_shop: sl.Workspace):
    from shoplens.recommend.api import split_interactions
    from shoplens.recommend.data import interactions_frame
    from shoplens.recommend.spark_als import SparkALS

    split = split_interactions(interactions_frame(small_shop))[0]
    return SparkALS(rank=8, reg_param=0.1, alpha=10.0, iterations=8, seed=3, partitions=2).fit(split.train), split


def test_scores_are_mllib_predictions_in_the_models_order(spark, fitted) -> None:
    from pyspark.ml.recommendation import ALS as MLlibALS

    model, _ = fitted
    pairs = model.X_.tocoo()
    ratings = spark.createDataFrame(pd.DataFrame({"user": pairs.row.astype(np.int32),
                                                  "item": pairs.col.astype(np.int32),
                                                  "rating": np.ones(len(pairs.row), np.float32)}),
                                    "user int, item int, rating float").repartition(2)
    # the same estimator, data and seed: MLlib's own predictions of some (user, item) pairs
    mllib = MLlibALS(rank=8, maxIter=8, regParam=0.1, alpha=10.0, implicitPrefs=True, userCol="user",
                     itemCol="item", ratingCol="rating", seed=3, numUserBlocks=2, numItemBlocks=2).fit(ratings)
    rng = np.random.default_rng(0)
    users = rng.integers(0, len(model.user_ids_), 200).astype(np.int32)
    items = rng.choice(np.flatnonzero(model.item_users_ > 0), 200).astype(np.int32)
    asked = spark.createDataFrame(pd.DataFrame({"user": users, "item": items}), "user int, item int")
    theirs = mllib.transform(asked).toPandas().sort_values(["user", "item"])
    ours = model.user_factors_[theirs["user"]] @ model.item_factors_.T
    mine = ours[np.arange(len(theirs)), theirs["item"].to_numpy()]
    assert len(theirs) == 200
    np.testing.assert_allclose(mine, theirs["prediction"].to_numpy(), rtol=1e-4, atol=1e-4)


def test_it_ranks_held_out_items_above_random(fitted) -> None:
    from shoplens.evaluation.ranking import ranking_metrics
    from shoplens.recommend.evaluate import evaluate_model, relevant_rows

    model, split = fitted
    ours = evaluate_model(model, split.test, (10,))["ndcg@10"]
    users, relevant = relevant_rows(model, split.test)
    rng = np.random.default_rng(0)
    random_lists = np.stack([rng.permutation(np.setdiff1d(np.arange(len(model.item_ids_)), model.X_[u].indices))[:10]
                             for u in users])
    chance = ranking_metrics(random_lists, relevant, (10,), n_items=len(model.item_ids_))["ndcg@10"]
    assert ours > 1.5 * chance, (ours, chance)


def test_saved_model_loads_without_spark_and_scores_on_spark(spark, fitted, tmp_path: Path) -> None:
    from shoplens.recommend import Recommender
    from shoplens.recommend.serving import batch_recommendations
    from shoplens.recommend.spark import recommend_all, splits_by_customer

    model, _ = fitted
    loaded = Recommender.load(model.save(tmp_path / "spark_als"))
    assert type(loaded).__name__ == "SparkALS" and loaded.get_params() == model.get_params()
    np.testing.assert_array_equal(loaded.top_k(np.arange(30), 10)[0], model.top_k(np.arange(30), 10)[0])
    assert splits_by_customer(model)  # item factors broadcast, customers' factors partitioned
    local = batch_recommendations(loaded, 5).sort_values(["customer_id", "rank"]).reset_index(drop=True)
    remote = recommend_all(spark, loaded, 5, partitions=3).toPandas().sort_values(["customer_id", "rank"])
    assert remote["product_id"].tolist() == local["product_id"].tolist()


def test_bad_parameters_are_refused(spark, small_shop: sl.Workspace) -> None:
    from shoplens.errors import InputError
    from shoplens.recommend.spark_als import SparkALS

    with pytest.raises(InputError, match="rank ≥ 1"):
        SparkALS(rank=0).fit(small_shop)


def test_the_scale_benchmark_scores_lists_computed_on_spark_as_the_local_path(spark, fitted, monkeypatch) -> None:
    """benchmarks/_scale_als.py turns the lists computed on Spark into the protocol's metrics: they must be the
    local path's (the benchmark's NDCG@10 of MLlib ALS and of ours depend on that mapping)."""
    import importlib

    from shoplens.recommend.evaluate import evaluate_model

    monkeypatch.syspath_prepend(str(Path(__file__).resolve().parents[2] / "benchmarks"))
    bench = importlib.import_module("_scale_als")
    model, split = fitted
    metrics, seconds, same = bench.spark_lists_metrics(spark, model, split.test)
    assert same and seconds > 0
    assert metrics["ndcg@10"] == pytest.approx(evaluate_model(model, split.test, bench.KS)["ndcg@10"], abs=1e-12)
