"""Cross-price effects: none claimed where there are none (the simulator has no cross effects), and known
substitutes and complements recovered from a panel drawn with them."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from shoplens.errors import InputError
from shoplens.pricing import ElasticityModel, cross_price_effects

from .conftest import PricingShop

OWN = {"X1": -2.0, "X2": -1.5, "X3": -1.2, "X4": -2.5, "Y1": -1.8, "Y2": -1.0, "Y3": -2.2}
CROSS = {("X1", "X2"): 1.0, ("X3", "X2"): -0.8}  # X1 substitutes X2; X3 complements it


def _drawn_panel(days: int = 730, seed: int = 4) -> tuple[pd.DataFrame, pd.DataFrame]:
    rng = np.random.default_rng(seed)
    t = np.arange(days)
    season = 0.3 * np.cos(2 * np.pi * t / 365.25)
    log_price = {}
    for product in OWN:  # regular prices change every few weeks, independently
        changes = np.cumsum(rng.random(days) < 1 / 20)
        log_price[product] = np.log(20.0) + rng.normal(0, 0.15, changes.max() + 1)[changes]
    rows = []
    for product, own in OWN.items():
        log_mu = np.log(15.0) + season + own * (log_price[product] - np.log(20.0))
        for (target, other), effect in CROSS.items():
            if target == product:
                log_mu += effect * (log_price[other] - np.log(20.0))
        units = rng.poisson(np.exp(log_mu))
        price = np.round(np.exp(log_price[product]), 2)
        rows.append(pd.DataFrame({"product_id": product, "day": pd.date_range("2023-01-01", periods=days),
                                  "units": units, "revenue": units * price, "promo": False}))
    products = pd.DataFrame({"product_id": list(OWN), "category": [f"Home > {p[0]}" for p in OWN],
                             "price": 20.0, "cost": 8.0})
    return pd.concat(rows, ignore_index=True), products


def test_known_substitutes_and_complements_are_recovered() -> None:
    sales, products = _drawn_panel()
    model = ElasticityModel().fit(sales, products)
    own = model.elasticities_.set_index("product_id")
    assert np.abs(own.loc[list(OWN), "estimate"] - pd.Series(OWN)).max() < 0.25
    cross = cross_price_effects(model, top_k=4).set_index(["product_id", "other_product_id"])
    for pair, effect in CROSS.items():
        row = cross.loc[pair]
        assert row["lower"] <= effect <= row["upper"], (pair, row["cross_elasticity"])
        assert row["relation"] == ("substitute" if effect > 0 else "complement")
    unrelated = cross.drop(index=list(CROSS))
    assert (unrelated["relation"] == "no evidence").mean() >= 0.75
    assert set(cross["category"]) == {"Home > X", "Home > Y"}


def test_no_cross_effects_are_claimed_where_the_simulator_has_none(pricing_shop: PricingShop) -> None:
    cross = cross_price_effects(pricing_shop.model, top_k=3)
    estimated = cross.dropna(subset=["cross_elasticity"])
    assert len(estimated) >= 100
    covers_zero = ((estimated["lower"] <= 0) & (estimated["upper"] >= 0)).mean()
    assert 0.8 <= covers_zero <= 0.98  # 90% intervals around a true zero
    assert abs(estimated["cross_elasticity"].mean()) < 0.1


def test_pairs_the_data_cannot_separate_are_left_without_a_number() -> None:
    sales, products = _drawn_panel()
    frozen = sales["product_id"] == "X2"
    sales.loc[frozen, "revenue"] = sales.loc[frozen, "units"] * 20.0
    model = ElasticityModel().fit(sales, products)
    cross = cross_price_effects(model, top_k=4)
    about_x2 = cross[cross["other_product_id"] == "X2"]
    assert about_x2.empty  # X2's price never moved: not identified, so not among the top sellers compared
    with pytest.raises(InputError, match="top_k"):
        cross_price_effects(model, top_k=1)
