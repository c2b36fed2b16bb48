"""The intent router with real encoders: the shipped example set, a shop's edited file, hand-off below the
threshold, save/load, Chinese, and a few real CLINC150 intents."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from shoplens.assistant.intents import (
    HANDOFF,
    INTENTS,
    OUT_OF_SCOPE,
    IntentRouter,
    choose_threshold,
    default_intents,
    default_intents_path,
    ensure_intents_file,
    load_intents,
)
from shoplens.errors import InputError
from tests.conftest import shared_path

HELD_OUT = Path(__file__).parent / "data" / "heldout_intents.csv"


@pytest.fixture(scope="module")
def router() -> IntentRouter:
    examples = default_intents()
    return IntentRouter().fit(examples["text"], examples["intent"])


def test_default_intents_cover_every_intent_in_both_languages() -> None:
    examples = default_intents()
    assert list(examples.columns) == ["text", "intent", "language"]
    counts = examples.groupby(["intent", "language"]).size()
    assert set(examples["intent"]) == set(INTENTS)
    assert counts.min() >= 10 and len(counts) == 2 * len(INTENTS)
    assert default_intents_path().name == "default_intents.csv"


def test_held_out_utterances_are_new_and_large_enough() -> None:
    held = pd.read_csv(HELD_OUT, dtype=str)
    assert (held["language"].value_counts() >= 150).all() and set(held["language"]) == {"en", "zh"}
    assert not set(held["text"].str.casefold()) & set(default_intents()["text"].str.casefold())
    assert set(held["intent"]) == set(INTENTS)


def _edited(tmp_path: Path, rows: list[dict[str, str]],
            columns: tuple[str, ...] = ("text", "intent", "language")) -> Path:
    frame = pd.concat([default_intents(), pd.DataFrame(rows)], ignore_index=True)
    path = tmp_path / "intents.csv"
    frame.loc[:, list(columns)].to_csv(path, index=False)
    return path


def test_a_shop_edited_file_loads_and_detects_an_empty_language(tmp_path: Path) -> None:
    path = _edited(tmp_path, [{"text": "do you gift wrap?", "intent": "gift_wrap", "language": ""},
                              {"text": "可以包装成礼物吗", "intent": "gift_wrap", "language": ""}])
    loaded = load_intents(path)
    assert loaded.loc[loaded["intent"] == "gift_wrap", "language"].tolist() == ["en", "zh"]


@pytest.mark.parametrize(("row", "message"), [
    ({"text": "", "intent": "account", "language": "en"}, "row 242, column 'text': empty text"),
    ({"text": "hello there", "intent": "Order Status", "language": "en"}, "row 242, column 'intent'"),
    ({"text": "bonjour", "intent": "account", "language": "fr"}, "row 242, column 'language'"),
    ({"text": "Where is my order?", "intent": "complaint", "language": "en"}, "also on row 2"),
    ({"text": "one lonely example", "intent": "lonely", "language": "en"}, "has 1 example"),
])
def test_a_bad_edited_file_names_its_row_and_column(tmp_path: Path, row: dict[str, str], message: str) -> None:
    with pytest.raises(InputError, match=message.replace("(", r"\(").replace(")", r"\)")):
        load_intents(_edited(tmp_path, [row]))


def test_the_default_file_is_copied_once_and_a_shop_edit_is_kept(tmp_path: Path) -> None:
    target = ensure_intents_file(tmp_path / "assistant" / "intents.csv")
    pd.testing.assert_frame_equal(load_intents(target), default_intents())
    target.write_text("text,intent,language\nhi,greet,en\nhello,greet,en\n", encoding="utf-8")
    assert load_intents(ensure_intents_file(target))["intent"].tolist() == ["greet", "greet"]


def test_a_missing_column_is_named(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="missing column 'intent'"):
        load_intents(_edited(tmp_path, [], columns=("text", "language")))


def test_routes_english_and_chinese(router: IntentRouter) -> None:
    texts = ["where the heck is my parcel, ordered it 5 days ago", "I'd like to send these boots back for a refund",
             "我的快递怎么还没到", "这个订单我要取消", "转人工", "can I pay with apple pay?"]
    routed = router.route(texts)
    assert list(routed.columns) == ["text", "intent", "confidence", "handoff", "language"]
    assert routed["intent"].tolist() == ["order_status", "return_refund", "order_status", "cancel_order",
                                         "human_handoff", "payment_invoice"]
    assert routed["language"].tolist() == ["en", "en", "zh", "zh", "zh", "en"]
    assert ((routed["confidence"] > 0) & (routed["confidence"] <= 1)).all()


def test_held_out_accuracy_is_far_above_chance(router: IntentRouter) -> None:
    held = pd.read_csv(HELD_OUT, dtype=str)
    routed = router.route(held["text"].tolist())
    for language in ("en", "zh"):
        mine = (held["language"] == language).to_numpy()
        assert (routed["intent"].to_numpy()[mine] == held["intent"].to_numpy()[mine]).mean() > 0.8


def test_below_the_threshold_it_hands_off_and_never_guesses(router: IntentRouter) -> None:
    texts = ["my order", "qwpoeiru zxmcnv", "我想问一下"]
    confidence = router.route(texts)["confidence"].to_numpy()
    strict = copy.copy(router)
    strict.threshold_ = float(confidence.max()) + 1e-6
    routed = strict.route(texts)
    assert routed["handoff"].all() and (routed["intent"] == HANDOFF).all()
    np.testing.assert_allclose(routed["confidence"], confidence, rtol=1e-5)


def test_save_and_load_predict_the_same(router: IntentRouter, tmp_path: Path) -> None:
    texts = ["has my order shipped", "发票怎么开", "tell me a joke", "the box arrived crushed"]
    before = router.route(texts)
    loaded = IntentRouter.load(router.save(tmp_path / "router"))
    pd.testing.assert_frame_equal(loaded.route(texts), before)
    assert loaded.get_params() == router.get_params()
    assert json.loads((tmp_path / "router" / "router.json").read_text())["classes"] == sorted(INTENTS)


def test_threshold_rule_weighs_in_scope_hits_against_out_of_scope_found() -> None:
    confidence = np.array([0.9, 0.8, 0.3, 0.2, 0.6])
    correct = np.array([True, True, True, False, False])
    is_oos = np.array([False, False, False, False, True])
    nothing_oos = np.zeros(5, bool)
    # keeping all: 3 in-scope hits, the out-of-scope text (0.6) kept; from 0.8 on: 2 hits and it is found
    assert choose_threshold(confidence, nothing_oos, correct, is_oos) == 0.0  # 3 vs 2 + 1: no gain, no hand-off
    assert choose_threshold(confidence, nothing_oos, correct, is_oos, oos_weight=3.0) == pytest.approx(0.8)
    # labelled out of scope, it is found at any threshold: keeping everything is best
    assert choose_threshold(confidence, np.array([0, 0, 0, 0, 1], bool), correct, is_oos, oos_weight=3.0) == 0.0


def test_unfitted_and_bad_parameters_are_clear_errors() -> None:
    with pytest.raises(InputError, match="not fitted"):
        IntentRouter().predict(["hi"])
    with pytest.raises(InputError, match="threshold"):
        IntentRouter(threshold=1.5).fit(["a", "b"], ["x", "y"])
    with pytest.raises(InputError, match="one string"):
        IntentRouter().fit("where is my order", ["order_status"])
    fixed = IntentRouter(encoder="minilm", threshold=0.5).fit(["where is my order", "has it shipped", "refund me",
                                                               "I want my money back"],
                                                              ["order_status"] * 2 + ["return_refund"] * 2)
    assert fixed.threshold_ == 0.5 and fixed.classes_ == ["order_status", "return_refund"]


def test_few_real_clinc_intents_with_out_of_scope() -> None:
    data = json.loads(shared_path("clinc150", "data_full.json").read_text(encoding="utf-8"))
    keep = {"balance", "freeze_account", "pay_bill", "translate", "weather"}
    train = [(t, i) for t, i in data["train"] if i in keep]
    train = [row for k in sorted(keep) for row in [r for r in train if r[1] == k][:10]]
    val = [r for r in data["val"] if r[1] in keep] + data["oos_val"][:30]
    test = [r for r in data["test"] if r[1] in keep]
    router = IntentRouter(encoder="minilm").fit([t for t, _ in train], [i for _, i in train],
                                                validation=([t for t, _ in val], [i for _, i in val]))
    predicted = np.array(router.predict([t for t, _ in test]))
    assert (predicted == np.array([i for _, i in test])).mean() > 0.85
    oos = router.out_of_scope_score([t for t, _ in data["oos_test"][:100]])
    inscope = router.out_of_scope_score([t for t, _ in test])
    assert np.median(oos) > np.median(inscope)
    assert OUT_OF_SCOPE not in router.classes_


def test_evaluate_gives_records_beside_the_minilm_baseline(router: IntentRouter) -> None:
    held = pd.read_csv(HELD_OUT, dtype=str, keep_default_na=False)
    sample = pd.concat([held[held["language"] == lang].iloc[::8] for lang in ("en", "zh")], ignore_index=True)
    records = router.evaluate(sample, variant="sample")
    by = {r.model: r for r in records}
    assert {r.role for r in records} == {"ours", "baseline"} and by["intent_router"].dataset == "shop_intents"
    ours, base = by["intent_router"].metrics, by["minilm_logreg"].metrics
    assert set(ours) == {"accuracy", "handoff_rate", "accuracy_en", "accuracy_zh"}
    assert ours["accuracy_zh"] > base["accuracy_zh"] + 0.3  # MiniLM cannot read Chinese; the default encoders can
