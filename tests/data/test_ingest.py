"""Ingest on small real files: formats, encodings, mapping, upserts, links and every kind of bad input."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest

import shoplens as sl
from shoplens.errors import InputError
from shoplens.schema import TABLES

ORDERS_CSV = """order_id,customer_id,order_ts,total_amount,status
A1,C1,2024-01-05 10:00:00,12.50,completed
A2,C2,2024-01-06 11:30:00,7.00,completed
A3,C1,2024-02-01 09:15:00,-3.00,refunded
"""


def write(path: Path, text: str, encoding: str = "utf-8") -> Path:
    path.write_bytes(text.encode(encoding))
    return path


def quarantine_rows(ws: sl.Workspace, report) -> list[dict]:
    if not report.quarantine_file:
        return []
    return pq.read_table(ws.path / report.quarantine_file).to_pylist()


def warehouse_snapshot(ws: sl.Workspace) -> dict[str, list]:
    """Every canonical table's rows (without lineage), in a stable order, for before/after comparisons."""
    with ws.connect() as con:
        snapshot = {name: sorted(map(str, con.execute(
                        f'SELECT * EXCLUDE (_ingest_run, _source_row) FROM "{name}"').fetchall()))
                    for name in TABLES}
        snapshot["ingest_runs"] = con.execute("SELECT count(*) FROM ingest_runs").fetchall()
    return snapshot


def test_csv_loads_with_types_and_accounting(workspace: sl.Workspace, tmp_path: Path) -> None:
    report = workspace.ingest("orders", write(tmp_path / "orders.csv", ORDERS_CSV))
    assert (report.read, report.loaded, report.quarantined) == (3, 3, 0)
    orders = workspace.table("orders").set_index("order_id")
    assert float(orders.loc["A3", "total_amount"]) == -3.0  # refunds are documented negatives
    assert str(orders.loc["A2", "order_ts"]) == "2024-01-06 11:30:00"
    runs = workspace.ingest_runs("orders")
    assert runs.iloc[0]["read"] == runs.iloc[0]["loaded"] + runs.iloc[0]["quarantined"] == 3


def test_reingesting_the_same_file_changes_nothing(workspace: sl.Workspace, tmp_path: Path) -> None:
    path = write(tmp_path / "orders.csv", ORDERS_CSV)
    workspace.ingest("orders", path)
    before = warehouse_snapshot(workspace)["orders"]
    again = workspace.ingest("orders", path)
    assert (again.inserted, again.replaced) == (0, 3)
    assert warehouse_snapshot(workspace)["orders"] == before


def test_keyless_source_keeps_exact_duplicate_rows(workspace: sl.Workspace, tmp_path: Path) -> None:
    text = "product_id,rating,body\nP1,5,great\nP1,5,great\nP2,1,bad\n"
    path = write(tmp_path / "reviews.csv", text)
    first = workspace.ingest("reviews", path)
    assert first.synthesized == ["review_id"]
    assert first.loaded == 3  # the two identical rows are two reviews
    workspace.ingest("reviews", path)
    assert workspace.counts()["reviews"] == 3  # same file again: same keys, nothing duplicated


@pytest.mark.parametrize("encoding", ["utf-8-sig", "gbk", "latin-1"])
def test_encodings_are_detected(workspace: sl.Workspace, tmp_path: Path, encoding: str) -> None:
    body = "质量很好，物流很快" if encoding == "gbk" else "Très belle qualité, livré à temps"
    text = "product_id,rating,body\n" + "".join(f"P{i},{1 + i % 5},\"{body} {i}\"\n" for i in range(50))
    report = workspace.ingest("reviews", write(tmp_path / "r.csv", text, encoding))
    assert report.loaded == 50
    bodies = workspace.table("reviews")["body"]
    assert bodies.str.startswith(body).all()


def mixed_encodings(lines: list[tuple[str, str]]) -> bytes:
    """A file whose lines were written by two systems: each line as (text, encoding)."""
    return b"".join(text.encode(encoding) + b"\n" for text, encoding in lines)


def test_rows_mixing_utf8_and_latin1_are_both_read_right_and_counted(workspace: sl.Workspace,
                                                                       tmp_path: Path) -> None:
    path = tmp_path / "customers.csv"
    path.write_bytes(mixed_encodings([("customer_id,city", "ascii"), ("C1,Köln", "utf-8"), ("C2,München", "latin-1"),
                                      ("C3,Zürich", "utf-8"), ("C4,Malmö", "latin-1"), ("C5,Oslo", "ascii")]))
    report = workspace.ingest("customers", path, keep_pii=True)
    assert (report.read, report.loaded, report.quarantined) == (5, 5, 0)
    cities = workspace.table("customers").set_index("customer_id")["city"].to_dict()
    assert cities == {"C1": "Köln", "C2": "München", "C3": "Zürich", "C4": "Malmö", "C5": "Oslo"}  # no mojibake
    assert report.fallback_decoded == 2 and report.to_dict()["fallback_decoded"] == 2
    [note] = [m for m in report.messages if "UTF-8" in m]
    assert note.startswith("2 rows are not valid UTF-8 and were read as Windows-1252") and "rows 2, 4" in note
    stored = workspace.ingest_runs("customers").iloc[0]
    assert stored["fallback_decoded"] == 2 and note in stored["message"]


