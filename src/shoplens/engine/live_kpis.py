"""Live KPIs of the click stream, per minute: sessions, views, carts, purchases and revenue.

One definition in portable SQL over a relation ``live_events(event_id, session_id, event_type, event_ts, price,
quantity)`` (one row per distinct event): the service's live tile runs it on DuckDB over the warehouse's
``events`` (``GET /api/v1/events/live``), and the streaming job's batch recount runs it on Spark over the
event files (:func:`shoplens.engine.streaming.recount_kpis`), which the streaming query must equal.

- sessions: distinct session ids with an event in the minute (events without a session count for no session);
- views, carts, purchases: events of type ``view``, ``add_to_cart`` and ``purchase``;
- revenue: the sum of ``price × quantity`` (quantity 1 when absent) of purchase events, to the cent.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

from shoplens.engine.sql import PortableQuery, parse

if TYPE_CHECKING:
    import duckdb

KPIS = ("sessions", "views", "carts", "purchases", "revenue")
AGGREGATES = """
    count(DISTINCT session_id) AS sessions,
    count(CASE WHEN event_type = 'view' THEN 1 END) AS views,
    count(CASE WHEN event_type = 'add_to_cart' THEN 1 END) AS carts,
    count(CASE WHEN event_type = 'purchase' THEN 1 END) AS purchases,
    CAST(round(coalesce(sum(CASE WHEN event_type = 'purchase' THEN price * coalesce(quantity, 1) END), 0), 2)
         AS DECIMAL(18, 2)) AS revenue"""
PER_MINUTE = f"""
SELECT date_trunc('minute', event_ts) AS window_start, {AGGREGATES}
FROM live_events
GROUP BY date_trunc('minute', event_ts)"""
TOTALS = f"SELECT {AGGREGATES} FROM live_events"
# the warehouse's events as live_events: price and quantity are kept in properties (shoplens.data.live)
WAREHOUSE_EVENTS = """
SELECT event_id, session_id, event_type, event_ts,
       TRY_CAST(json_extract_string(properties, '$.price') AS DECIMAL(18, 4)) AS price,
       TRY_CAST(json_extract_string(properties, '$.quantity') AS BIGINT) AS quantity
FROM events
WHERE event_ts >= ? AND event_ts < ?"""
MAX_MINUTES = 24 * 60


def per_minute_query() -> PortableQuery:
    """The per-minute KPIs as a portable query (``.sql("spark")`` for Spark)."""
    return parse("live_kpis", PER_MINUTE)


def live_window(minutes: int, now: dt.datetime) -> tuple[dt.datetime, dt.datetime]:
    """``[start, end)`` of the last ``minutes`` whole minutes, the current one included (naive UTC): the live
    view ends with the minute under way, so an event stamped a little ahead of the server's clock shows too."""
    end = now.replace(second=0, microsecond=0) + dt.timedelta(minutes=1)
    return end - dt.timedelta(minutes=minutes), end


def live_kpis(con: duckdb.DuckDBPyConnection, minutes: int, now: dt.datetime | None = None) -> dict[str, Any]:
    """The KPIs of the warehouse's events in the last ``minutes`` minutes: totals and one row per minute
    (minutes without events included, as zeros), oldest first."""
    now = now or dt.datetime.now(dt.UTC).replace(tzinfo=None)
    start, end = live_window(minutes, now)
    events = f"WITH live_events AS ({WAREHOUSE_EVENTS})"
    totals = con.execute(f"{events} {TOTALS}", [start, end]).fetchone()
    found = {row[0]: row[1:] for row in con.execute(f"{events} {PER_MINUTE}", [start, end]).fetchall()}
    zeros = (0, 0, 0, 0, 0)
    per_minute = [_kpi_row(found.get(minute, zeros), minute=minute.isoformat())
                  for minute in (start + dt.timedelta(minutes=i) for i in range(minutes))]
    return {"minutes": minutes, "start": start.isoformat(), "end": end.isoformat(),
            "now": now.isoformat(timespec="seconds"), "totals": _kpi_row(totals or zeros), "per_minute": per_minute}


def _kpi_row(values: tuple[Any, ...], **extra: Any) -> dict[str, Any]:
    row = dict(zip(KPIS, values, strict=True))
    row["revenue"] = float(row["revenue"] or 0)
    return {**extra, **row}
