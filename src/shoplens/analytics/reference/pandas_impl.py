"""The benchmark's analysis set in idiomatic, vectorised pandas (pyarrow dtypes; no ``apply`` and no Python
loop over rows or groups): daily KPIs, RFM and its segments, monthly cohorts, the default session funnel
and co-purchase pair counts — the same definitions as the SQL files, for shops in UTC (the benchmark's
data). Used by ``benchmarks/analytics.py`` as the pandas reference and by the tests to check it equals SQL.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from shoplens.analytics.funnels import Funnel
from shoplens.analytics.queries import REFUND_STATUSES
from shoplens.views import VOID_STATUSES

SEGMENTS = ("champions", "loyal", "potential loyalists", "new", "at risk", "can't lose", "hibernating", "lost")
BUCKETS = ((1, "under 1 min", 0, 60), (2, "1–5 min", 60, 300), (3, "5–15 min", 300, 900), (4, "15–60 min", 900, 3600),
           (5, "1–6 h", 3600, 21600), (6, "6–24 h", 21600, 86400), (7, "1–3 days", 86400, 259200),
           (8, "3–7 days", 259200, 604800), (9, "7 days or more", 604800, 999999999999))
QUINTILES = (0.2, 0.4, 0.6, 0.8)


def _read(folder: Path, table: str, columns: list[str]) -> pd.DataFrame:
    return pd.read_parquet(folder / f"{table}.parquet", columns=columns, dtype_backend="pyarrow")


def run_all(folder: str | Path, funnel: Funnel, min_support: float) -> dict[str, pd.DataFrame]:
    """Every analysis of the set on the Parquet files of ``folder``."""
    folder = Path(folder)
    orders = _prepare_orders(_read(folder, "orders", ["order_id", "customer_id", "order_ts", "status", "channel",
                                                      "country", "total_amount", "n_items"]))
    items = _read(folder, "order_items", ["order_id", "product_id", "quantity", "unit_price", "discount"])
    products = _read(folder, "products", ["product_id", "category"])
    events = _read(folder, "events", ["event_id", "session_id", "customer_id", "event_type", "event_ts"])
    rfm = rfm_scores(orders)
    entities = funnel_entities(events, funnel)
    baskets = _baskets(orders, items)
    items_frequent = basket_items(baskets, min_support)
    return {"kpis_day": kpis_day(orders, items, products), "rfm": rfm, "rfm_segments": rfm_segments(rfm),
            "cohorts": cohorts(orders), "funnel": funnel_steps(entities, funnel),
            "funnel_times": funnel_times(entities, funnel), "basket_items": items_frequent,
            "pair_counts": pair_counts(baskets, items_frequent, min_support)}


def _prepare_orders(orders: pd.DataFrame) -> pd.DataFrame:
    status = orders["status"].str.lower().fillna("")
    total = orders["total_amount"]
    not_void = ~status.isin(VOID_STATUSES)
    is_sale = not_void & (total.fillna(0) >= 0)
    refund = np.where(not_void & (total < 0), -total.fillna(0),
                      np.where(is_sale & status.isin(REFUND_STATUSES), total.fillna(0), 0.0))
    return orders.assign(is_sale=is_sale.astype(bool), refund=refund, day=orders["order_ts"].dt.floor("D"))


# -- KPIs ------------------------------------------------------------------------------------------------
def kpis_day(orders: pd.DataFrame, items: pd.DataFrame, products: pd.DataFrame) -> pd.DataFrame:
    kept = orders[orders["is_sale"] | (orders["refund"] > 0)]
    base = pd.DataFrame({"period": kept["day"], "customer_id": kept["customer_id"], "is_sale": kept["is_sale"],
                         "revenue": kept["total_amount"].where(kept["is_sale"]), "refund": kept["refund"],
                         "units": kept["n_items"].where(kept["is_sale"])})
    facts = [base.assign(dimension="all", value="all"),
             base.assign(dimension="country", value=kept["country"].fillna("(unknown)")),
             base.assign(dimension="channel", value=kept["channel"].fillna("(unknown)")),
             _category_facts(kept, items, products)]
    firsts = kept[kept["is_sale"] & kept["customer_id"].notna()].groupby("customer_id")["day"].min()
    return _kpi_values(pd.concat(facts, ignore_index=True), firsts.rename("first_period"))


def _category_facts(kept: pd.DataFrame, items: pd.DataFrame, products: pd.DataFrame) -> pd.DataFrame:
    lines = items.merge(kept[["order_id", "day", "customer_id", "is_sale"]], on="order_id")
    lines = lines.merge(products, on="product_id", how="left")
    value = lines["category"].str.split(" > ").list[0].fillna("(unknown)")
    net = lines["quantity"] * lines["unit_price"] - lines["discount"].fillna(0)
    sold = lines["is_sale"] & (lines["quantity"] > 0)
    frame = pd.DataFrame({"period": lines["day"], "customer_id": lines["customer_id"], "order_id": lines["order_id"],
                          "value": value, "revenue": net.where(sold), "units": lines["quantity"].where(sold),
                          "refund": (-net).where(lines["quantity"] < 0, 0.0), "is_sale": sold})
    per_order = frame.groupby(["period", "customer_id", "order_id", "value"], dropna=False, observed=True).agg(
        revenue=("revenue", "sum"),
        refund=("refund", "sum"), units=("units", "sum"), is_sale=("is_sale", "any"))
    return per_order.reset_index().drop(columns="order_id").assign(dimension="category")


def _kpi_values(facts: pd.DataFrame, firsts: pd.Series) -> pd.DataFrame:
    facts["sale"] = facts["is_sale"].astype("int64")
    per_customer = facts.groupby(["period", "dimension", "value", "customer_id"], dropna=False, observed=True).agg(
        orders=("sale", "sum"), revenue=("revenue", "sum"), refund=("refund", "sum"), units=("units", "sum"))
    per_customer = per_customer.reset_index().merge(firsts, left_on="customer_id", right_index=True, how="left")
    known = per_customer["customer_id"].notna() & (per_customer["orders"] > 0)
    per_customer["customer"] = known.astype("int64")
    per_customer["new"] = (known & (per_customer["first_period"] == per_customer["period"])).astype("int64")
    per_customer["repeat"] = (per_customer["customer_id"].notna() & (per_customer["orders"] >= 2)).astype("int64")
    out = per_customer.groupby(["period", "dimension", "value"], observed=True).agg(
        orders=("orders", "sum"), revenue=("revenue", "sum"), refunds=("refund", "sum"), units=("units", "sum"),
        customers=("customer", "sum"), new_customers=("new", "sum"), repeat_customers=("repeat", "sum")).reset_index()
    orders = out["orders"].astype("float64")
    revenue, refunds = out["revenue"].astype("float64"), out["refunds"].astype("float64")
    return pd.DataFrame({
        "period": out["period"].dt.date, "grain": "day", "dimension": out["dimension"], "value": out["value"],
        "revenue": revenue.round(2), "refunds": refunds.round(2), "net_revenue": (revenue - refunds).round(2),
        "orders": out["orders"], "units": out["units"], "aov": revenue / orders.where(orders != 0),
        "customers": out["customers"], "new_customers": out["new_customers"],
        "returning_customers": out["customers"] - out["new_customers"],
        "repeat_rate": out["repeat_customers"] / out["customers"].where(out["customers"] != 0),
        "refund_rate": refunds / revenue.where(revenue != 0)})


# -- RFM -------------------------------------------------------------------------------------------------
def _quantile_disc(values: np.ndarray, share: float) -> float:
    """The smallest value whose cumulative share reaches ``share`` (SQL's percentile_disc)."""
    return float(np.quantile(values, share, method="inverted_cdf"))


def rfm_scores(orders: pd.DataFrame) -> pd.DataFrame:
    sales = orders[orders["is_sale"] & orders["customer_id"].notna()]
    per = sales.assign(amount=sales["total_amount"].fillna(0)).groupby("customer_id").agg(
        first_day=("day", "min"), last_day=("day", "max"), frequency=("order_id", "size"), monetary=("amount", "sum"))
    per["monetary"] = per["monetary"].astype("float64").round(2)
    per["recency_days"] = (per["last_day"].max() - per["last_day"]).dt.days + 1
    scores = {}
    for column, sign in (("recency_days", -1), ("frequency", 1), ("monetary", 1)):
        values = per[column].to_numpy(dtype="float64")
        above = sum((values > _quantile_disc(values, q)).astype(np.int64) for q in QUINTILES)
        scores[column] = 5 - above if sign < 0 else 1 + above
    per = per.assign(r_score=scores["recency_days"], f_score=scores["frequency"], m_score=scores["monetary"])
    return pd.DataFrame({
        "customer_id": per.index.astype(object), "first_day": per["first_day"].dt.date.to_numpy(),
        "last_day": per["last_day"].dt.date.to_numpy(), "recency_days": per["recency_days"].to_numpy(),
        "frequency": per["frequency"].to_numpy(), "monetary": per["monetary"].to_numpy(),
        "avg_order_value": (per["monetary"] / per["frequency"]).to_numpy(), "r_score": per["r_score"].to_numpy(),
        "f_score": per["f_score"].to_numpy(), "m_score": per["m_score"].to_numpy(),
        "rfm_cell": (per["r_score"].astype(str) + per["f_score"].astype(str) + per["m_score"].astype(str)).to_numpy(),
        "segment": _segments(per["r_score"].to_numpy(), per["f_score"].to_numpy())})


def _segments(r: np.ndarray, f: np.ndarray) -> np.ndarray:
    return np.select([(r == 5) & (f >= 4), (r >= 3) & (f >= 4), (r >= 4) & (f >= 2), r >= 4, (r <= 2) & (f == 5),
                      f >= 3, r >= 2],
                     ["champions", "loyal", "potential loyalists", "new", "can't lose", "at risk", "hibernating"],
                     default="lost")


def rfm_segments(rfm: pd.DataFrame) -> pd.DataFrame:
    per = rfm.groupby("segment").agg(customers=("customer_id", "size"), revenue=("monetary", "sum"),
                                     recency=("recency_days", "sum"), frequency=("frequency", "sum"))
    per = per.reindex(list(SEGMENTS))
    customers = per["customers"].fillna(0).astype("int64")
    revenue = per["revenue"].fillna(0.0)
    present = per["customers"].where(per["customers"] > 0)
    return pd.DataFrame({"rank": np.arange(1, 9), "segment": list(SEGMENTS), "customers": customers.to_numpy(),
                         "customer_share": (customers / len(rfm)).to_numpy(), "revenue": revenue.round(2).to_numpy(),
                         "revenue_share": (revenue / rfm["monetary"].sum()).to_numpy(),
                         "avg_recency_days": (per["recency"] / present).to_numpy(),
                         "avg_frequency": (per["frequency"] / present).to_numpy(),
                         "avg_monetary": (per["revenue"] / present).to_numpy()})


# -- cohorts ---------------------------------------------------------------------------------------------
def cohorts(orders: pd.DataFrame) -> pd.DataFrame:
    sales = orders[orders["is_sale"] & orders["customer_id"].notna()]
    ts = sales["order_ts"]
    months = pd.DataFrame({"customer_id": sales["customer_id"], "amount": sales["total_amount"].fillna(0),
                           "month": ts.dt.year * 12 + ts.dt.month - 1}) \
        .groupby(["customer_id", "month"]).agg(orders=("amount", "size"), revenue=("amount", "sum")).reset_index()
    firsts = months.groupby("customer_id")["month"].min().rename("cohort").to_frame()
    months = months.merge(firsts, left_on="customer_id", right_index=True)
    months["period"] = months["month"] - months["cohort"]
    active = months.groupby(["cohort", "period"]).agg(active_customers=("customer_id", "size"),
                                                      orders=("orders", "sum"), revenue=("revenue", "sum"))
    # the month of the second order: the first month itself when it held two orders
    first_orders = months.loc[months["period"] == 0].set_index("customer_id")["orders"]
    later = months.loc[months["period"] > 0].groupby("customer_id")["month"].min()
    second = pd.Series(np.where(first_orders.reindex(firsts.index) >= 2, firsts["cohort"],
                                later.reindex(firsts.index)), index=firsts.index)
    repeats = pd.DataFrame({"cohort": firsts["cohort"], "period": second - firsts["cohort"]}).dropna() \
        .groupby(["cohort", "period"]).size().rename("new_repeaters")
    repeats.index = repeats.index.set_levels(repeats.index.levels[1].astype("int64"), level=1)
    sizes = firsts.groupby("cohort").size().rename("cohort_customers")
    last = int(months["month"].max())
    grid = pd.DataFrame({"cohort": np.repeat(sizes.index.to_numpy(), last - sizes.index.to_numpy() + 1)})
    grid["period"] = grid.groupby("cohort").cumcount()
    grid = grid.merge(sizes, left_on="cohort", right_index=True)
    grid = grid.merge(active, left_on=["cohort", "period"], right_index=True, how="left")
    grid = grid.merge(repeats, left_on=["cohort", "period"], right_index=True, how="left")
    grid = grid.fillna({"active_customers": 0, "orders": 0, "revenue": 0.0, "new_repeaters": 0})
    grid = grid.sort_values(["cohort", "period"])
    grid["repeat_customers"] = grid.groupby("cohort")["new_repeaters"].cumsum()
    grid["cumulative_revenue"] = grid.groupby("cohort")["revenue"].cumsum()
    size = grid["cohort_customers"].astype("float64")
    cohort = grid["cohort"].astype("int64")
    return pd.DataFrame({
        "cohort": pd.to_datetime({"year": cohort // 12, "month": cohort % 12 + 1, "day": 1}).dt.date,
        "segment": "all", "period": grid["period"].astype("int64"), "cohort_customers": grid["cohort_customers"],
        "active_customers": grid["active_customers"].astype("int64"),
        "retention": grid["active_customers"] / size, "orders": grid["orders"].astype("int64"),
        "revenue": grid["revenue"].astype("float64").round(2), "revenue_per_customer": grid["revenue"] / size,
        "cumulative_revenue_per_customer": grid["cumulative_revenue"] / size,
        "repeat_customers": grid["repeat_customers"].astype("int64"),
        "repeat_rate": grid["repeat_customers"] / size})


# -- funnel ----------------------------------------------------------------------------------------------
def funnel_entities(events: pd.DataFrame, funnel: Funnel) -> pd.DataFrame:
    """Per session (rebuilt after 30 minutes of inactivity when missing): when it reached each step."""
    gap_us = int(funnel.session_gap_minutes * 60 * 1_000_000)
    ts_us = events["event_ts"].astype("int64[pyarrow]")
    events = events.assign(ts_us=ts_us)
    missing = events[events["session_id"].isna() & events["customer_id"].notna()]
    if len(missing):
        missing = missing.sort_values(["customer_id", "ts_us", "event_id"])
        starts = (missing.groupby("customer_id")["ts_us"].diff() > gap_us).astype("int64") \
            | missing["customer_id"].ne(missing["customer_id"].shift())
        number = starts.astype("int64").groupby(missing["customer_id"]).cumsum()
        rebuilt = missing["customer_id"] + "~" + number.astype(str)
        events = pd.concat([events[events["session_id"].notna()],
                            missing.assign(session_id=rebuilt.astype(events["session_id"].dtype))])
    step_of = {kind: i + 1 for i, step in enumerate(funnel.steps) for kind in step.event_types}
    events = events[events["event_type"].isin(list(step_of))]
    events = events.assign(step=events["event_type"].map(step_of).astype("int64"))[["session_id", "ts_us", "step"]]
    window = int(funnel.window_seconds * 1_000_000)
    reached = events[events["step"] == 1].groupby("session_id")["ts_us"].min().rename("t1").to_frame()
    tables = {1: reached}
    for i, step in enumerate(funnel.steps[1:], start=2):
        previous = tables[funnel.previous_required(i - 1)]
        candidates = events[events["step"] == i].merge(previous, left_on="session_id", right_index=True)
        inside = (candidates["ts_us"] >= candidates[f"t{funnel.previous_required(i - 1)}"]) & \
                 (candidates["ts_us"] <= candidates["t1"] + window)
        first = candidates[inside].groupby("session_id")["ts_us"].min().rename(f"t{i}")
        tables[i] = first.to_frame() if step.optional else first.to_frame().join(previous["t1"])
    out = reached
    for i in range(2, funnel.last + 1):
        out = out.join(tables[i][[f"t{i}"]], how="left")
    return out.reset_index(names="entity").assign(segment="all")


def funnel_steps(entities: pd.DataFrame, funnel: Funnel) -> pd.DataFrame:
    n1 = int(entities["t1"].notna().sum())
    rows = []
    for i, step in enumerate(funnel.steps, start=1):
        reached = entities[f"t{i}"].notna()
        count = int(reached.sum())
        previous = int(entities[f"t{funnel.previous_required(i - 1)}"].notna().sum()) if i > 1 else count
        spent = (entities.loc[reached, f"t{i}"] - entities.loc[reached, "t1"]).to_numpy(dtype="float64")
        median = _quantile_disc(spent, 0.5) / 1e6 if i > 1 and len(spent) else (0.0 if i == 1 else np.nan)
        p90 = _quantile_disc(spent, 0.9) / 1e6 if i > 1 and len(spent) else (0.0 if i == 1 else np.nan)
        rows.append({"segment": "all", "step_no": i, "step": step.name, "optional": step.optional, "entities": count,
                     "conversion_from_previous": 1.0 if i == 1 else (count / previous if previous else np.nan),
                     "conversion_from_start": count / n1 if n1 else np.nan,
                     "median_seconds_from_start": median, "p90_seconds_from_start": p90})
    return pd.DataFrame(rows)


def funnel_times(entities: pd.DataFrame, funnel: Funnel) -> pd.DataFrame:
    last = entities[f"t{funnel.last}"]
    seconds = ((last - entities["t1"])[last.notna()]).to_numpy(dtype="float64") / 1e6
    edges = [b[2] for b in BUCKETS] + [BUCKETS[-1][3]]
    counts, _ = np.histogram(seconds, bins=edges)
    total = len(seconds)
    return pd.DataFrame({"segment": "all", "bucket_no": [b[0] for b in BUCKETS], "bucket": [b[1] for b in BUCKETS],
                         "from_seconds": [b[2] for b in BUCKETS], "entities": counts.astype("int64"),
                         "share": counts / total if total else np.nan})


# -- baskets ---------------------------------------------------------------------------------------------
def _baskets(orders: pd.DataFrame, items: pd.DataFrame) -> pd.DataFrame:
    sold = items[items["product_id"].notna() & (items["quantity"].fillna(1) > 0)]
    sold = sold[~sold["order_id"].isin(orders.loc[~orders["is_sale"], "order_id"])]  # not cancelled, not refunds
    return sold[["order_id", "product_id"]].drop_duplicates()


def basket_items(baskets: pd.DataFrame, min_support: float) -> pd.DataFrame:
    total = baskets["order_id"].nunique()
    counts = baskets["product_id"].value_counts()
    counts = counts[counts >= min_support * total]
    return pd.DataFrame({"product_id": counts.index.astype(object), "orders": counts.to_numpy(dtype="int64"),
                         "baskets": total, "support": counts.to_numpy(dtype="float64") / total})


def pair_counts(baskets: pd.DataFrame, frequent: pd.DataFrame, min_support: float) -> pd.DataFrame:
    total = int(frequent["baskets"].iloc[0]) if len(frequent) else baskets["order_id"].nunique()
    lines = baskets[baskets["product_id"].isin(frequent["product_id"])]
    pairs = lines.merge(lines, on="order_id", suffixes=("_a", "_b"))
    pairs = pairs[pairs["product_id_a"] < pairs["product_id_b"]]
    counted = pairs.groupby(["product_id_a", "product_id_b"], observed=True).size().rename("orders").reset_index()
    counted = counted[counted["orders"] >= min_support * total]
    support = frequent.set_index("product_id")["orders"]
    a = support.reindex(counted["product_id_a"]).to_numpy(dtype="float64")
    b = support.reindex(counted["product_id_b"]).to_numpy(dtype="float64")
    n = counted["orders"].to_numpy(dtype="float64")
    return pd.DataFrame({"item_a": counted["product_id_a"].astype(object).to_numpy(),
                         "item_b": counted["product_id_b"].astype(object).to_numpy(),
                         "orders": counted["orders"].to_numpy(dtype="int64"), "orders_a": a.astype("int64"),
                         "orders_b": b.astype("int64"), "baskets": total, "support": n / total,
                         "confidence_a_b": n / a, "confidence_b_a": n / b, "lift": n * total / (a * b)})
