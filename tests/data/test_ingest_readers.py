"""The three CSV readers of ingest give the same warehouse and the same quarantine, row for row.

DuckDB's CSV reader (the fast path for plain UTF-8 files) and Arrow's are held to Python's csv module (the exact
reader, ``reader="python"``): the same table rows with the same record numbers, the same quarantined rows with the
same reasons and values, the same report. Files DuckDB cannot read exactly must fall back, and still match.
"""

from __future__ import annotations

import gzip
import shutil
from pathlib import Path
from typing import Any

import duckdb
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import shoplens as sl
from shoplens.data import checks, synth
from shoplens.errors import ShoplensError
from shoplens.schema import TABLES, get_table

REPORT_FIELDS = ("read", "loaded", "quarantined", "fallback_decoded", "inserted", "replaced", "file_hash", "mapping",
                 "extras", "ignored", "synthesized", "timestamp_formats", "unlinked", "messages", "quarantine_file")


def twin_workspace(tmp_path: Path, name: str, keys_from: sl.Workspace | None) -> sl.Workspace:
    """A fresh workspace; with ``keys_from``, holding the same pseudonymization keys (same pseudonyms)."""
    ws = sl.Workspace.init(tmp_path / name)
    if keys_from is not None:
        shutil.copy(keys_from.path / "secrets" / "pii.key", ws.path / "secrets" / "pii.key")
    return ws


def outcome(ws: sl.Workspace, table: str, path: Path, reader: str, **options: Any) -> dict[str, Any]:
    """Everything an ingest leaves behind that a user can see, without what differs by design (run ids, timing)."""
    try:
        report = ws.ingest(table, path, reader=reader, **options)
    except ShoplensError as error:
        return {"error": str(error)}
    result: dict[str, Any] = {field: getattr(report, field) for field in REPORT_FIELDS}
    result["quarantine_file"] = (result["quarantine_file"] or "").replace(report.run_id, "RUN")
    with ws.connect() as con:
        result["rows"] = {name: con.execute(f'SELECT * EXCLUDE (_ingest_run) FROM "{name}" '
                                            'ORDER BY ALL').fetchall() for name in TABLES}
    result["quarantine"] = (pq.read_table(ws.path / report.quarantine_file).to_pylist()
                            if report.quarantine_file else [])
    result["_reader"] = report.reader
    return result


def compare_readers(tmp_path: Path, table: str, path: Path, *, expect_duckdb: bool,
                    **options: Any) -> dict[str, Any]:
    """Ingest ``path`` with the automatic choice, with Arrow's reader and with Python's; all three must agree."""
    reference_ws = twin_workspace(tmp_path, "python", None)
    reference = outcome(reference_ws, table, path, "python", **options)
    for reader in ("auto", "arrow"):
        got = outcome(twin_workspace(tmp_path, reader, reference_ws), table, path, reader, **options)
        used = got.pop("_reader", None)
        if reader == "auto" and "error" not in got:
            assert (used == "duckdb") == expect_duckdb, f"read by {used}"
        assert got == {k: v for k, v in reference.items() if k != "_reader"}, f"reader {reader} differs"
    return reference


def test_a_clean_synthetic_file_is_read_by_duckdb_exactly(tmp_path: Path) -> None:
    path = tmp_path / "items.csv"
    synth.write_order_lines(path, 3000, seed=1, format="csv")
    result = compare_readers(tmp_path, "order_items", path, expect_duckdb=True)
    assert result["read"] == result["loaded"] == 3000 and result["quarantine"] == []
    assert [row[-1] for row in result["rows"]["order_items"]] == list(range(1, 3001))  # record numbers
    assert result["unlinked"]["product_id"]["rows"] == 3000  # no products yet: every row counted


