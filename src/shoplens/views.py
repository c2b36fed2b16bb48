"""Derived views over the canonical tables: ``interactions`` and ``daily_sales``.

Views are plain SQL, re-created when the workspace opens for writing, so they follow the shop's
timezone (``shoplens.toml``). Days are calendar days in that timezone. Also the product titles people read
in place of ids (:func:`product_titles`) and what products sold in a period (:func:`sales_by_product`).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import duckdb

    from shoplens.period import Period

# Weight of each kind of interaction in the ``interactions`` view: a purchase counts its units, an
# explicit rating or review its stars, click-stream events a fixed strength (documented in docs/data.md).
EVENT_WEIGHTS = {"view": 1.0, "search": 0.0, "add_to_cart": 3.0, "remove_from_cart": -1.0, "wishlist": 2.0,
                 "checkout": 4.0, "purchase": 5.0}

# Orders without any order_items lines (e.g. CDNOW) are summed into this pseudo-product in daily_sales.
ALL_PRODUCTS = "__all__"
# Orders in these states sold nothing: daily_sales leaves them out.
VOID_STATUSES = ("cancelled", "canceled", "void", "failed", "rejected")


def _local(ts: str, timezone: str) -> str:
    """SQL turning a naive-UTC timestamp into the naive local time of ``timezone``."""
    return f"timezone('{timezone}', timezone('UTC', {ts}))"


def interactions_sql() -> str:
    weights = " ".join(f"WHEN '{k}' THEN {v}" for k, v in EVENT_WEIGHTS.items())
    return f"""
CREATE OR REPLACE VIEW interactions AS
SELECT o.customer_id, i.product_id, o.order_ts AS ts, 'purchase' AS kind, CAST(i.quantity AS DOUBLE) AS weight
FROM order_items i JOIN orders o USING (order_id)
WHERE o.customer_id IS NOT NULL AND i.product_id IS NOT NULL AND i.quantity > 0
UNION ALL
SELECT e.customer_id, e.product_id, e.event_ts, e.event_type, CASE e.event_type {weights} ELSE 0.0 END
FROM events e
WHERE e.customer_id IS NOT NULL AND e.product_id IS NOT NULL
  -- a purchase event counts unless an order line already records it (same customer, product, day ± 1)
  AND NOT (e.event_type = 'purchase' AND EXISTS (
      SELECT 1 FROM order_items i JOIN orders o USING (order_id)
      WHERE o.customer_id = e.customer_id AND i.product_id = e.product_id
        AND o.order_ts BETWEEN e.event_ts - INTERVAL 1 DAY AND e.event_ts + INTERVAL 1 DAY))
UNION ALL
SELECT customer_id, product_id, review_ts, 'review', CAST(coalesce(rating, 3) AS DOUBLE)
FROM reviews WHERE customer_id IS NOT NULL AND product_id IS NOT NULL
UNION ALL
SELECT customer_id, product_id, rating_ts, 'rating', rating
FROM ratings
"""


def daily_sales_sql(timezone: str) -> str:
    """One row per product and local day from its first sale to the last day of any sale.

    ``revenue`` is 0 on days without sales and NULL on days whose lines carry no price (baskets).
    Demand is what was sold: cancelled orders (:data:`VOID_STATUSES`) and returned lines (negative
    quantities) are left out.
    Zero-unit days are present. ``avg_price`` is the mean price paid that day, carried forward from the
    last day with a sale on zero-unit days (the price the product was offered at, as far as the data
    tell); ``list_price`` is the catalog price; ``promo`` is true when any line that day had a discount.
    """
    order_day = f"CAST({_local('o.order_ts', timezone)} AS DATE)"
    sold = "coalesce(lower(o.status), '') NOT IN (" + ", ".join(f"'{s}'" for s in VOID_STATUSES) + ")"
    return f"""
CREATE OR REPLACE VIEW daily_sales AS
WITH lines AS (
    SELECT i.product_id, {order_day} AS day, CAST(i.quantity AS DOUBLE) AS units,
           CAST(i.quantity * i.unit_price - coalesce(i.discount, 0) AS DOUBLE) AS revenue,  -- NULL: price unknown
           coalesce(i.discount, 0) > 0 AS discounted
    FROM order_items i JOIN orders o USING (order_id)
    WHERE o.order_ts IS NOT NULL AND i.product_id IS NOT NULL AND i.quantity > 0 AND {sold}
    UNION ALL
    SELECT '{ALL_PRODUCTS}', {order_day}, CAST(coalesce(o.n_items, 1) AS DOUBLE),
           CAST(o.total_amount AS DOUBLE), FALSE
    FROM orders o
    WHERE o.order_ts IS NOT NULL AND coalesce(o.total_amount, 0) >= 0 AND {sold}
      AND NOT EXISTS (SELECT 1 FROM order_items i WHERE i.order_id = o.order_id)
),
per_day AS (
    SELECT product_id, day, sum(units) AS units, sum(revenue) AS revenue, bool_or(discounted) AS promo
    FROM lines GROUP BY product_id, day
),
bounds AS (
    SELECT product_id, min(day) AS first_day, (SELECT max(day) FROM per_day) AS last_day
    FROM per_day GROUP BY product_id
),
calendar AS (
    SELECT b.product_id, CAST(d.day AS DATE) AS day
    FROM bounds b, LATERAL (SELECT unnest(generate_series(b.first_day, b.last_day, INTERVAL 1 DAY)) AS day) d
),
filled AS (
    SELECT c.product_id, c.day, coalesce(p.units, 0) AS units,
           CASE WHEN p.units IS NULL THEN 0 ELSE round(p.revenue, 2) END AS revenue,
           CASE WHEN p.units > 0 THEN p.revenue / p.units END AS day_price,
           coalesce(p.promo, FALSE) AS promo
    FROM calendar c LEFT JOIN per_day p USING (product_id, day)
)
SELECT f.product_id, f.day, f.units, f.revenue,
       last_value(f.day_price IGNORE NULLS) OVER (
           PARTITION BY f.product_id ORDER BY f.day ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW
       ) AS avg_price,
       CAST(pr.price AS DOUBLE) AS list_price, f.promo
FROM filled f LEFT JOIN products pr USING (product_id)
"""


def product_titles(con: duckdb.DuckDBPyConnection, ids: Iterable[Any]) -> dict[str, str]:
    """Titles of the given products (products without one are left out: their id is shown)."""
    wanted = sorted({str(i) for i in ids if i is not None})
    if not wanted:
        return {}
    rows = con.execute("SELECT product_id, title FROM products WHERE product_id IN (SELECT unnest(?)) "
                       "AND title IS NOT NULL AND trim(title) <> ''", [wanted]).fetchall()
    return dict(rows)


def sales_by_product(con: duckdb.DuckDBPyConnection, ids: Iterable[Any], period: Period) -> dict[str, tuple[Any, Any]]:
    """(units, revenue) that each of the given products sold on the days of ``period`` (``daily_sales``); products
    without a sale in it are left out."""
    where, params = period.days("day")
    rows = con.execute(f"SELECT product_id, sum(units), sum(revenue) FROM daily_sales WHERE product_id IN "
                       f"(SELECT unnest(?)) AND {where} GROUP BY product_id", [sorted(ids), *params]).fetchall()
    return {product: (units, revenue) for product, units, revenue in rows}
