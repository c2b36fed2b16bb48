"""Engine parity: every SQL analysis gives the same result on DuckDB and on Spark (local[2]) on the same
data — money equal to the cent, ratios to 1e-9, exact quantiles (the engine rules of DESIGN.md).

The data: the simulated shop (volume, ties in the quantiles) plus the hand-checked tiny shop's rows (nulls,
refunds, cancelled and anonymous orders, sessions to rebuild, JSON attributes), in a shop in Berlin so that
days, weeks and months are local on both engines."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlglot import exp

import shoplens as sl
from shoplens.analytics import api, queries
from shoplens.analytics.funnels import Funnel
from shoplens.analytics.parity import differences
from shoplens.engine.sql import PortableQuery
from shoplens.errors import NotFound
from tests.analytics.conftest import CUSTOMERS, EVENTS, ORDER_ITEMS, ORDERS, PRODUCTS, copy_workspace, write

pytestmark = pytest.mark.spark


def renamed(query: PortableQuery, suffix: str) -> PortableQuery:
    """The same query kept under another name (and reading the renamed results it depends on)."""
    tree = query.tree.copy()
    for table in tree.find_all(exp.Table):
        if table.name.startswith("analytics_"):
            table.set("this", exp.to_identifier(f"{table.name}{suffix}"))
    return PortableQuery(f"{query.name}{suffix}", tree)


def every_analysis() -> list[PortableQuery]:
    """Each SQL file at least once, with the options that change its SQL."""
    session_funnel = Funnel.parse(["view", "wishlist?", "cart=add_to_cart|checkout", "purchase"],
                                  breakdown="properties.device")
    customer_funnel = Funnel.parse(["view", "purchase"], entity="customer", window="7d", breakdown="country")
    return [*queries.kpis("day"), *queries.kpis("week"), *queries.kpis("month"), *queries.rfm(),
            *queries.cohorts("attributes.tier"),
            *queries.funnel(session_funnel), *[renamed(q, "_c") for q in queries.funnel(customer_funnel)[:2]],
            *queries.baskets(0.02), queries.query("basket_lines"), *queries.clv_summary(),
            *queries.customer_features("2024-06-01", "2024-08-01"), renamed(queries.rfm("2024-05-01")[0], "_as_of")]


@pytest.fixture(scope="module")
def mixed_shop(small_shop: sl.Workspace, tmp_path_factory: pytest.TempPathFactory) -> sl.Workspace:
    ws = copy_workspace(small_shop, tmp_path_factory.mktemp("parity") / "ws")
    files = ws.path / "tmp"
    for table, text in (("customers", CUSTOMERS), ("products", PRODUCTS), ("orders", ORDERS),
                        ("order_items", ORDER_ITEMS), ("events", EVENTS)):
        ws.ingest(table, write(files, f"tiny_{table}.csv", text), tz="UTC")
    ws.set_timezone("Europe/Berlin")
    return ws


def test_every_sql_analysis_is_the_same_on_duckdb_and_spark(mixed_shop: sl.Workspace, spark) -> None:
    batch = every_analysis()
    assert {q.name.removesuffix("_c").removesuffix("_as_of") for q in batch} == set(queries.SQL_ANALYSES)
    with api.AnalysisSession(mixed_shop, "duckdb", store=False) as session:
        duck = session.run(batch, fetch_all=True)
    with api.AnalysisSession(mixed_shop, "spark", spark=spark, store=False) as session:
        on_spark = session.run(batch, fetch_all=True)
    assert duck["rfm"].num_rows > 100 and duck["funnel_entities"].num_rows > 1000 and duck["pair_counts"].num_rows
    problems = []
    for name, table in duck.items():
        problems += differences(name.removesuffix("_c").removesuffix("_as_of"), table.to_pandas(),
                                on_spark[name].to_pandas())
    assert not problems, "\n".join(problems)


def test_parity_notices_a_difference(mixed_shop: sl.Workspace) -> None:
    with api.AnalysisSession(mixed_shop, "duckdb", store=False) as session:
        rfm = session.run(queries.rfm()[:1])["rfm"].to_pandas()
    changed = rfm.copy()
    changed.loc[0, "monetary"] += 0.01
    assert differences("rfm", rfm, changed) and not differences("rfm", rfm, rfm.sample(frac=1, random_state=0))


def test_spark_sql_is_exact(mixed_shop: sl.Workspace) -> None:
    text = queries.rfm()[0].sql("spark", "Europe/Berlin")
    assert "PERCENTILE_DISC(0.2) WITHIN GROUP (ORDER BY recency_days)" in text and "APPROX" not in text.upper()
    assert "FROM_UTC_TIMESTAMP" in text
    assert isinstance(Path(mixed_shop.path), Path)


def test_both_engines_tell_empty_tables(mixed_shop: sl.Workspace, spark) -> None:
    for engine, options in (("duckdb", {}), ("spark", {"spark": spark})):
        with api.AnalysisSession(mixed_shop, engine, store=False, **options) as session:
            assert session.engine.has_rows("orders") and session.engine.has_rows("events")
            assert not session.engine.has_rows("ratings") and not session.engine.has_rows("no_such_table")
            with pytest.raises(NotFound, match="needs rows in the 'ratings' table"):
                session.require(("orders", "ratings"), "a test")