ORDERS_WITH_BAD_ROWS = (  # the last field is never empty: DuckDB's reader is not used for such files (see below)
    "order_id,customer_id,order_ts,total_amount,status,n_items,Buyer Email,note,channel\n"
    'A1,C1,2024-01-05 10:00:00,12.50,completed,2,ann@example.com,"plain",web\n'
    'A2,jo@example.com,2024-01-06 11:30:00,"$1,234.50",Completed,1,,"a, comma and ""quotes""",app\n'
    "A3,C2,not a date,5,completed,1,,,web\n"  # timestamp
    "A4,C2,2024-01-07,five,completed,1,,,web\n"  # amount
    "A5,C3,2024-01-08,3,completed,1.5,,,web\n"  # whole number
    ",C4,2024-01-09,1,completed,1,,,web\n"  # missing key
    "A1,C9,2024-01-10,1,completed,1,,duplicate key,web\n"  # duplicate key
    "A6,C5,1850-01-01,1,completed,1,,,web\n"  # timestamp out of range
    "\n"  # a blank line is not a record
    'A7,C6,2024-02-01,"12,50",refunded,3,+1 415 555 0100,"line one\nline two",store\n'  # quoted line break
    "A8,C7,2024-02-02,-3.00,refunded,-1,,,web\n"
    "A9,C8,2024-02-03 ,4,completed,x,, trailing space ,web\n"  # whole number; spaces kept in the extras
)


def test_bad_rows_of_every_kind_get_the_same_reasons_and_positions(tmp_path: Path) -> None:
    path = tmp_path / "orders.csv"
    path.write_text(ORDERS_WITH_BAD_ROWS, encoding="utf-8")
    result = compare_readers(tmp_path, "orders", path, expect_duckdb=True)
    reasons = {row["source_row"]: row["reason"] for row in result["quarantine"]}
    assert set(reasons) == {3, 4, 5, 6, 7, 8, 11}
    assert reasons[7] == "duplicate key (order_id=A1), first at row 1"
    assert reasons[6] == "order_id: missing (it is part of the key)"
    loaded = {row[0]: row for row in result["rows"]["orders"]}
    assert set(loaded) == {"A1", "A2", "A7", "A8"}
    assert loaded["A2"][1].startswith("p_")  # an e-mail address as customer id is pseudonymized
    assert all("example.com" not in str(row) for row in result["quarantine"] + result["rows"]["orders"])


@pytest.mark.parametrize("table,text", [
    ("reviews", "review_id,product_id,rating,title,body,verified,review_ts\n"
                "R1,P1,5,Great,\"Loved it, call 555-123-4567\",yes,2024-03-01\n"
                "R2,P1,7,Too many,stars,no,2024-03-02\n"
                "R3,P2,0,None,none,maybe,03/04/2024\n"
                "R4,P2,4.5,Half,half a star,1,2024-03-05\n"
                "R5,P3,,No rating,\"质量很好，物流很快\",true,2024-03-06\n"),
    ("events", "session_id,customer_id,event_type,query,colour,event_ts\n"
               "S1,C1,view,,red,1704067200\n"
               "S1,C1,Add To Cart,,,1704067260\n"
               "S2,,search,red shoes bob@example.org,,1704067300\n"
               "S2,,teleport,,,1704067400\n"
               "S3,C2,view,,blue,17040674\n"),
    ("customers", "customer_id;signup_ts;Phone Number;birthday;country\n"
                  "C1;2023-01-01T10:00:00Z;+49 30 1234567;1980-01-01;DE\n"
                  "C2;2023-02-01T10:00:00+02:00;;;FR\n"
                  "C2;2023-02-02;;;FR\n"
                  "C3;yesterday;;;US\n"),
])
def test_other_tables_and_checks_agree(tmp_path: Path, table: str, text: str) -> None:
    path = tmp_path / f"{table}.csv"
    path.write_text(text, encoding="utf-8")
    result = compare_readers(tmp_path, table, path, expect_duckdb=True)
    assert result["read"] == text.count("\n") - 1


def test_windows_line_ends_bom_and_gzip_are_read_by_duckdb(tmp_path: Path) -> None:
    text = ORDERS_WITH_BAD_ROWS.replace("\n", "\r\n")
    path = tmp_path / "orders.csv.gz"
    path.write_bytes(gzip.compress(b"\xef\xbb\xbf" + text.encode("utf-8")))
    result = compare_readers(tmp_path, "orders", path, expect_duckdb=True)
    assert len(result["quarantine"]) == 7


