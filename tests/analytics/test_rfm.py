"""RFM: quintile cut-offs (exact discrete quantiles), scores and named segments — hand-checked on the tiny
shop, checked against an independent computation on CDNOW, and complete on the simulator."""

from __future__ import annotations

import pandas as pd

import shoplens as sl
from shoplens import analytics
from tests.analytics.conftest import cdnow_purchases

SEGMENTS = ["champions", "loyal", "potential loyalists", "new", "at risk", "can't lose", "hibernating", "lost"]


def test_rfm_by_hand(tiny_shop: sl.Workspace) -> None:
    result = analytics.rfm(tiny_shop, store=False)
    got = result.customers.set_index("customer_id")
    # as of 4 March (the day after the last purchase); cut-offs of 4 customers are the 1st…4th values
    # recency [1, 3, 18, 33], frequency [1, 1, 1, 3], monetary [7.5, 20, 40, 57.5]
    assert got.loc["C1", ["recency_days", "frequency", "monetary"]].tolist() == [3, 3, 57.5]
    assert got.loc["C2", ["recency_days", "frequency", "monetary"]].tolist() == [33, 1, 20.0]  # O4 cancelled
    assert got.loc["C3", ["recency_days", "frequency", "monetary"]].tolist() == [18, 1, 40.0]  # R5 is a refund
    assert got.loc["C4", ["recency_days", "frequency", "monetary"]].tolist() == [1, 1, 7.5]
    assert got["rfm_cell"].to_dict() == {"C1": "444", "C2": "212", "C3": "313", "C4": "511"}
    assert got["segment"].to_dict() == {"C1": "loyal", "C2": "hibernating", "C3": "hibernating", "C4": "new"}
    segments = result.segments.set_index("segment")
    assert segments.index.tolist() == SEGMENTS  # every segment listed, in order
    assert segments.loc["hibernating", "customers"] == 2 and segments.loc["champions", "customers"] == 0
    assert segments.loc["hibernating", "revenue"] == 60.0
    assert abs(segments["customer_share"].sum() - 1) < 1e-12 and abs(segments["revenue_share"].sum() - 1) < 1e-12


def test_rfm_as_of_a_day(tiny_shop: sl.Workspace) -> None:
    got = analytics.rfm(tiny_shop, as_of="2024-02-01", store=False).customers.set_index("customer_id")
    assert sorted(got.index) == ["C1", "C2"]  # only purchases before 1 February
    assert got.loc["C2", "recency_days"] == 1 and got.loc["C1", "recency_days"] == 12


def test_rfm_on_cdnow_matches_an_independent_count(cdnow_master: sl.Workspace) -> None:
    result = analytics.rfm(cdnow_master, store=False)
    raw = cdnow_purchases()
    per = raw.groupby("customer_id").agg(orders=("date", "size"), spent=("dollars", "sum"), last=("date", "max"))
    got = result.customers.set_index("customer_id").loc[per.index]
    assert len(result.customers) == 23_570
    assert (got["frequency"].to_numpy() == per["orders"].to_numpy()).all()
    assert abs(got["monetary"] - per["spent"].round(2)).max() < 0.005
    recency = (per["last"].max() - per["last"]).dt.days + 1
    assert (got["recency_days"].to_numpy() == recency.to_numpy()).all()
    # scores: a value above the p-quantile cut-off scores higher; 60% bought once, so F has ties
    cuts = pd.Series(per["orders"].sort_values().to_numpy())
    f1 = cuts.iloc[int(-(-0.2 * len(cuts) // 1)) - 1]
    assert (got.loc[got["frequency"] <= f1, "f_score"] == 1).all()
    assert result.segments["customers"].sum() == 23_570
    assert set(result.customers["segment"]) <= set(SEGMENTS)


def test_rfm_on_the_simulator_is_complete(small_shop: sl.Workspace) -> None:
    result = analytics.rfm(small_shop, store=False)
    buyers = small_shop.sql("SELECT count(DISTINCT customer_id) FROM orders WHERE total_amount >= 0 "
                            "AND status <> 'cancelled'").iloc[0, 0]
    assert len(result.customers) == buyers
    assert result.customers[["r_score", "f_score", "m_score"]].isin(range(1, 6)).all().all()
    # quintiles: the top R score holds the most recent fifth or so (ties make it uneven, never empty)
    assert 0 < (result.customers["r_score"] == 5).mean() <= 0.4
    assert result.customers["recency_days"].min() == 1  # the last buyer, as of the day after
