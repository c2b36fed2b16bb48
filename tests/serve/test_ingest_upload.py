"""Ingest upload: streamed into the workspace, size-limited, the report back, 4xx for every client mistake."""

from __future__ import annotations

import gzip
import io
import threading

import httpx
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from fastapi.testclient import TestClient

import shoplens as sl
from tests.serve.conftest import (
    AMOUNT_REASON,
    ORDERS_CSV,
    ORDERS_LOADED,
    ORDERS_QUARANTINED,
    ORDERS_READ,
    Keys,
    auth,
    make_client,
)


def _parquet(columns: dict[str, pa.Array]) -> bytes:
    buffer = io.BytesIO()
    pq.write_table(pa.table(columns), buffer)
    return buffer.getvalue()


def upload(client: TestClient, key: str, content: bytes, *, table: str = "orders", name: str = "orders.csv",
           data: dict | None = None) -> httpx.Response:
    return client.post(f"/api/v1/ingest/{table}", files={"file": (name, content, "application/octet-stream")},
                       data=data, headers=auth(key))


def leftover_uploads(ws: sl.Workspace) -> list[str]:
    return [p.name for p in ws.dir("tmp").iterdir() if p.name.startswith("upload-")]


def test_upload_round_trip(ws: sl.Workspace, client: TestClient, keys: Keys) -> None:
    answer = upload(client, keys.write, ORDERS_CSV.encode())
    assert answer.status_code == 200, answer.text
    report = answer.json()
    assert (report["read"], report["loaded"], report["quarantined"]) == (ORDERS_READ, ORDERS_LOADED,
                                                                       ORDERS_QUARANTINED)
    assert report["read"] == report["loaded"] + report["quarantined"]
    assert report["source"] == "orders.csv"
    assert report["quarantine_file"] == f"quarantine/orders/{report['run_id']}.parquet"
    assert (ws.path / report["quarantine_file"]).is_file()
    rows = client.get("/api/v1/tables/orders", headers=auth(keys.read)).json()
    assert [r["order_id"] for r in rows["rows"]] == ["O1", "O2", "O3"]
    tables = client.get("/api/v1/tables", headers=auth(keys.read)).json()["tables"]
    assert {t["name"]: t["rows"] for t in tables}["orders"] == ORDERS_LOADED == ws.counts()["orders"]
    quarantined = client.get("/api/v1/quarantine/orders", headers=auth(keys.read)).json()
    assert AMOUNT_REASON in [r["reason"] for r in quarantined["rows"]]
    assert leftover_uploads(ws) == []


def test_uploading_the_same_file_again_changes_nothing(ws: sl.Workspace, client: TestClient, keys: Keys) -> None:
    upload(client, keys.write, ORDERS_CSV.encode())
    again = upload(client, keys.write, ORDERS_CSV.encode()).json()
    assert again["replaced"] == ORDERS_LOADED and again["inserted"] == 0
    assert ws.counts()["orders"] == ORDERS_LOADED


@pytest.mark.parametrize("reader", ["python", "arrow"])
def test_the_reader_field_picks_the_csv_reader_and_the_result_names_it(ws: sl.Workspace, client: TestClient,
                                                                       keys: Keys, reader: str) -> None:
    chosen = upload(client, keys.write, ORDERS_CSV.encode(), data={"reader": reader}).json()
    again = upload(client, keys.write, ORDERS_CSV.encode()).json()  # auto: the fastest reader that is exact
    assert chosen["reader"] == reader and again["reader"] in ("duckdb", "arrow", "python")
    assert (chosen["loaded"], chosen["quarantined"]) == (again["loaded"], again["quarantined"])
    refused = upload(client, keys.write, ORDERS_CSV.encode(), data={"reader": "fast"})
    assert refused.status_code == 400 and "unknown reader 'fast'" in refused.text


def test_mapping_format_and_timezone_fields(ws: sl.Workspace, client: TestClient, keys: Keys) -> None:
    text = "Invoice|Buyer|When|Junk\nA1|C9|2024-03-01 12:00|x\nA2|C9|2024-03-02 12:00|y\n"
    answer = upload(client, keys.write, text.encode(), name="export.txt",
                    data={"map": ["Invoice=order_id", "Buyer=customer_id", "When=order_ts", "Junk="],
                          "format": "csv", "tz": "Europe/Berlin"})
    assert answer.status_code == 200, answer.text
    assert answer.json()["mapping"]["order_id"] == "Invoice" and answer.json()["loaded"] == 2
    first = ws.table("orders").sort_values("order_id").iloc[0]
    assert str(first["order_ts"]) == "2024-03-01 11:00:00"  # 12:00 in Berlin is 11:00 UTC


MIXED_ENCODINGS = ("product_id,title\nP1,Caf\u00e9\n".encode("cp1252") + "P2,\u4e2d\u6587\n".encode()
                   + b"P3," + b"\x81\x8d\x8f\x90\x9d" * 3 + b"\n")  # no encoding reads all of it


