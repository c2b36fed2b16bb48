"""Fixtures of the forecast tests: a small simulated shop with a trained forecaster and a stored plan."""

from __future__ import annotations

import pytest

import shoplens as sl

# A shop small enough to train on in seconds (demo settings), big enough for a global model.
SHOP = {"n_customers": 3000, "n_products": 30, "days": 240, "seed": 3}


@pytest.fixture(scope="session")
def planned_shop(tmp_path_factory: pytest.TempPathFactory) -> sl.Workspace:
    """Simulated shop after `shoplens forecast train --demo` and `shoplens forecast inventory plan` (read-only)."""
    from shoplens.data.synth import simulate
    from shoplens.forecast.store import MODEL_NAME
    from shoplens.forecast.workflow import plan, train
    from shoplens.registry import ModelRegistry

    ws = sl.Workspace.init(tmp_path_factory.mktemp("planned_shop") / "ws")
    simulate(**SHOP).write(ws)
    train(ws, "demo")
    ModelRegistry(ws).deploy(MODEL_NAME)
    plan(ws)
    return ws
