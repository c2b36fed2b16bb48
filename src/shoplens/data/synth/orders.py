"""Orders and order lines: the drawn demand handed to the customers who shop that day.

Each day, the lines drawn per product (demand.py) go to that day's shoppers. Shoppers are drawn from
the customers present that day (signed up, not churned) in proportion to their purchase rate, a
fraction of it when lapsing; each line goes to the shopper whose category and brand affinities match
it best after Gumbel noise, price-sensitive shoppers being drawn to discounted lines. A shopper's lines
form one order; a shopper who gets no line abandoned a cart (events.py). Allocation never changes
the number of lines per product and day, so the elasticities hold exactly for the drawn demand.

Conventions (docs/simulator.md): ``unit_price`` is the shelf price the line was sold at that day,
``discount`` the absolute promotion discount on the line, so the customer paid
``quantity * unit_price - discount``. A return is a separate order (status ``returned``, id ``R…``)
whose lines have negative quantities, the net unit price that was paid and no discount.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from shoplens.data.synth.catalog import Catalog
from shoplens.data.synth.config import SimulatorConfig
from shoplens.data.synth.customers import Population, visit_weights
from shoplens.data.synth.demand import Demand
from shoplens.data.synth.vocab import CHANNELS, LEAVES

# Mean order lines per shopper (lines / shoppers); with Poisson-like allocation about 27% of shoppers
# get none, so completed orders hold about 1.8 lines on average.
LINES_PER_SHOPPER = 1.3
ORDERS_PER_LINE = (1 - np.exp(-LINES_PER_SHOPPER)) / LINES_PER_SHOPPER
# Hour-of-day profile of online shopping (UTC; a lunchtime and an evening peak).
HOUR_WEIGHTS = np.array([2, 1.2, 0.8, 0.6, 0.5, 0.6, 1, 2, 3, 3.5, 4, 4.5, 5, 4.8, 4.4, 4.2, 4.5, 5, 5.8, 6.5, 7,
                         6.4, 5, 3.4])
BRAND_BOOST = np.log(3.0)
PROMO_PULL = 0.7  # log weight per unit of price sensitivity for a discounted line
SIZED = np.array([leaf.sized for leaf in LEAVES])
GROCERY = np.array([leaf.department == "Grocery" for leaf in LEAVES])


@dataclass
class Sales:
    orders: pd.DataFrame
    order_items: pd.DataFrame
    order_truth: pd.DataFrame  # per order: delivery days, day index, customer index
    lines: pd.DataFrame  # per sold line (not returns): indexes used by events and reviews
    abandoned: pd.DataFrame  # shoppers who got no line: day, customer
    returns: pd.DataFrame  # per returned line: order, product, day


def _choose_shoppers(rng: np.random.Generator, weights: np.ndarray, n: int) -> np.ndarray:
    """``n`` distinct customers drawn with probability proportional to ``weights`` (Efraimidis–Spirakis)."""
    candidates = np.flatnonzero(weights > 0)
    n = min(n, len(candidates))
    if n == 0:
        return candidates
    keys = np.log(rng.random(len(candidates))) / weights[candidates]
    return candidates[np.argpartition(-keys, n - 1)[:n]]


def _allocate_day(rng: np.random.Generator, pop: Population, catalog: Catalog, demand: Demand, day: int,
                  lapse_factor: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(product, customer) of each line sold on ``day``, and the shoppers who bought nothing."""
    products = np.repeat(np.arange(demand.lines.shape[0]), demand.lines[:, day])
    if len(products) == 0:
        return products, products, products
    n_shoppers = max(1, rng.poisson(len(products) / LINES_PER_SHOPPER))
    shoppers = _choose_shoppers(rng, visit_weights(pop, day, lapse_factor), n_shoppers)
    if len(shoppers) == 0:  # nobody there yet: no sale (only at the very start of a tiny shop)
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty, empty
    # Lines of the same product share one distribution over shoppers: one row per product sold today,
    # then each line draws its shopper by inverse CDF on its row (cost: products × shoppers, not lines × shoppers).
    sold, row = np.unique(products, return_inverse=True)
    logits = pop.log_affinity[shoppers][:, catalog.leaf[sold]].T
    brand = catalog.brand[sold][:, None]
    fav = pop.favourite_brands[shoppers]
    favourite = (fav[:, 0][None, :] == brand) | (fav[:, 1][None, :] == brand)
    logits += BRAND_BOOST * favourite
    on_promo = demand.discount_rate[sold, day] > 0
    logits += PROMO_PULL * on_promo[:, None] * pop.price_sensitivity[shoppers][None, :]
    weights = np.exp(logits - logits.max(axis=1, keepdims=True))
    cum = np.cumsum(weights, axis=1)
    cum /= cum[:, -1:]
    keys = (np.arange(len(sold))[:, None] + cum).ravel()  # row r occupies (r, r + 1]
    position = np.searchsorted(keys, row + rng.random(len(row)), side="left")
    buyer = shoppers[np.minimum(position - row * len(shoppers), len(shoppers) - 1)]
    idle = np.setdiff1d(shoppers, buyer)
    return products, buyer, idle


