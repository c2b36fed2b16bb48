"""Dashboard over HTTP: sign-in (form or ?key= once), the session cookie, pages from registered capabilities."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter
from fastapi.testclient import TestClient

import shoplens as sl
from shoplens.serve import Capability, Page, create_app, revoke_key
from shoplens.serve.routers import load_capabilities
from shoplens.serve.sessions import COOKIE_NAME
from tests.serve.conftest import AMOUNT_REASON, ORDERS_LOADED, Keys, make_client, write_file


def sign_in(client: TestClient, key: str) -> None:
    answer = client.post("/login", data={"key": key, "next": "/"})
    assert answer.status_code == 303 and answer.headers["location"] == "/"


def test_pages_need_a_session(client: TestClient) -> None:
    answer = client.get("/")
    assert answer.status_code == 303 and answer.headers["location"] == "/login?next=/"
    form = client.get("/login")
    assert form.status_code == 200 and 'name="key"' in form.text and "Overview" not in form.text


def test_key_in_the_link_once_sets_an_httponly_cookie(shop: sl.Workspace, keys: Keys) -> None:
    with make_client(shop) as client:
        answer = client.get("/", params={"key": keys.read})
        assert answer.status_code == 303 and answer.headers["location"] == "/"  # the key leaves the address bar
        cookie = answer.headers["set-cookie"]
        assert cookie.startswith(f"{COOKIE_NAME}=") and "HttpOnly" in cookie and "SameSite=lax" in cookie
        assert keys.read not in cookie
        page = client.get("/")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert "default-src 'self'" in page.headers["content-security-policy"]
    assert f'data-testid="rows-orders">{ORDERS_LOADED}<' in page.text
    assert AMOUNT_REASON.replace('"', "&#34;") in page.text
    assert "reader (read)" in page.text


def test_wrong_key_shows_the_form_again(client: TestClient, keys: Keys) -> None:
    answer = client.post("/login", data={"key": keys.read + "x", "next": "/"})
    assert answer.status_code == 401 and "not valid" in answer.text and COOKIE_NAME not in answer.headers.get(
        "set-cookie", "")
    assert client.get("/?key=nonsense").status_code == 401


def test_sign_in_never_redirects_elsewhere(client: TestClient, keys: Keys) -> None:
    answer = client.post("/login", data={"key": keys.read, "next": "https://evil.example/"})
    assert answer.headers["location"] == "/"
    answer = client.post("/login", data={"key": keys.read, "next": "//evil.example/"})
    assert answer.headers["location"] == "/"


def test_session_reads_the_api_but_never_writes(shop: sl.Workspace, keys: Keys) -> None:
    with make_client(shop) as client:
        sign_in(client, keys.admin)
        assert client.get("/api/v1/tables").status_code == 200
        upload = client.post("/api/v1/ingest/orders", files={"file": ("o.csv", b"order_id\nO7\n")})
        assert upload.status_code == 401  # a cross-site form could send the cookie; writes need the header


def test_sign_out_and_revocation_end_the_session(shop: sl.Workspace, keys: Keys) -> None:
    with make_client(shop) as client:
        sign_in(client, keys.read)
        assert client.get("/").status_code == 200
        assert client.post("/logout").headers["location"] == "/login"
        assert client.get("/").status_code == 303
        sign_in(client, keys.write)
        revoke_key(shop, keys.write)
        assert client.get("/").status_code == 303
        assert client.get("/api/v1/tables").status_code == 401


def test_empty_workspace_says_so(client: TestClient, keys: Keys) -> None:
    sign_in(client, keys.read)
    page = client.get("/").text
    assert 'data-testid="no-runs"' in page and 'data-testid="no-quarantine"' in page


def test_navigation_lists_only_available_capabilities(ws: sl.Workspace, keys: Keys) -> None:
    def context(_warehouse: object, _query: object) -> dict[str, str]:
        return {}

    present = Capability("present", APIRouter(), (Page("/present", "Present page", "login.html", context, 50),))
    absent = Capability("absent", APIRouter(), (Page("/absent", "Absent page", "login.html", context, 60),),
                        requires=("shoplens.no_such_capability",))
    available = [c for c in [*load_capabilities(), present, absent] if c.available()]
    with TestClient(create_app(ws.path, capabilities=available), follow_redirects=False) as client:
        sign_in(client, keys.read)
        page = client.get("/").text
        assert '<a href="/present">Present page</a>' in page and "Absent page" not in page
        assert client.get("/present").status_code == 200
        assert client.get("/absent").status_code == 404


def test_an_empty_file_is_marked_among_the_latest_runs(shop: sl.Workspace, keys: Keys, tmp_path: Path) -> None:
    """A header-only CSV is an ingest run of 0 rows: the overview says so instead of showing 0 = 0 + 0 as news."""
    empty = shop.ingest("orders", write_file(tmp_path, "empty.csv", "order_id,customer_id\n"))
    assert empty.read == 0
    with make_client(shop) as client:
        sign_in(client, keys.read)
        page = client.get("/").text
    row = page.split(f'data-run="{empty.run_id}"')[1].split("</tr>")[0]
    assert 'class="empty-file"' in row and "empty file" in row
    loaded = [run for run in shop.ingest_runs().itertuples() if run.read > 0]
    assert all("empty file" not in page.split(f'data-run="{run.run_id}"')[1].split("</tr>")[0] for run in loaded)


def test_overview_shows_the_workspace_name_not_its_path(shop: sl.Workspace, keys: Keys) -> None:
    with make_client(shop) as client:
        sign_in(client, keys.read)
        page = client.get("/").text
    assert str(shop.path) not in page and shop.config.name in page.split('data-testid="workspace"')[1]


def test_a_table_downloads_raw_values_and_never_a_formula() -> None:
    """The CSV of a dashboard table: raw numbers, a product as its id and title, and text that a spreadsheet
    would run as a formula (a customer's review quote) neutralised with a leading quote."""
    import csv
    import datetime as dt
    import io

    from shoplens.serve.datatable import Column, DataTable

    table = DataTable("t", (Column("product_id", "product", "product"), Column("revenue", "revenue", "money"),
                            Column("day", "day", "day"), Column("quotes", "quotes", "quotes")),
                      [{"product_id": "P1", "title": "=HYPERLINK(\"http://x\")", "revenue": 1234.5,
                        "day": dt.date(2024, 3, 1), "quotes": ["great", "@cmd"]}], currency="EUR")
    assert table.text(table.rows[0], table.columns[1]) == "1,234.50 EUR"
    assert table.text(table.rows[0], table.columns[0]) == '=HYPERLINK("http://x")'  # shown as text on the page
    rows = list(csv.reader(io.StringIO(table.csv())))
    assert rows == [["product_id", "title", "revenue", "day", "quotes"],
                    ["P1", "'=HYPERLINK(\"http://x\")", "1234.5", "2024-03-01", "great | @cmd"]]
