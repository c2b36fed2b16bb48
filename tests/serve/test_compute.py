"""Compute endpoints on the demo shop (every capability deployed): the worst inputs their schemas allow answer
within the budget, a computation past its budget is 503 with Retry-After, one heavy computation per key at a
time (429), and what the schema allows the endpoint accepts."""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

import shoplens as sl
from shoplens.serve import ServiceSettings, create_app, create_key
from tests.serve.conftest import auth, running_server

BUDGET_S = ServiceSettings().compute_budget_s
SLOW_PRICING_BODY = {"category_max_change": 0.05, "category_min_units": 5e-324, "endings": [0.99],
                     "horizon_days": 28, "margin_floor": 0.1, "max_change": 0.9999999999999999,
                     "objective": "profit", "products": 100}
WIDEST_PRICING_BODY = {**SLOW_PRICING_BODY, "endings": [i / 20 for i in range(20)], "category_min_units": 1.0,
                       "category_max_change": 0.0, "horizon_days": 365, "products": 10_000}
WORDS = ("fabric", "zipper", "broke", "after", "one", "wash", "lovely", "colour", "runs", "small", "quality", "poor",
         "delivery", "fast", "seams", "stitching", "return", "refund", "sleeve", "collar", "wool", "cotton", "soft",
         "scratchy", "warm", "thin", "pocket", "button")


