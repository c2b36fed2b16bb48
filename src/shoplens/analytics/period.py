"""The SQL analyses computed for a period on an open, read-only connection (the dashboard's period filter).

Inside :func:`run_for_period` the connection's ``orders`` are only the orders placed in the period (a
temporary view in front of the table), and results are temporary tables: the analysis reads as if the shop's
data held only that period, and nothing is written to the warehouse. Each temporary object is dropped
before the function returns, so the connection reads the stored tables again afterwards.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import duckdb
import pandas as pd

from shoplens.engine.sql import PortableQuery, literal
from shoplens.period import Period


@contextlib.contextmanager
def orders_in_period(con: duckdb.DuckDBPyConnection, period: Period, timezone: str) -> Iterator[None]:
    """Within the block, ``orders`` on ``con`` holds the orders placed in ``period`` (the shop's days)."""
    start, end = period.utc_bounds(timezone)
    kept = [f"order_ts {op} {literal(value).sql('duckdb')}" for op, value in ((">=", start), ("<", end))
            if value is not None]
    catalog = con.execute("SELECT current_database()").fetchone()[0].replace('"', '""')
    # a view cannot take parameters: the bounds are typed literals built from dates, never from text
    con.execute(f'CREATE OR REPLACE TEMP VIEW orders AS SELECT * FROM "{catalog}".main.orders '
                f"WHERE {' AND '.join(kept) or 'TRUE'}")
    try:
        yield
    finally:
        con.execute("DROP VIEW IF EXISTS temp.main.orders")


def run_for_period(con: duckdb.DuckDBPyConnection, batch: list[PortableQuery], period: Period,
                   timezone: str) -> dict[str, pd.DataFrame]:
    """Run the queries in order (later ones read earlier results by name) on the period's orders; their
    results as pandas, by name."""
    results: dict[str, pd.DataFrame] = {}
    with orders_in_period(con, period, timezone):
        try:
            for query in batch:
                con.execute(f"CREATE OR REPLACE TEMP TABLE analytics_{query.name} AS {query.sql('duckdb', timezone)}")
                results[query.name] = con.sql(f"SELECT * FROM temp.main.analytics_{query.name}").df()
        finally:
            for query in batch:
                con.execute(f"DROP TABLE IF EXISTS temp.main.analytics_{query.name}")
    return results
