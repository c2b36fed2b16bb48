"""A simulated shop with ~340 reviews in English and Chinese whose aspect sentiments are known (events and
inventory left out: reviews do not need them). Shared by the review tests of one run."""

from __future__ import annotations

import pytest

import shoplens as sl


@pytest.fixture(scope="session")
def shop(tmp_path_factory: pytest.TempPathFactory) -> sl.Workspace:
    from shoplens.data.synth import simulate

    ws = sl.Workspace.init(tmp_path_factory.mktemp("reviews_shop") / "ws")
    simulate(n_customers=1200, n_products=80, days=365, seed=11, events=False, inventory=False).write(ws)
    return ws
