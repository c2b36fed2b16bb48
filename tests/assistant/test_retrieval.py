"""EvidenceRetriever with the real packaged MiniLM and tantivy BM25 on a small English and Chinese knowledge base."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from shoplens.assistant.retrieval import EvidenceRetriever, check_passages, evidence_metrics
from shoplens.errors import InputError, NotFound

PASSAGES = pd.DataFrame([
    ("qa:1", "Yes, it fits under a standard 30 inch cabinet with room to spare.", "qa", "B001", "en",
     "Will this range hood fit under a 30 inch cabinet?"),
    ("qa:2", "The filter is dishwasher safe; I wash mine every month.", "qa", "B001", "en",
     "Can the grease filter go in the dishwasher?"),
    ("qa:3", "It draws about 1500 watts on the high setting.", "qa", "B002", "en",
     "How many watts does this space heater use?"),
    ("qa:4", "No, the heater has no remote control, only the knob on top.", "qa", "B002", "en",
     "Does it come with a remote?"),
    ("review:7#1", "The ice maker makes a full bin of ice overnight, very quiet.", "review", "B003", "en", None),
    ("product:B003", "Countertop ice maker, 26 lb per day, stainless steel.", "product", "B003", "en", None),
    ("qa:5", "可以，这款电水壶是304不锈钢内胆，烧水很快。", "qa", "B004", "zh", "电水壶的内胆是什么材质？"),
    ("policy:returns.md#refunds", "Refunds are issued to the original payment method within 5 business days "
     "after we receive the returned item.", "policy", None, "en", None),
    ("policy:returns.md#zh", "收到商品后30天内可以申请退货，退款在5个工作日内原路退回。", "policy", None, "zh", None),
], columns=["evidence_id", "text", "kind", "product_id", "language", "question"])


@pytest.fixture(scope="module")
def retriever() -> EvidenceRetriever:
    return EvidenceRetriever().fit(PASSAGES)


@pytest.mark.parametrize(("question", "expected"), [
    ("is the grease filter dishwasher safe?", "qa:2"),
    ("how much power does the heater draw", "qa:3"),
    ("when do I get my refund after returning something?", "policy:returns.md#refunds"),
    ("退货退款多久到账？", "policy:returns.md#zh"),
    ("电水壶内胆是不锈钢的吗", "qa:5"),
])
def test_search_finds_the_evidence(retriever: EvidenceRetriever, question: str, expected: str) -> None:
    hits = retriever.search(question, k=3)
    assert hits["evidence_id"].iloc[0] == expected
    assert list(hits.columns[:5]) == ["evidence_id", "text", "kind", "product_id", "score"]
    assert {"bm25", "dense:minilm", "product_question:minilm"} <= set(hits.columns)
    assert hits["score"].is_monotonic_decreasing


def test_product_filter_keeps_that_product_and_general_evidence(retriever: EvidenceRetriever) -> None:
    hits = retriever.search("does it have a remote control?", k=10, product_id="B002")
    assert hits["evidence_id"].iloc[0] == "qa:4"
    assert set(hits["product_id"].dropna()) == {"B002"}
    assert set(hits["evidence_id"]) == {"qa:3", "qa:4", "policy:returns.md#refunds", "policy:returns.md#zh"}
    only = retriever.search("does it have a remote control?", k=10, product_id="B002", include_general=False)
    assert set(only["evidence_id"]) == {"qa:3", "qa:4"}
    assert retriever.search("remote?", product_id="NOPE", include_general=False).empty


def test_withheld_questions_do_not_vouch_for_their_passage(retriever: EvidenceRetriever) -> None:
    question = "Will this range hood fit under a 30 inch cabinet?"
    seen = retriever.signals([question])["product_question:minilm"][0]
    hidden = retriever.signals([question], withhold=[["qa:1"]])["product_question:minilm"][0]
    row = list(PASSAGES["evidence_id"]).index("qa:1")
    assert seen[row] == pytest.approx(1.0, abs=1e-4)  # its own question, word for word
    assert hidden[row] < 0.9  # only the product's other question (about the filter) is left


def test_save_and_load_give_the_same_ranking(retriever: EvidenceRetriever, tmp_path) -> None:
    folder = retriever.save(tmp_path / "retriever")
    loaded = EvidenceRetriever.load(folder)
    for question in ("ice maker noise", "退货"):
        a, b = retriever.search(question, k=5), loaded.search(question, k=5)
        assert list(a["evidence_id"]) == list(b["evidence_id"])
        np.testing.assert_allclose(a["score"], b["score"], rtol=1e-5)
    assert loaded.get_params() == retriever.get_params()


def test_fusion_weights_learned_on_validation_questions() -> None:
    validation = pd.DataFrame({"question": ["grease filter in the dishwasher?", "heater wattage?",
                                            "how long until the refund arrives"],
                               "evidence_id": ["qa:2", "qa:3", "policy:returns.md#refunds"]})
    model = EvidenceRetriever().fit(PASSAGES, validation=validation)
    assert model.reranker_ is None  # no training questions: no reranker
    assert model.notes_["validation_questions"] == 3
    scores = model.scores(validation["question"].tolist())
    assert evidence_metrics(scores, [[1], [2], [7]], k=1)["mrr@1"] == 1.0


def test_bad_input_is_refused_or_handled(retriever: EvidenceRetriever) -> None:
    for question in ("", "   ", None, 42):
        with pytest.raises(InputError):
            retriever.search(question)  # type: ignore[arg-type]
    long = "Does the filter go in the dishwasher? " * 270  # ~10,000 characters
    assert len(long) > 10_000
    assert retriever.search(long, k=1)["evidence_id"].iloc[0] == "qa:2"
    with pytest.raises(InputError):
        retriever.search("filter", k=0)
    with pytest.raises(InputError, match="withhold names evidence"):
        retriever.signals(["filter"], withhold=[["qa:999"]])


def test_bad_passages_are_refused() -> None:
    with pytest.raises(InputError, match="evidence_id"):
        check_passages(PASSAGES.drop(columns="evidence_id"))
    with pytest.raises(InputError, match="repeated"):
        check_passages(pd.concat([PASSAGES, PASSAGES.head(1)]))
    with pytest.raises(InputError, match="no text"):
        check_passages(PASSAGES.assign(text=["", *PASSAGES["text"][1:]]))
    with pytest.raises(InputError, match="kind"):
        check_passages(PASSAGES.assign(kind="blog"))
    with pytest.raises(NotFound):
        EvidenceRetriever().search("anything")


def test_metrics_count_ties_pessimistically() -> None:
    scores = np.array([[0.9, 0.5, 0.5, 0.1], [0.2, 0.8, 0.8, 0.8]])
    found = evidence_metrics(scores, [[1], [0, 3]], k=3)
    assert found["mrr@3"] == pytest.approx((1 / 3 + 1 / 3) / 2)  # a tie ranks ahead of the relevant passage
    assert found["recall@3"] == pytest.approx((1 + 0.5) / 2)  # second question: row 3 at rank 3, row 0 at 4
    assert evidence_metrics(scores, [[1], [0, 3]], k=2) == {"mrr@2": 0.0, "recall@2": 0.0}


def test_a_fine_tuned_encoder_joins_only_if_it_wins_on_validation(retriever: EvidenceRetriever) -> None:
    from shoplens.text import models

    validation = pd.DataFrame({"question": ["grease filter in the dishwasher?", "heater wattage?"],
                               "evidence_id": ["qa:2", "qa:3"]})
    # the packaged MiniLM itself as the "fine-tuned" encoder: it cannot beat itself, so it is left out
    same = retriever.with_fine_tuned(models.minilm_path(), validation)
    assert same.tuned_folder_ is None and "tuned" not in same.signal_names()
    assert same.notes_["tuned_validation_mrr"]["tuned"] <= same.notes_["tuned_validation_mrr"]["off_the_shelf"]
    assert "tuned" not in retriever.vectors_  # the original is left as it was
    with pytest.raises(NotFound):
        retriever.with_fine_tuned("/nonexistent/encoder", validation)