def test_an_undetectable_encoding_names_the_form_field(ws: sl.Workspace, client: TestClient, keys: Keys) -> None:
    answer = upload(client, keys.write, MIXED_ENCODINGS, table="products", name="catalog.csv")
    assert answer.status_code == 400, answer.text
    detail = answer.json()["detail"]
    assert "catalog.csv: cannot tell the text encoding" in detail and "send the form field encoding" in detail
    assert "--" not in detail  # no CLI option over HTTP
    given = upload(client, keys.write, MIXED_ENCODINGS, table="products", name="catalog.csv",
                   data={"encoding": "latin-1"})
    assert given.status_code == 200, given.text
    assert (given.json()["read"], given.json()["loaded"]) == (3, 3)
    assert ws.table("products").set_index("product_id").loc["P1", "title"] == "Caf\u00e9"


def test_csv_options_as_form_fields(ws: sl.Workspace, client: TestClient, keys: Keys) -> None:
    text = "O1|C1|05/01/2024 10:00\nO2|C2|13/01/2024 09:30\n"
    answer = upload(client, keys.write, text.encode(), name="orders.txt",
                    data={"format": "csv", "header": "false", "delimiter": "|", "ts_format": "%d/%m/%Y %H:%M",
                          "map": "column_1=order_id\ncolumn_2=customer_id\ncolumn_3=order_ts"})
    assert answer.status_code == 200, answer.text
    assert (answer.json()["read"], answer.json()["loaded"]) == (2, 2)
    days = ws.table("orders").sort_values("order_id")["order_ts"].dt.strftime("%Y-%m-%d").tolist()
    assert days == ["2024-01-05", "2024-01-13"]  # day first, as the format says


def test_the_upload_schema_lists_every_form_field(client: TestClient) -> None:
    from shoplens.serve.routers.ingest import FORM_FIELDS

    body = client.get("/openapi.json").json()["paths"]["/api/v1/ingest/{table}"]["post"]["requestBody"]
    fields = body["content"]["multipart/form-data"]["schema"]["properties"]
    assert set(fields) == set(FORM_FIELDS) >= {"file", "map", "format", "tz", "encoding", "delimiter", "ts_format",
                                               "header"}
    assert fields["header"]["type"] == "boolean"


def test_gzipped_json_lines_by_file_name(ws: sl.Workspace, client: TestClient, keys: Keys) -> None:
    lines = b'{"product_id": "P1", "title": "Mug", "price": 3.5}\n{"product_id": "P2", "price": -1}\n'
    answer = upload(client, keys.write, gzip.compress(lines), table="products", name="catalog.jsonl.gz")
    assert answer.status_code == 200, answer.text
    report = answer.json()
    assert (report["source"], report["read"], report["loaded"], report["quarantined"]) == ("catalog.jsonl.gz", 2, 1, 1)
    assert ws.counts()["products"] == 1


def test_too_large_is_413_while_streaming(ws: sl.Workspace, keys: Keys) -> None:
    with make_client(ws, max_upload_bytes=1000) as client:
        big = ORDERS_CSV.encode() + b"".join(b"O%d,C1,2024-01-05 10:00:00,paid,1\n" % i for i in range(100, 200))
        answer = upload(client, keys.write, big)
        assert answer.status_code == 413 and "1,000 bytes" in answer.json()["detail"]
        assert upload(client, keys.write, ORDERS_CSV.encode()).status_code == 200
    assert ws.counts()["orders"] == ORDERS_LOADED
    assert leftover_uploads(ws) == []


