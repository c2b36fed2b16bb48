"""The benchmark's analysis set in idiomatic lazy Polars: the same definitions as the SQL files and
:mod:`pandas_impl` (shops in UTC). Each analysis is one lazy query over ``scan_parquet``; Polars pushes the
projections and filters into the scans and runs the plans with its own threads."""

from __future__ import annotations

from pathlib import Path

import polars as pl

from shoplens.analytics.funnels import Funnel
from shoplens.analytics.queries import REFUND_STATUSES
from shoplens.analytics.reference.pandas_impl import BUCKETS, QUINTILES, SEGMENTS
from shoplens.views import VOID_STATUSES


def _scan(folder: Path, table: str) -> pl.LazyFrame:
    return pl.scan_parquet(folder / f"{table}.parquet")


def run_all(folder: str | Path, funnel: Funnel, min_support: float) -> dict[str, pl.DataFrame]:
    folder = Path(folder)
    orders = _orders(_scan(folder, "orders"))
    items, products, events = _scan(folder, "order_items"), _scan(folder, "products"), _scan(folder, "events")
    rfm = rfm_scores(orders).collect()
    entities = funnel_entities(events, funnel).collect()
    baskets = _baskets(orders, items).collect()
    frequent = basket_items(baskets.lazy(), min_support).collect()
    return {"kpis_day": kpis_day(orders, items, products).collect(), "rfm": rfm, "rfm_segments": rfm_segments(rfm),
            "cohorts": cohorts(orders).collect(), "funnel": funnel_steps(entities, funnel),
            "funnel_times": funnel_times(entities, funnel), "basket_items": frequent,
            "pair_counts": pair_counts(baskets.lazy(), frequent, min_support).collect()}


def _orders(orders: pl.LazyFrame) -> pl.LazyFrame:
    status = pl.col("status").str.to_lowercase().fill_null("")
    not_void = ~status.is_in(list(VOID_STATUSES))
    total = pl.col("total_amount")
    is_sale = not_void & (total.fill_null(0) >= 0)
    refund = (pl.when(not_void & (total < 0)).then(-total)
              .when(is_sale & status.is_in(list(REFUND_STATUSES))).then(total).otherwise(0.0))
    return orders.with_columns(is_sale=is_sale, refund=refund, day=pl.col("order_ts").dt.truncate("1d"))


# -- KPIs ------------------------------------------------------------------------------------------------
def kpis_day(orders: pl.LazyFrame, items: pl.LazyFrame, products: pl.LazyFrame) -> pl.LazyFrame:
    kept = orders.filter(pl.col("is_sale") | (pl.col("refund") > 0))
    base = kept.select(period="day", customer_id="customer_id", is_sale="is_sale",
                       revenue=pl.when("is_sale").then("total_amount"), refund="refund",
                       units=pl.when("is_sale").then("n_items"), country="country", channel="channel")
    common = ["period", "customer_id", "is_sale", "revenue", "refund", "units"]
    facts = pl.concat([
        base.select(*common, dimension=pl.lit("all"), value=pl.lit("all")),
        base.select(*common, dimension=pl.lit("country"), value=pl.col("country").fill_null("(unknown)")),
        base.select(*common, dimension=pl.lit("channel"), value=pl.col("channel").fill_null("(unknown)")),
        _category_facts(kept, items, products).select(*common, "dimension", "value"),
    ])
    firsts = kept.filter(pl.col("is_sale") & pl.col("customer_id").is_not_null()) \
        .group_by("customer_id").agg(first_period=pl.col("day").min())
    per_customer = facts.group_by("period", "dimension", "value", "customer_id").agg(
        orders=pl.col("is_sale").sum(), revenue=pl.col("revenue").sum(), refund=pl.col("refund").sum(),
        units=pl.col("units").sum()).join(firsts, on="customer_id", how="left")
    known = pl.col("customer_id").is_not_null() & (pl.col("orders") > 0)
    out = per_customer.group_by("period", "dimension", "value").agg(
        orders=pl.col("orders").sum(), revenue=pl.col("revenue").sum(), refunds=pl.col("refund").sum(),
        units=pl.col("units").sum(), customers=known.sum(),
        new_customers=(known & (pl.col("first_period") == pl.col("period"))).sum(),
        repeat_customers=(pl.col("customer_id").is_not_null() & (pl.col("orders") >= 2)).sum())
    orders_nonzero = pl.when(pl.col("orders") != 0).then(pl.col("orders"))
    return out.select(
        period=pl.col("period").dt.date(), grain=pl.lit("day"), dimension="dimension", value="value",
        revenue=pl.col("revenue").round(2), refunds=pl.col("refunds").round(2),
        net_revenue=(pl.col("revenue") - pl.col("refunds")).round(2), orders="orders", units="units",
        aov=pl.col("revenue") / orders_nonzero, customers="customers", new_customers="new_customers",
        returning_customers=pl.col("customers") - pl.col("new_customers"),
        repeat_rate=pl.col("repeat_customers") / pl.when(pl.col("customers") != 0).then(pl.col("customers")),
        refund_rate=pl.col("refunds") / pl.when(pl.col("revenue") != 0).then(pl.col("revenue")))


