"""The assistant's knowledge passages and private order look-ups, on the simulated shop."""

from __future__ import annotations

import json
import time

import pytest

import shoplens as sl
from shoplens.assistant.knowledge import knowledge_passages, policy_sections, sentences_of
from shoplens.assistant.orders import (
    audit_entries,
    customer_of_token,
    issue_customer_token,
    lookup_order,
    order_references,
)
from shoplens.errors import InputError
from tests.conftest import copy_workspace


def test_sentences_english_and_chinese() -> None:
    assert sentences_of("Fits well. Washed it twice! Still fine?\nYes") == ["Fits well.", "Washed it twice!",
                                                                             "Still fine?", "Yes"]
    assert sentences_of("质量很好。物流很快！会回购") == ["质量很好。", "物流很快！", "会回购"]
    assert sentences_of("Version 2.5 works. e.g. this") == ["Version 2.5 works. e.g. this"]  # no capital: one
    assert sentences_of(None) == []


def test_policy_sections_are_cited_by_heading() -> None:
    page = "Our promise.\n\n# Returns\nWithin 30 days.\n\n## Refund time\nFive days.\n\n## Empty\n\n## Returns\nAgain."
    rows = policy_sections(page, "returns.md")
    assert [r["evidence_id"] for r in rows] == ["policy:returns.md#intro", "policy:returns.md#returns",
                                                "policy:returns.md#refund-time", "policy:returns.md#returns-1"]
    assert rows[2]["text"] == "Five days." and rows[2]["title"] == "Refund time"


def test_knowledge_passages_of_a_shop(small_shop: sl.Workspace, tmp_path) -> None:
    (tmp_path / "shipping.md").write_text("# Delivery times\nParcels arrive in 2–4 days.\n# 运费\n满50免运费。",
                                          encoding="utf-8")
    passages = knowledge_passages(small_shop, policy_folder=tmp_path)
    assert passages["evidence_id"].is_unique
    kinds = passages.groupby("kind").size()
    assert set(kinds.index) == {"qa", "review", "product", "policy"}
    counts = small_shop.counts()
    assert kinds["product"] == counts["products"]
    qa = passages[passages["kind"] == "qa"]
    assert qa["question"].notna().all() and len(qa) <= counts["qa"]
    reviews = passages[passages["kind"] == "review"]
    assert reviews["evidence_id"].str.fullmatch(r"review:.+#\d+").all()
    policy = passages.set_index("evidence_id").loc["policy:shipping.md#运费"]
    assert policy["language"] == "zh" and policy["text"] == "满50免运费。"
    with pytest.raises(InputError, match="unknown knowledge kind 'faq'"):
        knowledge_passages(small_shop, kinds=("faq",))


def test_order_references() -> None:
    assert order_references("where is my order 1042?") == ["1042"]
    assert order_references("Order #O0000042 and order no. 77") == ["O0000042", "77"]
    assert order_references("我的订单号：O0000042 到哪了") == ["O0000042"]
    assert order_references("do you ship to Canada?") == []


def test_customer_tokens(workspace: sl.Workspace) -> None:
    token = issue_customer_token(workspace, "C000123")
    assert customer_of_token(workspace, token) == "C000123"
    forged = token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB")
    assert customer_of_token(workspace, forged) is None
    assert customer_of_token(workspace, "sct_" + "x" * 2000) is None
    assert customer_of_token(workspace, None) is None
    expired = issue_customer_token(workspace, "C000123", hours=1 / 3600)
    time.sleep(1.1)
    assert customer_of_token(workspace, expired) is None
    with pytest.raises(InputError, match="customer id"):
        issue_customer_token(workspace, "  ")


def test_lookup_is_private_and_audited(small_shop: sl.Workspace, tmp_path) -> None:
    ws = copy_workspace(small_shop, tmp_path)
    orders = ws.sql("SELECT order_id, customer_id FROM orders ORDER BY order_id LIMIT 200")
    a, b = orders["customer_id"].unique()[:2]
    order_of_b = orders[orders["customer_id"] == b]["order_id"].iloc[0]
    order_of_a = orders[orders["customer_id"] == a]["order_id"].iloc[0]
    found = lookup_order(ws, a, order_of_a)
    assert found is not None and found.order_id == order_of_a and found.items
    number = str(int(order_of_a.lstrip("OR")))  # "where is order 42" finds the customer's O0000042
    assert lookup_order(ws, a, number).order_id == order_of_a
    assert lookup_order(ws, a, order_of_b) is None  # B's order: not found, like a missing one
    assert lookup_order(ws, a, "O9999999") is None
    entries = audit_entries(ws)
    assert [e["outcome"] for e in entries] == ["found", "found", "not_found", "not_found"]
    log_text = (ws.path / "logs" / "assistant-audit.jsonl").read_text()
    assert a not in log_text and b not in log_text  # pseudonyms only
    assert all(json.loads(line)["customer"].startswith("p_") for line in log_text.splitlines())
