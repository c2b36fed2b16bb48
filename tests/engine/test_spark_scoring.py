"""Batch scoring on Spark (``local[2]``) gives the local path's results: the same review predictions (English and
Chinese, the int8 ONNX model serving), the same top-k lists for every customer, the same forecasts and inventory
plans, and ``shoplens run --engine spark`` the same result tables as the local run."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import shoplens as sl
from shoplens.engine.sources import WarehouseSource
from shoplens.engine.spark_engine import export_table

pytestmark = pytest.mark.spark

CHUNK_ROWS = 64  # several chunks (Spark tasks) from the few hundred reviews of the shop


def parquet_of(spark, ws: sl.Workspace, table: str, folder: Path):
    """A warehouse table as Spark reads it in a Spark run (exported to Parquet)."""
    return spark.read.parquet(str(export_table(WarehouseSource(ws), table, folder)))


@pytest.fixture(scope="module")
def review_shop(tmp_path_factory: pytest.TempPathFactory) -> sl.Workspace:
    """A simulated shop with English and Chinese reviews and a deployed star model whose English part is a
    (briefly) fine-tuned MiniLM served by its int8 ONNX export, and whose Chinese part reads USE Multilingual
    (an int8 ONNX graph) with a logistic regression."""
    from shoplens.data.synth import simulate
    from shoplens.reviews.models import RatingModel

    ws = sl.Workspace.init(tmp_path_factory.mktemp("spark_reviews") / "ws")
    simulate(n_customers=1200, n_products=80, days=365, seed=11, events=False, inventory=False).write(ws)
    model = RatingModel(method="finetune", chinese_method="embedding", max_steps=4, batch_size=8, epochs=1).fit(ws)
    model.optimize_for_serving(ws, ws.dir("tmp") / "onnx")
    model.serving_["en"] = "onnx"  # what the full profile deploys; four steps of training are too few to choose it
    model.register(ws, deploy=True)
    return ws


def test_reviews_scored_on_spark_equal_the_local_predictions(spark, review_shop: sl.Workspace,
                                                             tmp_path: Path) -> None:
    from shoplens.reviews.data import from_workspace
    from shoplens.reviews.models import RatingModel
    from shoplens.reviews.spark import deployed_model, score_reviews
    from shoplens.reviews.store import chunk_count, predictions

    folder = deployed_model(review_shop)
    local = predictions(from_workspace(review_shop), RatingModel.load(folder), None, chunk_rows=CHUNK_ROWS)
    assert {"en", "zh"} <= set(local["language"]) and len(local) > 4 * CHUNK_ROWS
    scored = score_reviews(spark, parquet_of(spark, review_shop, "reviews", tmp_path),
                           folder, products=parquet_of(spark, review_shop, "products", tmp_path),
                           chunk_rows=CHUNK_ROWS)
    remote = scored.toPandas().sort_values("review_id").reset_index(drop=True)
    local = local.sort_values("review_id").reset_index(drop=True)
    assert remote["review_id"].tolist() == local["review_id"].tolist()
    for column in ("language", "sentiment", "product_id", "category"):
        assert remote[column].fillna("").tolist() == local[column].fillna("").tolist(), column
    np.testing.assert_array_equal(remote["predicted_stars"].to_numpy(), local["predicted_stars"].to_numpy())
    for column in ("p_negative", "p_neutral", "p_positive"):
        np.testing.assert_allclose(remote[column].to_numpy(), local[column].to_numpy(), rtol=0, atol=1e-6)
    assert (pd.to_datetime(remote["review_ts"]) == pd.to_datetime(local["review_ts"])).all()
    # a task per chunk, not as many as adaptive execution would coalesce them into (one, for so few bytes): with
    # few tasks a second worker has little to take
    assert scored.rdd.getNumPartitions() == chunk_count(len(local), CHUNK_ROWS)


AUTO_PARAMS = {"candidates": ("popularity", "ease", "session_ease"), "time_budget": 60.0}


@pytest.mark.parametrize("name", ["session_ease", "popularity", "auto"])
def test_top_k_for_every_customer_on_spark_equal_the_local_lists(spark, small_shop: sl.Workspace, name: str) -> None:
    from shoplens.recommend.api import make_model
    from shoplens.recommend.serving import batch_recommendations
    from shoplens.recommend.spark import recommend_all, splits_by_customer

    model = make_model(name, **(AUTO_PARAMS if name == "auto" else {})).fit(small_shop)
    # SessionEASE: item weights broadcast, customers' rows partitioned; popularity explains by co-occurrence over
    # every history, and auto keeps its customers inside its parts: the whole model is broadcast
    assert splits_by_customer(model) == (name == "session_ease")
    local = batch_recommendations(model, 10).sort_values(["customer_id", "rank"]).reset_index(drop=True)
    remote = recommend_all(spark, model, 10, partitions=3).toPandas()
    remote = remote.sort_values(["customer_id", "rank"]).reset_index(drop=True)
    assert len(local) > 1000 and remote["customer_id"].nunique() == len(model.user_ids_)
    for column in ("customer_id", "rank", "product_id", "title", "reason", "model"):
        assert remote[column].tolist() == local[column].tolist(), column
    np.testing.assert_allclose(remote["score"].to_numpy(), local["score"].to_numpy(), rtol=1e-6, atol=1e-6)


@pytest.fixture(scope="module")
def forecaster(small_shop: sl.Workspace):
    """The demo profile's forecaster (three models, reconciled over products, categories and the total)."""
    from shoplens.forecast.forecaster import Forecaster
    from shoplens.forecast.workflow import forecaster_params

    return Forecaster(**forecaster_params("demo")).fit(small_shop)


