"""What a shop's data can and cannot identify about prices, stated in plain sentences.

```python
from shoplens.pricing import identification_report
report = identification_report(ws)
print(report.text())      # facts, then "can identify" and "cannot identify"
```

The checks: is there a sales history per product (quantities over time, not one catalog snapshot)? Did
prices move, and how (regular changes, promotions)? Do prices differ within a day (quantity discounts,
customer-specific prices: then a day's average price mixes who bought with what they paid)? Are costs
known (profit needs them; without them only revenue can be optimised)? A catalog with list and sale prices
shows discount depth, but one snapshot says nothing about how demand responds to price.
"""

from __future__ import annotations

import html
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from shoplens.workspace import Workspace

MIN_DAYS = 56  # eight weeks of sales before a product's elasticity is worth estimating
ORIGINAL_PRICE_KEYS = ("original_price", "originalPrice", "list_price", "msrp", "was_price")

CATALOG_SQL = """
SELECT count(*) AS products, count(price) AS with_price, count(cost) AS with_cost,
       count(DISTINCT category) AS categories
FROM products
"""
SALES_SQL = """
SELECT count(DISTINCT product_id) AS products, min(day) AS first_day, max(day) AS last_day,
       sum(units) AS units, count(*) FILTER (WHERE units > 0) AS sale_days,
       count(*) FILTER (WHERE promo) AS promo_days
FROM daily_sales WHERE product_id <> '__all__'
"""
PRICE_MOVES_SQL = """
WITH prices AS (
    SELECT product_id, count(DISTINCT round(revenue / units, 2)) AS distinct_prices, count(*) AS sale_days,
           datediff('day', min(day), max(day)) + 1 AS span
    FROM daily_sales WHERE product_id <> '__all__' AND units > 0 AND revenue > 0 GROUP BY product_id)
SELECT count(*) FILTER (WHERE distinct_prices > 1 AND span >= {min_days}) AS moved,
       count(*) FILTER (WHERE distinct_prices = 1) AS never_moved,
       count(*) FILTER (WHERE span < {min_days}) AS short
FROM prices
"""
WITHIN_DAY_SQL = """
WITH days AS (
    SELECT i.product_id, CAST(o.order_ts AS DATE) AS day, count(DISTINCT round(i.unit_price, 2)) AS prices
    FROM order_items i JOIN orders o USING (order_id)
    WHERE i.quantity > 0 AND i.unit_price > 0 AND i.product_id IS NOT NULL
    GROUP BY 1, 2)
SELECT count(*) AS product_days, count(*) FILTER (WHERE prices > 1) AS mixed FROM days
"""
QUANTITY_PRICE_SQL = """
WITH lines AS (
    SELECT product_id, ln(quantity) AS q, ln(unit_price) AS p
    FROM order_items WHERE quantity > 0 AND unit_price > 0 AND product_id IS NOT NULL),
centred AS (
    SELECT q - avg(q) OVER (PARTITION BY product_id) AS q, p - avg(p) OVER (PARTITION BY product_id) AS p
    FROM lines)
SELECT corr(q, p) AS correlation, count(*) AS lines FROM centred
"""
ORDERS_ONLY_SQL = """
SELECT count(*) AS orders, count(*) FILTER (WHERE NOT EXISTS (
    SELECT 1 FROM order_items i WHERE i.order_id = o.order_id)) AS without_lines
FROM orders o
"""


@dataclass
class IdentificationReport:
    facts: dict[str, Any]
    can: list[str] = field(default_factory=list)
    cannot: list[str] = field(default_factory=list)

    def text(self) -> str:
        lines = [f"{k}: {v}" for k, v in self.facts.items()]
        for title, statements in (("Can identify:", self.can), ("Cannot identify:", self.cannot)):
            lines += ["", title] + ([f"  - {s}" for s in statements] or ["  - nothing"])
        return "\n".join(lines)

    def html(self) -> str:
        def items(values: list[str]) -> str:
            return "".join(f"<li>{html.escape(v)}</li>" for v in values) or "<li>nothing</li>"
        return (f"<h3>Can identify</h3><ul class='can'>{items(self.can)}</ul>"
                f"<h3>Cannot identify</h3><ul class='cannot'>{items(self.cannot)}</ul>")

    def to_dict(self) -> dict[str, Any]:
        return {"facts": self.facts, "can": self.can, "cannot": self.cannot}


def identification_report(ws: Workspace) -> IdentificationReport:
    """Facts about the workspace's prices and sales, and what they can and cannot identify."""
    with ws.connect() as con:
        catalog = _row(con, CATALOG_SQL)
        sales = _row(con, SALES_SQL)
        orders = _row(con, ORDERS_ONLY_SQL)
        moves = _row(con, PRICE_MOVES_SQL.format(min_days=MIN_DAYS)) if sales["products"] else {}
        within = _row(con, WITHIN_DAY_SQL) if sales["products"] else {}
        quantity = _row(con, QUANTITY_PRICE_SQL) if sales["products"] else {}
        discounts = catalog_discounts(con)
    report = IdentificationReport(facts={
        "catalog products": catalog["products"], "with a price": catalog["with_price"],
        "with a cost": catalog["with_cost"], "categories": catalog["categories"],
        "products with sales": sales["products"] or 0, "orders": orders["orders"],
    })
    _sales_history(report, sales, moves, orders)
    _within_day_prices(report, within, quantity)
    _costs(report, catalog, sales)
    _catalog_snapshot(report, discounts, sales)
    return report


def _row(con: Any, query: str) -> dict[str, Any]:
    result = con.execute(query)
    names = [d[0] for d in result.description]
    values = result.fetchone()
    return dict(zip(names, values, strict=True)) if values else {n: None for n in names}


