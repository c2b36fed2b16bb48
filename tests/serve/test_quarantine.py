"""Quarantine: per table and run with counts and files; rows with reason, source row and values, paged."""

from __future__ import annotations

import pyarrow.parquet as pq

import shoplens as sl
from tests.serve.conftest import AMOUNT_REASON, ORDERS_CSV, ORDERS_QUARANTINED, Keys, auth, make_client, write_file


def test_overview_per_table_and_run(shop: sl.Workspace, keys: Keys) -> None:
    with make_client(shop) as client:
        body = client.get("/api/v1/quarantine", headers=auth(keys.read)).json()
    (orders,) = body["tables"]
    run = shop.ingest_runs("orders").iloc[0]
    assert orders["table"] == "orders" and orders["quarantined"] == ORDERS_QUARANTINED
    (listed,) = orders["runs"]
    assert (listed["run_id"], listed["file"], listed["file_present"]) == (run["run_id"], run["quarantine_file"], True)
    assert listed["read"] == listed["loaded"] + listed["quarantined"]


def test_rows_match_the_quarantine_file(shop: sl.Workspace, keys: Keys) -> None:
    with make_client(shop) as client:
        body = client.get("/api/v1/quarantine/orders", headers=auth(keys.read)).json()
    file = shop.path / shop.ingest_runs("orders").iloc[0]["quarantine_file"]
    stored = pq.read_table(file).to_pylist()
    assert body["total"] == len(stored) == ORDERS_QUARANTINED
    assert [(r["source_row"], r["reason"]) for r in body["rows"]] == sorted(
        (r["source_row"], r["reason"]) for r in stored)
    lots = next(r for r in body["rows"] if r["reason"] == AMOUNT_REASON)
    assert lots["source_row"] == 4 and lots["values"]["total_amount"] == "lots"


def test_rows_are_paged_across_runs_newest_first(shop: sl.Workspace, keys: Keys, tmp_path) -> None:
    shop.ingest("orders", write_file(tmp_path, "orders-again.csv", ORDERS_CSV + "O9,C1,2024-02-01,paid,x\n"))
    newest, oldest = shop.ingest_runs("orders")["run_id"].tolist()
    with make_client(shop) as client:
        pages = [client.get(f"/api/v1/quarantine/orders?limit=2&offset={offset}", headers=auth(keys.read)).json()
                 for offset in (0, 2, 4)]
        only_old = client.get(f"/api/v1/quarantine/orders?run={oldest}", headers=auth(keys.read)).json()
        unknown_run = client.get("/api/v1/quarantine/orders?run=nope", headers=auth(keys.read))
    rows = [row for page in pages for row in page["rows"]]
    assert pages[0]["total"] == 5 and len(rows) == 5
    assert [r["run_id"] for r in rows] == [newest] * 3 + [oldest] * 2
    assert [r["source_row"] for r in rows] == [4, 5, 6, 4, 5]
    assert only_old["total"] == 2 and {r["run_id"] for r in only_old["rows"]} == {oldest}
    assert unknown_run.status_code == 404


def test_unknown_table_is_404_and_clean_table_is_empty(shop: sl.Workspace, keys: Keys) -> None:
    with make_client(shop) as client:
        assert client.get("/api/v1/quarantine/nope", headers=auth(keys.read)).status_code == 404
        clean = client.get("/api/v1/quarantine/products", headers=auth(keys.read)).json()
    assert clean["total"] == 0 and clean["rows"] == []