def test_forecasts_and_plans_on_spark_equal_the_local_ones(spark, small_shop: sl.Workspace, forecaster) -> None:
    from shoplens.forecast.inventory import inventory_plan
    from shoplens.forecast.spark import forecast_all, plan_all
    from shoplens.forecast.workflow import plan_inputs

    assert forecaster.combination_.g_matrix is not None  # the per-period reconciliation stage runs
    inputs = plan_inputs(small_shop, forecaster)
    predicted = forecaster.predict(inputs.horizon)
    local = predicted.rename(columns=lambda c: c.replace("-", "_")).sort_values(["unique_id", "ds"])
    forecast = forecast_all(spark, forecaster, inputs.horizon, partitions=3).persist()
    remote = forecast.toPandas().sort_values(["unique_id", "ds"])
    assert len(remote) == len(local) == len(forecaster.series_.ids) * inputs.horizon
    assert remote["unique_id"].tolist() == local["unique_id"].tolist()
    assert (pd.to_datetime(remote["ds"]).to_numpy() == pd.to_datetime(local["ds"]).to_numpy()).all()
    for column in remote.columns[2:]:
        np.testing.assert_allclose(remote[column].to_numpy(), local[column].to_numpy(), rtol=1e-9, atol=1e-6,
                                   err_msg=column)

    local_plan = inventory_plan(predicted, 0.95, inputs.lead_times, review_days=inputs.review_days,
                                unit_cost=inputs.unit_cost, unit_price=inputs.unit_price, stock=inputs.stock)
    remote_plan = plan_all(spark, forecast, forecaster, inputs).toPandas().sort_values("unique_id")
    local_plan = local_plan.sort_values("unique_id")
    assert inputs.stock is not None and remote_plan["unique_id"].tolist() == local_plan["unique_id"].tolist()
    for column in local_plan.columns.drop("unique_id"):
        mine, theirs = remote_plan[column].to_numpy(), local_plan[column].to_numpy()
        if column in ("target", "order_now"):
            assert mine.tolist() == theirs.tolist(), column
        else:
            np.testing.assert_allclose(mine.astype(float), theirs.astype(float), rtol=1e-9, atol=1e-6,
                                       err_msg=column)
    forecast.unpersist()


# -- shoplens run --engine spark -----------------------------------------------------------------------------------
SCORED = ("reviews_predictions", "recommend_top_k", "forecast_daily", "inventory_plan")


def invoke(*args: str) -> tuple[int, str]:
    from typer.testing import CliRunner

    from shoplens.cli import app

    result = CliRunner().invoke(app, list(args))
    return result.exit_code, result.output


def sorted_table(ws: sl.Workspace, table: str) -> pd.DataFrame:
    frame = ws.sql(f'SELECT * FROM "{table}"').drop(columns=["created_at"], errors="ignore")
    return frame.sort_values(list(frame.columns), kind="stable").reset_index(drop=True)


def assert_same_table(mine: pd.DataFrame, theirs: pd.DataFrame, table: str) -> None:
    assert list(mine.columns) == list(theirs.columns) and len(mine) == len(theirs), table
    for column in mine.columns:
        left, right = mine[column], theirs[column]
        if pd.api.types.is_numeric_dtype(left) and pd.api.types.is_numeric_dtype(right):
            np.testing.assert_allclose(left.to_numpy(float), right.to_numpy(float), rtol=1e-9, atol=1e-6,
                                       err_msg=f"{table}.{column}")
        elif pd.api.types.is_datetime64_any_dtype(left) or pd.api.types.is_datetime64_any_dtype(right):
            assert (pd.to_datetime(left).to_numpy() == pd.to_datetime(right).to_numpy()).all(), f"{table}.{column}"
        else:
            assert left.astype(str).tolist() == right.astype(str).tolist(), f"{table}.{column}"