def _sales_history(report: IdentificationReport, sales: dict[str, Any], moves: dict[str, Any],
                   orders: dict[str, Any]) -> None:
    if not sales["products"]:
        if orders["orders"] and orders["without_lines"] == orders["orders"]:
            report.cannot.append("any product's elasticity: orders carry totals but no lines (product, quantity, "
                                 "unit price); only the shop's total demand over time is known")
        else:
            report.cannot.append("any elasticity: there are no sales over time (no orders with lines), so how many "
                                 "units sell at a price is never observed")
        return
    first, last = sales["first_day"], sales["last_day"]
    span = (last - first).days + 1 if first is not None else 0
    report.facts |= {"sales history": f"{first} to {last} ({span} days)", "units sold": float(sales["units"] or 0),
                     "promotion days (product-days with a discounted line)": sales["promo_days"]}
    moved, never, short = (moves.get("moved") or 0), (moves.get("never_moved") or 0), (moves.get("short") or 0)
    if moved:
        report.can.append(f"own-price elasticities of {moved} products whose paid price moved over at least "
                          f"{MIN_DAYS} days (with intervals; more price changes and more sales give narrower ones), "
                          "and category elasticities by pooling them")
        report.can.append("cross-price effects between a category's best sellers where their prices moved "
                          "independently")
    if never:
        report.cannot.append(f"the elasticity of {never} products whose price never moved: they get their "
                             "category's prior, flagged not identifiable")
    if short:
        report.cannot.append(f"{short} products sold over fewer than {MIN_DAYS} days: too short a history")
    if sales["promo_days"]:
        report.cannot.append("the lift of unrecorded promotion support (display, newsletter) apart from the "
                             "promotion itself: it is absorbed into one promotion lift per department, and support "
                             "that comes with regular price cuts (a featured new price) biases estimates a little")
    if span < 365:
        report.cannot.append(f"seasonality within a year from price effects with certainty: {span} days of history "
                             "cover less than one season; department × day effects absorb it only across products")


def _within_day_prices(report: IdentificationReport, within: dict[str, Any], quantity: dict[str, Any]) -> None:
    days, mixed = within.get("product_days") or 0, within.get("mixed") or 0
    if not days:
        return
    share = mixed / days
    report.facts["product-days with more than one unit price"] = f"{share:.1%}"
    correlation = quantity.get("correlation")
    if correlation is not None and np.isfinite(correlation):
        report.facts["within-product correlation of log quantity and log unit price"] = round(float(correlation), 3)
    if share > 0.05 or (correlation is not None and correlation < -0.1):
        report.cannot.append("a clean price response from the daily average price: prices differ within a day "
                             f"({share:.0%} of product-days) and bigger lines pay less (correlation "
                             f"{correlation:.2f}), i.e. quantity discounts or customer-specific prices; the average "
                             "mixes who bought with what they paid, which a naive regression reads as elasticity")


def _costs(report: IdentificationReport, catalog: dict[str, Any], sales: dict[str, Any]) -> None:
    if not sales["products"]:
        return
    if catalog["with_cost"]:
        report.can.append(f"profit-maximising prices for the {catalog['with_cost']} products with a unit cost, "
                          "under margin, change, ending, stock and category constraints")
    else:
        report.cannot.append("profit-maximising prices or a margin floor: no unit costs in products.cost (revenue "
                             "can still be optimised)")


def catalog_discounts(con: Any) -> dict[str, Any]:
    """Listings with an original (list) price, how many sell below it and the median discount depth, and the
    correlation of log price with log review count across listings (empty when the catalog lacks them)."""
    casts = [f"TRY_CAST(json_extract_string(attributes, '$.{key}') AS DOUBLE)" for key in ORIGINAL_PRICE_KEYS]
    extract = f"coalesce({', '.join(casts)})"
    query = f"""
        WITH listed AS (SELECT CAST(price AS DOUBLE) AS price, {extract} AS original,
                               TRY_CAST(json_extract_string(attributes, '$.total_reviews') AS DOUBLE) AS reviews
                        FROM products)
        SELECT count(*) FILTER (WHERE original > 0) AS with_original,
               count(*) FILTER (WHERE original > 0 AND price > 0 AND price < original) AS discounted,
               median(1 - price / original) FILTER (WHERE original > 0 AND price > 0 AND price < original) AS depth,
               count(*) FILTER (WHERE price > 0) AS priced,
               corr(ln(price), ln(1 + reviews)) FILTER (WHERE price > 0 AND reviews IS NOT NULL) AS review_corr
        FROM listed"""
    try:
        return _row(con, query)
    except Exception:
        return {}


def _catalog_snapshot(report: IdentificationReport, discounts: dict[str, Any], sales: dict[str, Any]) -> None:
    original = discounts.get("with_original") or 0
    if not original:
        return
    discounted = discounts.get("discounted") or 0
    depth = discounts.get("depth")
    report.facts |= {"listings with an original (list) price": original, "listings below it": discounted,
                     "median discount": f"{depth:.0%}" if depth is not None else "—"}
    report.can.append(f"the discount depth of {discounted} listings against their original price (median "
                      f"{depth:.0%})" if depth is not None else "which listings show an original price")
    correlation = discounts.get("review_corr")
    if correlation is not None and np.isfinite(correlation):
        report.facts["correlation of log price and log review count across listings"] = round(float(correlation), 3)
        report.can.append("a description of where listings sit: price against review count across listings "
                          f"(correlation {correlation:.2f}), an association, not a demand curve")
    if not sales["products"]:
        report.cannot.append("how demand responds to those discounts: the catalog is one snapshot without "
                             "quantities; comparing discounted with undiscounted listings mixes the discount with "
                             "everything else that differs between products (brand, age, quality)")
