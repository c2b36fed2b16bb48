"""Erasure of a customer ("right to be forgotten") from a workspace that has run every capability: no table,
stored result, model, cache, report or log keeps anything of the customer, the running service forgets them,
and an erasure request for a customer that is not there fails instead of looking like success."""

from __future__ import annotations

import html
import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from fastapi.testclient import TestClient

import shoplens as sl
from shoplens.errors import NotFound
from shoplens.serve import create_app, create_key
from tests.conftest import copy_workspace
from tests.test_cli import invoke

ANALYSES_LISTING_CUSTOMERS = ("/api/v1/analytics/rfm/customers?limit=1000", "/api/v1/analytics/clv?limit=1000")
DERIVED_PER_CUSTOMER = ("analytics_churn", "analytics_clv", "analytics_clv_summary", "analytics_customer_features",
                        "analytics_rfm")


def busiest_reviewer(ws: sl.Workspace) -> str:
    """A customer with reviews, orders and many events: present in every kind of place."""
    return ws.sql("""SELECT r.customer_id FROM reviews r JOIN orders o USING (customer_id)
                     GROUP BY 1 ORDER BY count(DISTINCT r.review_id) DESC, count(DISTINCT o.order_id) DESC, 1
                     LIMIT 1""")["customer_id"].iloc[0]


def warehouse_traces(ws: sl.Workspace, customer_id: str) -> dict[str, int]:
    """Rows of every table (and view) holding the id in any text column, whole or as a token."""
    token = rf"(^|[^A-Za-z0-9_]){re.escape(customer_id)}($|[^A-Za-z0-9_])"
    found = {}
    with ws.connect() as con:
        columns = con.execute("""SELECT table_name, column_name FROM information_schema.columns
                                 WHERE table_schema = 'main' AND data_type IN ('VARCHAR', 'JSON')""").fetchall()
        for table in sorted({t for t, _ in columns} - {"erasures"}):
            tests = [f'regexp_matches(CAST("{c}" AS VARCHAR), ?)' for t, c in columns if t == table]
            count = con.execute(f'SELECT count(*) FROM "{table}" WHERE {" OR ".join(tests)}',
                                [token] * len(tests)).fetchone()[0]
            if count:
                found[table] = count
    return found


def review_traces(ws: sl.Workspace, review_ids: list[str]) -> set[str]:
    """Tables with a row of one of these reviews."""
    marks = ", ".join("?" for _ in review_ids)
    tables = ws.sql("SELECT DISTINCT table_name FROM information_schema.columns WHERE column_name = 'review_id'")
    return {t for t in tables["table_name"]
            if ws.sql(f'SELECT count(*) AS n FROM "{t}" WHERE review_id IN ({marks})', review_ids)["n"].iloc[0]}


def file_traces(ws: sl.Workspace, customer_id: str, quotes: list[str]) -> list[str]:
    """Files of the workspace (outside the warehouse and secrets) holding the id or one of the quotes."""
    found = []
    for path in sorted(p for p in ws.path.rglob("*") if p.is_file()):
        relative = path.relative_to(ws.path).as_posix()
        if relative.startswith(("secrets/", "warehouse.")):
            continue
        if path.suffix == ".parquet":
            table = pq.read_table(path)
            values = [str(v) for c in table.column_names if pa.types.is_string(table.schema.field(c).type)
                      for v in table[c].to_pylist() if v is not None]
            text = "\n".join(values)
        elif path.suffix == ".npz":
            with np.load(path) as arrays:
                text = "\n".join(str(v) for k in arrays.files if arrays[k].dtype.kind in "US"
                                 for v in arrays[k].ravel().tolist())
        else:
            text = html.unescape(path.read_bytes().decode("utf-8", "replace"))
        if re.search(rf"(?<![A-Za-z0-9_]){re.escape(customer_id)}(?![A-Za-z0-9_])", text) or \
                any(q in text for q in quotes):
            found.append(relative)
    return found


@pytest.fixture
def erased_shop(demo_shop: sl.Workspace, tmp_path: Path) -> sl.Workspace:
    return copy_workspace(demo_shop, tmp_path)


