"""Shops for the pricing tests, built once per run.

``pricing_shop``: three years of a busy 150-product simulated shop (realistic difficulty), with its truth
and the default model fitted on it — enough data for elasticities to be recovered within a tolerance that
fits its size (the issue's gate figures, on 600 products over five years, are met in
benchmarks/pricing.py). ``delivery_shop``: a small shop (one year) for the CLI, service, report and
pipeline tests, which write into it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

import shoplens as sl


@dataclass
class PricingShop:
    ws: sl.Workspace
    truth: Any
    model: Any


@pytest.fixture(scope="session")
def pricing_shop(tmp_path_factory: pytest.TempPathFactory) -> PricingShop:
    from shoplens.data.synth import simulate
    from shoplens.pricing import ElasticityModel

    shop = simulate(n_customers=15_000, n_products=150, days=1095, seed=5, n_orders=300_000, events=False,
                    reviews=False)
    ws = sl.Workspace.init(tmp_path_factory.mktemp("pricing_shop") / "ws")
    shop.write(ws)
    return PricingShop(ws=ws, truth=shop.truth, model=ElasticityModel().fit(ws))


@pytest.fixture(scope="session")
def delivery_shop(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A one-year, 40-product shop written to disk once; tests copy it (they write models into it)."""
    from shoplens.data.synth import simulate

    ws = sl.Workspace.init(tmp_path_factory.mktemp("delivery_shop") / "ws")
    simulate(n_customers=3_000, n_products=40, days=400, seed=9, n_orders=40_000, events=False, reviews=False).write(ws)
    return ws.path


@pytest.fixture
def delivery_ws(delivery_shop: Path, tmp_path: Path) -> sl.Workspace:
    import shutil

    target = tmp_path / "ws"
    shutil.copytree(delivery_shop, target)
    return sl.Workspace.open(target)
