"""Fixtures of the graph tests: a copy of the small simulated shop with the market-basket pairs computed (by the
analytics capability, as ``shoplens run`` does) and its graph built once, in a real LadybugDB file."""

from __future__ import annotations

from pathlib import Path

import pytest

import shoplens as sl
from shoplens.graph import ProductGraph
from tests.conftest import copy_workspace

BASKET_SUPPORT = 0.002


def prepared_shop(small_shop: sl.Workspace, folder: Path) -> sl.Workspace:
    from shoplens.analytics.api import pair_counts

    ws = copy_workspace(small_shop, folder)
    pair_counts(ws, BASKET_SUPPORT)
    return ws


@pytest.fixture(scope="session")
def graph_shop(small_shop: sl.Workspace, tmp_path_factory: pytest.TempPathFactory) -> sl.Workspace:
    """The shop with its graph built (tests only read it; a test that rebuilds takes ``fresh_shop``)."""
    ws = prepared_shop(small_shop, tmp_path_factory.mktemp("graph_shop"))
    ProductGraph(similar_k=5).fit(ws)
    return ws


@pytest.fixture
def fresh_shop(graph_shop: sl.Workspace, tmp_path: Path) -> sl.Workspace:
    """A writable copy of ``graph_shop``, graph included."""
    return copy_workspace(graph_shop, tmp_path)
