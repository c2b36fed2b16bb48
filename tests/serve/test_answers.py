"""Reads answered from memory (serve.answers, serve.keeper): a kept answer is the computed one, byte for byte, and
the service stops serving it as soon as what it was computed from changes — a write to the warehouse by this
process or another, a deploy of another model version. (An erasure: tests/data/test_erasure.py.)"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

import shoplens as sl
from shoplens.serve import ServiceSettings, create_app, create_key
from shoplens.serve.answers import Answer, AnswerCache
from shoplens.serve.keeper import WarehouseKeeper
from shoplens.serve.live import MODEL_VERSION_HEADER
from shoplens.serve.routers.analytics import AnalyticsTable, read_rows
from tests.conftest import copy_workspace
from tests.serve.conftest import auth, child_env

READS = ("/api/v1/analytics", "/api/v1/analytics/kpis?grain=day&limit=100",
         "/api/v1/analytics/kpis?grain=month&dimension=category", "/api/v1/analytics/rfm/segments",
         "/api/v1/analytics/rfm/customers?limit=50&offset=7", "/api/v1/analytics/churn?limit=50",
         "/api/v1/analytics/clv?limit=50&offset=3", "/api/v1/analytics/clv/summary",
         "/api/v1/analytics/cohorts?limit=100")


@pytest.fixture(scope="module")
def analysed(small_shop: sl.Workspace, tmp_path_factory: pytest.TempPathFactory) -> sl.Workspace:
    """The small shop with every analysis stored and an EASE recommender deployed (tests that write copy it)."""
    from shoplens.analytics.steps import analyze_everything
    from shoplens.recommend import api as rec

    ws = copy_workspace(small_shop, tmp_path_factory.mktemp("answers"))
    analyze_everything(ws, "demo")
    rec.train(ws, "ease", deploy=True, evaluate_first=False)
    return ws


@pytest.fixture
def shop(analysed: sl.Workspace, tmp_path: Path) -> sl.Workspace:
    return copy_workspace(analysed, tmp_path)


def kept_answers(client: TestClient) -> AnswerCache:
    return client.app.state.shoplens.answers  # type: ignore[attr-defined]


def test_a_kept_answer_is_the_computed_one(analysed: sl.Workspace) -> None:
    headers = auth(create_key(analysed, "read", "analyst"))
    customer = analysed.sql("SELECT customer_id FROM orders ORDER BY order_ts DESC, order_id LIMIT 1").iloc[0, 0]
    paths = [*READS, f"/api/v1/recommend/customers/{customer}?k=7"]
    with TestClient(create_app(analysed.path)) as client:
        computed = {path: client.get(path, headers=headers) for path in paths}
        hits_before = kept_answers(client).hits
        kept = {path: client.get(path, headers=headers) for path in paths}
        assert kept_answers(client).hits - hits_before == len(paths)  # every second answer came from memory
    for path in paths:
        assert computed[path].status_code == kept[path].status_code == 200, path
        assert kept[path].content == computed[path].content, path
        assert kept[path].headers.get(MODEL_VERSION_HEADER) == computed[path].headers.get(MODEL_VERSION_HEADER)
        assert kept[path].headers["cache-control"] == "no-store" and kept[path].headers["x-frame-options"] == "DENY"
    # and what the warehouse holds, read without the service
    with analysed.connect() as con:
        page = read_rows(con, "analytics_rfm", filters={"segment": None}, limit=50, offset=7)
    assert kept["/api/v1/analytics/rfm/customers?limit=50&offset=7"].json() == page.model_dump(mode="json")


def test_a_write_by_this_process_changes_the_answer(shop: sl.Workspace) -> None:
    headers = auth(create_key(shop, "read", "analyst"))
    path = "/api/v1/analytics/rfm/segments"
    with TestClient(create_app(shop.path)) as client:
        before = client.get(path, headers=headers).json()
        assert client.get(path, headers=headers).json() == before  # kept
        with shop.connect(read_only=False) as con:  # the service keeps the warehouse open: it lets go
            con.execute("UPDATE analytics_rfm_segments SET customers = customers + 1000")
        after = client.get(path, headers=headers).json()
    assert [r["customers"] for r in after["rows"]] == [r["customers"] + 1000 for r in before["rows"]]


def test_a_writer_in_another_process_gets_in_and_changes_the_answer(shop: sl.Workspace) -> None:
    headers = auth(create_key(shop, "read", "analyst"))
    path = "/api/v1/analytics/clv/summary"
    write = ("import sys, shoplens as sl\n"
             "with sl.Workspace.open(sys.argv[1]).connect(read_only=False) as con:\n"
             "    con.execute('DELETE FROM analytics_clv WHERE customer_id IN "
             "(SELECT customer_id FROM analytics_clv ORDER BY clv DESC, customer_id LIMIT 10)')\n")
    with TestClient(create_app(shop.path)) as client:
        before = client.get(path, headers=headers).json()
        assert client.get(path, headers=headers).json() == before
        started = time.monotonic()
        # while the service holds the warehouse open: the writer takes the lock, the service lets go within 0.1 s
        done = subprocess.run([sys.executable, "-c", write, str(shop.path)], env=child_env(), capture_output=True,
                              text=True, timeout=120)
        assert done.returncode == 0, done.stderr
        waited = time.monotonic() - started
        after = client.get(path, headers=headers).json()
    assert after["customers"] == before["customers"] - 10 and after["total_clv"] < before["total_clv"]
    assert waited < 60  # far from the writer's 30 s of retries on a busy machine: it was let in, not timed out


def test_a_deploy_changes_the_recommendations(shop: sl.Workspace) -> None:
    from shoplens.recommend import api as rec
    from shoplens.registry import ModelRegistry

    headers = auth(create_key(shop, "read", "analyst"))
    customer = shop.sql("SELECT customer_id FROM orders ORDER BY order_ts DESC, order_id LIMIT 1").iloc[0, 0]
    path = f"/api/v1/recommend/customers/{customer}?k=10"
    with TestClient(create_app(shop.path)) as client:
        before = client.get(path, headers=headers)
        assert client.get(path, headers=headers).content == before.content  # kept
        popular = rec.train(shop, "popularity", evaluate_first=False).version
        ModelRegistry(shop).deploy(rec.REGISTRY_NAME, popular)
        deadline = time.monotonic() + 120
        after = client.get(path, headers=headers)
        while after.headers[MODEL_VERSION_HEADER] != f"{rec.REGISTRY_NAME}@{popular}":  # loaded beside, then swapped
            assert time.monotonic() < deadline, "the deployed version never served"
            time.sleep(0.2)
            after = client.get(path, headers=headers)
    assert before.json()["version"] != popular and after.json()["version"] == popular
    expected = rec.for_user(shop, customer, 10)["product_id"].astype(str).tolist()
    assert [item["product_id"] for item in after.json()["items"]] == expected


def test_no_generation_while_a_writer_holds_the_lock(shop: sl.Workspace) -> None:
    keeper = WarehouseKeeper(shop.path)
    try:
        first = keeper.generation()
        assert first is not None and keeper.generation() == first == keeper.current()
        with shop.write_lock(command="test"):
            assert keeper.generation() is None and keeper.current() is None
            assert not keeper.is_current(first)
        second = keeper.generation()
        assert second is not None and second > first
    finally:
        keeper.stop()


def test_answers_of_an_earlier_generation_are_dropped() -> None:
    cache = AnswerCache(max_bytes=10)
    cache.put(1, "a", Answer(b"12345"))
    cache.put(None, "b", Answer(b"1"))  # no generation: never kept
    assert cache.get(1, "a") == Answer(b"12345") and cache.get(None, "a") is None and cache.get(1, "b") is None
    cache.put(2, "c", Answer(b"123"))
    assert cache.get(1, "a") is None and cache.get(2, "a") is None  # a new generation drops the old answers
    cache.put(1, "a", Answer(b"12345"))  # read under a generation that has ended: not kept
    assert cache.get(2, "a") is None
    cache.put(2, "d", Answer(b"12345678"))  # over the size: the least recently used goes
    assert cache.get(2, "c") is None and cache.get(2, "d") is not None and len(cache) == 1
    table = AnalyticsTable(name="analytics_rfm", rows=3, command="shoplens analyze rfm")
    assert json.loads(Answer.of(table, {"X-Test": "1"}).body) == table.model_dump()
    assert Answer.of(table, {"X-Test": "1"}).response().headers["x-test"] == "1"


def test_review_predictions_are_kept_per_model_version(demo_shop: sl.Workspace, tmp_path: Path) -> None:
    from shoplens.reviews.models import RatingModel
    from shoplens.serve.routers import reviews as router

    assert RatingModel.registry_name == router.RATING_MODEL  # the fast path names the model the slow one loads
    ws = copy_workspace(demo_shop, tmp_path)
    headers = auth(create_key(ws, "read", "reviews"))
    body = {"texts": ["Lovely fabric but it runs small", "质量很好，物流也快"]}
    settings = ServiceSettings(compute_budget_s=120)  # the first prediction warms the encoder up: slow when busy
    with TestClient(create_app(ws.path, settings=settings)) as client:
        computed = client.post("/api/v1/reviews/predict", json=body, headers=headers)
        hits = kept_answers(client).hits
        kept = client.post("/api/v1/reviews/predict", json=body, headers=headers)
        assert kept_answers(client).hits == hits + 1
        other = client.post("/api/v1/reviews/predict", json={**body, "explain": True}, headers=headers)
    assert computed.status_code == kept.status_code == other.status_code == 200
    assert kept.content == computed.content and kept.headers[MODEL_VERSION_HEADER] == computed.headers[
        MODEL_VERSION_HEADER]
    assert other.json()["predictions"][0]["words"] and not kept.json()["predictions"][0]["words"]


def test_every_series_read_at_once_gives_each_series_forecast(demo_shop: sl.Workspace) -> None:
    from shoplens.forecast import store
    from shoplens.serve.routers.forecast import HISTORY_DAYS, series_forecast

    with demo_shop.connect() as con:
        kept = (store.every_series_points(con), store.every_recent_units(con, HISTORY_DAYS))
        series = [row[0] for row in con.execute("SELECT DISTINCT unique_id FROM forecast_daily ORDER BY 1").fetchall()]
        assert len(series) > 10
        for unique_id in series:
            one = series_forecast(con, unique_id, HISTORY_DAYS)
            assert one.history and series_forecast(con, unique_id, HISTORY_DAYS, kept=kept) == one
