"""The shared Spark session reads what the warehouse holds, with the same timestamps (UTC)."""

from __future__ import annotations

from pathlib import Path

import pytest

import shoplens as sl


@pytest.mark.spark
def test_spark_reads_warehouse_export(spark, workspace: sl.Workspace, tmp_path: Path) -> None:
    path = tmp_path / "o.csv"
    path.write_text("order_id,order_ts,total_amount\nA,2024-01-01 23:30:00,1.5\nB,2024-01-02 00:15:00,2\n",
                    encoding="utf-8")
    workspace.ingest("orders", path)
    export = tmp_path / "orders.parquet"
    with workspace.connect() as con:
        con.execute(f"COPY (SELECT order_id, order_ts, total_amount FROM orders) TO '{export}' (FORMAT parquet)")
    rows = spark.read.parquet(str(export)).orderBy("order_id").collect()
    assert [(r.order_id, str(r.order_ts), float(r.total_amount)) for r in rows] == [
        ("A", "2024-01-01 23:30:00", 1.5), ("B", "2024-01-02 00:15:00", 2.0)]
