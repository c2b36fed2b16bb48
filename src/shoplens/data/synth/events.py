"""Click-stream sessions consistent with the orders.

Three kinds of session, all built with array operations (no loop over events):

- *purchase*: one per order (cancelled ones included): maybe a search, views of the bought products
  and of a few others in the same category, add_to_cart for each line (sometimes an extra one that is
  removed again), checkout, then one ``purchase`` event per line at the order's timestamp, whose
  properties carry the ``order_id`` and quantity;
- *abandoned*: shoppers drawn that day who ended up with no line: views, add_to_cart, often checkout,
  no purchase;
- *browse*: visits by present customers (and anonymous visitors) that rarely go past a view; their
  number is ``browse_sessions_per_order`` × orders.

No session belongs to a customer before sign-up or after churn; products are never shown before
their launch day.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from shoplens.data.synth.catalog import Catalog
from shoplens.data.synth.config import SimulatorConfig
from shoplens.data.synth.customers import Population
from shoplens.data.synth.ids import arrow_ids
from shoplens.data.synth.orders import HOUR_WEIGHTS, Sales
from shoplens.data.synth.vocab import DEPARTMENTS, LEAVES

EVENT_TYPES = np.array(["search", "view", "wishlist", "add_to_cart", "remove_from_cart", "checkout", "purchase"])
SEARCH, VIEW, WISHLIST, CART, REMOVE, CHECKOUT, PURCHASE = range(7)
DEVICES = ("mobile", "desktop", "tablet", "app")
DEVICE_WEIGHTS = np.array([0.45, 0.35, 0.05, 0.15])
VIEW_SOURCES = ("category", "search", "recommendation", "direct", "campaign")
ZH_TERMS = ("连衣裙", "女士上衣", "牛仔裤", "男士衬衫", "夹克", "休闲裤", "跑步鞋", "运动鞋", "登山靴", "蓝牙耳机",
            "音箱", "充电器", "手机壳", "智能手表", "平底锅", "菜刀", "被套", "枕头", "台灯", "香薰蜡烛", "面霜",
            "精华液", "洗发水", "帐篷", "双肩包", "瑜伽垫", "哑铃", "咖啡豆", "茶叶")
GAP_SECONDS = 45.0  # mean time between two events of a session


def search_queries(rng: np.random.Generator, catalog: Catalog) -> np.ndarray:
    """Four queries per product (products × 4): what people type to find it, typos included."""
    out = np.empty((len(catalog.nouns), 4), dtype=object)
    attrs = catalog.products["attributes"].map(json.loads)
    for i, noun in enumerate(catalog.nouns):
        a = attrs.iloc[i]
        brand = catalog.products["brand"].iat[i].split(" ")[0].lower()
        dept = DEPARTMENTS[LEAVES[catalog.leaf[i]].department]
        options = [noun, f"{a['colour']} {noun}", f"{brand} {noun}", f"{a['material']} {noun}",
                   f"{noun} for {dept.uses[int(rng.integers(len(dept.uses)))]}", f"best {noun}", f"cheap {noun}",
                   f"{noun} sale", f"{brand}", f"{noun} {a['features'][0]}"]
        picked = [options[j] for j in rng.choice(len(options), size=3, replace=False)] + [ZH_TERMS[catalog.leaf[i]]]
        if rng.random() < 0.15:  # a typo in one English query
            q = picked[0]
            k = int(rng.integers(1, max(len(q) - 1, 2)))
            picked[0] = q[:k] + q[k + 1:]
        out[i] = [q.lower() if j < 3 else q for j, q in enumerate(picked)]
    return out


@dataclass
class _Blocks:
    """Event rows accumulated block by block, as parallel arrays."""

    parts: dict[str, list[np.ndarray]] = field(default_factory=lambda: {
        k: [] for k in ("session", "type", "product", "phase", "query", "order", "quantity")})

    def add(self, session: np.ndarray, kind: int, product: np.ndarray | None = None, *, query: np.ndarray | None = None,
            order: np.ndarray | None = None, quantity: np.ndarray | None = None) -> None:
        n = len(session)
        self.parts["session"].append(session)
        self.parts["type"].append(np.full(n, kind))
        self.parts["product"].append(np.full(n, -1) if product is None else product)
        self.parts["phase"].append(np.full(n, kind))
        self.parts["query"].append(np.full(n, -1) if query is None else query)
        self.parts["order"].append(np.full(n, -1) if order is None else order)
        self.parts["quantity"].append(np.zeros(n, dtype=np.int64) if quantity is None else quantity)

    def frame(self) -> pd.DataFrame:
        return pd.DataFrame({k: np.concatenate(v) for k, v in self.parts.items()})


class _LeafSampler:
    """Draws products within a leaf category in proportion to their popularity."""

    def __init__(self, catalog: Catalog) -> None:
        order = np.lexsort((np.arange(len(catalog.leaf)), catalog.leaf))
        self.products = order
        leaf = catalog.leaf[order]
        pop = catalog.popularity[order]
        totals = np.bincount(leaf, weights=pop, minlength=len(LEAVES))
        within = pd.Series(pop).groupby(leaf).cumsum().to_numpy() / totals[leaf]
        self.keys = leaf + within  # increasing: leaf k occupies (k, k + 1]
        self.has = np.bincount(leaf, minlength=len(LEAVES)) > 0
        self.leaf_weights = totals / totals.sum()

    def __call__(self, rng: np.random.Generator, leaf: np.ndarray) -> np.ndarray:
        leaf = np.where(self.has[leaf], leaf, self.random_leaf(rng, len(leaf)))
        idx = np.searchsorted(self.keys, leaf + rng.random(len(leaf)) * (1 - 1e-12), side="left")
        return self.products[np.minimum(idx, len(self.products) - 1)]

    def random_leaf(self, rng: np.random.Generator, n: int) -> np.ndarray:
        return rng.choice(len(self.leaf_weights), size=n, p=self.leaf_weights)


def _repeat_sessions(rng: np.random.Generator, sessions: np.ndarray, mean: float, low: int = 0) -> np.ndarray:
    counts = low + rng.poisson(mean, len(sessions))
    return np.repeat(sessions, counts)


def _purchase_sessions(rng: np.random.Generator, blocks: _Blocks, sales: Sales, catalog: Catalog,
                       sampler: _LeafSampler, queries: np.ndarray, zh: np.ndarray) -> None:
    lines = sales.lines
    n = len(sales.order_truth)
    session = np.arange(n)
    line_session = lines["order"].to_numpy()
    line_product = lines["product"].to_numpy()
    first_product = line_product[np.unique(line_session, return_index=True)[1]]
    searched = session[rng.random(n) < 0.45]
    blocks.add(searched, SEARCH, query=_pick_query(rng, queries, first_product[searched], zh[searched]))
    blocks.add(line_session, VIEW, line_product)
    again = rng.random(len(line_session)) < 0.3
    blocks.add(line_session[again], VIEW, line_product[again])
    extra = _repeat_sessions(rng, session, 2.5)
    extra_products = sampler(rng, catalog.leaf[first_product[extra]])
    blocks.add(extra, VIEW, extra_products)
    blocks.add(line_session, CART, line_product)
    pick = rng.random(len(extra)) < 0.08
    blocks.add(extra[pick], CART, extra_products[pick])
    blocks.add(extra[pick], REMOVE, extra_products[pick])
    wish = rng.random(len(extra)) < 0.03
    blocks.add(extra[wish], WISHLIST, extra_products[wish])
    blocks.add(session, CHECKOUT)
    blocks.add(line_session, PURCHASE, line_product, order=line_session, quantity=lines["quantity"].to_numpy())


def _pick_query(rng: np.random.Generator, queries: np.ndarray, product: np.ndarray, zh: np.ndarray) -> np.ndarray:
    """Index into ``queries.ravel()``; Chinese-speaking customers type Chinese category terms half of the time."""
    column = np.where(zh & (rng.random(len(product)) < 0.5), 3, rng.integers(0, 3, len(product)))
    return product * queries.shape[1] + column


def _browse_sessions(rng: np.random.Generator, blocks: _Blocks, first_session: int, customer: np.ndarray,
                     pop: Population, catalog: Catalog, sampler: _LeafSampler, queries: np.ndarray, zh: np.ndarray,
                     abandoned: bool) -> None:
    n = len(customer)
    session = first_session + np.arange(n)
    known = customer >= 0
    leaf = sampler.random_leaf(rng, n)
    favourite = known & (rng.random(n) < 0.7)
    leaf[favourite] = pop.top_leaves[customer[favourite], rng.integers(0, 3, favourite.sum())]
    views = _repeat_sessions(rng, session, 1.8 if not abandoned else 2.5, low=1)
    view_products = sampler(rng, leaf[views - first_session])
    searched = session[rng.random(n) < 0.35]
    local = searched - first_session
    blocks.add(searched, SEARCH, query=_pick_query(rng, queries, sampler(rng, leaf[local]), zh[local]))
    blocks.add(views, VIEW, view_products)
    first_view = np.unique(views, return_index=True)[1]
    carted = rng.random(len(first_view)) < (1.0 if abandoned else 0.18)
    cart_sessions, cart_products = views[first_view][carted], view_products[first_view][carted]
    blocks.add(cart_sessions, CART, cart_products)
    removed = rng.random(len(cart_sessions)) < 0.3
    blocks.add(cart_sessions[removed], REMOVE, cart_products[removed])
    checkout = rng.random(len(cart_sessions)) < (0.45 if abandoned else 0.2)
    blocks.add(cart_sessions[checkout & ~removed], CHECKOUT)
    wish = rng.random(len(views)) < 0.04
    blocks.add(views[wish], WISHLIST, view_products[wish])


def _browse_visitors(rng: np.random.Generator, pop: Population, n: int, days: int,
                     anonymous_share: float) -> tuple[np.ndarray, np.ndarray]:
    """(customer or -1, day) of browse sessions: customers in proportion to rate × days present."""
    first = np.clip(pop.signup_day, 0, days)
    last = np.clip(pop.churn_day, 0, days)
    exposure = pop.rate * np.maximum(last - first, 0)
    anonymous = rng.random(n) < anonymous_share
    customer = np.full(n, -1)
    day = rng.integers(0, days, n)
    if exposure.sum() > 0:
        known = ~anonymous
        chosen = rng.choice(len(exposure), size=int(known.sum()), p=exposure / exposure.sum())
        customer[known] = chosen
        day[known] = first[chosen] + (rng.random(len(chosen)) * (last[chosen] - first[chosen])).astype(np.int64)
    return customer, day


def build_events(rng: np.random.Generator, sales: Sales, pop: Population, catalog: Catalog, config: SimulatorConfig,
                 start: pd.Timestamp) -> pd.DataFrame:
    """The events table (canonical columns), sorted by time."""
    sampler = _LeafSampler(catalog)
    queries = search_queries(rng, catalog)
    blocks = _Blocks()
    orders = sales.order_truth
    n_orders = len(orders)
    zh_orders = pop.language[orders["customer"].to_numpy()] == "zh"
    _purchase_sessions(rng, blocks, sales, catalog, sampler, queries, zh_orders)
    ab = sales.abandoned
    ab_customer = ab["customer"].to_numpy()
    _browse_sessions(rng, blocks, n_orders, ab_customer, pop, catalog, sampler, queries,
                     pop.language[ab_customer] == "zh", abandoned=True)
    n_browse = round(config.browse_sessions_per_order * n_orders)
    br_customer, br_day = _browse_visitors(rng, pop, n_browse, config.days, config.difficulty.anonymous_share)
    zh_browse = np.where(br_customer >= 0, pop.language[np.maximum(br_customer, 0)] == "zh", rng.random(n_browse) < 0.2)
    _browse_sessions(rng, blocks, n_orders + len(ab), br_customer, pop, catalog, sampler, queries, zh_browse,
                     abandoned=False)

    session_customer = np.concatenate([orders["customer"].to_numpy(), ab_customer, br_customer])
    session_day = np.concatenate([orders["day"].to_numpy(), ab["day"].to_numpy(), br_day])
    events = blocks.frame()
    # Products are not shown before their launch (the whole purchase session is kept: it sold them).
    launched = (events["product"] < 0) | (catalog.launch_day[np.maximum(events["product"], 0)] <=
                                           session_day[events["session"]])
    events = events[launched.to_numpy()]
    return _finish(rng, events, session_customer, session_day, orders, sales, pop, catalog, start, queries)


def _finish(rng: np.random.Generator, events: pd.DataFrame, session_customer: np.ndarray, session_day: np.ndarray,
            orders: pd.DataFrame, sales: Sales, pop: Population, catalog: Catalog, start: pd.Timestamp,
            queries: np.ndarray) -> pd.DataFrame:
    """Timestamps, ids and JSON properties; built as Arrow columns (millions of strings, no Python loop)."""
    n_orders = len(orders)
    cols = {k: events[k].to_numpy() for k in events.columns}
    order = np.lexsort((rng.random(len(events)), cols["phase"], cols["session"]))
    cols = {k: v[order] for k, v in cols.items()}
    session = cols["session"]
    first = np.r_[True, session[1:] != session[:-1]]
    gaps = np.where(first, 0.0, rng.exponential(GAP_SECONDS, len(session)) + 2)
    cum = np.cumsum(gaps)
    cum -= cum[np.flatnonzero(first)][np.cumsum(first) - 1]
    n_sessions = len(session_customer)
    hour = rng.choice(24, size=n_sessions, p=HOUR_WEIGHTS / HOUR_WEIGHTS.sum())
    anchor = (session_day * 86_400 + hour * 3600 + rng.integers(0, 3600, n_sessions)).astype(np.float64)
    # Purchase sessions end at the order's timestamp: the checkout comes about half a minute before it.
    is_purchase = cols["type"] == PURCHASE
    order_seconds = (orders["order_ts"].dt.tz_localize(None) - start).dt.total_seconds().to_numpy()
    before = np.zeros(n_sessions)
    np.maximum.at(before, session, np.where(is_purchase, 0.0, cum))
    anchor[:n_orders] = order_seconds - before[:n_orders] - 30
    seconds = np.round(anchor[session] + cum).astype(np.int64)
    seconds[is_purchase] = np.round(order_seconds[session[is_purchase]]).astype(np.int64)
    customer = session_customer[session]
    # A session that starts just before a customer's churn does not run past it.
    churn_seconds = np.where(customer >= 0, pop.churn_day[np.maximum(customer, 0)] * 86_400, np.iinfo(np.int64).max)
    keep = np.flatnonzero(seconds < churn_seconds)
    keep = keep[np.lexsort((keep, seconds[keep]))]  # event ids follow time
    cols = {k: v[keep] for k, v in cols.items()}
    seconds, session, customer = seconds[keep], session[keep], customer[keep]
    session_start = np.full(n_sessions, np.iinfo(np.int64).max)
    np.minimum.at(session_start, session, seconds)
    session_rank = np.argsort(np.argsort(session_start, kind="stable"), kind="stable")  # ids follow session start
    device = rng.choice(len(DEVICES), size=n_sessions, p=DEVICE_WEIGHTS)[session]
    product = cols["product"]
    table = pa.table({
        "event_id": arrow_ids("E", np.arange(1, len(seconds) + 1), 9),
        "session_id": arrow_ids("S", session_rank[session] + 1, 8),
        "customer_id": _take(pop.ids, customer),
        "product_id": _take(catalog.products["product_id"].to_numpy(), product),
        "event_type": _take(EVENT_TYPES, cols["type"]),
        "event_ts": pa.array(((start - pd.Timestamp(0)).value // 1000 + seconds * 1_000_000),
                             pa.timestamp("us", tz="UTC")),
        "query": _take(queries.ravel(), cols["query"]),
        "properties": _properties(rng, cols, device, sales),
    })
    return table.to_pandas()


def _take(values: np.ndarray, index: np.ndarray) -> pa.Array:
    """``values[index]`` as Arrow strings, null where ``index`` is -1."""
    source = pa.array(np.asarray(values, dtype=object), pa.string())
    return pc.take(source, pa.array(np.maximum(index, 0), mask=index < 0))


def _properties(rng: np.random.Generator, cols: dict[str, np.ndarray], device: np.ndarray, sales: Sales) -> pa.Array:
    """JSON properties: device for every event, where a view came from, order id and quantity for purchases."""
    kind, session = cols["type"], cols["session"]
    # A view comes "from search" only in a session that searched (then most of its views do).
    searched = np.zeros(session.max() + 1 if len(session) else 0, dtype=bool)
    searched[session[kind == SEARCH]] = True
    other = np.array([i for i, name in enumerate(VIEW_SOURCES) if name != "search"])
    source = np.where(searched[session] & (rng.random(len(kind)) < 0.6), VIEW_SOURCES.index("search"),
                      other[rng.integers(0, len(other), len(kind))])
    combos = [f'{{"device": "{d}", "source": "{s}"}}' for d in DEVICES for s in VIEW_SOURCES]
    plain = [f'{{"device": "{d}"}}' for d in DEVICES]
    index = np.where(kind == VIEW, device * len(VIEW_SOURCES) + source, len(combos) + device)
    base = pc.take(pa.array(combos + plain), pa.array(index))
    buy = kind == PURCHASE
    order_ids = _take(sales.order_truth["order_id"].to_numpy(), np.where(buy, cols["order"], -1))
    purchase = pc.binary_join_element_wise(
        '{"device": "', _take(np.array(DEVICES), device), '", "order_id": "', order_ids, '", "quantity": ',
        pc.cast(pa.array(cols["quantity"]), pa.string()), "}", "")
    return pc.coalesce(purchase, base)
