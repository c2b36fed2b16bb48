"""Property tests: CSVs corrupted at random never break the accounting or the warehouse.

For every corrupted file, ingest either succeeds with ``read = loaded + quarantined`` (checked against the
stored run, the quarantine file and the table itself) or fails with a one-line ``InputError`` and leaves
the warehouse exactly as it was.
"""

from __future__ import annotations

import gzip
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import shoplens as sl
from shoplens.errors import ShoplensError

from .test_ingest import warehouse_snapshot

HEADER = "order_id,customer_id,order_ts,total_amount,status,n_items\n"
CLEAN_ROWS = [f"O{i},C{i % 7},2024-0{1 + i % 9}-1{i % 10} 1{i % 10}:00:00,{i * 1.25:.2f},completed,{i % 4}\n"
              for i in range(40)]
NOISE = st.sampled_from([",", ";", '"', "\n", "\r\n", "\t", "", "\x00", "é", "质", "\xff", "9999-99-99", "abc",
                         "-1", "NaN", "1e400", "'", "\\", " ", ",,,,", '"\n"'])


@st.composite
def corrupted_csv(draw: st.DrawFn) -> bytes:
    rows = list(CLEAN_ROWS)
    for _ in range(draw(st.integers(0, 8))):
        i = draw(st.integers(0, len(rows) - 1))
        row = rows[i]
        pos = draw(st.integers(0, len(row)))
        action = draw(st.sampled_from(["insert", "delete", "duplicate", "replace_field"]))
        if action == "insert":
            rows[i] = row[:pos] + draw(NOISE) + row[pos:]
        elif action == "delete":
            rows[i] = row[:pos] + row[pos + draw(st.integers(1, 5)):]
        elif action == "duplicate":
            rows.insert(i, row)
        else:
            fields = row.rstrip("\n").split(",")
            fields[draw(st.integers(0, len(fields) - 1))] = draw(NOISE)
            rows[i] = ",".join(fields) + "\n"
    header = draw(st.sampled_from([HEADER, HEADER.replace("order_id", "Order ID"), HEADER.upper(),
                                   HEADER.replace("order_id,", "")]))
    text = header + "".join(rows)
    encoding = draw(st.sampled_from(["utf-8", "utf-8-sig", "latin-1", "gb18030"]))
    data = text.encode(encoding, errors="replace")
    if draw(st.booleans()):
        data = data[: draw(st.integers(0, len(data)))]
    if draw(st.integers(0, 5)) == 0:
        data = gzip.compress(data)
        if draw(st.booleans()):
            data = data[: draw(st.integers(1, len(data)))]
    for _ in range(draw(st.integers(0, 3))):  # raw byte flips
        if data:
            pos = draw(st.integers(0, len(data) - 1))
            data = data[:pos] + bytes([draw(st.integers(0, 255))]) + data[pos + 1:]
    return data


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> sl.Workspace:
    ws = sl.Workspace.init(tmp_path_factory.mktemp("prop") / "ws")
    path = tmp_path_factory.mktemp("base") / "base.csv"
    path.write_text(HEADER + "".join(CLEAN_ROWS[:10]), encoding="utf-8")
    ws.ingest("orders", path)
    return ws


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                 HealthCheck.too_slow])
@given(data=corrupted_csv())
def test_corrupted_csv_accounting_and_atomicity(shop: sl.Workspace, tmp_path_factory: pytest.TempPathFactory,
                                                data: bytes) -> None:
    path = tmp_path_factory.mktemp("case") / "orders.csv"
    path.write_bytes(data)
    before = warehouse_snapshot(shop)
    rows_before = shop.counts()["orders"]
    try:
        report = shop.ingest("orders", path)
    except ShoplensError as error:
        assert "\n" not in str(error).strip(), "errors are one line"
        assert warehouse_snapshot(shop) == before, "a failed run must leave the warehouse as it was"
        return
    assert report.read == report.loaded + report.quarantined
    assert report.loaded == report.inserted + report.replaced
    assert shop.counts()["orders"] == rows_before + report.inserted
    stored = shop.ingest_runs("orders").set_index("run_id").loc[report.run_id]
    assert (stored["read"], stored["loaded"], stored["quarantined"]) == (report.read, report.loaded, report.quarantined)
    if report.quarantined:
        quarantine = pq.read_table(Path(shop.path) / report.quarantine_file)
        assert quarantine.num_rows == report.quarantined
        assert all(quarantine.column("reason").to_pylist())
    else:
        assert report.quarantine_file is None