@pytest.mark.parametrize("odd_line,by_duckdb", [
    ('B0,C1,2024-01-01,1,completed,1,,"unterminated,web\n', False),  # a quote that never closes
    ("B0,C1,2024-01-01,1,completed,1,,surplus,field,web\n", False),  # a ragged record
    ("B0,C1,2024-01-01,1,completed,1,,,web,\n", False),  # an empty surplus field: DuckDB would drop it
    ('B0,C1,2024-01-01,1,completed,1,,,web,""\n', False),  # the same, quoted
    ("B0,C1,2024-01-01,1,completed,1,,,\n", False),  # a legitimately empty last field (the scan cannot tell)
    ('B0,C1,2024-01-01,1,completed,1,,"quoted" ,web\n', False),  # a space after a closing quote: Python keeps it
    ('B0,C1,2024-01-01,1,completed,1,, "quoted",web\n', False),  # a space before an opening quote: the same
    ('B0,C1,2024-01-01,1,completed,1,,ab"c"d,web\n', True),  # quotes inside an unquoted field: kept by both
])
def test_files_duckdb_cannot_read_exactly_fall_back_and_agree(tmp_path: Path, odd_line: str, by_duckdb: bool) -> None:
    path = tmp_path / "orders.csv"
    path.write_text(ORDERS_WITH_BAD_ROWS + odd_line + "B1,C1,2024-01-01,1,completed,1,,,web\n", encoding="utf-8")
    compare_readers(tmp_path, "orders", path, expect_duckdb=by_duckdb)


FIELD = st.one_of(
    st.sampled_from(["", " ", "A1", "C1", "2024-01-05", "2024-01-05 10:00:00", "12.50", "-1", "1e3", "$1,234.50",
                     "completed", "web", "NULL", "é", "质", "\t", "a@b.co"]),
    st.text(alphabet=st.sampled_from('ab ,"\n\r\t;é'), max_size=6),
)


@st.composite
def odd_csv(draw: st.DrawFn) -> bytes:
    """Orders CSVs with quoting, separators, line ends and blank lines drawn at random."""
    newline = draw(st.sampled_from(["\n", "\r\n"]))
    lines = ["order_id,customer_id,order_ts,total_amount,status"]
    for _ in range(draw(st.integers(0, 12))):
        if draw(st.integers(0, 9)) == 0:
            lines.append("")
            continue
        fields = []
        for _ in range(draw(st.sampled_from([5, 5, 5, 5, 4, 6]))):
            value = draw(FIELD)
            if draw(st.booleans()) or any(c in value for c in ',"\n\r'):
                value = '"' + value.replace('"', '""') + '"' if draw(st.integers(0, 9)) else value  # some unquoted
            fields.append(value)
        lines.append(",".join(fields))
    text = newline.join(lines) + (newline if draw(st.booleans()) else "")
    return text.encode("utf-8")


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                HealthCheck.too_slow])
@given(data=odd_csv())
def test_random_csv_dialect_cases_agree(tmp_path_factory: pytest.TempPathFactory, data: bytes) -> None:
    tmp_path = tmp_path_factory.mktemp("odd")
    path = tmp_path / "orders.csv"
    path.write_bytes(data)
    reference_ws = twin_workspace(tmp_path, "python", None)
    reference = outcome(reference_ws, "orders", path, "python")
    reference.pop("_reader", None)
    got = outcome(twin_workspace(tmp_path, "auto", reference_ws), "orders", path, "auto")
    got.pop("_reader", None)
    assert got == reference


NUMBER_TEXT = st.text(alphabet=st.sampled_from(list("0123456789+-.,eE$€ \t\n\r\u00a0\u2003x_")), max_size=10)
NUMBER_COLUMNS = [next(c for c in get_table(table).columns if c.name == name) for table, name in (
    ("order_items", "quantity"), ("order_items", "unit_price"), ("orders", "total_amount"),
    ("inventory", "lead_time_days"))]


@settings(max_examples=200, deadline=None)
@given(values=st.lists(NUMBER_TEXT, min_size=1, max_size=40))
def test_numbers_parse_as_their_trimmed_text_does(values: list[str]) -> None:
    """The number parsers cast a value as it is first (DuckDB's casts skip surrounding whitespace) and trim only the
    values that fail, to save trimming every value: the same numbers as parsing the trimmed text, always."""
    assert [c.kind for c in NUMBER_COLUMNS] == ["int", "price", "money", "float"]
    with duckdb.connect() as con:
        for column in NUMBER_COLUMNS:
            as_is = checks.column_sql(column, "v", "VARCHAR", tz="UTC").value
            trimmed = checks.column_sql(column, "trim(v)", "VARCHAR", tz="UTC").value
            differ = con.execute(f"SELECT v, {as_is}, {trimmed} FROM (SELECT unnest(?) AS v) "
                                 f"WHERE ({as_is}) IS DISTINCT FROM ({trimmed})", [values]).fetchall()
            assert differ == [], column.name