@pytest.mark.parametrize(("content", "data", "expected"), [
    (b"", None, "orders.csv: the file is empty"),
    (b"\n\n", None, "the file is empty"),
    (b"customer_id,status\nC1,paid\n", None, "order_id"),
    (ORDERS_CSV.encode(), {"map": "order_id"}, "expected SOURCE=CANONICAL"),
    (ORDERS_CSV.encode(), {"map": "status=no_such_column"}, "no column 'no_such_column'"),
    (ORDERS_CSV.encode(), {"map": "Nope=status"}, "Nope"),
    (ORDERS_CSV.encode(), {"format": "xlsx"}, "unknown format"),
    (ORDERS_CSV.encode(), {"tz": "Mars/Olympus"}, "unknown timezone"),
    (ORDERS_CSV.encode(), {"format": ["csv", "jsonl"]}, "given 2 times"),
    (ORDERS_CSV.encode(), {"keep_pii": "true"}, "unknown form field 'keep_pii'"),
    (ORDERS_CSV.encode(), {"encoding": "nope"}, "unknown text encoding 'nope'"),
    (ORDERS_CSV.encode(), {"encoding": "base64"}, "unknown text encoding 'base64'"),
    (ORDERS_CSV.encode(), {"encoding": "utf-32"}, "not valid utf-32"),
    (ORDERS_CSV.encode(), {"delimiter": "ab"}, "delimiter 'ab'"),
    (ORDERS_CSV.encode(), {"delimiter": '"'}, "delimiter"),
    (ORDERS_CSV.encode(), {"delimiter": "\u00a7"}, "one ASCII character"),
    (ORDERS_CSV.encode(), {"ts_format": "%Q"}, "ts_format '%Q'"),
    (ORDERS_CSV.encode(), {"header": "maybe"}, "header 'maybe'"),
    (b"\x00\x01\x02PAR1 not parquet", {"format": "parquet"}, "orders.csv: not a readable Parquet file"),
    (gzip.compress(ORDERS_CSV.encode())[:40], None, "orders.csv"),
])
def test_bad_input_is_4xx_with_the_message(ws: sl.Workspace, client: TestClient, keys: Keys, content: bytes,
                                           data: dict | None, expected: str) -> None:
    answer = upload(client, keys.write, content, data=data)
    assert answer.status_code == 400, answer.text
    detail = answer.json()["detail"]
    assert expected in detail and "\n" not in detail
    assert str(ws.path) not in detail  # the temporary upload path is never shown
    assert ws.counts()["orders"] == 0 and leftover_uploads(ws) == []


def test_malformed_requests_are_4xx(client: TestClient, keys: Keys) -> None:
    headers = auth(keys.write)
    url = "/api/v1/ingest/orders"
    assert client.post(url, content=ORDERS_CSV, headers={**headers, "Content-Type": "text/csv"}).status_code == 415
    assert client.post(url, data={"map": "a=b"}, files={"other": ("x", b"y")}, headers=headers).status_code == 400
    no_boundary = client.post(url, content=b"x", headers={**headers, "Content-Type": "multipart/form-data"})
    assert no_boundary.status_code == 400
    truncated = (b"--XyZ\r\nContent-Disposition: form-data; name=\"file\"; filename=\"o.csv\"\r\n\r\n"
                 b"order_id\r\nO1\r\n")
    multipart = {**headers, "Content-Type": "multipart/form-data; boundary=XyZ"}
    answer = client.post(url, content=truncated, headers=multipart)
    assert answer.status_code == 400 and "closing boundary" in answer.json()["detail"]
    two_files = [("file", ("a.csv", b"order_id\nO1\n")), ("file", ("b.csv", b"order_id\nO2\n"))]
    assert client.post(url, files=two_files, headers=headers).status_code == 400
    assert client.post("/api/v1/ingest/nope", files={"file": ("o.csv", b"x")}, headers=headers).status_code == 404


@pytest.mark.parametrize("content", [
    b"\xff\xfe\x00garbage\x00\x00" * 50,
    "order_id;customer_id\nO1;C1\n".encode("utf-16"),
    b"order_id,total_amount\n" + b"O1," + b"9" * 200_000 + b"\n",
    b'order_id,status\n"O1,paid\nO2,"paid\n',
    b"order_id\tstatus\nO1\tpaid\n",
    "order_id,status\nO1,pay\u00e9\n".encode("gbk", errors="replace"),
    b"order_id,order_id\nO1,O2\n",
    b"order_id\n" + b"O1\n" * 3,
    pytest.param(b"order_id,order_ts\n", id="header-only-with-timestamp"),
    pytest.param(b"order_id,order_ts\nO1,2024-01-01,one field too many\n", id="only-bad-lines-with-timestamp"),
    pytest.param(_parquet({"order_id": pa.array([b"\x00\xff"], pa.binary())}), id="parquet-binary-key"),
])
def test_client_mistakes_are_never_5xx(ws: sl.Workspace, client: TestClient, keys: Keys, content: bytes) -> None:
    name = "orders.parquet" if content.startswith(b"PAR1") else "orders.csv"
    answer = upload(client, keys.write, content, name=name)
    assert answer.status_code < 500, answer.text
    if answer.status_code == 200:
        report = answer.json()
        assert report["read"] == report["loaded"] + report["quarantined"]
    assert leftover_uploads(ws) == []


def test_busy_workspace_is_503_with_retry_after(ws: sl.Workspace, client: TestClient, keys: Keys) -> None:
    holding, release = threading.Event(), threading.Event()

    def hold_the_lock() -> None:
        with ws.write_lock(command="a test holding the lock"):
            holding.set()
            release.wait(30)

    holder = threading.Thread(target=hold_the_lock)
    holder.start()
    try:
        assert holding.wait(10)
        answer = upload(client, keys.write, ORDERS_CSV.encode())
    finally:
        release.set()
        holder.join()
    assert answer.status_code == 503 and answer.headers["retry-after"] == "5"
    assert "a test holding the lock" in answer.json()["detail"]
    assert upload(client, keys.write, ORDERS_CSV.encode()).status_code == 200
