"""Cohorts: hand-checked on the tiny shop, against an independent computation on CDNOW, breakdowns."""

from __future__ import annotations

import datetime as dt

import pytest

import shoplens as sl
from shoplens import analytics
from shoplens.errors import InputError
from tests.analytics.conftest import cdnow_purchases


def cell(table, cohort: str, period: int, segment: str = "all") -> dict:
    match = table[(table["cohort"] == dt.date.fromisoformat(cohort)) & (table["period"] == period)
                  & (table["segment"] == segment)]
    assert len(match) == 1
    return match.iloc[0].to_dict()


def test_cohorts_by_hand(tiny_shop: sl.Workspace) -> None:
    table = analytics.cohorts(tiny_shop, store=False)
    # January: C1 and C2; February: C3; March: C4. Data end in March, so January has periods 0–2.
    assert sorted(table["cohort"].unique()) == [dt.date(2024, 1, 1), dt.date(2024, 2, 1), dt.date(2024, 3, 1)]
    assert table.groupby("cohort")["period"].max().tolist() == [2, 1, 0]
    first = cell(table, "2024-01-01", 0)
    assert (first["cohort_customers"], first["active_customers"], first["orders"], first["revenue"]) == (2, 2, 3, 65.0)
    assert first["retention"] == 1.0
    assert first["repeat_customers"] == 1  # C1's second order (O2) came in January
    quiet = cell(table, "2024-01-01", 1)  # only O4 in February, and it was cancelled
    assert (quiet["active_customers"], quiet["revenue"], quiet["repeat_customers"]) == (0, 0.0, 1)
    last = cell(table, "2024-01-01", 2)
    assert (last["active_customers"], last["retention"], last["revenue"]) == (1, 0.5, 12.5)
    assert last["cumulative_revenue_per_customer"] == pytest.approx((65 + 12.5) / 2)
    assert last["repeat_rate"] == 0.5
    february = cell(table, "2024-02-01", 0)
    assert (february["revenue"], february["repeat_customers"]) == (40.0, 0)  # the refund is not a purchase


def test_cohort_breakdown_by_customer_attribute(tiny_shop: sl.Workspace) -> None:
    by_tier = analytics.cohorts(tiny_shop, breakdown="attributes.tier", store=False)
    assert set(by_tier["segment"]) == {"gold", "silver", "(unknown)"}
    assert cell(by_tier, "2024-01-01", 0, "gold")["cohort_customers"] == 1  # C1
    assert cell(by_tier, "2024-03-01", 0, "(unknown)")["cohort_customers"] == 1  # C4 has no attributes
    by_country = analytics.cohorts(tiny_shop, breakdown="country", store=False)
    assert cell(by_country, "2024-02-01", 0, "US")["cohort_customers"] == 1
    matrix = analytics.cohort_matrix(by_country, "retention", "DE")
    assert matrix.loc[dt.date(2024, 1, 1)].tolist() == [1.0, 0.0, 1.0]


@pytest.mark.parametrize("breakdown", ["attributes.x-y", "email", "attributes.a'b"])
def test_bad_breakdowns_are_refused(tiny_shop: sl.Workspace, breakdown: str) -> None:
    with pytest.raises(InputError, match=r"breakdown|JSON key"):
        analytics.cohorts(tiny_shop, breakdown=breakdown, store=False)


def test_cdnow_cohorts_match_an_independent_computation(cdnow_master: sl.Workspace) -> None:
    table = analytics.cohorts(cdnow_master, store=False)
    raw = cdnow_purchases()
    month = raw["date"].dt.year * 12 + raw["date"].dt.month
    first = month.groupby(raw["customer_id"]).transform("min")
    sizes = raw.assign(first=first).groupby("first")["customer_id"].nunique()
    periods = raw.assign(period=month - first, first=first).groupby(["first", "period"])["customer_id"].nunique()
    assert sorted(table["cohort"].unique()) == [dt.date(1997, m, 1) for m in (1, 2, 3)]  # acquired in Q1 1997
    for (first_month, period), active in periods.items():
        cohort = dt.date(1997, first_month - 1997 * 12, 1).isoformat()
        got = cell(table, cohort, period)
        assert got["cohort_customers"] == sizes[first_month]
        assert got["active_customers"] == active
