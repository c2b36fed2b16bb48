"""Table overview: row counts and columns equal the warehouse's; rows are paged and capped; 404 for unknown."""

from __future__ import annotations

import shoplens as sl
from shoplens.serve import ServiceSettings
from tests.serve.conftest import ORDERS_LOADED, Keys, auth, make_client


def test_tables_list_counts_and_columns(shop: sl.Workspace, keys: Keys) -> None:
    with make_client(shop) as client:
        body = client.get("/api/v1/tables", headers=auth(keys.read)).json()
    listed = {t["name"]: t for t in body["tables"]}
    assert {name: t["rows"] for name, t in listed.items()} == shop.counts()
    orders_columns = [c["name"] for c in listed["orders"]["columns"]]
    assert orders_columns == [c for c in shop.columns("orders") if not c.startswith("_")]
    assert {"name": "total_amount", "type": "DECIMAL(18,2)"} in listed["orders"]["columns"]


def test_table_rows_are_ordered_by_key_and_typed(shop: sl.Workspace, keys: Keys) -> None:
    with make_client(shop) as client:
        body = client.get("/api/v1/tables/orders", headers=auth(keys.read)).json()
    assert body["total"] == ORDERS_LOADED and [r["order_id"] for r in body["rows"]] == ["O1", "O2", "O3"]
    first = body["rows"][0]
    assert first["total_amount"] == 10.5 and first["order_ts"] == "2024-01-05T10:00:00"
    assert "_ingest_run" not in first and "_source_row" not in body["columns"]


def test_limit_pages_and_offset_pages(shop: sl.Workspace, keys: Keys) -> None:
    with make_client(shop) as client:
        first = client.get("/api/v1/tables/orders?limit=2", headers=auth(keys.read)).json()
        second = client.get("/api/v1/tables/orders?limit=2&offset=2", headers=auth(keys.read)).json()
        too_small = client.get("/api/v1/tables/orders?limit=0", headers=auth(keys.read))
    assert first["limit"] == 2 and [r["order_id"] for r in first["rows"]] == ["O1", "O2"]
    assert [r["order_id"] for r in second["rows"]] == ["O3"]
    assert too_small.status_code == 422


def test_a_limit_above_the_cap_is_422_and_the_schema_states_the_cap(shop: sl.Workspace, keys: Keys) -> None:
    cap = ServiceSettings().max_rows
    with make_client(shop) as client:
        schema = client.get("/openapi.json").json()
        paths = [(path, p) for path, methods in schema["paths"].items() for op in methods.values()
                 for p in op.get("parameters", []) if p["name"] == "limit"]
        assert len(paths) >= 10
        for path, parameter in paths:
            integer = next(s for s in parameter["schema"].get("anyOf", [parameter["schema"]]) if s["type"] == "integer")
            assert integer.get("maximum", 10**12) <= cap, (path, parameter["schema"])
        over = client.get(f"/api/v1/tables/orders?limit={cap + 1}", headers=auth(keys.read))
        at_cap = client.get(f"/api/v1/tables/orders?limit={cap}", headers=auth(keys.read))
    assert over.status_code == 422 and over.json()["detail"][0]["loc"] == ["query", "limit"]
    assert at_cap.status_code == 200 and at_cap.json()["limit"] == cap


def test_a_query_parameter_given_twice_is_422(shop: sl.Workspace, keys: Keys) -> None:
    with make_client(shop) as client:
        twice = client.get("/api/v1/tables/orders?limit=2&limit=500", headers=auth(keys.read))
        once = client.get("/api/v1/tables/orders?limit=2&offset=1", headers=auth(keys.read))
    assert twice.status_code == 422 and twice.json()["detail"][0]["msg"] == "give limit once (it is given 2 times)"
    assert once.status_code == 200 and len(once.json()["rows"]) == 2


def test_a_service_with_a_lower_cap_refuses_larger_limits_too(shop: sl.Workspace, keys: Keys) -> None:
    with make_client(shop, max_rows=2) as client:
        over = client.get("/api/v1/tables/orders?limit=3", headers=auth(keys.read))
        default = client.get("/api/v1/tables/orders", headers=auth(keys.read)).json()
    assert over.status_code == 422 and "2" in over.json()["detail"][0]["msg"]
    assert default["limit"] == 2  # the default page never exceeds the cap


def test_unknown_table_is_404(shop: sl.Workspace, keys: Keys) -> None:
    with make_client(shop) as client:
        for name in ("nope", "ingest_runs", "erasures", "daily_sales", "orders;drop"):
            answer = client.get(f"/api/v1/tables/{name}", headers=auth(keys.read))
            assert answer.status_code == 404, name
            assert "no table" in answer.json()["detail"]
