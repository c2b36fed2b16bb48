"""The graph's REST API on the real app (FastAPI TestClient, real keys, a real graph): the codes a client sees
for each kind of request, never a 5xx for the client's mistake."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

import shoplens as sl
from shoplens.serve import ServiceSettings, create_app, create_key
from tests.graph.test_query import SLOW

QUERY = "/api/v1/graph/query"


@pytest.fixture(scope="module")
def client(graph_shop: sl.Workspace) -> Iterator[TestClient]:
    with TestClient(create_app(graph_shop.path, settings=ServiceSettings()), follow_redirects=False) as test_client:
        yield test_client


@pytest.fixture(scope="module")
def read(graph_shop: sl.Workspace) -> dict[str, str]:
    return {"Authorization": f"Bearer {create_key(graph_shop, 'read', 'graph reader')}"}


def test_query_with_bound_parameters(client: TestClient, read: dict[str, str]) -> None:
    answer = client.post(QUERY, headers=read, json={
        "cypher": "MATCH (p:Product)-[:MADE_BY]->(b:Brand) WHERE p.id = $id RETURN b.id AS brand, p.title",
        "params": {"id": "P00001"}})
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["columns"] == ["brand", "p.title"] and len(body["rows"]) == 1 and not body["truncated"]
    limited = client.post(QUERY, headers=read, json={"cypher": "MATCH (p:Product) RETURN p.id", "limit": 5}).json()
    assert len(limited["rows"]) == 5 and limited["truncated"]


def test_query_needs_a_read_key(client: TestClient) -> None:
    assert client.post(QUERY, json={"cypher": "MATCH (p:Product) RETURN count(*)"}).status_code == 401


@pytest.mark.parametrize(("body", "status", "detail"), [
    ({"cypher": "MATCH (p:Product RETURN p"}, 400, "Parser exception"),
    ({"cypher": "MATCH (p:Product) DETACH DELETE p"}, 400, "read-only: DETACH is refused"),
    ({"cypher": "CREATE (:Brand {id: 'x'})"}, 400, "read-only: CREATE is refused"),
    ({"cypher": "MATCH (p:Product) RETURN p", "params": {"x": {"a": 1}}}, 400, "parameter 'x'"),
    ({"cypher": SLOW, "timeout_s": 0.05}, 408, "time limit"),
])
def test_query_errors(client: TestClient, read: dict[str, str], body: dict, status: int, detail: str) -> None:
    answer = client.post(QUERY, headers=read, json=body)
    assert answer.status_code == status, answer.text
    assert detail in answer.json()["detail"]


def test_neighbours(client: TestClient, read: dict[str, str]) -> None:
    answer = client.get("/api/v1/graph/products/P00001/neighbours", headers=read, params={"k": 3})
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["product"]["product_id"] == "P00001"
    assert {"IN_CATEGORY", "MADE_BY", "SIMILAR_TO"} <= {item["relation"] for item in body["items"]}
    only = client.get("/api/v1/graph/products/P00001/neighbours", headers=read,
                      params={"relations": "MADE_BY, IN_CATEGORY"})
    assert [i["relation"] for i in only.json()["items"]] == ["IN_CATEGORY", "MADE_BY"]
    assert client.get("/api/v1/graph/products/P00001/neighbours", headers=read,
                      params={"relations": "FRIENDS"}).status_code == 400
    missing = client.get("/api/v1/graph/products/P99999/neighbours", headers=read)
    assert missing.status_code == 404 and "unknown product" in missing.json()["detail"]


def test_paths_and_stats(client: TestClient, read: dict[str, str]) -> None:
    answer = client.get("/api/v1/graph/products/P00001/paths/P00002", headers=read, params={"max_hops": 3})
    assert answer.status_code == 200, answer.text
    for path in answer.json()["paths"]:
        assert path["nodes"][0]["id"] == "P00001" and path["nodes"][-1]["id"] == "P00002"
    stats = client.get("/api/v1/graph/stats", headers=read).json()
    assert stats["nodes"]["Product"] > 0 and "folder" not in stats


def test_no_graph_yet_is_503(workspace: sl.Workspace) -> None:
    key = {"Authorization": f"Bearer {create_key(workspace, 'read', 'reader')}"}
    with TestClient(create_app(workspace.path, settings=ServiceSettings())) as fresh:
        answer = fresh.get("/api/v1/graph/products/P1/neighbours", headers=key)
        assert answer.status_code == 503 and "no product graph built yet" in answer.json()["detail"]
        assert fresh.post(QUERY, headers=key, json={"cypher": "MATCH (p:Product) RETURN p"}).status_code == 503


def test_a_long_query_is_408_before_the_compute_budget_is_503(graph_shop: sl.Workspace, read: dict[str, str]) -> None:
    """The query's time limit is cut to 80 % of the service's compute budget: a client asking for 4 s on a service
    with a 4 s budget still gets the query's own 408 (after 3.2 s), never the budget's 503."""
    settings = ServiceSettings(compute_budget_s=4.0)
    with TestClient(create_app(graph_shop.path, settings=settings)) as short:
        answer = short.post(QUERY, headers=read, json={"cypher": SLOW, "timeout_s": 4})
    assert answer.status_code == 408 and "time limit of 3.2 s" in answer.json()["detail"]
