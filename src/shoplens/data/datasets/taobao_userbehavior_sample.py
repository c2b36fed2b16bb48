"""Taobao UserBehavior (Alibaba Tianchi) → products (item → category); events load by their row of catalog.toml."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pyarrow as pa

from shoplens.data.datasets._common import Files, Frames
from shoplens.errors import InputError


def build(files: Files) -> Frames:
    """Products only: catalog.toml maps the events as the file has them (streamed, so the full file loads)."""
    return {"products": _item_categories(files["behaviour"])}


def _item_categories(source: Path) -> pa.Table:
    """One row per item with its category (the smallest id, should an item ever have two); DuckDB streams
    the file, so this works on the full file too."""
    query = """
        SELECT column1 AS product_id, min(column2) AS category
        FROM read_csv(?, header = false, all_varchar = true, delim = ',', ignore_errors = true)
        WHERE column1 IS NOT NULL GROUP BY column1 ORDER BY column1"""
    try:
        with duckdb.connect() as con:
            return con.sql(query, params=[str(source)]).to_arrow_table()
    except duckdb.Error as exc:  # malformed lines are skipped here; this is a file DuckDB cannot read at all
        raise InputError(f"cannot read the file ({str(exc).splitlines()[0][:200]})", file=str(source)) from None
