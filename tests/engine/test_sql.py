"""Portable SQL: values bound as typed literals, engine functions spelled per engine, exactness kept."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

import shoplens as sl
from shoplens.engine import DuckDBEngine, ParquetSource, WarehouseSource, as_source, make_engine, parse
from shoplens.engine.sql import literal
from shoplens.errors import InputError, ShoplensError


def test_values_are_bound_as_literals_never_as_text() -> None:
    query = parse("q", "SELECT customer_id FROM orders WHERE order_ts < :until AND status = :status",
                  {"until": dt.date(2024, 2, 1), "status": "x' OR '1'='1"})
    sql = query.sql("duckdb")
    assert "CAST('2024-02-01' AS DATE)" in sql
    assert "'x'' OR ''1''=''1'" in sql  # quoted, so the injection is just a strange status
    assert query.tables() == {"orders"}


def test_every_placeholder_needs_a_value() -> None:
    with pytest.raises(ShoplensError, match=":until"):
        parse("q", "SELECT 1 FROM orders WHERE order_ts < :until")
    with pytest.raises(ShoplensError, match="does not parse"):
        parse("q", "SELECT FROM WHERE")
    with pytest.raises(InputError, match="finite"):
        literal(float("nan"))


def test_engine_functions_per_dialect() -> None:
    query = parse("q", "SELECT shop_time(order_ts) AS t, epoch_us(order_ts) AS us, quantile_disc(total_amount, 0.2) "
                       "AS q FROM orders GROUP BY 1, 2")
    utc = query.sql("duckdb", "UTC")
    assert "shop_time" not in utc.lower() and "order_ts AS t" in utc  # no conversion in UTC
    berlin = query.sql("duckdb", "Europe/Berlin")
    assert "TIMEZONE('Europe/Berlin', CAST(order_ts AS TIMESTAMPTZ))" in berlin
    spark = query.sql("spark", "Europe/Berlin")
    assert "FROM_UTC_TIMESTAMP(order_ts, 'Europe/Berlin')" in spark
    assert "UNIX_MICROS(CAST(order_ts AS TIMESTAMP))" in spark
    assert "PERCENTILE_DISC(0.2) WITHIN GROUP (ORDER BY total_amount)" in spark


def test_approximate_functions_are_refused_for_spark() -> None:
    query = parse("q", "SELECT approx_quantile(total_amount, 0.5) FROM orders")
    with pytest.raises(ShoplensError, match="approximate"):
        query.sql("spark")


def test_duckdb_engine_stores_results_in_the_warehouse(workspace: sl.Workspace, tmp_path: Path) -> None:
    path = tmp_path / "o.csv"
    path.write_text("order_id,customer_id,order_ts,total_amount\nA,C1,2024-01-01 23:30:00,1.5\n"
                    "B,C1,2024-01-02 00:15:00,2\n", encoding="utf-8")
    workspace.ingest("orders", path)
    query = parse("per_day", "SELECT CAST(shop_time(order_ts) AS DATE) AS day, sum(total_amount) AS total "
                             "FROM orders GROUP BY 1")
    with make_engine(workspace) as engine:
        result = engine.run(query)
    assert sorted(result.column("day").to_pylist()) == [dt.date(2024, 1, 1), dt.date(2024, 1, 2)]
    assert "analytics_per_day" in workspace.table_names()
    workspace.set_timezone("Asia/Tokyo")  # both orders are on 2 January in Tokyo
    with make_engine(workspace, store=False) as engine:
        assert engine.run(query).column("day").to_pylist() == [dt.date(2024, 1, 2)]


def test_parquet_sources_get_the_canonical_columns(tmp_path: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.table({"order_id": ["A"], "order_ts": pa.array([dt.datetime(2024, 1, 1, 12)],
                                                             pa.timestamp("us", tz="UTC"))})
    pq.write_table(table, tmp_path / "orders.parquet")
    source = as_source(tmp_path)
    assert isinstance(source, ParquetSource) and set(source.files) == {"orders"}
    with DuckDBEngine(source) as engine:
        row = engine.run(parse("o", "SELECT order_ts, status, total_amount FROM orders")).to_pylist()[0]
    assert row == {"order_ts": dt.datetime(2024, 1, 1, 12), "status": None, "total_amount": None}
    (tmp_path / "empty").mkdir()
    with pytest.raises(InputError, match=r"no <table>\.parquet"):
        ParquetSource.folder(tmp_path / "empty")
    with pytest.raises(InputError, match="not a canonical table"):
        ParquetSource({"invoices": tmp_path / "orders.parquet"})


def test_unknown_engine_and_source(workspace: sl.Workspace) -> None:
    assert isinstance(as_source(workspace), WarehouseSource)
    with pytest.raises(InputError, match="unknown engine"):
        make_engine(workspace, "oracle")
    with pytest.raises(InputError, match="cannot analyse"):
        as_source(42)
