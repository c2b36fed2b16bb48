"""Bulk mode: millions of order lines (and orders, events) per second, for ingest and engine benchmarks.

Bulk mode trades the normal mode's ground truth for speed: everything is drawn in NumPy chunks of a
million rows and written with pyarrow, with no Python loop over rows. The data keep the shapes that
matter to benchmarks: heavy-tailed product popularity and customer frequency, several lines per
order, weekly and yearly seasonality of order times, monthly price moves, promotions (absolute
discounts) and returns (negative quantities, about 1.5% of lines). Ids match :func:`bulk_products` and
``write_bulk_shop``'s customers, so the files load into a workspace with every link resolved.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from shoplens.data.synth.demand import WEEKDAY_LOG
from shoplens.data.synth.ids import arrow_ids
from shoplens.data.synth.vocab import CHANNELS, COUNTRIES, LEAVES

Format = Literal["parquet", "csv"]
CHUNK_ROWS = 1_000_000
LINES_PER_ORDER = 1.8  # 1 + Poisson(0.8)
RETURN_SHARE = 0.015
PROMO_SHARE = 0.15

ITEM_SCHEMA = pa.schema([("order_id", pa.string()), ("line_no", pa.int64()), ("product_id", pa.string()),
                         ("quantity", pa.int64()), ("unit_price", pa.float64()), ("discount", pa.float64())])
ORDER_SCHEMA = pa.schema([("order_id", pa.string()), ("customer_id", pa.string()),
                          ("order_ts", pa.timestamp("us", tz="UTC")), ("status", pa.string()),
                          ("channel", pa.string()), ("country", pa.string()), ("total_amount", pa.float64()),
                          ("n_items", pa.int64())])
EVENT_SCHEMA = pa.schema([("event_id", pa.string()), ("session_id", pa.string()), ("customer_id", pa.string()),
                          ("product_id", pa.string()), ("event_type", pa.string()),
                          ("event_ts", pa.timestamp("us", tz="UTC")), ("query", pa.string()),
                          ("properties", pa.string())])


@dataclass
class BulkReport:
    """What a bulk writer wrote and how fast."""

    path: Path
    table: str
    rows: int
    seconds: float
    format: str
    orders: int = 0

    @property
    def rows_per_s(self) -> float:
        return self.rows / self.seconds if self.seconds else float("inf")


@dataclass(frozen=True)
class BulkSpec:
    """The shop that bulk data are drawn from: sizes, period and seed."""

    n_lines: int
    seed: int = 0
    n_products: int = 10_000
    n_customers: int | None = None  # default: one customer per 20 lines
    start: str = "2024-01-01"
    days: int = 730
    chunk_rows: int = CHUNK_ROWS

    @property
    def customers(self) -> int:
        return self.n_customers or max(self.n_lines // 20, 100)

    @property
    def expected_orders(self) -> int:
        return max(int(self.n_lines / LINES_PER_ORDER), 1)


class _Catalog:
    """Product ids, popularity CDF and monthly prices, shared by every chunk."""

    def __init__(self, spec: BulkSpec) -> None:
        rng = np.random.default_rng([spec.seed, 0])
        n = spec.n_products
        self.ids = arrow_ids("P", np.arange(1, n + 1), 7)
        self.leaf = rng.integers(0, len(LEAVES), n)
        base = np.array([leaf.price for leaf in LEAVES])[self.leaf] * rng.lognormal(0, 0.4, n)
        self.price = np.floor(base) + 0.99
        popularity = rng.pareto(1.2, n) + 0.05
        self.cdf = np.cumsum(popularity) / popularity.sum()
        months = spec.days // 30 + 2
        self.monthly = np.round(self.price[:, None] * rng.lognormal(0, 0.08, (n, months)), 2)

    def draw(self, rng: np.random.Generator, size: int) -> np.ndarray:
        return np.minimum(np.searchsorted(self.cdf, rng.random(size)), len(self.cdf) - 1)


def _season_cdf(spec: BulkSpec) -> tuple[np.ndarray, np.ndarray]:
    """Cumulative share of orders by day: weekends and the end of the year sell more."""
    dates = pd.date_range(spec.start, periods=spec.days, freq="D")
    yearly = 0.3 * np.cos(2 * np.pi * (dates.day_of_year.to_numpy() - 330) / 365.25)
    weight = np.exp(WEEKDAY_LOG[dates.day_of_week] + yearly)
    cdf = np.r_[0.0, np.cumsum(weight) / weight.sum()]
    return cdf, np.arange(spec.days + 1, dtype=np.float64)


def bulk_products(n_products: int = 10_000, seed: int = 0, currency: str = "USD") -> pd.DataFrame:
    """The catalog the bulk order lines refer to (canonical product columns, short generated titles)."""
    cat = _Catalog(BulkSpec(n_lines=1, seed=seed, n_products=n_products))
    leaf = np.array([leaf.path for leaf in LEAVES])[cat.leaf]
    noun = np.array([leaf.nouns[0] for leaf in LEAVES])[cat.leaf]
    ids = cat.ids.to_numpy(zero_copy_only=False)
    return pd.DataFrame({"product_id": ids, "title": [f"{n.title()} {i}" for n, i in zip(noun, ids, strict=True)],
                         "description": None, "brand": None, "category": leaf, "price": cat.price,
                         "cost": np.round(cat.price * 0.5, 2), "currency": currency, "attributes": None})


def _chunks(spec: BulkSpec) -> Iterator[tuple[pa.Table, pa.Table]]:
    """(orders, order_items) chunk by chunk; order ids run on across chunks, in time order."""
    catalog = _Catalog(spec)
    cdf, grid = _season_cdf(spec)
    start_us = pd.Timestamp(spec.start, tz="UTC").value // 1000
    first_order, done, index = 0, 0, 0
    while done < spec.n_lines:
        index += 1
        rng = np.random.default_rng([spec.seed, index])
        n = min(spec.chunk_rows, spec.n_lines - done)
        sizes = 1 + rng.poisson(LINES_PER_ORDER - 1, int(n / LINES_PER_ORDER * 1.2) + 16)
        ends = np.cumsum(sizes)
        k = int(np.searchsorted(ends, n)) + 1
        sizes = sizes[:k]
        sizes[-1] -= ends[k - 1] - n  # the last order of the chunk takes what is left
        yield _chunk(rng, spec, catalog, sizes, first_order, cdf, grid, start_us)
        first_order += k
        done += n


def _chunk(rng: np.random.Generator, spec: BulkSpec, catalog: _Catalog, sizes: np.ndarray, first_order: int,
           cdf: np.ndarray, grid: np.ndarray, start_us: int) -> tuple[pa.Table, pa.Table]:
    k, n = len(sizes), int(sizes.sum())
    position = (first_order + np.arange(k) + rng.random(k)) / spec.expected_orders
    day = np.interp(np.minimum(position, 1.0), cdf, grid)  # seasonal time warp of the order counter
    ts = start_us + (np.minimum(day, spec.days - 1e-6) * 86_400e6).astype(np.int64)
    order_of_line = np.repeat(np.arange(k), sizes)
    starts = np.cumsum(sizes) - sizes
    line_no = np.arange(n) - starts[order_of_line] + 1
    product = catalog.draw(rng, n)
    month = np.minimum(day[order_of_line] // 30, catalog.monthly.shape[1] - 1).astype(np.int64)
    price = catalog.monthly[product, month]
    quantity = 1 + rng.poisson(0.25, n)
    quantity = np.where(rng.random(n) < RETURN_SHARE, -quantity, quantity)
    rate = np.where((rng.random(n) < PROMO_SHARE) & (quantity > 0), rng.choice([0.1, 0.2, 0.3], n), 0.0)
    discount = np.round(quantity * price * rate, 2)
    order_ids = arrow_ids("O", first_order + np.arange(1, k + 1), 10)
    items = pa.table([pc.take(order_ids, pa.array(order_of_line)), pa.array(line_no), pc.take(catalog.ids,
                      pa.array(product)), pa.array(quantity), pa.array(price), pa.array(discount)], schema=ITEM_SCHEMA)
    amount = np.add.reduceat(quantity * price - discount, starts)
    units = np.add.reduceat(quantity, starts)
    customer = (spec.customers * rng.random(k) ** 2).astype(np.int64)  # a few customers buy most often
    country = np.array([c[0] for c in COUNTRIES])[customer % len(COUNTRIES)]
    orders = pa.table([order_ids, arrow_ids("C", customer + 1, 8), pa.array(ts, pa.timestamp("us", tz="UTC")),
                       pa.array(np.where(units < 0, "returned", "completed")),
                       pa.array(np.array(CHANNELS)[rng.integers(0, len(CHANNELS), k)]), pa.array(country),
                       pa.array(np.round(amount, 2)), pa.array(units)], schema=ORDER_SCHEMA)
    return orders, items


class _Writer:
    """One output file, Parquet or CSV, written chunk by chunk."""

    def __init__(self, path: Path, schema: pa.Schema, fmt: Format) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        if fmt == "parquet":
            self._writer: pq.ParquetWriter | pacsv.CSVWriter = pq.ParquetWriter(path, schema, compression="snappy")
        elif fmt == "csv":
            self._writer = pacsv.CSVWriter(path, schema)
        else:
            raise ValueError(f"format must be 'parquet' or 'csv', not {fmt!r}")
        self.rows = 0

    def write(self, table: pa.Table) -> None:
        self._writer.write_table(table)
        self.rows += table.num_rows

    def close(self) -> None:
        self._writer.close()


def write_order_lines(path: str | Path, n_lines: int, seed: int = 0, format: Format = "parquet", *,
                      n_products: int = 10_000, orders_path: str | Path | None = None, start: str = "2024-01-01",
                      days: int = 730, chunk_rows: int = CHUNK_ROWS, n_customers: int | None = None) -> BulkReport:
    """Write ``n_lines`` canonical order_items rows to ``path`` (and their orders to ``orders_path``);
    ``n_customers`` defaults to one per 20 lines."""
    if n_lines < 1:
        raise ValueError("n_lines must be positive")
    spec = BulkSpec(n_lines=n_lines, seed=seed, n_products=n_products, n_customers=n_customers, start=start,
                    days=days, chunk_rows=chunk_rows)
    clock = time.perf_counter()
    items = _Writer(Path(path), ITEM_SCHEMA, format)
    orders = _Writer(Path(orders_path), ORDER_SCHEMA, format) if orders_path else None
    try:
        n_orders = 0
        for order_chunk, item_chunk in _chunks(spec):
            items.write(item_chunk)
            n_orders += order_chunk.num_rows
            if orders:
                orders.write(order_chunk)
    finally:
        items.close()
        if orders:
            orders.close()
    return BulkReport(Path(path), "order_items", items.rows, round(time.perf_counter() - clock, 3), format, n_orders)


def write_events(path: str | Path, n_events: int, seed: int = 0, format: Format = "parquet", *,
                 n_products: int = 10_000, n_customers: int = 500_000, start: str = "2024-01-01", days: int = 730,
                 chunk_rows: int = CHUNK_ROWS) -> BulkReport:
    """Write ``n_events`` click-stream events: sessions of views, a few carts, checkouts and purchases."""
    spec = BulkSpec(n_lines=max(n_events, 1), seed=seed, n_products=n_products, n_customers=n_customers,
                    start=start, days=days, chunk_rows=chunk_rows)
    catalog = _Catalog(spec)
    cdf, grid = _season_cdf(spec)
    start_us = pd.Timestamp(start, tz="UTC").value // 1000
    clock = time.perf_counter()
    writer = _Writer(Path(path), EVENT_SCHEMA, format)
    done, first_session, index = 0, 0, 0
    try:
        while done < n_events:
            index += 1
            rng = np.random.default_rng([seed, 1_000_000 + index])
            n = min(chunk_rows, n_events - done)
            table, sessions = _event_chunk(rng, spec, catalog, n, done, first_session, cdf, grid, start_us)
            writer.write(table)
            done += n
            first_session += sessions
    finally:
        writer.close()
    return BulkReport(Path(path), "events", writer.rows, round(time.perf_counter() - clock, 3), format)


# Funnel step of each event within a bulk session: views first, then at most one of each later step.
_BULK_TYPES = np.array(["view", "search", "add_to_cart", "remove_from_cart", "wishlist", "checkout", "purchase"])


def _event_chunk(rng: np.random.Generator, spec: BulkSpec, catalog: _Catalog, n: int, first_event: int,
                 first_session: int, cdf: np.ndarray, grid: np.ndarray, start_us: int) -> tuple[pa.Table, int]:
    lengths = 1 + rng.geometric(0.3, int(n / 3.3) + 16)
    ends = np.cumsum(lengths)
    k = int(np.searchsorted(ends, n)) + 1
    lengths = lengths[:k]
    lengths[-1] -= ends[k - 1] - n
    session = np.repeat(np.arange(k), lengths)
    step = np.arange(n) - (np.cumsum(lengths) - lengths)[session]
    remaining = lengths[session] - step
    # Type by position from the end of the session: the deepest steps come last and are rarest.
    u = rng.random(n)
    kind = np.where(step == 0, np.where(u < 0.25, 1, 0), 0)
    last = remaining == 1
    kind = np.where(last & (u < 0.03), 6, np.where(last & (u < 0.06), 5, np.where(last & (u < 0.12), 2, kind)))
    kind = np.where((remaining == 2) & (u < 0.04), 5, np.where((remaining == 2) & (u < 0.1), 2, kind))
    kind = np.where(~last & (remaining > 2) & (u < 0.02), 4, np.where(~last & (remaining > 2) & (u < 0.03), 3, kind))
    position = (first_session + np.arange(k) + rng.random(k)) / max(spec.n_lines / 3.3, 1)
    day = np.interp(np.minimum(position, 1.0), cdf, grid)
    ts = start_us + (np.minimum(day, spec.days - 1e-6) * 86_400e6).astype(np.int64)[session] + step * 40_000_000
    customer = (spec.customers * rng.random(k) ** 2).astype(np.int64)
    anonymous = rng.random(k) < 0.3
    product = catalog.draw(rng, n)
    product_ids = pc.take(catalog.ids, pa.array(product, mask=(kind == 1) | (kind == 5)))
    customer_ids = pc.take(arrow_ids("C", customer + 1, 8), pa.array(session, mask=anonymous[session]))
    query = pc.take(pa.array([leaf.nouns[0] for leaf in LEAVES]), pa.array(catalog.leaf[product], mask=kind != 1))
    table = pa.table([arrow_ids("E", first_event + np.arange(1, n + 1), 11),
                      arrow_ids("S", first_session + session + 1, 10), customer_ids, product_ids,
                      pc.take(pa.array(_BULK_TYPES), pa.array(kind)), pa.array(ts, pa.timestamp("us", tz="UTC")),
                      query, pa.nulls(n, pa.string())], schema=EVENT_SCHEMA)
    return table, k


def write_bulk_shop(folder: str | Path, n_lines: int, n_events: int = 0, seed: int = 0, format: Format = "parquet",
                    *, n_products: int = 10_000, n_customers: int | None = None) -> dict[str, BulkReport]:
    """products, customers, orders, order_items (and events) files in ``folder``, ids consistent."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    spec = BulkSpec(n_lines=n_lines, seed=seed, n_products=n_products, n_customers=n_customers)
    items = write_order_lines(folder / f"order_items.{format}", n_lines, seed, format, n_products=n_products,
                              orders_path=folder / f"orders.{format}", n_customers=spec.customers)
    reports = {"order_items": items,
               "orders": BulkReport(folder / f"orders.{format}", "orders", items.orders, items.seconds, format)}
    if n_events:
        reports["events"] = write_events(folder / f"events.{format}", n_events, seed, format, n_products=n_products,
                                         n_customers=spec.customers)
    for name, frame in (("products", bulk_products(n_products, seed)), ("customers", _bulk_customers(spec))):
        clock = time.perf_counter()
        path = folder / f"{name}.{format}"
        if format == "csv":
            frame.to_csv(path, index=False)
        else:
            frame.to_parquet(path, index=False)
        reports[name] = BulkReport(path, name, len(frame), round(time.perf_counter() - clock, 3), format)
    return reports


def _bulk_customers(spec: BulkSpec) -> pd.DataFrame:
    rng = np.random.default_rng([spec.seed, 2])
    n = spec.customers
    ids = arrow_ids("C", np.arange(1, n + 1), 8).to_numpy(zero_copy_only=False)
    signup = pd.Timestamp(spec.start, tz="UTC") - pd.to_timedelta(rng.integers(0, 730 * 86_400, n), unit="s")
    country = np.array([c[0] for c in COUNTRIES])[np.arange(n) % len(COUNTRIES)]
    return pd.DataFrame({"customer_id": ids, "signup_ts": signup, "country": country, "city": None,
                         "attributes": None})
