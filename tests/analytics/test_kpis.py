"""KPIs on the hand-checked tiny shop (tests/analytics/conftest.py): every number below was worked out by
hand from the orders and lines there."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

import shoplens as sl
from shoplens import analytics
from shoplens.errors import InputError
from tests.analytics.conftest import build_tiny_shop


def row(table, period: str, dimension: str = "all", value: str = "all") -> dict:
    match = table[(table["period"] == dt.date.fromisoformat(period)) & (table["dimension"] == dimension)
                  & (table["value"] == value)]
    assert len(match) == 1, f"no single row for {period} {dimension}={value}"
    return match.iloc[0].to_dict()


def test_monthly_kpis_overall(tiny_shop: sl.Workspace) -> None:
    table = analytics.kpis(tiny_shop, "month", store=False)
    january = row(table, "2024-01-01")
    # O1 30 + O2 15 + O3 20; C1 twice (a repeat customer), C2 once; both new
    assert (january["revenue"], january["orders"], january["units"]) == (65.0, 3, 6)
    assert january["aov"] == pytest.approx(65 / 3)
    assert (january["customers"], january["new_customers"], january["returning_customers"]) == (2, 2, 0)
    assert january["repeat_rate"] == 0.5 and january["refunds"] == 0.0
    february = row(table, "2024-02-01")
    # O4 is cancelled (left out); O5 40 sold, R5 refunds 10
    assert (february["revenue"], february["refunds"], february["net_revenue"], february["orders"]) == (40.0, 10.0,
                                                                                                        30.0, 1)
    assert february["refund_rate"] == 0.25 and february["new_customers"] == 1
    march = row(table, "2024-03-01")
    # O6 12.50 (C1, returning), O7 7.50 (C4, new), O8 5.00 (anonymous: an order, not a customer)
    assert (march["revenue"], march["orders"], march["customers"], march["new_customers"]) == (25.0, 3, 2, 1)
    assert march["returning_customers"] == 1 and march["repeat_rate"] == 0.0


def test_kpis_by_country_channel_and_category(tiny_shop: sl.Workspace) -> None:
    table = analytics.kpis(tiny_shop, "month", store=False)
    assert row(table, "2024-01-01", "country", "DE")["revenue"] == 45.0
    assert row(table, "2024-01-01", "country", "US")["revenue"] == 20.0
    assert row(table, "2024-03-01", "country", "(unknown)")["orders"] == 1  # O7 has no country
    assert row(table, "2024-01-01", "channel", "app")["revenue"] == 15.0
    home = row(table, "2024-01-01", "category", "Home")  # O1: mug 10 + 2 towels 20; O3: 2 mugs 20
    assert (home["revenue"], home["orders"], home["units"], home["customers"]) == (50.0, 2, 5, 2)
    assert row(table, "2024-02-01", "category", "Home")["refunds"] == 10.0  # the returned towel
    assert row(table, "2024-03-01", "category", "Toys")["revenue"] == 7.5


def test_days_follow_the_shop_timezone(tmp_path: Path) -> None:
    berlin = build_tiny_shop(tmp_path, timezone="Europe/Berlin")
    table = analytics.kpis(berlin, "month", store=False)
    # O3 (23:30 UTC on 31 January) is placed on 1 February in Berlin
    assert row(table, "2024-01-01")["revenue"] == 45.0
    february = row(table, "2024-02-01")
    assert (february["revenue"], february["orders"], february["new_customers"]) == (60.0, 2, 2)
    daily = analytics.kpis(berlin, "day", store=False)
    assert row(daily, "2024-02-01")["orders"] == 1


def test_kpis_are_stored_per_grain(tmp_path: Path) -> None:
    ws = build_tiny_shop(tmp_path)
    analytics.kpis(ws, "week")
    stored = ws.sql("SELECT period, revenue FROM analytics_kpis_week WHERE dimension = 'all' ORDER BY period")
    assert str(stored["period"].iloc[0])[:10] == "2024-01-01"  # weeks start on Monday
    assert stored["revenue"].sum() == pytest.approx(130.0)


def test_unknown_grain_is_refused(tiny_shop: sl.Workspace) -> None:
    with pytest.raises(InputError, match="grain 'year'"):
        analytics.kpis(tiny_shop, "year")
