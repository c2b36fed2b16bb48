"""The dashboard's graph page: a product's neighbourhood drawn by the vendored Cytoscape.js from the REST API, in
Debian's Chromium driven by Playwright against uvicorn serving the real app on the small simulated shop's real
graph. Clicking a neighbouring product centres the drawing on it; an unknown product says so; nothing is fetched
from another host and the page runs under the service's Content-Security-Policy without a violation."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

import shoplens as sl
from shoplens.graph import GraphStore
from shoplens.graph.explore import busiest_products
from shoplens.graph.folder import graph_folder
from shoplens.serve import create_app, create_key
from shoplens.serve.routers.graph_page import PER_RELATION
from tests.browser import chromium, watch
from tests.conftest import copy_workspace
from tests.serve.conftest import make_client, running_server

VENDORED = Path(__file__).resolve().parents[2] / "src/shoplens/serve/static/vendor/cytoscape"


def neighbourhood(ws: sl.Workspace, product_id: str) -> list[dict[str, Any]]:
    with GraphStore(graph_folder(ws)) as store:
        return store.neighbours(product_id, k=PER_RELATION).to_dict("records")


def shown_rows(page: Any) -> list[tuple[str, str]]:
    """(relation, neighbour id or '') of the neighbours table."""
    rows = page.locator("[data-testid=graph-neighbours] tbody tr")
    return [(rows.nth(i).get_attribute("data-relation"), rows.nth(i).get_attribute("data-neighbour") or "")
            for i in range(rows.count())]


def expected_rows(ws: sl.Workspace, product_id: str) -> list[tuple[str, str]]:
    return [(n["relation"], n["id"] or "") for n in neighbourhood(ws, product_id)]


def click_node(page: Any, product_id: str) -> None:
    """A real mouse click where Cytoscape drew the product (its canvas has no element per node). The view is
    scrolled into the window first: a click below the fold lands nowhere."""
    page.locator("#graph-view").scroll_into_view_if_needed()
    x, y = page.evaluate("id => { const p = window.shoplensGraph.cy.getElementById('Product:' + id)"
                         ".renderedPosition(); return [p.x, p.y]; }", product_id)
    box = page.locator("#graph-view").bounding_box()
    page.mouse.click(box["x"] + x, box["y"] + y)


def recentre_by_click(page: Any, product_id: str, tries: int = 3) -> None:
    """Click the product until the page re-centres on it: on a loaded machine the canvas can still be settling
    (fonts, resize) when its position is read, and a click that lands beside the node does nothing."""
    for attempt in range(tries):
        click_node(page, product_id)
        try:
            page.wait_for_selector(f"#graph-view[data-centre='{product_id}']", timeout=10_000)
            return
        except Exception:
            if attempt == tries - 1:
                raise


@pytest.mark.browser
def test_the_graph_page_draws_a_neighbourhood_and_recentres_on_a_click(fresh_shop: sl.Workspace) -> None:
    ws = fresh_shop
    key = create_key(ws, "read", "reader")
    with GraphStore(graph_folder(ws)) as store:
        start = busiest_products(store, 1)[0]["product_id"]
    neighbour = next(n["id"] for n in neighbourhood(ws, start) if n["table"] == "Product")
    with running_server(create_app(ws.path)) as served, chromium() as browser:
        seen = watch(browser.new_page(), served)
        page, elsewhere, problems = seen.page, seen.elsewhere, seen.problems
        fetched: list[str] = []
        page.on("request", lambda request: "/neighbours" in request.url and fetched.append(request.url))

        page.goto(f"{served}/graph?key={key}")  # signs in, then the page without the key
        page.wait_for_selector("#graph-view[data-state=shown]")
        assert page.locator("#graph-view").get_attribute("data-centre") == start
        assert f"({start})" in page.get_by_test_id("graph-title").inner_text()
        assert shown_rows(page) == expected_rows(ws, start)
        drawn = page.evaluate("() => window.shoplensGraph.cy.nodes().length")
        assert drawn == 1 + len({(n["table"], n["id"]) for n in neighbourhood(ws, start)})

        recentre_by_click(page, neighbour)
        assert page.url == f"{served}/graph?product={neighbour}"
        assert f"({neighbour})" in page.get_by_test_id("graph-title").inner_text()
        assert shown_rows(page) == expected_rows(ws, neighbour)
        assert fetched[-1].startswith(f"{served}/api/v1/graph/products/{neighbour}/neighbours")

        page.go_back()  # the address's history goes back to the first product
        page.wait_for_selector(f"#graph-view[data-centre='{start}']")

        assert problems == []
        page.goto(f"{served}/graph?product=NO-SUCH-PRODUCT")
        page.wait_for_selector("#graph-view[data-state=error]")
        message = page.get_by_test_id("graph-error")
        assert message.is_visible()
        assert "unknown product 'NO-SUCH-PRODUCT'" in message.inner_text()
        assert page.locator("[data-testid=graph-neighbours] tbody tr").count() == 0
        assert elsewhere == []
        assert problems == ["Failed to load resource: the server responded with a status of 404 (Not Found)"]


def test_the_page_offers_the_busiest_products_and_needs_a_session(graph_shop: sl.Workspace,
                                                                  tmp_path: Path) -> None:
    ws = copy_workspace(graph_shop, tmp_path)
    key = create_key(ws, "read", "reader")
    with make_client(ws) as client:
        assert client.get("/graph").headers["location"] == "/login?next=/graph"
        assert client.get(f"/graph?key={key}").status_code == 303  # the session starts
        page = client.get("/graph?product=P00002")
        assert page.status_code == 200
        assert 'data-product="P00002"' in page.text
        assert "script-src" not in page.headers["content-security-policy"]  # default-src 'self': no inline script
        with GraphStore(graph_folder(ws)) as store:
            offered = busiest_products(store, 30)
        pairs = [p["pairs"] for p in offered]
        assert pairs == sorted(pairs, reverse=True) and pairs[0] > 0  # the most co-purchased first
        for product in offered:
            assert f'<option value="{product["product_id"]}">' in page.text
        assert f'data-product="{offered[0]["product_id"]}"' in client.get("/graph").text
        script = client.get("/static/vendor/cytoscape/cytoscape.min.js")
        assert script.status_code == 200 and "The Cytoscape Consortium" in script.text[:200]


def test_without_a_graph_the_page_says_how_to_build_one(small_shop: sl.Workspace, tmp_path: Path) -> None:
    ws = copy_workspace(small_shop, tmp_path)
    key = create_key(ws, "read", "reader")
    with make_client(ws) as client:
        client.get(f"/graph?key={key}")
        page = client.get("/graph")
        assert page.status_code == 200
        assert "No product graph yet: run `shoplens graph build`" in page.text
        assert "graph-view" not in page.text


def test_the_vendored_library_keeps_its_licence() -> None:
    assert "Permission is hereby granted, free of charge" in (VENDORED / "LICENSE").read_text(encoding="utf-8")
    assert (VENDORED / "cytoscape.min.js").read_text(encoding="utf-8").startswith("/**\n * Copyright (c) 2016")
