"""What the data can and cannot identify: a real catalog snapshot (amazon_cellphones_catalog), a simulated
shop with a sales history, and order lines priced by quantity (the Online Retail II pattern)."""

from __future__ import annotations

from pathlib import Path

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


def _online_retail_ii_file(path: Path) -> Path:
    """A file in the column layout of UCI Online Retail II (as a user's CSV export of it): a wholesaler's
    price tiers (bigger lines pay less, several prices per product and day), a price rise halfway through,
    no costs. Written here, not a copy of the data set (which users download themselves)."""
    days = pd.date_range("2010-01-04 09:00", periods=140, freq="D")
    rows = []
    for i, day in enumerate(days):
        rise = 1.1 if i >= 70 else 1.0
        for j, (quantity, price) in enumerate(((1, 2.55), (12, 2.10), (48, 1.85))):
            for code in ("22423", "85123A"):
                rows.append({"Invoice": f"{489000 + 10 * i + j}", "StockCode": code, "Description": f"ITEM {code}",
                             "Quantity": quantity + (i + j) % 3, "InvoiceDate": day + pd.Timedelta(hours=j),
                             "Price": round(price * rise, 2), "Customer ID": f"{13000 + j}.0",
                             "Country": "United Kingdom"})
    file = path / "online_retail_II.csv"
    pd.DataFrame(rows).to_csv(file, index=False)
    return file


def test_online_retail_ii_quantity_discounts_and_missing_costs_are_stated(workspace: sl.Workspace,
                                                                          tmp_path: Path) -> None:
    load_dataset("online_retail_ii", workspace, _online_retail_ii_file(tmp_path))
    report = identification_report(workspace)
    assert report.facts["products with sales"] == 2 and report.facts["with a cost"] == 0
    assert report.facts["product-days with more than one unit price"] == "100.0%"
    assert report.facts["within-product correlation of log quantity and log unit price"] < -0.5
    assert any(s.startswith("own-price elasticities of 2 products") for s in report.can)
    assert any("quantity discounts or customer-specific prices" in s for s in report.cannot)
    assert any("profit-maximising prices or a margin floor: no unit costs" in s for s in report.cannot)
    # the fit still runs on the daily average price; the report is what says how far to trust it
    model = ElasticityModel(min_units=1).fit(workspace)
    assert set(model.elasticities_["status"]) <= {"identified", "not_identifiable"}
    assert model.elasticities_["cost"].isna().all()