def test_forget_leaves_no_trace_anywhere(erased_shop: sl.Workspace) -> None:
    ws = erased_shop
    customer = busiest_reviewer(ws)
    unique_quotes = ws.sql("""SELECT m.clause FROM reviews_aspect_mentions m JOIN reviews r USING (review_id)
                              WHERE r.customer_id = ? AND length(m.clause) >= 12 AND NOT EXISTS (
                                SELECT 1 FROM reviews o WHERE o.customer_id <> ? AND contains(o.body, m.clause))""",
                           [customer, customer])["clause"].tolist()
    review_ids = ws.sql("SELECT review_id FROM reviews WHERE customer_id = ?", [customer])["review_id"].tolist()
    key = create_key(ws, "read", "analyst")
    with TestClient(create_app(ws.path)) as client:
        headers = {"Authorization": f"Bearer {key}"}
        before = client.get(f"/api/v1/recommend/customers/{customer}", headers=headers).json()["items"]
        unknown = client.get("/api/v1/recommend/customers/NOBODY-AT-ALL", headers=headers).json()["items"]
        assert [i["product_id"] for i in before] != [i["product_id"] for i in unknown]  # personalised before
        # the places the defect was seen in, before the erasure
        traces = warehouse_traces(ws, customer)
        assert set(DERIVED_PER_CUSTOMER) <= set(traces) and {"customers", "reviews"} <= set(traces)
        assert review_traces(ws, review_ids) == {"reviews", "reviews_predictions", "reviews_aspect_mentions"}
        assert customer in (ws.path / "warehouse.duckdb").read_bytes().decode("latin-1")
        assert file_traces(ws, customer, []), "the demo's recommender and truth hold the customer"
        quoting_reports = [p for p in file_traces(ws, "NOBODY-AT-ALL", unique_quotes) if p.startswith("reports/")]
        # the service keeps answers in memory (serve.answers): these name the customer, and are kept
        assert client.get(f"/api/v1/recommend/customers/{customer}", headers=headers).json()["items"] == before
        for path in ANALYSES_LISTING_CUSTOMERS:
            assert all(customer in client.get(path, headers=headers).text for _ in range(2))

        report = ws.forget(customer)

        assert warehouse_traces(ws, customer) == {}
        assert review_traces(ws, review_ids) == set()
        assert file_traces(ws, customer, unique_quotes) == []
        assert customer not in (ws.path / "warehouse.duckdb").read_bytes().decode("latin-1")
        # the same running service: the erased customer gets what an unknown one gets, and no analysis lists them
        after = client.get(f"/api/v1/recommend/customers/{customer}", headers=headers).json()["items"]
        assert after == client.get("/api/v1/recommend/customers/NOBODY-AT-ALL", headers=headers).json()["items"]
        assert all("no history" in item["reason"] for item in after)
        for path in ANALYSES_LISTING_CUSTOMERS:
            answer = client.get(path, headers=headers)
            assert answer.status_code == 200 and customer not in answer.text
    places = report.counts()
    assert places["warehouse/customers"] == 1 and places["warehouse/reviews"] >= 1
    assert all(places.get(f"warehouse/{table}") == 1 for table in DERIVED_PER_CUSTOMER)
    assert any(p.startswith("models/recommend/") and c.action == "scrubbed" for c in report.cleaned
               for p in [c.place])
    assert {"warehouse/reviews_aspect_summary", "index/embeddings", "warehouse.duckdb"} <= set(places)
    assert any(p.startswith("truth/") for p in places)
    assert set(quoting_reports) <= set(places) and (ws.path / "reports" / "latest.html").exists()
    card = json.loads(next((ws.path / "models" / "recommend").glob("*/card.json")).read_text())
    assert "erasure" in card["notes"]  # the card says the model was scrubbed
    # the assistant quoted the customer's review sentences: its model was removed and trained again without them
    assert [c.action for c in report.cleaned if c.place == "assistant/model"] == ["removed", "rebuilt"]
    passages = pd.read_parquet(ws.path / "assistant" / "model" / "retriever" / "passages.parquet")
    assert not passages["evidence_id"].str.split("#").str[0].isin([f"review:{r}" for r in review_ids]).any()


def test_forget_an_unknown_customer_fails_unless_allowed(erased_shop: sl.Workspace) -> None:
    code, out = invoke("forget", "NOPE", "-w", str(erased_shop.path))
    assert code == 1 and "no customer 'NOPE'" in out
    with pytest.raises(NotFound, match="no customer"):
        erased_shop.forget("NOPE")
    assert erased_shop.sql("SELECT count(*) AS n FROM erasures")["n"].iloc[0] == 0  # nothing recorded as erased
    code, out = invoke("forget", "NOPE", "--allow-missing", "--json", "-w", str(erased_shop.path))
    assert code == 0 and json.loads(out)["found"] is False


def test_a_repeated_erasure_is_refused_then_allowed(erased_shop: sl.Workspace) -> None:
    customer = busiest_reviewer(erased_shop)
    code, out = invoke("forget", customer, "--json", "-w", str(erased_shop.path))
    assert code == 0 and json.loads(out)["found"] is True
    code, out = invoke("forget", customer, "-w", str(erased_shop.path))
    assert code == 1 and "no customer" in out
    code, _ = invoke("forget", customer, "--allow-missing", "-w", str(erased_shop.path))
    assert code == 0


def test_ingest_examples_and_logs_are_redacted(workspace: sl.Workspace, tmp_path: Path) -> None:
    # orders before customers: the ingest report keeps the unlinked customer ids as examples
    orders = tmp_path / "orders.csv"
    orders.write_text("order_id,customer_id,order_ts\nO1,CUST-77,2024-01-05\nO2,CUST-88,2024-01-06\n")
    workspace.ingest("orders", orders)
    (tmp_path / "customers.csv").write_text("customer_id,country\nCUST-77,DE\nCUST-88,FR\n")
    workspace.ingest("customers", tmp_path / "customers.csv")
    log = workspace.path / "logs" / "shoplens.log"
    log.parent.mkdir(exist_ok=True)
    log.write_text("served /api/v1/recommend/customers/CUST-77\nserved CUST-88.\n")
    assert "CUST-77" in workspace.sql("SELECT string_agg(message, ' ') AS m FROM ingest_runs")["m"].iloc[0]
    report = workspace.forget("CUST-77")
    runs = workspace.sql("SELECT CAST(unlinked AS VARCHAR) AS u, message FROM ingest_runs")
    assert "CUST-77" not in " ".join(runs["u"].dropna()) + " ".join(runs["message"].dropna())
    assert "CUST-88" in " ".join(runs["message"].dropna())  # the other customer's example stays
    assert log.read_text() == "served /api/v1/recommend/customers/[erased]\nserved CUST-88.\n"
    assert report.counts()["logs/shoplens.log"] == 1 and report.counts()["warehouse/ingest_runs"] == 1