def test_a_workspace_from_before_the_fallback_count_still_ingests(workspace: sl.Workspace, tmp_path: Path) -> None:
    with workspace.connect(read_only=False) as con:
        con.execute("ALTER TABLE ingest_runs DROP COLUMN fallback_decoded")  # as schema 1 first shipped
    workspace.ingest("orders", write(tmp_path / "orders.csv", ORDERS_CSV))
    assert workspace.ingest_runs("orders").iloc[0]["fallback_decoded"] == 0


def test_jsonl_mixing_utf8_and_latin1_is_counted_too(workspace: sl.Workspace, tmp_path: Path) -> None:
    path = tmp_path / "reviews.jsonl"
    path.write_bytes(mixed_encodings([('{"product_id": "P1", "body": "très bien"}', "utf-8"),
                                      ('{"product_id": "P2", "body": "déçu, qualité médiocre"}', "latin-1")]))
    report = workspace.ingest("reviews", path)
    assert (report.loaded, report.fallback_decoded) == (2, 1)
    assert sorted(workspace.table("reviews")["body"]) == ["déçu, qualité médiocre", "très bien"]


def test_double_byte_chinese_is_not_taken_for_a_mix(workspace: sl.Workspace, tmp_path: Path) -> None:
    # "一" and "么" in GBK happen to be valid UTF-8 byte pairs; the other lines are not UTF-8
    cities = ["一", "北京", "么", "上海市", "广州", "深圳"]
    text = "customer_id,city\n" + "".join(f"C{i},{city}\n" for i, city in enumerate(cities))
    report = workspace.ingest("customers", write(tmp_path / "gbk.csv", text, "gbk"), keep_pii=True)
    assert report.fallback_decoded == 0 and report.loaded == len(cities)
    assert sorted(workspace.table("customers")["city"]) == sorted(cities)


def test_one_encoding_throughout_needs_no_fallback(workspace: sl.Workspace, tmp_path: Path) -> None:
    for name, encoding in (("latin.csv", "latin-1"), ("utf8.csv", "utf-8")):
        report = workspace.ingest("customers", write(tmp_path / name, "customer_id,city\nC1,Köln\nC2,Malmö\n",
                                                     encoding), keep_pii=True)
        assert report.fallback_decoded == 0 and not any("UTF-8" in m for m in report.messages)
        assert sorted(workspace.table("customers")["city"]) == ["Köln", "Malmö"]


@pytest.mark.parametrize("delimiter", [";", "\t", "|"])
def test_delimiters_are_detected(workspace: sl.Workspace, tmp_path: Path, delimiter: str) -> None:
    text = ORDERS_CSV.replace(",", delimiter)
    report = workspace.ingest("orders", write(tmp_path / "orders.txt", text))
    assert report.loaded == 3


def test_jsonl_gzip_and_parquet_and_frames(workspace: sl.Workspace, tmp_path: Path) -> None:
    rows = [{"review_id": f"R{i}", "product_id": "P1", "stars": i % 5 + 1, "text": f"t{i}", "extra": {"a": i}}
            for i in range(10)]
    path = tmp_path / "r.jsonl.gz"
    with gzip.open(path, "wt", encoding="utf-8") as f:
        f.writelines(json.dumps(r) + "\n" for r in rows)
    assert workspace.ingest("reviews", path).loaded == 10
    frame = pd.DataFrame({"order_id": ["X1", "X2"], "order_ts": pd.to_datetime(["2024-03-01", "2024-03-02"]),
                          "total_amount": [1.5, 2.25]})
    frame.to_parquet(tmp_path / "o.parquet")
    assert workspace.ingest("orders", tmp_path / "o.parquet").loaded == 2
    assert workspace.ingest("orders", frame.assign(order_id=["Y1", "Y2"])).loaded == 2
    assert workspace.counts()["orders"] == 4


def test_explicit_mapping_and_extras(workspace: sl.Workspace, tmp_path: Path) -> None:
    text = "SKU Code,Name,Colour,Retail\nS1,Shirt,red,19.99\nS2,Socks,blue,4.50\n"
    report = workspace.ingest("products", write(tmp_path / "p.csv", text),
                              mapping={"SKU Code": "product_id", "Retail": "price"})
    assert report.mapping["product_id"] == "SKU Code" and report.mapping["title"] == "Name"
    products = workspace.table("products").set_index("product_id")
    assert json.loads(products.loc["S1", "attributes"]) == {"Colour": "red"}
    assert float(products.loc["S2", "price"]) == 4.5


