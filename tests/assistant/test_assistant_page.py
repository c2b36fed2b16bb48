"""The dashboard's assistant page, in Debian's Chromium driven by Playwright against uvicorn serving the real app on
the trained simulated shop: a question streams its reply with the evidence beside it, a follow-up is read with the
question before it, the hand-off button hands over, and hostile text is shown as text, never run. Nothing is
fetched from another host."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

import shoplens as sl
from shoplens.assistant import api
from shoplens.serve import create_app, create_key
from tests.browser import chromium, watch
from tests.conftest import copy_workspace
from tests.serve.conftest import make_client, running_server

HOSTILE = '<script>window.pwned = 1</script><img src=x onerror="window.pwned = 2"> do you ship abroad?'


def answered(page: Any) -> int:
    return int(page.get_by_test_id("chat").get_attribute("data-answered") or 0)


def ask(page: Any, text: str) -> None:
    done = answered(page)
    page.fill("#chat-q", text)
    page.press("#chat-q", "Enter")
    page.wait_for_selector(f"[data-testid=chat][data-answered='{done + 1}']", timeout=60_000)


@pytest.mark.browser
def test_the_chat_page_streams_answers_with_their_evidence(assistant_shop: sl.Workspace) -> None:
    ws = assistant_shop
    key = create_key(ws, "read", "reader")
    expected = api.ask(ws, "How much does shipping cost?")
    with running_server(create_app(ws.path)) as served, chromium() as browser:
        seen = watch(browser.new_page(), served)
        page, elsewhere, problems = seen.page, seen.elsewhere, seen.problems

        page.goto(f"{served}/assistant?key={key}")
        ask(page, "How much does shipping cost?")
        assert page.get_by_test_id("chat").get_attribute("data-state") == "answered"
        bubbles = page.locator("[data-testid=chat-messages] li.assistant")
        assert bubbles.count() == 1
        assert bubbles.nth(0).inner_text().startswith(expected["text"])
        shown = page.locator("[data-testid=evidence] li")
        assert [shown.nth(i).get_attribute("data-evidence") for i in range(shown.count())] == [
            c["evidence_id"] for c in expected["citations"]]
        marked = shown.nth(0).locator("mark").all_inner_texts()
        assert marked == expected["citations"][0]["quoted"]  # the quoted sentences are marked in the passage

        ask(page, "and to Canada?")  # a follow-up: read with the question before
        assert page.locator("[data-testid=chat-messages] li.customer").count() == 2

        done = answered(page)
        page.get_by_test_id("chat-handoff").click()
        page.wait_for_selector(f"[data-testid=chat][data-answered='{done + 1}']", timeout=60_000)
        assert page.get_by_test_id("chat").get_attribute("data-state") == "handoff"
        assert "member of our team" in bubbles.last.inner_text()

        ask(page, HOSTILE)
        assert HOSTILE in page.locator("[data-testid=chat-messages] li.customer").last.inner_text()
        assert page.evaluate("() => window.pwned") is None
        assert page.locator("main script, main img").count() == 0

        ask(page, "x" * 2000)  # at the limit: answered (the box refuses more)
        assert page.get_by_test_id("chat").get_attribute("data-state") in ("answered", "handoff")
        assert elsewhere == []
        assert problems == []


def test_the_page_needs_a_session_and_a_trained_assistant(assistant_shop: sl.Workspace, tmp_path: Path) -> None:
    import shutil

    ws = assistant_shop
    key = create_key(ws, "read", "reader")
    with make_client(ws) as client:
        assert client.get("/assistant").headers["location"] == "/login?next=/assistant"
        client.get(f"/assistant?key={key}")
        page = client.get("/assistant")
        assert page.status_code == 200 and 'data-testid="chat-form"' in page.text
        assert "script-src" not in page.headers["content-security-policy"]
        assert client.get("/static/assistant.js").status_code == 200
    bare = copy_workspace(ws, tmp_path)
    shutil.rmtree(api.model_folder(bare))
    reader = create_key(bare, "read", "reader")
    with make_client(bare) as client:
        client.get(f"/assistant?key={reader}")
        page = client.get("/assistant")
        assert "No assistant yet: run `shoplens assistant train`" in page.text and "chat-form" not in page.text
