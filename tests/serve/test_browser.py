"""The dashboard in a real browser: uvicorn serving the real app, Debian's Chromium driven by Playwright.

The numbers the page shows (row counts, read = loaded + quarantined, a quarantine reason) must equal the
warehouse's. Skips (with the reason) when Chromium is missing; under CI=true that skip fails the run.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import pyarrow.parquet as pq
import pytest

import shoplens as sl
from shoplens.serve import create_app
from tests.browser import chromium, watch
from tests.serve.conftest import Keys, running_server

if TYPE_CHECKING:
    from playwright.sync_api import Page



@pytest.fixture
def served(shop: sl.Workspace) -> Iterator[str]:
    with running_server(create_app(shop.path)) as url:
        yield url


def number(text: str) -> int:
    return int(text.strip().replace(",", ""))


@pytest.mark.browser
def test_dashboard_shows_the_warehouse_numbers(served: str, shop: sl.Workspace, keys: Keys) -> None:
    with chromium() as browser:
        seen = watch(browser.new_page(), served)
        page = seen.page
        page.goto(served + "/")
        assert page.url == served + "/login?next=/"
        page.fill("#key", keys.read)
        page.click("button[type=submit]")
        page.wait_for_url(served + "/")
        check_numbers(page, shop)
        assert seen.elsewhere == [] and seen.failed == []


def check_numbers(page: Page, ws: sl.Workspace) -> None:
    for table, rows in ws.counts().items():
        assert number(page.get_by_test_id(f"rows-{table}").inner_text()) == rows, table
    runs = ws.ingest_runs()
    assert page.locator("tr[data-run]").count() == len(runs)
    for run in runs.itertuples():
        row = page.locator(f'tr[data-run="{run.run_id}"]')
        shown = [number(row.locator(f"td.{name}").inner_text()) for name in ("read", "loaded", "quarantined")]
        assert shown == [run.read, run.loaded, run.quarantined]
        assert shown[0] == shown[1] + shown[2]
    quarantined = runs[runs.quarantined > 0].iloc[0]
    reasons = pq.read_table(ws.path / quarantined.quarantine_file).column("reason").to_pylist()
    box = page.locator(f'article[data-quarantine="{quarantined.table}"]')
    assert number(box.locator(".total").inner_text()) == len(reasons)
    shown_reasons = box.locator("td.reason").all_inner_texts()
    assert sorted(shown_reasons) == sorted(set(reasons))