def test_timezone_and_timestamp_formats(tmp_path: Path) -> None:
    ws = sl.Workspace.init(tmp_path / "ws", timezone="America/New_York")
    text = "order_id,order_ts\nA,12/1/2010 8:26\nB,12/31/2010 23:59\n"
    report = ws.ingest("orders", write(tmp_path / "o.csv", text))
    assert report.timestamp_formats == {"order_ts": "%m/%d/%Y %H:%M"}
    ts = ws.table("orders").set_index("order_id")["order_ts"]
    assert str(ts["A"]) == "2010-12-01 13:26:00"  # 08:26 in New York is 13:26 UTC
    epoch = ws.ingest("events", write(tmp_path / "e.csv", "event_type,event_ts\npv,1511544070\n"))
    assert epoch.timestamp_formats == {"event_ts": "epoch_s"}
    assert str(ws.table("events")["event_ts"][0]) == "2017-11-24 17:21:10"
    assert ws.table("events")["event_type"][0] == "view"


def test_order_items_derive_line_numbers_and_order_totals(workspace: sl.Workspace, tmp_path: Path) -> None:
    workspace.ingest("orders", write(tmp_path / "o.csv", "order_id,order_ts\nT1,2024-01-01\nT2,2024-01-02\n"))
    items = "order_id,product_id,quantity,unit_price\nT1,bread,1,2.5\nT1,bread,1,2.5\nT1,coffee,2,3\nT2,tea,1,2\n"
    report = workspace.ingest("order_items", write(tmp_path / "i.csv", items))
    assert report.synthesized == ["line_no"] and report.loaded == 4
    assert sorted(workspace.table("order_items").query("order_id == 'T1'")["line_no"]) == [1, 2, 3]
    orders = workspace.table("orders").set_index("order_id")
    assert orders.loc["T1", "n_items"] == 4 and float(orders.loc["T1", "total_amount"]) == 11.0
    assert report.unlinked["product_id"] == {"table": "products", "rows": 4,  # no catalog yet: reported, kept
                                             "examples": ["bread", "coffee", "tea"]}


def test_views_fill_zero_days(workspace: sl.Workspace, tmp_path: Path) -> None:
    workspace.ingest("orders", write(tmp_path / "o.csv",
                                     "order_id,customer_id,order_ts\nT1,C1,2024-01-01\nT2,C1,2024-01-04\n"))
    workspace.ingest("order_items", write(tmp_path / "i.csv",
                                          "order_id,product_id,quantity,unit_price\nT1,P,2,3\nT2,P,1,4\n"))
    sales = workspace.table("daily_sales").sort_values("day")
    assert list(sales["units"]) == [2, 0, 0, 1]
    assert list(sales["avg_price"]) == [3, 3, 3, 4]  # zero days carry the last price offered
    interactions = workspace.table("interactions")
    assert len(interactions) == 2 and set(interactions["kind"]) == {"purchase"}


# -- bad input: a one-line message or a quarantine entry, and nothing already loaded is lost -------------

def test_missing_key_column_fails_cleanly(workspace: sl.Workspace, tmp_path: Path) -> None:
    workspace.ingest("orders", write(tmp_path / "good.csv", ORDERS_CSV))
    before = warehouse_snapshot(workspace)
    with pytest.raises(InputError, match=r"bad\.csv.*missing key column 'order_id'"):
        workspace.ingest("orders", write(tmp_path / "bad.csv", "customer,total\nC1,3\n"))
    assert warehouse_snapshot(workspace) == before


def test_unparseable_values_go_to_quarantine_with_reasons(workspace: sl.Workspace, tmp_path: Path) -> None:
    text = ORDERS_CSV + "A4,C3,not a date,5,completed\nA5,C3,2024-03-01,five,completed\n,C4,2024-03-02,1,x\n"
    report = workspace.ingest("orders", write(tmp_path / "o.csv", text))
    assert (report.read, report.loaded, report.quarantined) == (6, 3, 3)
    reasons = {r["source_row"]: r["reason"] for r in quarantine_rows(workspace, report)}
    assert reasons[4].startswith("order_ts: not a timestamp") and '"not a date"' in reasons[4]
    assert reasons[5] == 'total_amount: not an amount "five"'
    assert reasons[6] == "order_id: missing (it is part of the key)"