def _allocate(rng: np.random.Generator, pop: Population, catalog: Catalog, demand: Demand,
              config: SimulatorConfig) -> tuple[pd.DataFrame, pd.DataFrame]:
    days, products, buyers, idle_days, idle = [], [], [], [], []
    lapse = config.lapse_rate_factor
    for d in range(config.days):
        p, c, none = _allocate_day(rng, pop, catalog, demand, d, lapse)
        days.append(np.full(len(p), d))
        products.append(p)
        buyers.append(c)
        idle_days.append(np.full(len(none), d))
        idle.append(none)
    lines = pd.DataFrame({"day": np.concatenate(days), "customer": np.concatenate(buyers),
                          "product": np.concatenate(products)})
    abandoned = pd.DataFrame({"day": np.concatenate(idle_days), "customer": np.concatenate(idle)})
    return lines, abandoned


def _timestamps(rng: np.random.Generator, start: pd.Timestamp, day: np.ndarray) -> pd.DatetimeIndex:
    hour = rng.choice(24, size=len(day), p=HOUR_WEIGHTS / HOUR_WEIGHTS.sum())
    seconds = day * 86_400 + hour * 3600 + rng.integers(0, 3600, len(day))
    return (start + pd.to_timedelta(seconds, unit="s")).tz_localize("UTC")


def _quantities(rng: np.random.Generator, leaf: np.ndarray) -> np.ndarray:
    """Mostly one unit; consumables (coffee, tea) are often bought several at a time."""
    return 1 + rng.poisson(np.where(GROCERY[leaf], 0.6, 0.18))


def _delivery_days(rng: np.random.Generator, country: np.ndarray) -> np.ndarray:
    """Days from order to delivery: about 2–3 from the US, EU and China warehouses, about 6 to the rest,
    and 5% of parcels badly late."""
    far = np.isin(country, ["SG", "TW", "AU"])
    days = rng.lognormal(np.log(np.where(far, 6.0, 2.5)), 0.35)
    late = rng.random(len(country)) < 0.05
    return np.round(days + late * rng.uniform(6, 18, len(country))).astype(np.int64).clip(1)


def _returns(rng: np.random.Generator, lines: pd.DataFrame, catalog: Catalog, pop: Population,
             delivery: np.ndarray, days: int) -> pd.DataFrame:
    """Returned lines: more for sized products that fit badly and for poor quality; only while the
    customer is still a customer and before the end of the period."""
    prod = lines["product"].to_numpy()
    base = np.where(SIZED[catalog.leaf[prod]], 0.10, 0.025)
    prob = np.clip(base * np.exp(0.9 * np.abs(catalog.fit_bias[prod]) - 0.4 * catalog.quality[prod]), 0, 0.6)
    returned = (rng.random(len(prod)) < prob) & (lines["status"].to_numpy() == "completed")
    ret_day = lines["day"].to_numpy() + delivery[lines["order"].to_numpy()] + rng.integers(3, 21, len(prod))
    ok = returned & (ret_day < days) & (ret_day < pop.churn_day[lines["customer"].to_numpy()])
    out = lines.loc[ok, ["order", "customer", "product", "quantity", "unit_price", "discount"]].copy()
    out["day"] = ret_day[ok]
    # One return order per original order (and return day): the earliest return day of its lines.
    out["day"] = out.groupby("order")["day"].transform("min")
    return out


def _merge_repeats(rng: np.random.Generator, lines: pd.DataFrame, catalog: Catalog) -> pd.DataFrame:
    """Quantities per purchase, then one line per product and order: a shopper who draws the same product
    twice that day buys it once with the summed quantity (units per product and day are unchanged)."""
    quantity = _quantities(rng, catalog.leaf[lines["product"].to_numpy()])
    keys = lines[["day", "customer", "product"]].to_numpy()
    first = np.r_[True, (keys[1:] != keys[:-1]).any(axis=1)]
    starts = np.flatnonzero(first)
    merged = lines.iloc[starts].reset_index(drop=True)
    merged["quantity"] = np.add.reduceat(quantity, starts) if len(starts) else quantity[:0]
    return merged


