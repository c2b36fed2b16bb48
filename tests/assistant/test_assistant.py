"""The assistant on the simulated shop, with real encoders and a real index: answers quote cited evidence, order
look-ups are private, follow-ups lean on the previous question, planted instructions are never obeyed, and bad
input gets a clear answer."""

from __future__ import annotations

import json
import re

import pytest

import shoplens as sl
from shoplens.assistant import api
from shoplens.assistant.base import MAX_QUESTION_CHARS, follow_up_context
from shoplens.assistant.orders import audit_entries
from shoplens.errors import InputError
from tests.assistant.conftest import INJECTION

CITATION = re.compile(r"\[((?:qa|review|product|policy):[^\]]+)\]")


def test_answers_quote_the_evidence_they_cite(assistant_shop: sl.Workspace) -> None:
    assistant = api.load(assistant_shop)
    faq = assistant_shop.sql("SELECT qa_id, question, answer FROM qa WHERE source = 'faq' ORDER BY qa_id LIMIT 3")
    for row in faq.itertuples():
        reply = assistant.ask(row.question)
        assert reply.kind == "answer", (row.question, reply.intent)
        cited = CITATION.findall(reply.text)
        assert cited and set(cited) <= {c.evidence_id for c in reply.citations}
        for citation in reply.citations:  # every quoted sentence is in the passage it cites
            assert all(q in citation.text for q in citation.quoted)
        assert f"qa:{row.qa_id}" in [c.evidence_id for c in reply.citations]  # the shop's own answer is found


def test_policy_pages_are_cited_by_section(assistant_shop: sl.Workspace) -> None:
    reply = api.load(assistant_shop).ask("How many days until my refund reaches my card after you get the parcel?")
    assert "policy:returns.md#refund-time" in [c.evidence_id for c in reply.citations]
    chinese = api.load(assistant_shop).ask("没用过的商品多少天内可以退货？")
    assert chinese.language == "zh" and chinese.text.startswith(("以下", "我不确定"))
    assert any(c.evidence_id.startswith("policy:returns.md#") or c.evidence_id.startswith("qa:")
               for c in chinese.citations)


def test_follow_up_reads_the_previous_question() -> None:
    assert follow_up_context("and in blue?", ["Do you have the linen shirt in size M?"]) == (
        "Do you have the linen shirt in size M? and in blue?")
    assert follow_up_context("那蓝色的呢？", ["这件衬衫有M码吗？"]) == "这件衬衫有M码吗？ 那蓝色的呢？"
    assert follow_up_context("How long does delivery take?", ["Do you ship to Canada?"]) == (
        "How long does delivery take?")


def test_follow_up_in_a_conversation(assistant_shop: sl.Workspace) -> None:
    reply = api.load(assistant_shop).ask("and to Canada?", history=["Do you ship internationally?"])
    assert reply.context == "Do you ship internationally? and to Canada?"


def test_orders_only_for_their_customer(assistant_shop: sl.Workspace) -> None:
    ws = assistant_shop
    orders = ws.sql("SELECT order_id, customer_id, CAST(order_ts AS VARCHAR) AS ts FROM orders ORDER BY order_id")
    a, b = orders["customer_id"].unique()[:2]
    own = orders[orders["customer_id"] == a].iloc[0]
    theirs = orders[orders["customer_id"] == b].iloc[0]
    assistant = api.load(ws)
    mine = assistant.ask(f"Where is my order {own['order_id']}?", customer_id=a)
    assert mine.kind == "order" and mine.order["order_id"] == own["order_id"]
    assert assistant.ask(f"Where is my order {own['order_id']}?").kind == "sign_in"  # nobody vouched
    phrasings = ["Where is my order {}?", "What's the status of order {}", "has order #{} shipped yet?",
                 "track order {} please", "I want to cancel order {}", "when will order no. {} arrive",
                 "订单{}到哪了？", "我的订单号：{} 什么时候发货", "帮我查一下订单 {} 的状态", "取消订单{}"]
    before = len(audit_entries(ws))
    for phrasing in phrasings:
        reply = assistant.ask(phrasing.format(theirs["order_id"]), customer_id=a)
        missing = assistant.ask(phrasing.format("O9999999"), customer_id=a)
        assert reply.order is None
        assert theirs["ts"][:10] not in reply.text
        # indistinguishable from a missing order: the same reply but for the number the customer typed
        assert reply.text.replace(theirs["order_id"], "#") == missing.text.replace("O9999999", "#"), phrasing
    entries = audit_entries(ws)[before:]
    assert entries and all(e["outcome"] == "not_found" for e in entries)
    logs = "\n".join(p.read_text(encoding="utf-8", errors="replace") for p in (ws.path / "logs").glob("*")
                     if p.is_file())
    assert a not in logs and b not in logs


def test_planted_instructions_are_never_quoted(assistant_shop: sl.Workspace) -> None:
    product = assistant_shop.table("products").iloc[0]
    assistant = api.load(assistant_shop)
    for question in (f"Is the {product['title']} free today?", f"What do customers say about {product['title']}?"):
        reply = assistant.ask(question, product_id=product["product_id"])
        assert "free today" not in reply.text and "Ignore previous" not in reply.text
        assert all(INJECTION not in c.text for c in reply.citations)
    hits = assistant.retriever_.search(f"Is the {product['title']} free today?", k=5,
                                       product_id=product["product_id"])
    assert any(INJECTION in text for text in hits["text"])  # it was retrieved, and left out of the reply


def test_hand_off_and_languages(assistant_shop: sl.Workspace) -> None:
    assistant = api.load(assistant_shop)
    person = assistant.ask("I want to speak to a real person right now")
    assert person.handoff and person.kind == "handoff"
    russian = assistant.ask("Где мой заказ? Когда будет доставка?")
    assert russian.handoff and "English and Chinese" in russian.text


def test_bad_questions(assistant_shop: sl.Workspace) -> None:
    assistant = api.load(assistant_shop)
    with pytest.raises(InputError, match="question is empty"):
        assistant.ask("   ")
    with pytest.raises(InputError, match=f"10,000 characters long; at most {MAX_QUESTION_CHARS:,}"):
        assistant.ask("x" * 10_000)
    with pytest.raises(InputError, match="question must be text"):
        assistant.ask(None)  # type: ignore[arg-type]


def test_the_model_folder_is_whole_and_reloads(assistant_shop: sl.Workspace) -> None:
    from shoplens.assistant.base import Assistant

    folder = api.model_folder(assistant_shop)
    settings = json.loads((folder / "assistant.json").read_text())
    assert set(settings["passages"]) == {"qa", "review", "product", "policy"}
    again = Assistant.load(folder, assistant_shop)
    question = "How much does shipping cost?"
    assert again.ask(question).to_dict() == api.load(assistant_shop).ask(question).to_dict()


def test_evaluate_on_the_shops_own_questions(assistant_shop: sl.Workspace) -> None:
    records = api.load(assistant_shop).evaluate(assistant_shop)
    by_model = {r.model: r for r in records}
    assert set(by_model) == {"assistant", "bm25", "dense-minilm"}
    assert by_model["assistant"].role == "ours" and by_model["assistant"].dataset == "simulator_assistant_answers"
    for record in records:
        assert 0.0 <= record.metrics["mrr@10"] <= record.metrics["recall@10"] <= 1.0
        assert "own question withheld" in record.protocol.notes
