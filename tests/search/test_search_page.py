"""The dashboard's search page, in Debian's Chromium driven by Playwright against uvicorn serving the real app on a
copy of the small simulated shop with its real index (tantivy BM25 + MiniLM vectors): typing a query shows the
ranked products with why each ranks, clicking a facet narrows them, a search that finds nothing says so, and
hostile text is shown as text, never run. Nothing is fetched from another host."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

import pytest

import shoplens as sl
from shoplens.search import api
from shoplens.search.querylog import QueryLog
from shoplens.serve import create_app, create_key
from shoplens.serve.routers.search_page import SHOWN
from tests.browser import chromium, watch
from tests.conftest import copy_workspace
from tests.serve.conftest import make_client, running_server

HOSTILE = '"(*~: <script>window.pwned = 1</script><img src=x onerror="window.pwned = 2">'


@pytest.fixture(scope="module")
def indexed_shop(small_shop: sl.Workspace, tmp_path_factory: pytest.TempPathFactory) -> sl.Workspace:
    ws = copy_workspace(small_shop, tmp_path_factory.mktemp("search_page"))
    api.build(ws)
    return ws


def shown(page: Any) -> list[dict[str, str]]:
    hits = page.locator("[data-testid=search-results] li.hit")
    return [{"product_id": hits.nth(i).get_attribute("data-product"), "brand": hits.nth(i).get_attribute("data-brand"),
             "why": hits.nth(i).locator(".why").inner_text()} for i in range(hits.count())]


def answered(page: Any) -> int:
    return int(page.get_by_test_id("search-view").get_attribute("data-answered") or 0)


def after(page: Any, searches: int) -> None:
    """Wait until the page has answered ``searches`` searches in all (the script counts them)."""
    page.wait_for_selector(f"[data-testid=search-view][data-answered='{searches}']")


def submit(page: Any, text: str) -> None:
    done = answered(page)
    page.fill("#search-q", text)
    page.press("#search-q", "Enter")
    after(page, done + 1)


@pytest.mark.browser
def test_the_search_page_ranks_explains_narrows_and_escapes(indexed_shop: sl.Workspace) -> None:
    ws = indexed_shop
    key = create_key(ws, "read", "reader")
    search = api.load(ws)
    target = ws.table("products").iloc[3]
    # a category's words and a price the query understanding reads ("under 1000"), no brand: many brands answer
    text = f"{target['category'].split(' > ')[-1].lower()} under 1000"
    expected = search.query(text, k=SHOWN, explain=True)
    with running_server(create_app(ws.path)) as served, chromium() as browser:
        seen = watch(browser.new_page(), served)
        page, elsewhere, problems = seen.page, seen.elsewhere, seen.problems

        page.goto(f"{served}/search?key={key}")  # signs in, then the page without the key
        submit(page, text)
        assert page.get_by_test_id("search-view").get_attribute("data-state") == "shown"
        hits = shown(page)
        assert [h["product_id"] for h in hits] == [i["product_id"] for i in expected.items]
        assert len(hits) == SHOWN
        for hit, item in zip(hits, expected.items, strict=True):  # why each ranks: every signal, the fields
            assert f"score {item['score']:.3f}" in hit["why"]
            assert f"bm25 {item['signals']['bm25']:.3f}" in hit["why"]
            assert f"dense:minilm {item['signals']['dense:minilm']:.3f}" in hit["why"]
        assert "matched: " in hits[0]["why"] and expected.items[0]["fields"]
        rewrites = page.get_by_test_id("search-understanding").locator("li").all_inner_texts()
        assert rewrites == expected.understanding["explain"] and any("price" in r for r in rewrites)
        assert page.url == f"{served}/search?{urlencode({'q': text})}"

        brand = min(expected.facets["brand"], key=lambda f: f["count"])["value"]
        page.locator("[data-facet=brand] button", has_text=brand).first.click()
        after(page, 2)
        assert page.url == f"{served}/search?{urlencode({'q': text, 'brand': brand})}"
        narrowed = shown(page)
        assert {h["brand"] for h in narrowed} == {brand}
        assert [h["product_id"] for h in narrowed] == [
            i["product_id"] for i in search.query(text, k=SHOWN, filters={"brand": brand}).items]
        assert len(narrowed) < len(hits)
        page.get_by_test_id("search-filters").locator("button[data-filter=brand]").click()  # the chip removes it
        after(page, 3)
        assert len(shown(page)) == len(hits)
        page.go_back()  # back to the narrowed search
        after(page, 4)
        assert {h["brand"] for h in shown(page)} == {brand}

        page.goto(f"{served}/search?q=lamp&brand=No+Such+Brand")
        after(page, 1)
        assert page.get_by_test_id("search-view").get_attribute("data-state") == "empty"
        assert page.get_by_test_id("search-empty").inner_text() == (
            "No products match “lamp” with these filters: remove one to see more.")
        assert shown(page) == []

        page.goto(f"{served}/search")
        submit(page, HOSTILE)  # syntax and markup are words: the dense signal still finds products
        assert f"for “{HOSTILE}”" in page.get_by_test_id("search-summary").inner_text()
        assert len(shown(page)) == SHOWN
        page.goto(f"{served}/search?q={quote(HOSTILE)}&brand={quote(HOSTILE)}")  # in the address too
        after(page, 1)
        assert f"No products match “{HOSTILE}”" in page.get_by_test_id("search-empty").inner_text()
        assert HOSTILE in page.get_by_test_id("search-filters").inner_text()
        assert page.evaluate("() => window.pwned") is None
        assert page.locator("main script, main img").count() == 0
        assert elsewhere == []
        assert problems == []
    zero = QueryLog.of(ws).stats("zero")["queries"]  # the page's searches went through the logged route
    assert {"query": "lamp", "zero_results": 1} in [{k: q[k] for k in ("query", "zero_results")} for q in zero]


def test_the_page_needs_a_session_keeps_the_address_and_escapes_it(indexed_shop: sl.Workspace,
                                                                   tmp_path: Path) -> None:
    ws = indexed_shop
    key = create_key(ws, "read", "reader")
    with make_client(ws) as client:
        assert client.get("/search").headers["location"] == "/login?next=/search"
        assert client.get(f"/search?key={key}").status_code == 303
        page = client.get("/search", params={"q": HOSTILE, "brand": "Acme", "price_max": "50"})
        assert page.status_code == 200
        assert 'data-brand="Acme"' in page.text and 'data-price-max="50"' in page.text
        assert "<script>window" not in page.text and "&lt;script&gt;" in page.text  # escaped by the template
        assert "script-src" not in page.headers["content-security-policy"]  # default-src 'self': no inline script
        assert client.get("/static/search.js").status_code == 200
    bare = copy_workspace(ws, tmp_path)
    for folder in ("search",):
        import shutil

        shutil.rmtree(bare.dir(folder))
    reader = create_key(bare, "read", "reader")
    with make_client(bare) as client:
        client.get(f"/search?key={reader}")
        page = client.get("/search")
        assert page.status_code == 200 and "No search index yet: run `shoplens search build`" in page.text
        assert "search-form" not in page.text