def test_ranges_are_checked(workspace: sl.Workspace, tmp_path: Path) -> None:
    text = "review_id,rating,body\nR1,5,ok\nR2,7,too many stars\nR3,0,none\nR4,4.5,half\n"
    report = workspace.ingest("reviews", write(tmp_path / "r.csv", text))
    reasons = sorted(r["reason"] for r in quarantine_rows(workspace, report))
    assert reasons == ["rating: 0 is below the minimum 1", "rating: 7 is above the maximum 5",
                       'rating: not a whole number "4.5"']


def test_duplicate_keys_in_one_file(workspace: sl.Workspace, tmp_path: Path) -> None:
    report = workspace.ingest("orders", write(tmp_path / "o.csv", ORDERS_CSV + "A1,C9,2024-05-05,1,x\n"))
    assert (report.loaded, report.quarantined) == (3, 1)
    [row] = quarantine_rows(workspace, report)
    assert row["source_row"] == 4 and row["reason"] == "duplicate key (order_id=A1), first at row 1"


def test_wrong_delimiter_and_ragged_rows(workspace: sl.Workspace, tmp_path: Path) -> None:
    text = ORDERS_CSV + "A9,C1,2024-01-01,1,completed,surplus\n"
    report = workspace.ingest("orders", write(tmp_path / "o.csv", text))
    [row] = quarantine_rows(workspace, report)
    assert row["source_row"] == 4 and row["reason"] == "expected 5 fields, found 6"
    with pytest.raises(InputError, match="missing key column"):
        workspace.ingest("orders", write(tmp_path / "o2.csv", ORDERS_CSV), delimiter=";")


def test_empty_and_header_only_files(workspace: sl.Workspace, tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"empty\.csv: the file is empty"):
        workspace.ingest("orders", write(tmp_path / "empty.csv", ""))
    report = workspace.ingest("orders", write(tmp_path / "header.csv", "order_id,total_amount\n"))
    assert (report.read, report.loaded) == (0, 0) and "no data rows" in report.messages[0]
    with pytest.raises(InputError, match="missing key column"):
        workspace.ingest("orders", write(tmp_path / "header2.csv", "total_amount\n"))


def test_stray_non_utf8_bytes_quarantine_their_record(workspace: sl.Workspace, tmp_path: Path) -> None:
    mixed = tmp_path / "mixed.csv"
    lines = "".join(f"X{i},C1,2024-01-01,1,ok\n" for i in range(20000))
    mixed.write_bytes(ORDERS_CSV.encode() + lines.encode() + "X,Ç1,2024-01-01,1,ok\n".encode("latin-1"))
    report = workspace.ingest("orders", mixed)
    assert (report.read, report.loaded, report.quarantined) == (20004, 20003, 1)
    [row] = quarantine_rows(workspace, report)
    assert row["source_row"] == 20004 and row["reason"] == "customer_id: bytes that are not valid utf-8"


def test_binary_garbage_and_truncated_gzip_fail_cleanly(workspace: sl.Workspace, tmp_path: Path) -> None:
    workspace.ingest("orders", write(tmp_path / "good.csv", ORDERS_CSV))
    before = warehouse_snapshot(workspace)
    (tmp_path / "noise.csv").write_bytes(bytes(range(256)) * 64)
    with pytest.raises(InputError, match=r"noise\.csv"):
        workspace.ingest("orders", tmp_path / "noise.csv")
    data = gzip.compress((ORDERS_CSV + "".join(f"Z{i},C1,2024-01-01,1,ok\n" for i in range(5000))).encode())
    (tmp_path / "cut.csv.gz").write_bytes(data[: len(data) // 2])
    with pytest.raises(InputError, match=r"cut\.csv\.gz.*end abruptly"):
        workspace.ingest("orders", tmp_path / "cut.csv.gz")
    assert warehouse_snapshot(workspace) == before


def test_gigantic_line_is_quarantined(workspace: sl.Workspace, tmp_path: Path) -> None:
    giant = "x" * (20 * 1024 * 1024)
    text = f"review_id,body\nR1,fine\nR2,{giant}\nR3,also fine\n"
    report = workspace.ingest("reviews", write(tmp_path / "giant.csv", text))
    assert (report.read, report.loaded, report.quarantined) == (3, 2, 1)
    [row] = quarantine_rows(workspace, report)
    assert row["source_row"] == 2 and row["reason"] == "body: 20971520 characters, more than the limit of 1000000"


def test_bad_mapping_and_unknown_table(workspace: sl.Workspace, tmp_path: Path) -> None:
    path = write(tmp_path / "o.csv", ORDERS_CSV)
    with pytest.raises(InputError, match="has no column 'nope'"):
        workspace.ingest("orders", path, mapping={"status": "nope"})
    with pytest.raises(InputError, match="names column 'Missing'"):
        workspace.ingest("orders", path, mapping={"Missing": "status"})
    with pytest.raises(KeyError, match="unknown table 'order'"):
        workspace.ingest("order", path)