def review(seed: int, words: int, *, chars: int) -> str:
    """A distinct review of ``words`` words and ``chars`` characters (distinct: the encoder de-duplicates a batch,
    so a batch of one repeated text would cost one text)."""
    letters, rng = max(2, chars // words - 1), random.Random(seed)
    picked = []
    for _ in range(words):
        parts = ""
        while len(parts) < letters:
            parts += rng.choice(WORDS)
        picked.append(parts[:letters])
    text = " ".join(picked)[:chars]
    return text + "s" * (chars - len(text))  # the last word takes up the rest


@dataclass(frozen=True)
class Service:
    client: TestClient
    ws: sl.Workspace
    read: str
    other: str

    def post(self, path: str, body: dict[str, Any], key: str | None = None) -> tuple[httpx.Response, float]:
        started = time.perf_counter()
        answer = self.client.post(path, json=body, headers=auth(key or self.read))
        return answer, time.perf_counter() - started

    def get(self, path: str, **params: Any) -> tuple[httpx.Response, float]:
        started = time.perf_counter()
        answer = self.client.get(path, params=params, headers=auth(self.read))
        return answer, time.perf_counter() - started


@pytest.fixture(scope="module")
def service(demo_shop: sl.Workspace) -> Iterator[Service]:
    read, other = create_key(demo_shop, "read", "compute tests"), create_key(demo_shop, "read", "another reader")
    with TestClient(create_app(demo_shop.path)) as client:
        warm = Service(client, demo_shop, read, other)
        # the first prediction loads the deployed model (once per version and process), outside any budget
        assert warm.post("/api/v1/reviews/predict", {"texts": ["warm up"]})[0].status_code == 200
        yield warm


# -- worst cases within the budget ---------------------------------------------------------------------------
@pytest.mark.parametrize("body", [SLOW_PRICING_BODY, WIDEST_PRICING_BODY,
                                  {**WIDEST_PRICING_BODY, "endings": None, "objective": "revenue"}],
                         ids=["issue-body", "widest-grid", "any-cent-revenue"])
def test_worst_price_optimisations_answer_within_the_budget(service: Service, body: dict[str, Any]) -> None:
    answer, seconds = service.post("/api/v1/pricing/optimize", body)
    assert answer.status_code == 200, answer.text
    assert seconds < BUDGET_S, f"{seconds:.1f} s"
    products = answer.json()["products"]
    assert all(abs(p["change"]) < 1 for p in products)  # the constraints still hold on the bounded grid
    if body["endings"]:
        cents = {round(p["suggested_price"] % 1, 2) for p in products}
        assert cents <= {round(e, 2) for e in body["endings"]}


def test_worst_price_test_plan_answers_within_the_budget(service: Service) -> None:
    products = service.ws.sql("SELECT product_id FROM products ORDER BY product_id")["product_id"].tolist()
    body = {"products": products, "design": "switchback", "block_days": 1, "price_change": 0.001,
            "detectable_elasticity": 0.01, "alpha": 0.001, "power": 0.999}
    answer, seconds = service.post("/api/v1/pricing/plan-test", body)
    assert answer.status_code in (200, 400), answer.text  # 400: products without recent sales, named
    assert seconds < BUDGET_S, f"{seconds:.1f} s"


def test_worst_review_batches_answer_within_the_budget(service: Service) -> None:
    from shoplens.reviews.explain import units
    from shoplens.serve.routers.reviews import MAX_CHARS, MAX_EXPLAIN_PASSES, MAX_TEXTS

    texts = [review(i, MAX_CHARS // 6, chars=MAX_CHARS) for i in range(MAX_TEXTS)]
    assert len(set(texts)) == MAX_TEXTS and {len(t) for t in texts} == {MAX_CHARS}
    answer, seconds = service.post("/api/v1/reviews/predict", {"texts": texts})
    assert answer.status_code == 200, answer.text
    assert len(answer.json()["predictions"]) == MAX_TEXTS and seconds < BUDGET_S, f"{seconds:.1f} s"
    # the most a request may explain, every variant as long as the model reads: words of 79 letters are many
    # word pieces each (longer ones would be one unknown token)
    explained = review(1000, MAX_EXPLAIN_PASSES - 1, chars=(MAX_EXPLAIN_PASSES - 1) * 80)
    assert len(units(explained)) == MAX_EXPLAIN_PASSES - 1
    answer, seconds = service.post("/api/v1/reviews/predict", {"texts": [explained], "explain": True})
    assert answer.status_code == 200, answer.text
    assert answer.json()["predictions"][0]["words"] and seconds < BUDGET_S, f"{seconds:.1f} s"


def test_explanations_beyond_their_limit_are_refused_naming_it(service: Service) -> None:
    from shoplens.serve.routers.reviews import MAX_EXPLAIN_PASSES

    texts = [review(i, 20, chars=300) for i in range(2)]  # 2 × (20 words + 1) passes
    answer, seconds = service.post("/api/v1/reviews/predict", {"texts": texts, "explain": True})
    assert answer.status_code == 400 and seconds < 1
    detail = answer.json()["detail"]
    assert f"these texts need 42, at most {MAX_EXPLAIN_PASSES}" in detail and "explain=false" in detail
    assert service.post("/api/v1/reviews/predict", {"texts": texts})[0].status_code == 200  # without: fine


def test_worst_recommendations_answer_within_the_budget(service: Service) -> None:
    customer = service.ws.sql("SELECT customer_id FROM customers ORDER BY customer_id LIMIT 1")["customer_id"][0]
    product = service.ws.sql("SELECT product_id FROM products ORDER BY product_id LIMIT 1")["product_id"][0]
    for path in (f"/api/v1/recommend/customers/{customer}", f"/api/v1/recommend/products/{product}/similar",
                 f"/api/v1/recommend/products/{product}/together"):
        answer, seconds = service.get(path, k=100)
        assert answer.status_code == 200, answer.text
        assert seconds < BUDGET_S, f"{path}: {seconds:.1f} s"


# -- the budget and one heavy computation per key ------------------------------------------------------------
def test_a_computation_past_its_budget_is_503_and_its_key_stays_busy_until_it_ends(service: Service) -> None:
    settings = ServiceSettings(compute_budget_s=0.001)
    with TestClient(create_app(service.ws.path, settings=settings)) as client:
        late = client.post("/api/v1/pricing/optimize", json=SLOW_PRICING_BODY, headers=auth(service.read))
        again = client.post("/api/v1/pricing/optimize", json={}, headers=auth(service.read))
        other = client.post("/api/v1/pricing/plan-test", json={}, headers=auth(service.other))
    assert late.status_code == 503 and late.headers["retry-after"].isdigit()
    detail = late.json()["detail"]
    assert "pricing/optimize" in detail and "budget" in detail and "max_change" in detail
    assert again.status_code == 429 and again.headers["retry-after"].isdigit()
    assert "pricing/optimize" in again.json()["detail"] and "one" in again.json()["detail"]
    assert other.status_code != 429  # another key is not held up by the first one's computation


def test_a_second_concurrent_computation_from_the_same_key_is_429(service: Service) -> None:
    statuses: list[int] = []
    start = threading.Barrier(2)
    with running_server(create_app(service.ws.path)) as url, httpx.Client(base_url=url, timeout=60) as http:
        def optimise() -> None:
            start.wait()
            statuses.append(http.post("/api/v1/pricing/optimize", json=WIDEST_PRICING_BODY,
                                      headers=auth(service.read)).status_code)

        threads = [threading.Thread(target=optimise) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        after = http.post("/api/v1/pricing/optimize", json={}, headers=auth(service.read))
    assert sorted(statuses) == [200, 429]
    assert after.status_code == 200  # the key is free again once its computation has ended


# -- what the schema allows, the endpoint accepts ------------------------------------------------------------
def test_whole_numbers_written_as_floats_are_integers(service: Service) -> None:
    answer, _ = service.post("/api/v1/pricing/optimize", {"horizon_days": 35.0, "products": 5.0})
    assert answer.status_code == 200, answer.text
    assert answer.json()["constraints"]["horizon_days"] == 35 and len(answer.json()["products"]) <= 5
    assert service.post("/api/v1/pricing/plan-test", {"block_days": 7.0})[0].status_code == 200
    for body in ({"horizon_days": 35.5}, {"horizon_days": "35"}, {"horizon_days": True}):
        assert service.post("/api/v1/pricing/optimize", body)[0].status_code == 422, body


def test_zero_effects_are_refused_by_the_schema_not_the_endpoint(service: Service) -> None:
    schema = service.client.get("/openapi.json").json()["components"]["schemas"]["PlanRequest"]["properties"]
    for field in ("detectable_elasticity", "price_change"):
        answer, _ = service.post("/api/v1/pricing/plan-test", {field: 0.0})
        assert answer.status_code == 422, (field, answer.text)
        assert "not" in str(schema[field]), schema[field]


def test_an_empty_language_list_means_detect_them(service: Service) -> None:
    answer, _ = service.post("/api/v1/reviews/predict", {"texts": ["Lovely fabric", "质量很好"], "languages": []})
    assert answer.status_code == 200, answer.text
    given = service.post("/api/v1/reviews/predict", {"texts": ["Lovely fabric", "质量很好"], "languages": ["en", "zh"]})
    assert given[0].json()["predictions"] == answer.json()["predictions"]
    mismatch, _ = service.post("/api/v1/reviews/predict", {"texts": ["a", "b"], "languages": ["en"]})
    assert mismatch.status_code == 400 and "1 languages for 2 texts" in mismatch.json()["detail"]


def test_texts_longer_than_the_limit_are_refused_by_the_schema(service: Service) -> None:
    from shoplens.serve.routers.reviews import MAX_CHARS

    schema = service.client.get("/openapi.json").json()["components"]["schemas"]["PredictRequest"]
    assert schema["properties"]["texts"]["items"]["maxLength"] == MAX_CHARS
    answer, _ = service.post("/api/v1/reviews/predict", {"texts": ["x" * (MAX_CHARS + 1)]})
    assert answer.status_code == 422
