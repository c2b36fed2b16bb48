"""Hot reload: a real uvicorn server on loopback serves a newly deployed recommender without a restart; requests
in flight finish on the version they started with; a version that fails to load leaves the old one serving and
says why (``/healthz`` and the log)."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

import shoplens as sl
from shoplens.recommend import api as rec
from shoplens.registry import ModelRegistry
from shoplens.serve import ServiceSettings, create_app, create_key
from shoplens.serve.live import MODEL_VERSION_HEADER, live_models
from tests.conftest import copy_workspace
from tests.serve.conftest import auth, running_server

REQUESTS, CLIENTS, DEPLOY_AFTER = 2000, 8, 500
CHECK_EVERY_S = 0.1


@dataclass(frozen=True)
class Answer:
    started: float
    status: int
    header: str | None
    body_version: str | None


@dataclass(frozen=True)
class Shop:
    ws: sl.Workspace
    old: str  # the deployed EASE version
    new: str  # another EASE version (other regularisation), registered only
    key: str
    products: list[str]
    customers: list[str]


@pytest.fixture
def shop(small_shop: sl.Workspace, tmp_path: Path) -> Shop:
    ws = copy_workspace(small_shop, tmp_path)
    old = rec.train(ws, "ease", deploy=True, evaluate_first=False).version
    new = rec.train(ws, "ease", params={"lam": 50.0}, evaluate_first=False).version
    products = ws.sql("SELECT product_id FROM products ORDER BY product_id LIMIT 20")["product_id"].tolist()
    customers = ws.sql("SELECT customer_id FROM customers ORDER BY customer_id LIMIT 20")["customer_id"].tolist()
    return Shop(ws, old, new, create_key(ws, "read", "load"), products, customers)


@pytest.fixture
def served(shop: Shop) -> Iterator[str]:
    settings = ServiceSettings(model_check_s=CHECK_EVERY_S, compute_budget_s=120)  # a busy test machine is slow
    with running_server(create_app(shop.ws.path, settings=settings)) as url:
        yield url


def serving(url: str) -> str | None:
    models = httpx.get(url + "/healthz", timeout=30).json()["models"]
    return next((m["serving"] for m in models if m["name"] == "recommend"), None)


def test_a_deploy_under_load_switches_versions_without_an_error(shop: Shop, served: str) -> None:
    answers: list[Answer] = []
    lock = threading.Lock()

    def client(n: int) -> None:
        with httpx.Client(base_url=served, headers=auth(shop.key), timeout=60) as http:
            for i in range(n, REQUESTS, CLIENTS):  # 1 in 10 asks for a customer's list, the rest similar products
                path = (f"/api/v1/recommend/customers/{shop.customers[i % 20]}" if i % 10 == 0
                        else f"/api/v1/recommend/products/{shop.products[i % 20]}/similar")
                started = time.monotonic()
                response = http.get(path, params={"k": 5})
                body = response.json() if response.status_code == 200 else {}
                with lock:
                    answers.append(Answer(started, response.status_code, response.headers.get(MODEL_VERSION_HEADER),
                                          body.get("version")))

    assert serving(served) in (None, shop.old)  # the start-up warm-up may have loaded it already
    threads = [threading.Thread(target=client, args=(n,)) for n in range(CLIENTS)]
    for thread in threads:
        thread.start()
    while len(answers) < DEPLOY_AFTER and any(t.is_alive() for t in threads):
        time.sleep(0.01)
    ModelRegistry(shop.ws).deploy("recommend", shop.new, by="test")
    while serving(served) != shop.new:  # the service swaps the version in; /healthz says so
        assert any(t.is_alive() for t in threads), "the load ended before the new version served"
        time.sleep(0.02)
    switched = time.monotonic()
    for thread in threads:
        thread.join()

    assert len(answers) == REQUESTS
    assert [a for a in answers if a.status != 200] == []
    old, new = f"recommend@{shop.old}", f"recommend@{shop.new}"
    assert {a.header for a in answers} == {old, new}
    assert all(a.body_version == a.header.split("@")[1] for a in answers if a.body_version)  # one version each
    after = [a for a in answers if a.started > switched]
    assert len(after) >= 100 and {a.header for a in after} == {new}
    assert sum(a.header == old for a in answers) >= DEPLOY_AFTER


def test_a_version_that_fails_to_load_leaves_the_old_one_serving(shop: Shop, served: str,
                                                                  caplog: pytest.LogCaptureFixture) -> None:
    http = httpx.Client(base_url=served, headers=auth(shop.key), timeout=60)
    similar = f"/api/v1/recommend/products/{shop.products[0]}/similar"
    assert http.get(similar).headers[MODEL_VERSION_HEADER] == f"recommend@{shop.old}"
    registry = ModelRegistry(shop.ws)
    (registry.path("recommend", shop.new) / "arrays.npz").write_bytes(b"not a numpy archive")
    with caplog.at_level(logging.ERROR, logger="shoplens.serve.models"):
        registry.deploy("recommend", shop.new, by="test")
        health = wait_for_state(served, "failed")
    assert health["serving"] == shop.old and health["deployed"] == shop.new
    assert f"version {shop.new} failed to load" in health["error"]
    assert "ValueError" in health["error"]  # numpy refuses the file
    assert str(shop.ws.path) not in health["error"]
    logged = [r.getMessage() for r in caplog.records if r.name == "shoplens.serve.models"]
    assert any(f"version {shop.new} failed to load" in m and f"still serving version {shop.old}" in m
               for m in logged), logged
    for _ in range(20):  # the old version answers, every time
        answer = http.get(similar)
        assert answer.status_code == 200 and answer.headers[MODEL_VERSION_HEADER] == f"recommend@{shop.old}"
    fixed = rec.train(shop.ws, "ease", params={"lam": 80.0}, evaluate_first=False).version
    registry.deploy("recommend", fixed, by="test")
    assert wait_for_state(served, "current")["serving"] == fixed
    assert http.get(similar).headers[MODEL_VERSION_HEADER] == f"recommend@{fixed}"


def wait_for_state(url: str, state: str, within_s: float = 60) -> dict:
    deadline = time.monotonic() + within_s
    while True:
        models = {m["name"]: m for m in httpx.get(url + "/healthz", timeout=30).json()["models"]}
        if models.get("recommend", {}).get("state") == state:
            return models["recommend"]
        assert time.monotonic() < deadline, f"no {state!r} state within {within_s} s: {models}"
        time.sleep(0.05)


def test_a_request_in_flight_keeps_the_version_it_started_with(shop: Shop) -> None:
    from shoplens.recommend.base import Recommender

    models = live_models(shop.ws.path / ".." / shop.ws.path.name)  # any spelling of the path: one per workspace
    assert models is live_models(shop.ws.path)
    started = models.get("recommend", Recommender.load)  # what a request holds from its start to its end
    ModelRegistry(shop.ws).deploy("recommend", shop.new)
    models.refresh("recommend")
    assert models.get("recommend", Recommender.load).version == shop.new
    assert started.version == shop.old
    expected = Recommender.load(ModelRegistry(shop.ws).path("recommend", shop.old)).similar(shop.products[0], 5)
    assert started.model.similar(shop.products[0], 5).equals(expected)  # still answers with the old version


def test_an_erased_customer_is_never_served_from_the_old_files(shop: Shop) -> None:
    from fastapi.testclient import TestClient

    customer = shop.ws.sql("SELECT customer_id FROM interactions GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT 1"
                           )["customer_id"][0]
    settings = ServiceSettings(model_check_s=3600)  # the watcher does not come by: the request itself must check
    with TestClient(create_app(shop.ws.path, settings=settings)) as client:
        def top(who: str) -> list[str]:
            answer = client.get(f"/api/v1/recommend/customers/{who}", headers=auth(shop.key))
            assert answer.headers[MODEL_VERSION_HEADER] == f"recommend@{shop.old}"  # the same version, scrubbed
            return [item["product_id"] for item in answer.json()["items"]]

        assert top(customer) != top("NOBODY-AT-ALL")
        shop.ws.forget(customer)  # rewrites every recommender version in place
        assert top(customer) == top("NOBODY-AT-ALL")
