"""What the data can and cannot identify: a real catalog snapshot (amazon_cellphones_catalog), a simulated
shop with a sales history, and order lines priced by quantity (the Online Retail II pattern)."""

from __future__ import annotations

import pandas as pd

import shoplens as sl
from shoplens.data.datasets import load_dataset
from shoplens.pricing import ElasticityModel, identification_report

from ..conftest import shared_path
from .conftest import PricingShop


def test_a_catalog_snapshot_identifies_discounts_but_no_elasticity(workspace: sl.Workspace) -> None:
    load_dataset("amazon_cellphones_catalog", workspace, shared_path("amazon_cellphones_catalog"))
    report = identification_report(workspace)
    assert report.facts["catalog products"] == 720 and report.facts["products with sales"] == 0
    assert report.facts["listings with an original (list) price"] == 120
    assert any("discount depth" in s for s in report.can)
    assert any(s.startswith("any elasticity: there are no sales over time") for s in report.cannot)
    assert any("one snapshot" in s for s in report.cannot)
    assert not any("own-price elasticities" in s for s in report.can)
    assert "Cannot identify" in report.html() and "Can identify:" in report.text()


def test_a_shop_with_sales_history_identifies_elasticities(pricing_shop: PricingShop) -> None:
    report = identification_report(pricing_shop.ws)
    assert any(s.startswith("own-price elasticities of 150 products") for s in report.can)
    assert any("profit-maximising prices" in s for s in report.can)
    assert any("unrecorded promotion support" in s for s in report.cannot)
    assert report.facts["product-days with more than one unit price"] == "0.0%"


def test_quantity_discounts_are_flagged(workspace: sl.Workspace) -> None:
    days = pd.date_range("2024-01-01", periods=120)
    lines = []
    for i, day in enumerate(days):  # wholesale tiers: bigger lines pay less, several prices a day
        for j, (quantity, price) in enumerate(((1, 2.5), (12, 2.1), (48, 1.85))):
            lines.append({"order_id": f"O{i}-{j}", "line_no": 1, "product_id": "MUG", "quantity": quantity,
                          "unit_price": price, "order_ts": day + pd.Timedelta(hours=9 + j)})
    frame = pd.DataFrame(lines)
    workspace.ingest("orders", frame[["order_id", "order_ts"]])
    workspace.ingest("order_items", frame[["order_id", "line_no", "product_id", "quantity", "unit_price"]])
    report = identification_report(workspace)
    assert report.facts["product-days with more than one unit price"] == "100.0%"
    assert report.facts["within-product correlation of log quantity and log unit price"] < -0.9
    assert any("quantity discounts or customer-specific prices" in s for s in report.cannot)
    assert any("profit-maximising prices or a margin floor: no unit costs" in s for s in report.cannot)
    # the fit still runs (the price varies only within days, so nothing is identified over time)
    model = ElasticityModel(min_units=1).fit(workspace)
    assert model.elasticities_["status"].iloc[0] in ("identified", "not_identifiable")
