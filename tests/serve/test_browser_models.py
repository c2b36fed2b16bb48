"""The model page in Debian's Chromium, on real recommender versions: every version with its card, the training
curves of the SASRec version drawn (one point per epoch), and the buttons — an admin rolls back, a read session
is refused."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

import shoplens as sl
from shoplens.registry import ModelRegistry
from shoplens.serve import create_app, create_key
from tests.browser import chromium, watch
from tests.conftest import copy_workspace
from tests.serve.conftest import running_server

pytestmark = pytest.mark.browser
PAGE = "/models/recommend"


@pytest.fixture
def ws(model_versions: sl.Workspace, tmp_path: Path) -> sl.Workspace:
    return copy_workspace(model_versions, tmp_path)


@pytest.fixture
def served(ws: sl.Workspace) -> Iterator[str]:
    with running_server(create_app(ws.path)) as url:
        yield url


def test_versions_curves_and_rollback_as_admin(ws: sl.Workspace, served: str) -> None:
    registry = ModelRegistry(ws)
    sasrec, ease = (c.version for c in registry.versions("recommend"))
    curves = registry.curves("recommend", sasrec)[""]
    with chromium() as browser:
        seen = watch(browser.new_page(), served)
        page = seen.page
        page.goto(f"{served}/models?key={create_key(ws, 'admin', 'ops')}")  # signs in, then the page without it
        assert page.url == served + "/models"
        page.click('tr[data-model="recommend"] a')
        assert page.url == served + PAGE
        assert page.locator("article.version").evaluate_all("els => els.map(e => e.dataset.version)") == [ease, sasrec]
        shown = page.locator(f'article[data-version="{sasrec}"]')
        assert shown.get_attribute("data-deployed") == "true"
        assert shown.get_by_test_id("fingerprint").inner_text() == registry.card("recommend", sasrec).data_fingerprint
        assert shown.locator('tr[data-role="baseline"]').inner_text().startswith("popularity")
        for series, points in (("train-loss", curves["train"]), ("validation-metric", curves["validation"])):
            line = shown.locator(f'polyline[data-series="{series}"]')
            assert len(line.get_attribute("points").split()) == len(points) == 3
            box = line.bounding_box()
            assert box is not None and box["width"] > 200  # drawn across the chart, not collapsed
        assert page.locator(f'article[data-version="{ease}"]').get_by_test_id("no-curves").count() == 1

        page.locator(f'article[data-version="{ease}"]').get_by_test_id("deploy").click()
        page.wait_for_url(served + PAGE)
        assert registry.deployed_version("recommend") == ease
        assert page.locator(f'article[data-version="{ease}"]').get_attribute("data-deployed") == "true"
        page.get_by_test_id("rollback").click()
        page.wait_for_url(served + PAGE)
        assert registry.deployed_version("recommend") == sasrec
        assert page.get_by_test_id("deployed").inner_text() == f"version {sasrec}"
        newest = page.get_by_test_id("history").locator("tbody tr").first
        assert newest.get_attribute("data-action") == "rollback" and "dashboard session of key" in newest.inner_text()
        assert seen.elsewhere == [] and seen.problems == [] and seen.failed == []


def test_a_read_session_sees_no_button_and_is_refused(ws: sl.Workspace, served: str) -> None:
    registry = ModelRegistry(ws)
    sasrec, ease = (c.version for c in registry.versions("recommend"))
    registry.deploy("recommend", ease)  # so that there is something to roll back
    with chromium() as browser:
        page = watch(browser.new_page(), served).page
        page.goto(f"{served}/models?key={create_key(ws, 'read', 'analyst')}")
        page.goto(served + PAGE)
        assert page.locator("article.version").count() == 2
        assert page.get_by_test_id("rollback").count() == 0 and page.get_by_test_id("deploy").count() == 0
        assert f"A rollback would deploy {sasrec}" in page.inner_text("section.deployed")
        refused = page.context.request.post(served + PAGE + "/rollback", form={"csrf": "0" * 64})  # its cookie
        assert refused.status == 403 and "need role admin" in refused.text()
    assert registry.deployed_version("recommend") == ease
