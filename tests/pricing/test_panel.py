"""The product × day panel: offered prices on zero-unit days, ambiguous runs and the price history."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from shoplens.errors import InputError
from shoplens.pricing.panel import build_panel, change_posterior, change_prior


def _sales(rows: list[tuple[str, str, float, float, bool]]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["product_id", "day", "units", "revenue", "promo"])


def test_zero_days_between_equal_states_keep_the_price_and_a_change_is_ambiguous() -> None:
    sales = _sales([("A", "2024-01-01", 2, 20.0, False), ("A", "2024-01-02", 0, 0.0, False),
                    ("A", "2024-01-03", 1, 10.0, False), ("A", "2024-01-04", 0, 0.0, False),
                    ("A", "2024-01-05", 0, 0.0, False), ("A", "2024-01-06", 1, 8.0, True)])
    panel = build_panel(sales, pd.DataFrame({"product_id": ["A"], "category": ["Home > Mugs"], "cost": [4.0]}))
    assert panel.price_a[0].tolist() == [10, 10, 10, 10, 10, 8]
    assert panel.ambiguous[0].tolist() == [False, False, False, True, True, False]
    assert panel.gap_len[0, 3] == 2 and panel.gap_pos[0].tolist()[3:5] == [0, 1]
    assert panel.price_b[0, 3] == 8 and panel.promo_b[0, 4] == 1
    stats = panel.product_stats().iloc[0]
    assert stats["sale_days"] == 3 and stats["price_changes"] == 1 and stats["promo_days"] == 1
    assert panel.categories[0] == "Home > Mugs" and panel.costs[0] == 4.0


def test_a_product_starts_at_its_first_sale_and_the_pseudo_product_is_left_out() -> None:
    sales = _sales([("A", "2024-01-01", 1, 5.0, False), ("B", "2024-01-03", 1, 7.0, False),
                    ("B", "2024-01-04", 0, 0.0, False), ("__all__", "2024-01-01", 3, 30.0, False)])
    panel = build_panel(sales)
    assert panel.products.tolist() == ["A", "B"]
    assert panel.live[1].tolist() == [False, False, True, True]
    assert panel.categories.tolist() == ["(uncategorised)"] * 2


def test_the_change_posterior_puts_zeros_on_the_state_with_lower_demand() -> None:
    sales = _sales([("A", "2024-01-01", 5, 50.0, False)] + [("A", f"2024-01-{d:02d}", 0, 0.0, False)
                                                               for d in range(2, 8)]
                   + [("A", "2024-01-08", 5, 40.0, True)])
    panel = build_panel(sales)
    prior = change_prior(panel)
    assert np.allclose(prior[0, 1:7], 1 - np.arange(1, 7) / 7)
    # state a (the old price) expects 3 units a day, state b 0.1: the zeros say the change came early
    log_p0_a, log_p0_b = np.full(panel.units.shape, -3.0), np.full(panel.units.shape, -0.1)
    posterior = change_posterior(panel, log_p0_a, log_p0_b)
    assert (np.diff(posterior[0, 1:7]) <= 1e-12).all() and posterior[0, 1] < 0.1
    assert posterior[0, 0] == 1 and posterior[0, 7] == 1
    even = change_posterior(panel, np.full(panel.units.shape, -1.0), np.full(panel.units.shape, -1.0))
    assert np.allclose(even[0, 1:7], prior[0, 1:7])  # equal likelihoods: the posterior is the prior


def test_a_price_history_replaces_the_inferred_states() -> None:
    sales = _sales([("A", "2024-01-01", 2, 20.0, False), ("A", "2024-01-02", 0, 0.0, False),
                    ("A", "2024-01-03", 1, 8.0, True)])
    history = pd.DataFrame({"product_id": ["A"] * 3, "day": ["2024-01-01", "2024-01-02", "2024-01-03"],
                            "price": [10.0, 8.0, 8.0], "promo": [False, True, True]})
    panel = build_panel(sales, prices=history)
    assert panel.price_history and not panel.ambiguous.any()
    assert panel.price_a[0].tolist() == [10.0, 8.0, 8.0] and panel.promo_a[0].tolist() == [0, 1, 1]
    with pytest.raises(InputError, match="price"):
        build_panel(sales, prices=history.assign(price=[10.0, -1.0, 8.0]))


def test_last_days_keeps_products_that_sold_in_the_window() -> None:
    sales = _sales([("A", "2024-01-01", 1, 5.0, False), ("A", "2024-01-02", 0, 0.0, False),
                    ("A", "2024-01-03", 0, 0.0, False), ("B", "2024-01-02", 1, 6.0, False),
                    ("B", "2024-01-03", 1, 6.0, False)])
    window = build_panel(sales, history_days=2)
    assert window.products.tolist() == ["B"] and window.n_days == 2


@pytest.mark.parametrize(("frame", "message"), [
    (pd.DataFrame({"product_id": ["A"], "units": [1]}), "lacks column"),
    (pd.DataFrame({"product_id": ["__all__"], "day": ["2024-01-01"], "units": [1], "revenue": [2.0]}),
     "no product sales"),
])
def test_bad_sales_frames_are_named(frame: pd.DataFrame, message: str) -> None:
    with pytest.raises(InputError, match=message):
        build_panel(frame)