def _category_facts(kept: pl.LazyFrame, items: pl.LazyFrame, products: pl.LazyFrame) -> pl.LazyFrame:
    lines = items.join(kept.select("order_id", "day", "customer_id", "is_sale"), on="order_id") \
        .join(products.select("product_id", "category"), on="product_id", how="left")
    net = pl.col("quantity") * pl.col("unit_price") - pl.col("discount").fill_null(0)
    sold = pl.col("is_sale") & (pl.col("quantity") > 0)
    value = pl.col("category").str.split(" > ").list.first().fill_null("(unknown)")
    return lines.group_by(pl.col("day").alias("period"), "customer_id", "order_id", value.alias("value")).agg(
        revenue=pl.when(sold).then(net).sum(), refund=pl.when(pl.col("quantity") < 0).then(-net).otherwise(0.0).sum(),
        units=pl.when(sold).then(pl.col("quantity")).sum(), is_sale=sold.any()) \
        .with_columns(dimension=pl.lit("category"))


# -- RFM -------------------------------------------------------------------------------------------------
def _quantile_disc(column: str, share: float) -> pl.Expr:
    """The smallest value whose cumulative share reaches ``share`` (SQL's percentile_disc)."""
    n = pl.col(column).count()
    index = (n * share).ceil().cast(pl.Int64) - 1
    return pl.col(column).sort().gather(index).first()


def rfm_scores(orders: pl.LazyFrame) -> pl.LazyFrame:
    per = orders.filter(pl.col("is_sale") & pl.col("customer_id").is_not_null()).group_by("customer_id").agg(
        first_day=pl.col("day").min(), last_day=pl.col("day").max(), frequency=pl.len(),
        monetary=pl.col("total_amount").fill_null(0).sum().round(2))
    per = per.with_columns(recency_days=(pl.col("last_day").max() - pl.col("last_day")).dt.total_days() + 1)
    cuts = per.select([_quantile_disc(c, q).alias(f"{c}_{i}") for c in ("recency_days", "frequency", "monetary")
                       for i, q in enumerate(QUINTILES)])
    per = per.join(cuts, how="cross")

    def above(column: str) -> pl.Expr:
        return pl.sum_horizontal([(pl.col(column) > pl.col(f"{column}_{i}")).cast(pl.Int64) for i in range(4)])

    r, f, m = 5 - above("recency_days"), 1 + above("frequency"), 1 + above("monetary")
    per = per.with_columns(r_score=r, f_score=f, m_score=m)
    r, f = pl.col("r_score"), pl.col("f_score")
    segment = (pl.when((r == 5) & (f >= 4)).then(pl.lit("champions")).when((r >= 3) & (f >= 4)).then(pl.lit("loyal"))
               .when((r >= 4) & (f >= 2)).then(pl.lit("potential loyalists")).when(r >= 4).then(pl.lit("new"))
               .when((r <= 2) & (f == 5)).then(pl.lit("can't lose")).when(f >= 3).then(pl.lit("at risk"))
               .when(r >= 2).then(pl.lit("hibernating")).otherwise(pl.lit("lost")))
    return per.select(
        "customer_id", first_day=pl.col("first_day").dt.date(), last_day=pl.col("last_day").dt.date(),
        recency_days="recency_days", frequency="frequency", monetary="monetary",
        avg_order_value=pl.col("monetary") / pl.col("frequency"), r_score="r_score", f_score="f_score",
        m_score="m_score", rfm_cell=pl.concat_str([r.cast(pl.String), f.cast(pl.String),
                                                   pl.col("m_score").cast(pl.String)]),
        segment=segment)