def test_run_on_spark_stores_the_local_run_tables(spark, demo_shop: sl.Workspace, tmp_path: Path) -> None:
    """The demo shop after the local run; the copy's result tables dropped, then rebuilt by the run on Spark."""
    import json

    from tests.conftest import copy_workspace

    ws = copy_workspace(demo_shop, tmp_path)
    local = [t for t in demo_shop.table_names() if t in SCORED or t.startswith("analytics_")]
    with ws.connect(read_only=False) as con:
        for table in local:
            con.execute(f'DROP TABLE "{table}"')
    code, out = invoke("run", "--engine", "spark", "-w", str(ws.path), "--json")
    result = json.loads(out)
    assert code == 0, result
    assert {s["status"] for s in result["steps"]} == {"ok"}, result["steps"]
    written = sorted(p.name for p in (ws.path / "spark" / "results").iterdir())
    assert set(SCORED) <= set(written) and any(t.startswith("analytics_kpis") for t in written)
    for table in written:
        assert_same_table(sorted_table(ws, table), sorted_table(demo_shop, table), table)
    parquet = pd.read_parquet(ws.path / "spark" / "results" / "recommend_top_k")
    assert len(parquet) == len(demo_shop.sql("SELECT * FROM recommend_top_k"))


def test_run_on_spark_without_deployed_models_skips_their_scoring(small_shop: sl.Workspace, tmp_path: Path) -> None:
    import json

    from tests.conftest import copy_workspace

    ws = copy_workspace(small_shop, tmp_path)
    code, out = invoke("run", "--engine", "spark", "-c", "reviews", "-c", "recommend", "-c", "forecast",
                       "-w", str(ws.path), "--json")
    steps = {s["capability"]: s for s in json.loads(out)["steps"]}
    assert code == 0 and {s["status"] for s in steps.values()} == {"skipped"}
    assert "no deployed star or sentiment model" in steps["reviews"]["error"]
    assert "no deployed recommender" in steps["recommend"]["error"]
    assert "no trained forecaster" in steps["forecast"]["error"]


def test_run_on_spark_names_what_is_missing(workspace: sl.Workspace, monkeypatch: pytest.MonkeyPatch,
                                            tmp_path: Path) -> None:
    monkeypatch.delenv("JAVA_HOME", raising=False)
    monkeypatch.setenv("PATH", str(tmp_path))  # no java on it
    code, out = invoke("run", "--engine", "spark", "-w", str(workspace.path))
    assert code != 0 and "needs Java 17" in out
    monkeypatch.undo()
    code, out = invoke("run", "--engine", "spark", "--source", str(tmp_path / "lake"), "-w", str(workspace.path))
    assert code != 0 and "not a folder of <table>.parquet files" in out
    code, out = invoke("run", "--source", str(tmp_path), "-w", str(workspace.path))
    assert code != 0 and "go with --engine spark" in out
    code, out = invoke("run", "--engine", "spark", "-c", "graph", "-w", str(workspace.path))
    assert code != 0 and "graph: no step runs on the spark engine" in out and "reviews" in out


def test_a_spark_run_reads_a_lake_and_keeps_results_as_parquet_and_tables(spark, small_shop: sl.Workspace,
                                                                          workspace: sl.Workspace,
                                                                          tmp_path: Path) -> None:
    import pyarrow as pa

    from shoplens.engine.spark_run import open_spark_run

    lake = tmp_path / "lake"
    lake.mkdir()
    for table in ("orders", "products"):
        export_table(WarehouseSource(small_shop), table, lake)
    notes: list[str] = []
    run = open_spark_run(workspace, source=lake, spark=spark, note=notes.append)
    assert run.has_rows("orders") and run.table("events") is None and not run.owns_session
    assert notes and str(lake) in notes[0]
    orders = run.table("orders")
    assert orders.count() == len(small_shop.table("orders"))
    rows = run.save("orders_copy", orders.select("order_id", "order_ts"), ["order_id"])
    stored = workspace.sql("SELECT order_id, order_ts FROM orders_copy")
    expected = small_shop.sql("SELECT order_id, order_ts FROM orders ORDER BY order_id")
    assert rows == len(expected) and stored["order_id"].tolist() == expected["order_id"].tolist()
    assert (stored["order_ts"] == expected["order_ts"]).all()  # naive UTC values survive Parquet both ways
    run.keep("analytics_small", pa.table({"k": ["a", "b"], "v": [1.5, 2.0]}))
    assert pd.read_parquet(workspace.path / "spark" / "results" / "analytics_small")["v"].tolist() == [1.5, 2.0]
    assert workspace.sql("SELECT sum(v) AS s FROM analytics_small")["s"].iloc[0] == 3.5
    run.close()
    assert spark.range(1).count() == 1  # the test's session was lent, not stopped


def test_a_model_loaded_on_an_executor_gets_its_tasks_cores_as_threads(spark) -> None:
    """load_once sizes the models' thread pools to the task's cores (spark.task.cpus, 1 here) unless
    SHOPLENS_THREADS is set: a model taking every core would compete with the executor's other tasks."""
    import os

    def threads_seen(rows):
        import os

        from shoplens.engine.scoring import load_once

        yield load_once(f"threads-probe-{os.getpid()}", lambda: os.environ.get("SHOPLENS_THREADS"))

    seen = spark.sparkContext.parallelize(range(4), 4).mapPartitions(threads_seen).collect()
    assert seen == [os.environ.get("SHOPLENS_THREADS", "1")] * 4
