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

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from shoplens.data.synth.catalog import Catalog
from shoplens.data.synth.config import SimulatorConfig
from shoplens.data.synth.customers import Population
from shoplens.data.synth.ids import ids
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
    attrs = catalog.products["attributes"].map(pd.io.json.ujson_loads) if hasattr(pd.io.json, "ujson_loads") else \
        catalog.products["attributes"].map(__import__("json").loads)
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
        self.parts["query"].append(np.full(n, None, dtype=object) if query is None else query)
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
    # Chinese-speaking customers type Chinese category terms half of the time.
    column = np.where(zh & (rng.random(len(product)) < 0.5), 3, rng.integers(0, 3, len(product)))
    return queries[product, column]


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
    n_browse = int(round(config.browse_sessions_per_order * n_orders))
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
    return _finish(rng, events, session_customer, session_day, orders, sales, pop, catalog, start)


def _finish(rng: np.random.Generator, events: pd.DataFrame, session_customer: np.ndarray, session_day: np.ndarray,
            orders: pd.DataFrame, sales: Sales, pop: Population, catalog: Catalog,
            start: pd.Timestamp) -> pd.DataFrame:
    n_orders = len(orders)
    events = events.assign(tie=rng.random(len(events))).sort_values(["session", "phase", "tie"], kind="stable",
                                                                     ignore_index=True)
    session = events["session"].to_numpy()
    first = np.r_[True, session[1:] != session[:-1]]
    gaps = np.where(first, 0.0, rng.exponential(GAP_SECONDS, len(events)) + 2)
    cum = np.cumsum(gaps)
    cum -= cum[np.flatnonzero(first)][np.cumsum(first) - 1]
    n_sessions = len(session_customer)
    hour = rng.choice(24, size=n_sessions, p=HOUR_WEIGHTS / HOUR_WEIGHTS.sum())
    anchor = (session_day * 86_400 + hour * 3600 + rng.integers(0, 3600, n_sessions)).astype(np.float64)
    # Purchase sessions end at the order's timestamp: the checkout comes about half a minute before it.
    is_purchase = events["type"].to_numpy() == PURCHASE
    order_seconds = (orders["order_ts"].dt.tz_localize(None) - start).dt.total_seconds().to_numpy()
    before = pd.Series(np.where(is_purchase, 0.0, cum)).groupby(session).max()
    purchase_sessions = np.arange(n_orders)
    anchor[purchase_sessions] = order_seconds - before.reindex(purchase_sessions, fill_value=0).to_numpy() - 30
    seconds = anchor[session] + cum
    in_order = session < n_orders
    seconds[is_purchase] = order_seconds[session[is_purchase]]
    seconds = np.where(in_order & ~is_purchase, np.minimum(seconds, order_seconds[np.minimum(session, n_orders - 1)] - 1),
                       seconds)
    ts = start + pd.to_timedelta(np.round(seconds).astype(np.int64), unit="s")
    # Session ids follow the start of the session; event ids follow time.
    session_start = pd.Series(seconds).groupby(session).min()
    session_rank = np.empty(n_sessions, dtype=np.int64)
    session_rank[session_start.index.to_numpy()] = np.argsort(np.argsort(session_start.to_numpy(), kind="stable"),
                                                              kind="stable")
    device = rng.choice(len(DEVICES), size=n_sessions, p=DEVICE_WEIGHTS)
    customer = session_customer[session]
    product = events["product"].to_numpy()
    props = _properties(rng, events, device[session], sales, session)
    out = pd.DataFrame({
        "session_id": ids("S", session_rank[session] + 1, 8),
        "customer_id": np.where(customer >= 0, pop.ids[np.maximum(customer, 0)], None),
        "product_id": np.where(product >= 0, catalog.products["product_id"].to_numpy()[np.maximum(product, 0)], None),
        "event_type": EVENT_TYPES[events["type"].to_numpy()],
        "event_ts": ts.tz_localize("UTC"),
        "query": events["query"].to_numpy(),
        "properties": props,
    })
    out = out.iloc[np.lexsort((np.arange(len(out)), ts.asi8))].reset_index(drop=True)
    out.insert(0, "event_id", ids("E", np.arange(1, len(out) + 1), 9))
    return out


def _properties(rng: np.random.Generator, events: pd.DataFrame, device: np.ndarray, sales: Sales,
                session: np.ndarray) -> np.ndarray:
    """JSON properties: device for every event, where a view came from, order id and quantity for purchases."""
    kind = events["type"].to_numpy()
    source = rng.integers(0, len(VIEW_SOURCES), len(kind))
    table = np.array([[f'{{"device": "{d}", "source": "{s}"}}' for s in VIEW_SOURCES] for d in DEVICES], dtype=object)
    plain = np.array([f'{{"device": "{d}"}}' for d in DEVICES], dtype=object)
    props = np.where(kind == VIEW, table[device, source], plain[device])
    buy = np.flatnonzero(kind == PURCHASE)
    order_ids = sales.order_truth["order_id"].to_numpy()[events["order"].to_numpy()[buy]]
    quantity = events["quantity"].to_numpy()[buy]
    props[buy] = [f'{{"device": "{DEVICES[d]}", "order_id": "{o}", "quantity": {q}}}'
                  for d, o, q in zip(device[buy], order_ids, quantity, strict=True)]
    return props
