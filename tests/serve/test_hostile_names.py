"""Names from requests never reach the SQL unchecked (issue 15): every endpoint that picks a table (or an
analysis's grain, dimension, period length) by a name from the request answers a hostile or unknown name with a
4xx, and the read modules check the names they format into SQL against their allow-lists themselves. Values from
requests are bound: hostile text is only a value that matches nothing. After all of it the warehouse is as it was.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

import shoplens as sl
from shoplens.analytics import reads
from shoplens.errors import InputError, NotFound
from shoplens.reviews.store import sentiment_over_time
from shoplens.serve import create_app, create_key
from shoplens.serve.warehouse import canonical_table, table_rows
from tests.conftest import copy_workspace
from tests.serve.conftest import auth

HOSTILE_NAMES = ["orders; DROP TABLE customers", 'analytics_rfm" --', "customers' OR '1'='1", "no_such_column"]
# (method, path, query parameter or None for the path, status): each takes a name and puts it in SQL or picks a
# table by it
NAMED = [
    ("GET", "/api/v1/tables/{}", None, 404),
    ("GET", "/api/v1/quarantine/{}", None, 404),
    ("POST", "/api/v1/ingest/{}", None, 404),
    ("GET", "/api/v1/analytics/kpis", "grain", 422),
    ("GET", "/api/v1/analytics/kpis", "dimension", 422),
    ("GET", "/api/v1/reviews/sentiment", "freq", 422),
    ("GET", "/analytics/segments/{}.csv", None, 404),
]
# endpoints that bind a value from the request: a hostile value matches nothing
FILTERED = [("/api/v1/analytics/rfm/customers", "segment"), ("/api/v1/analytics/cohorts", "segment"),
            ("/api/v1/analytics/funnel", "segment"), ("/api/v1/analytics/kpis", "value")]
NOT_FOUND_BY_ID = ["/api/v1/forecast/{}", "/api/v1/reviews/products/{}/aspects"]


@pytest.fixture(scope="module")
def target(demo_shop: sl.Workspace, tmp_path_factory: pytest.TempPathFactory) -> sl.Workspace:
    """A copy of the demo shop (every capability's tables stored) that the hostile requests are sent to."""
    return copy_workspace(demo_shop, Path(tmp_path_factory.mktemp("hostile")))


@pytest.fixture(scope="module")
def client(target: sl.Workspace) -> Iterator[TestClient]:
    with TestClient(create_app(target.path), follow_redirects=False) as test_client:
        yield test_client


@pytest.fixture(scope="module")
def admin(target: sl.Workspace) -> dict[str, str]:
    return auth(create_key(target, "admin", "hostile names"))  # may read and write


def warehouse_state(ws: sl.Workspace) -> tuple[dict[str, int], str]:
    """Every table and view with its row count, and the fingerprint of the ingest runs."""
    names = ws.table_names()
    with ws.connect() as con:
        counts = {name: con.execute(f'SELECT count(*) FROM "{name}"').fetchone()[0] for name in names}
    return counts, ws.data_fingerprint()


def send(client: TestClient, headers: dict[str, str], method: str, path: str, param: str | None,
         name: str) -> int:
    url = path.format(name) if param is None else path
    params = {param: name} if param else None
    files = {"file": ("orders.csv", b"order_id\nO1\n", "text/csv")} if method == "POST" else None
    return client.request(method, url, params=params, files=files, headers=headers).status_code


def test_hostile_names_are_refused_and_change_nothing(target: sl.Workspace, client: TestClient,
                                                      admin: dict[str, str]) -> None:
    before = warehouse_state(target)
    assert {"customers", "orders", "analytics_rfm", "forecast_daily", "reviews_predictions"} <= set(before[0])
    answers = {(method, path, param, name): send(client, admin, method, path, param, name)
               for method, path, param, _ in NAMED for name in HOSTILE_NAMES}
    expected = {(method, path, param, name): status for method, path, param, status in NAMED
                for name in HOSTILE_NAMES}
    assert answers == expected
    assert warehouse_state(target) == before


def test_hostile_values_are_bound_and_match_nothing(target: sl.Workspace, client: TestClient,
                                                    admin: dict[str, str]) -> None:
    before = warehouse_state(target)
    for path, param in FILTERED:
        stored = client.get(path, headers=admin).json()["rows"][0][param]  # a value the result holds
        assert client.get(path, params={param: stored}, headers=admin).json()["total"] > 0  # it keeps those rows
        for name in HOSTILE_NAMES:
            answer = client.get(path, params={param: name}, headers=admin)
            assert (answer.status_code, answer.json()["total"]) == (200, 0), (path, name)
    for path in NOT_FOUND_BY_ID:
        for name in HOSTILE_NAMES:
            assert client.get(path.format(name), headers=admin).status_code == 404, (path, name)
    assert warehouse_state(target) == before


def test_the_read_modules_check_the_names_they_put_in_sql(target: sl.Workspace) -> None:
    """Behind the endpoints' validation, each read function refuses a name it does not know."""
    with target.connect() as con:
        for name in HOSTILE_NAMES:
            with pytest.raises(NotFound, match="no analytics result"):
                reads.result_page(con, name, limit=5, offset=0)
            with pytest.raises(NotFound, match="no analytics result"):
                reads.stored_result(con, name)
            with pytest.raises(InputError, match="cannot be filtered on"):
                reads.result_page(con, "analytics_rfm", filters={name: "lost"}, limit=5, offset=0)
            with pytest.raises(NotFound, match="no table"):
                canonical_table(name)
            with pytest.raises(NotFound, match="no table"):
                table_rows(con, name, 5, 0)
            with pytest.raises(InputError, match="freq must be"):
                sentiment_over_time(con, name)
        assert reads.result_page(con, "analytics_rfm", filters={"segment": "lost"}, limit=5, offset=0)["total"] > 0