def build_sales(rng: np.random.Generator, pop: Population, catalog: Catalog, demand: Demand,
                config: SimulatorConfig, start: pd.Timestamp) -> Sales:
    lines, abandoned = _allocate(rng, pop, catalog, demand, config)
    lines = _merge_repeats(rng, lines.sort_values(["day", "customer", "product"], kind="stable", ignore_index=True),
                           catalog)
    new_order = np.r_[True, (np.diff(lines["day"]) != 0) | (np.diff(lines["customer"]) != 0)]
    order = np.cumsum(new_order) - 1
    n_orders = int(order[-1]) + 1 if len(order) else 0
    first = np.flatnonzero(new_order)
    order_day, order_customer = lines["day"].to_numpy()[first], lines["customer"].to_numpy()[first]
    order_ts = _timestamps(rng, start, order_day)
    # Order ids follow the time of the order, as a shop's counter does.
    rank = np.empty(n_orders, dtype=np.int64)
    rank[np.lexsort((np.arange(n_orders), order_ts.asi8))] = np.arange(n_orders)
    order_ids = np.char.add("O", np.char.zfill((rank + 1).astype(str), 7))
    channel_idx = np.where(rng.random(n_orders) < 0.8, pop.channel[order_customer], rng.integers(0, len(CHANNELS),
                                                                                                  n_orders))
    cancelled = rng.random(n_orders) < config.difficulty.cancel_rate
    status = np.where(cancelled, "cancelled", "completed")
    delivery = _delivery_days(rng, pop.country[order_customer])

    prod, day = lines["product"].to_numpy(), lines["day"].to_numpy()
    lines["order"] = order
    lines["line_no"] = np.arange(len(lines)) - first[order] + 1
    lines["unit_price"] = demand.shelf_price[prod, day]
    lines["discount"] = np.round(lines["quantity"] * lines["unit_price"] * demand.discount_rate[prod, day], 2)
    lines["status"] = status[order]
    returns = _returns(rng, lines, catalog, pop, delivery, config.days)

    items = pd.DataFrame({"order_id": order_ids[order], "line_no": lines["line_no"],
                          "product_id": catalog.products["product_id"].to_numpy()[prod],
                          "quantity": lines["quantity"], "unit_price": lines["unit_price"].round(2),
                          "discount": lines["discount"]})
    orders = pd.DataFrame({"order_id": order_ids, "customer_id": pop.ids[order_customer], "order_ts": order_ts,
                           "status": status, "channel": np.array(CHANNELS)[channel_idx],
                           "country": pop.country[order_customer]})
    return_orders, return_items = _return_tables(rng, returns, order_ids, orders, catalog, start)
    items = pd.concat([items, return_items], ignore_index=True)
    orders = pd.concat([orders, return_orders], ignore_index=True)
    paid = items["quantity"] * items["unit_price"] - items["discount"]
    totals = paid.groupby(items["order_id"]).sum().round(2)
    units = items.groupby("order_id")["quantity"].sum()
    orders["total_amount"] = orders["order_id"].map(totals).to_numpy()
    orders["n_items"] = orders["order_id"].map(units).astype("int64").to_numpy()
    orders = orders.sort_values(["order_ts", "order_id"], ignore_index=True)
    items = items.sort_values(["order_id", "line_no"], ignore_index=True)
    order_truth = pd.DataFrame({"order_id": order_ids, "day": order_day, "customer": order_customer,
                                "delivery_days": delivery, "order_ts": order_ts})
    lines["order_id"] = order_ids[order]
    lines["order_ts"] = order_ts[order]
    returned_keys = set(zip(returns["order"], returns["product"], strict=True))
    lines["returned"] = [(o, p) in returned_keys for o, p in zip(lines["order"], lines["product"], strict=True)]
    return Sales(orders, items, order_truth, lines, abandoned, returns)


def _return_tables(rng: np.random.Generator, returns: pd.DataFrame, order_ids: np.ndarray, orders: pd.DataFrame,
                   catalog: Catalog, start: pd.Timestamp) -> tuple[pd.DataFrame, pd.DataFrame]:
    if returns.empty:
        return orders.iloc[:0].copy(), pd.DataFrame(columns=["order_id", "line_no", "product_id", "quantity",
                                                             "unit_price", "discount"])
    returns = returns.sort_values(["order", "product"], kind="stable")
    ret_ids = np.char.add("R", np.char.lstrip(order_ids[returns["order"].to_numpy()], "O"))
    net = np.round((returns["quantity"] * returns["unit_price"] - returns["discount"]) / returns["quantity"], 2)
    items = pd.DataFrame({"order_id": ret_ids,
                          "line_no": returns.groupby("order").cumcount().to_numpy() + 1,
                          "product_id": catalog.products["product_id"].to_numpy()[returns["product"].to_numpy()],
                          "quantity": -returns["quantity"].to_numpy(), "unit_price": net.to_numpy(),
                          "discount": 0.0})
    first = returns.drop_duplicates("order")
    original = orders.set_index("order_id").loc[order_ids[first["order"].to_numpy()]]
    ts = _timestamps(rng, start, first["day"].to_numpy())
    ret_orders = pd.DataFrame({"order_id": np.char.add("R", np.char.lstrip(order_ids[first["order"].to_numpy()], "O")),
                               "customer_id": original["customer_id"].to_numpy(), "order_ts": ts,
                               "status": "returned", "channel": original["channel"].to_numpy(),
                               "country": original["country"].to_numpy()})
    return ret_orders, items