def rfm_segments(rfm: pl.DataFrame) -> pl.DataFrame:
    total_customers, total_revenue = rfm.height, rfm["monetary"].sum()
    per = rfm.group_by("segment").agg(customers=pl.len(), revenue=pl.col("monetary").sum(),
                                      recency=pl.col("recency_days").sum(), frequency=pl.col("frequency").sum())
    ranks = pl.DataFrame({"rank": list(range(1, 9)), "segment": list(SEGMENTS)})
    joined = ranks.join(per, on="segment", how="left")
    present = pl.when(pl.col("customers") > 0).then(pl.col("customers"))
    return joined.select(
        "rank", "segment", customers=pl.col("customers").fill_null(0).cast(pl.Int64),
        customer_share=pl.col("customers").fill_null(0) / total_customers,
        revenue=pl.col("revenue").fill_null(0.0).round(2),
        revenue_share=pl.col("revenue").fill_null(0.0) / total_revenue,
        avg_recency_days=pl.col("recency") / present, avg_frequency=pl.col("frequency") / present,
        avg_monetary=pl.col("revenue") / present)


# -- cohorts ---------------------------------------------------------------------------------------------
def cohorts(orders: pl.LazyFrame) -> pl.LazyFrame:
    ts = pl.col("order_ts")
    months = orders.filter(pl.col("is_sale") & pl.col("customer_id").is_not_null()) \
        .group_by("customer_id", month=ts.dt.year().cast(pl.Int64) * 12 + ts.dt.month().cast(pl.Int64) - 1) \
        .agg(orders=pl.len(), revenue=pl.col("total_amount").fill_null(0).sum())
    firsts = months.group_by("customer_id").agg(cohort=pl.col("month").min())
    joined = months.join(firsts, on="customer_id").with_columns(period=pl.col("month") - pl.col("cohort"))
    active = joined.group_by("cohort", "period").agg(active_customers=pl.len(), orders=pl.col("orders").sum(),
                                                     revenue=pl.col("revenue").sum())
    # the month of the second order: the first month itself when it held two orders
    second = joined.group_by("customer_id").agg(
        cohort=pl.col("cohort").first(),
        first_orders=pl.col("orders").filter(pl.col("period") == 0).sum(),
        later=pl.col("month").filter(pl.col("period") > 0).min())
    repeats = second.with_columns(second=pl.when(pl.col("first_orders") >= 2).then(pl.col("cohort"))
                                  .otherwise(pl.col("later"))).drop_nulls("second") \
        .group_by("cohort", period=pl.col("second") - pl.col("cohort")).agg(new_repeaters=pl.len())
    sizes = firsts.group_by("cohort").agg(cohort_customers=pl.len())
    last = months.select(last=pl.col("month").max())
    grid = sizes.join(last, how="cross").with_columns(period=pl.int_ranges(0, pl.col("last") - pl.col("cohort") + 1)) \
        .explode("period").drop("last")
    filled = grid.join(active, on=["cohort", "period"], how="left").join(repeats, on=["cohort", "period"], how="left") \
        .with_columns(pl.col("active_customers", "orders", "new_repeaters").fill_null(0),
                      pl.col("revenue").fill_null(0.0)).sort("cohort", "period")
    filled = filled.with_columns(repeat_customers=pl.col("new_repeaters").cum_sum().over("cohort"),
                                 cumulative=pl.col("revenue").cum_sum().over("cohort"))
    size = pl.col("cohort_customers")
    return filled.select(
        cohort=pl.date(pl.col("cohort") // 12, pl.col("cohort") % 12 + 1, 1), segment=pl.lit("all"),
        period="period", cohort_customers="cohort_customers", active_customers="active_customers",
        retention=pl.col("active_customers") / size, orders="orders", revenue=pl.col("revenue").round(2),
        revenue_per_customer=pl.col("revenue") / size, cumulative_revenue_per_customer=pl.col("cumulative") / size,
        repeat_customers="repeat_customers", repeat_rate=pl.col("repeat_customers") / size)


# -- funnel ----------------------------------------------------------------------------------------------
def funnel_entities(events: pl.LazyFrame, funnel: Funnel) -> pl.LazyFrame:
    gap_us = int(funnel.session_gap_minutes * 60 * 1_000_000)
    events = events.with_columns(ts_us=pl.col("event_ts").dt.epoch("us"))
    missing = events.filter(pl.col("session_id").is_null() & pl.col("customer_id").is_not_null()) \
        .sort("customer_id", "ts_us", "event_id")
    starts = (pl.col("ts_us").diff().over("customer_id").fill_null(gap_us + 1) > gap_us).cast(pl.Int64)
    rebuilt = missing.with_columns(session_id=pl.col("customer_id") + "~"
                                   + starts.cum_sum().over("customer_id").cast(pl.String))
    located = pl.concat([events.filter(pl.col("session_id").is_not_null()), rebuilt])
    step_of = {kind: i + 1 for i, step in enumerate(funnel.steps) for kind in step.event_types}
    steps = located.filter(pl.col("event_type").is_in(list(step_of))).select(
        "session_id", "ts_us", step=pl.col("event_type").replace_strict(step_of, return_dtype=pl.Int64))
    window = int(funnel.window_seconds * 1_000_000)
    tables = {1: steps.filter(pl.col("step") == 1).group_by("session_id").agg(t1=pl.col("ts_us").min())}
    for i, step in enumerate(funnel.steps[1:], start=2):
        previous_no = funnel.previous_required(i - 1)
        previous = tables[previous_no]
        reached = steps.filter(pl.col("step") == i).join(previous, on="session_id") \
            .filter((pl.col("ts_us") >= pl.col(f"t{previous_no}")) & (pl.col("ts_us") <= pl.col("t1") + window)) \
            .group_by("session_id").agg(pl.col("ts_us").min().alias(f"t{i}"), pl.col("t1").first())
        tables[i] = reached.drop("t1") if step.optional else reached
    out = tables[1]
    for i in range(2, funnel.last + 1):
        out = out.join(tables[i].select("session_id", f"t{i}"), on="session_id", how="left")
    return out.rename({"session_id": "entity"}).with_columns(segment=pl.lit("all"))


def funnel_steps(entities: pl.DataFrame, funnel: Funnel) -> pl.DataFrame:
    n1 = entities["t1"].count()
    rows = []
    for i, step in enumerate(funnel.steps, start=1):
        reached = entities.filter(pl.col(f"t{i}").is_not_null())
        previous = entities[f"t{funnel.previous_required(i - 1)}"].count() if i > 1 else reached.height
        spent = reached.select(spent=pl.col(f"t{i}") - pl.col("t1"))
        median = spent.select(_quantile_disc("spent", 0.5)).item() if i > 1 and reached.height else None
        p90 = spent.select(_quantile_disc("spent", 0.9)).item() if i > 1 and reached.height else None
        rows.append({"segment": "all", "step_no": i, "step": step.name, "optional": step.optional,
                     "entities": reached.height,
                     "conversion_from_previous": 1.0 if i == 1 else (reached.height / previous if previous else None),
                     "conversion_from_start": reached.height / n1 if n1 else None,
                     "median_seconds_from_start": 0.0 if i == 1 else (median / 1e6 if median is not None else None),
                     "p90_seconds_from_start": 0.0 if i == 1 else (p90 / 1e6 if p90 is not None else None)})
    return pl.DataFrame(rows)


def funnel_times(entities: pl.DataFrame, funnel: Funnel) -> pl.DataFrame:
    converted = entities.filter(pl.col(f"t{funnel.last}").is_not_null()) \
        .select(seconds=(pl.col(f"t{funnel.last}") - pl.col("t1")) / 1e6)
    buckets = pl.DataFrame({"bucket_no": [b[0] for b in BUCKETS], "bucket": [b[1] for b in BUCKETS],
                            "from_seconds": [b[2] for b in BUCKETS], "to_seconds": [b[3] for b in BUCKETS]})
    counts = [converted.filter((pl.col("seconds") >= low) & (pl.col("seconds") < high)).height
              for _, _, low, high in BUCKETS]
    total = converted.height
    return buckets.select(segment=pl.lit("all"), bucket_no="bucket_no", bucket="bucket", from_seconds="from_seconds") \
        .with_columns(entities=pl.Series(counts, dtype=pl.Int64),
                      share=pl.Series([c / total if total else None for c in counts], dtype=pl.Float64))


# -- baskets ---------------------------------------------------------------------------------------------
def _baskets(orders: pl.LazyFrame, items: pl.LazyFrame) -> pl.LazyFrame:
    not_sold = orders.filter(~pl.col("is_sale")).select("order_id")  # cancelled orders and refunds
    return items.filter(pl.col("product_id").is_not_null() & (pl.col("quantity").fill_null(1) > 0)) \
        .join(not_sold, on="order_id", how="anti").select("order_id", "product_id").unique()


def basket_items(baskets: pl.LazyFrame, min_support: float) -> pl.LazyFrame:
    total = baskets.select(baskets=pl.col("order_id").n_unique())
    return baskets.group_by("product_id").agg(orders=pl.len()).join(total, how="cross") \
        .filter(pl.col("orders") >= min_support * pl.col("baskets")) \
        .with_columns(support=pl.col("orders") / pl.col("baskets"))


def pair_counts(baskets: pl.LazyFrame, frequent: pl.DataFrame, min_support: float) -> pl.LazyFrame:
    total = frequent["baskets"][0] if frequent.height else 0
    lines = baskets.join(frequent.lazy().select("product_id"), on="product_id", how="semi")
    pairs = lines.join(lines, on="order_id", suffix="_b").filter(pl.col("product_id") < pl.col("product_id_b")) \
        .group_by(item_a="product_id", item_b="product_id_b").agg(orders=pl.len()) \
        .filter(pl.col("orders") >= min_support * total)
    support = frequent.lazy().select("product_id", "orders")
    pairs = pairs.join(support.rename({"product_id": "item_a", "orders": "orders_a"}), on="item_a") \
        .join(support.rename({"product_id": "item_b", "orders": "orders_b"}), on="item_b")
    n, a, b = (pl.col(c).cast(pl.Float64) for c in ("orders", "orders_a", "orders_b"))
    return pairs.select("item_a", "item_b", "orders", "orders_a", "orders_b", baskets=pl.lit(total, pl.Int64),
                        support=n / total, confidence_a_b=n / a, confidence_b_a=n / b, lift=n * total / (a * b))
