"""Chromium for the browser tests: Debian's build driven by Playwright, offline (nothing fetched from another
host), with what went wrong on the page collected for the test to assert on.

    with chromium() as browser:
        seen = watch(browser.new_page(), served)
        seen.page.goto(served + "/")
        ...
        assert seen.elsewhere == [] and seen.problems == [] and seen.failed == []

Skips (with the reason) when Chromium or Playwright is missing; under CI=true that skip fails the run.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run"]


@contextmanager
def chromium() -> Iterator[Browser]:
    """A headless Chromium, closed when the block ends."""
    if not CHROMIUM.exists():
        pytest.skip(f"Chromium is missing at {CHROMIUM} (apt-get install -y chromium)")
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


def offline(target: Any, served: str, elsewhere: list[str] | None = None) -> None:
    """Let ``target`` (a page or a browser context) reach only ``served``; other requests are aborted and listed
    in ``elsewhere``: the pages work offline."""
    def route(request_route: Any) -> None:
        if request_route.request.url.startswith(served):
            request_route.continue_()
        else:
            if elsewhere is not None:
                elsewhere.append(request_route.request.url)
            request_route.abort()

    target.route("**/*", route)


@dataclass
class Watched:
    """A page kept offline, with requests to other hosts (``elsewhere``), console errors and uncaught script
    errors (``problems``: CSP violations show there too) and responses of status 400 or more (``failed``)."""

    page: Page
    elsewhere: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)


def watch(page: Page, served: str) -> Watched:
    seen = Watched(page)
    offline(page, served, seen.elsewhere)
    page.on("console", lambda message: message.type == "error" and seen.problems.append(message.text))
    page.on("pageerror", lambda error: seen.problems.append(str(error)))
    page.on("response", lambda response: response.status >= 400 and seen.failed.append(response.url))
    return seen
