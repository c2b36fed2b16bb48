"""The simulator's demand shift and its periods: what drift alarms and champion/challenger retraining are tested on."""

from __future__ import annotations

import pandas as pd
import pytest

from shoplens.data.synth import DemandShift, simulate

SHIFT = DemandShift(day=90, volume=2.0, departments={"Electronics": 3.0}, price=1.3)


@pytest.fixture(scope="module")
def shops() -> tuple:
    plain = simulate(n_customers=400, n_products=60, days=120, seed=7)
    shifted = simulate(n_customers=400, n_products=60, days=120, seed=7, demand_shift=SHIFT)
    return plain, shifted


def test_demand_before_the_shift_is_unchanged_and_after_it_follows_the_shift(shops: tuple) -> None:
    plain, shifted = (shop.truth["demand"] for shop in shops)
    before = pd.to_datetime(plain["day"]) < pd.Timestamp("2024-01-01") + pd.Timedelta(days=SHIFT.day)
    assert (plain.loc[before, "lines"].to_numpy() == shifted.loc[before, "lines"].to_numpy()).all()
    assert (plain.loc[before, "shelf_price"].to_numpy() == shifted.loc[before, "shelf_price"].to_numpy()).all()
    ratio = shifted.loc[~before, "shelf_price"].to_numpy() / plain.loc[~before, "shelf_price"].to_numpy()
    assert abs(float(pd.Series(ratio).median()) - SHIFT.price) < 0.02
    # more lines overall, and Electronics' share of them grows
    assert shifted.loc[~before, "lines"].sum() > 1.3 * plain.loc[~before, "lines"].sum()
    departments = shops[0].truth["products"].set_index("product_id")["department"]

    def electronics_share(frame: pd.DataFrame) -> float:
        after = frame[~before]
        return after.loc[after["product_id"].map(departments) == "Electronics", "lines"].sum() / after["lines"].sum()
    assert electronics_share(shifted) > 1.5 * electronics_share(plain)


def test_periods_split_the_shop_into_two_loads(shops: tuple) -> None:
    shop = shops[1]
    first, second = shop.period(0, SHIFT.day), shop.period(SHIFT.day)
    for name, frame in shop.tables.items():
        assert len(first.tables.get(name, [])) + len(second.tables.get(name, [])) == len(frame), name
    cut = pd.Timestamp("2024-01-01", tz="UTC") + pd.Timedelta(days=SHIFT.day)
    assert pd.to_datetime(first.tables["orders"]["order_ts"], utc=True).max() < cut
    assert pd.to_datetime(second.tables["orders"]["order_ts"], utc=True).min() >= cut
    assert set(second.tables["order_items"]["order_id"]) <= set(second.tables["orders"]["order_id"])


def test_bad_shifts_are_refused(shops: tuple) -> None:
    with pytest.raises(ValueError, match="unknown department"):
        DemandShift(day=5, departments={"Toys!": 2.0})
    with pytest.raises(ValueError, match="positive"):
        DemandShift(day=5, volume=0)
    with pytest.raises(ValueError, match="not within"):
        simulate(n_customers=50, n_products=20, days=30, demand_shift=DemandShift(day=40))
    with pytest.raises(ValueError, match="first_day"):
        shops[0].period(10, 5)
