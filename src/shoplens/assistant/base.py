"""The customer-service assistant: route the question, look up the customer's own order or retrieve evidence from
the shop's knowledge, and reply with citations, in the customer's language.

```python
import shoplens as sl
from shoplens.assistant import Assistant

ws = sl.Workspace.open("shop")
assistant = Assistant().fit(ws)                     # builds ws/assistant/model/ (intents, evidence index)
reply = assistant.ask("Is the kettle dishwasher safe?")
reply.text                 # "Here is what I found:\n“Yes, the lid and filter are dishwasher safe.” [qa:812]"
reply.citations[0]         # Citation(evidence_id="qa:812", kind="qa", …)
assistant.ask("where is my order 1042?", customer_id="C000042").order   # the customer's own order only
```

The workspace's ``assistant/`` folder holds what a shop edits — ``intents.csv`` (example utterances per intent,
English and Chinese; copied from the default set on the first fit) and ``policies/*.md`` (returns, shipping …) —
and ``model/``, what :meth:`Assistant.fit` builds (replaced whole or not at all).

A reply (:class:`Reply`) is one of: an order status (order intents, for the authenticated customer only), an
extractive answer quoting cited evidence (with a yes/no verdict only when the evidence gives one), a hand-off to the
shop's team (low intent confidence, a complaint, a request for a person, a language it does not speak), or a polite
out-of-scope note. It never answers from anything but the evidence it cites.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
import shutil
from collections.abc import Callable
from dataclasses import KW_ONLY, asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np
import pandas as pd

from shoplens._files import replace_folder
from shoplens.assistant.answer import Citation, citations_of, extractive_reply, phrase, reply_language
from shoplens.assistant.knowledge import MAX_REVIEWS_PER_PRODUCT, knowledge_passages
from shoplens.assistant.orders import lookup_order, order_references
from shoplens.assistant.retrieval import MAX_QUESTION_CHARS  # what the assistant reads is what retrieval reads
from shoplens.assistant.verdict import is_yes_no_question
from shoplens.base import Estimator, json_safe
from shoplens.errors import InputError, NotFound
from shoplens.text.language import detect_language

if TYPE_CHECKING:
    from shoplens.assistant.generate import ReplyGenerator
    from shoplens.workspace import Workspace

FOLDER = "assistant"
MODEL_DIR = "model"
SETTINGS_FILE = "assistant.json"
INTENTS_FILE = "intents.csv"
SPOKEN = ("en", "zh")
# Intents the router knows (the default set's labels) and what the assistant does with each.
ORDER_INTENTS = ("order_status", "cancel_order", "return_refund")
HANDOFF_INTENTS = ("human_handoff", "complaint")
OUT_OF_SCOPE = "out_of_scope"
# A follow-up leans on the previous question ("and in blue?", "what about the large one", "那蓝色的呢").
_FOLLOW_UP = re.compile(r"^\s*(?:and|or|what about|how about|also|same|then)\b|^\s*(?:那|还有|那么|这个|那个)"
                        r"|呢\s*[?？]?\s*$", re.IGNORECASE)
MAX_FOLLOW_UP_WORDS = 6
MAX_VALIDATION = 2_000  # past questions that learn the fusion weights and the answer confidence
MIN_CALIBRATION = 20
MIN_FUSION_QUESTIONS = 50


@dataclass
class Reply:
    """The assistant's answer to one question, with everything needed to show and audit it."""

    question: str
    text: str
    language: str
    kind: str  # "answer", "order", "handoff", "out_of_scope", "sign_in"
    intent: str | None = None
    intent_confidence: float | None = None
    confidence: float | None = None  # how sure the evidence answers the question (answers only)
    verdict: str | None = None  # "yes" / "no" when the evidence says so
    citations: list[Citation] = field(default_factory=list)
    handoff: bool = False
    order: dict[str, Any] | None = None
    context: str | None = None  # the text retrieval read (the question, joined to the previous one for a follow-up)
    generation: dict[str, Any] | None = None  # generative mode: the model's reply, the check, timings (generate.py)

    def to_dict(self) -> dict[str, Any]:
        return json_safe({**asdict(self), "citations": [c.to_dict() for c in self.citations]})


def check_question(question: Any) -> str:
    """A question the assistant can read: text, not blank, at most :data:`MAX_QUESTION_CHARS` characters."""
    if not isinstance(question, str):
        raise InputError(f"question must be text, not {type(question).__name__}")
    text = question.strip()
    if not text:
        raise InputError("question is empty")
    if len(text) > MAX_QUESTION_CHARS:
        raise InputError(f"question is {len(text):,} characters long; at most {MAX_QUESTION_CHARS:,} are read")
    return text


def follow_up_context(question: str, history: list[str] | None) -> str:
    """The text to retrieve with: a short follow-up ("and in blue?") joined to the previous question, else the
    question itself."""
    if not history:
        return question
    if _FOLLOW_UP.search(question) and len(question.split()) <= MAX_FOLLOW_UP_WORDS:
        return f"{history[-1].strip()} {question}"
    return question


@dataclass(eq=False, repr=False)
class Assistant(Estimator):
    """The shop's customer-service assistant. Parameters only here; :meth:`fit` builds ``ws/assistant/model/``."""

    registry_name: ClassVar[str] = "assistant"
    capability: ClassVar[str] = "assistant"

    _: KW_ONLY
    evidence: int = 5  # citations shown with an answer
    quote_from: int = 1  # citations whose sentences the reply quotes
    reviews_per_product: int = MAX_REVIEWS_PER_PRODUCT  # the newest reviews of a product whose sentences are indexed
    seed: int = 0

    # -- fitting ------------------------------------------------------------------------------------------------
    def fit(self, ws: Workspace) -> Assistant:
        """Learn the shop's intents (``assistant/intents.csv``) and index its knowledge (Q&A, reviews, catalog,
        policy pages) into ``ws/assistant/model/``."""
        from shoplens.assistant.intents import IntentRouter
        from shoplens.assistant.retrieval import EvidenceRetriever
        from shoplens.assistant.verdict import YesNoVerdict

        examples = shop_intents(ws)
        passages = knowledge_passages(ws, reviews_per_product=self.reviews_per_product)
        if passages.empty:
            raise InputError("nothing to answer from: the workspace has no Q&A, reviews, products or policy pages")
        router = IntentRouter(seed=self.seed).fit(examples["text"].tolist(), examples["intent"].tolist())
        validation = validation_questions(passages)
        # weights learned on a handful of questions would be noise: below MIN_FUSION_QUESTIONS every signal counts 1
        learn = len(validation) >= MIN_FUSION_QUESTIONS
        retriever = EvidenceRetriever(seed=self.seed).fit(passages, validation=validation if learn else None,
                                                          workspace=ws)
        calibration = AnswerConfidence().fit(retriever, validation, ws)
        verdict = YesNoVerdict().fit(**_yes_no_pairs(ws), workspace=ws)
        target = ws.path / FOLDER / MODEL_DIR

        def write(staging: Path) -> None:
            router.save(staging / "intents")
            retriever.save(staging / "retriever")
            verdict.save(staging / "verdict")
            (staging / SETTINGS_FILE).write_text(json.dumps(
                {"params": json_safe(self.get_params()), "passages": passages.groupby("kind").size().to_dict(),
                 "intents": sorted(examples["intent"].unique()), "confidence": calibration.to_dict()},
                indent=2), encoding="utf-8")
        replace_folder(target, write)
        return type(self).load(target)._attach(ws)

    def _attach(self, ws: Workspace | None) -> Assistant:
        self.workspace_ = ws
        return self

    # -- persistence ----------------------------------------------------------------------------------------------
    def save(self, path: str | Path) -> Path:
        self._check_fitted()
        return replace_folder(Path(path), lambda staging: shutil.copytree(self.folder_, staging, dirs_exist_ok=True))

    @classmethod
    def load(cls, path: str | Path, ws: Workspace | None = None) -> Assistant:
        from shoplens.assistant.intents import IntentRouter
        from shoplens.assistant.retrieval import EvidenceRetriever
        from shoplens.assistant.verdict import YesNoVerdict

        folder = Path(path)
        settings = folder / SETTINGS_FILE
        if not settings.exists():
            raise NotFound(f"no assistant in {folder}; train one with `shoplens assistant train`")
        state = json.loads(settings.read_text(encoding="utf-8"))
        model = cls.from_saved_params(state["params"])
        model.folder_ = folder
        model.passages_ = state["passages"]
        model.confidence_ = AnswerConfidence.from_dict(state.get("confidence") or {})
        model.router_ = IntentRouter.load(folder / "intents")
        model.retriever_ = EvidenceRetriever.load(folder / "retriever")
        model.verdict_ = YesNoVerdict.load(folder / "verdict")
        model.workspace_ = ws
        return model

    def _check_fitted(self) -> None:
        if not hasattr(self, "router_"):
            raise NotFound("the assistant is not trained: call fit(ws) or Assistant.load(folder)")

    # -- evaluation -----------------------------------------------------------------------------------------------
    def evaluate(self, data: Workspace, *, dataset: str | None = None, **protocol: Any) -> list[Any]:
        """Answer retrieval on the shop's own past questions (the validation quarter of its Q&A, by product; each
        question's own answer is the relevant passage, its own question withheld from the question-side signals):
        MRR@10 and Recall@10 of the assistant's ranking beside BM25 alone and the off-the-shelf dense cosine alone,
        on the same questions. In-sample for the fusion weights, which were learned on these questions."""
        from shoplens.assistant.retrieval import evidence_metrics
        from shoplens.evaluation.records import BenchmarkRecord, Protocol, workspace_dataset

        self._check_fitted()
        validation = validation_questions(self.retriever_.passages_)
        if validation.empty:
            raise InputError("no past questions with answers to evaluate on: the workspace's qa table is empty")
        signals = self.retriever_.signals(validation["question"].tolist(), withhold=validation["withhold"].tolist(),
                                          workspace=data)
        rows = {e: i for i, e in enumerate(self.retriever_.passages_["evidence_id"])}
        relevant = [[rows[e]] for e in validation["evidence_id"]]
        ranked = {"assistant": self.retriever_.fusion_.score(self.retriever_.staged(dict(signals))),
                  "bm25": signals["bm25"]}
        dense = next((name for name in signals if name.startswith("dense:")), None)
        if dense is not None:
            ranked[dense.replace(":", "-")] = signals[dense]
        notes = (f"{len(validation):,} of the shop's past questions (validation quarter by product), own answer "
                 "relevant, own question withheld; in-sample for the assistant's fusion weights")
        name = dataset or workspace_dataset(data, "assistant_answers")
        return [BenchmarkRecord.create(benchmark="assistant", dataset=name, model=model,
                                       role="ours" if model == "assistant" else "baseline",
                                       protocol=Protocol(split="random", k=10, notes=notes),
                                       metrics={m: round(v, 4) for m, v in evidence_metrics(score, relevant).items()})
                for model, score in ranked.items()]

    # -- answering ------------------------------------------------------------------------------------------------
    def ask(self, question: str, *, customer_id: str | None = None, history: list[str] | None = None,
            product_id: str | None = None, channel: str = "python", generate: bool | ReplyGenerator = False,
            on_token: Callable[[str], None] | None = None) -> Reply:
        """Answer one question. ``customer_id`` is who is asking, established by the caller (a customer token, an
        admin); ``history`` the conversation's earlier questions (for a follow-up); ``product_id`` the product page
        the question is asked on. ``generate`` (True, or a :class:`~shoplens.assistant.generate.ReplyGenerator`):
        an answer is rewritten from its evidence by a language model, streamed to ``on_token``, and kept only if
        every sentence cites retrieved evidence that supports it (else the extractive answer stays)."""
        self._check_fitted()
        text = check_question(question)
        language = detect_language(text)
        if language not in SPOKEN and language != "unknown":
            return Reply(text, phrase("language", "en"), "en", "handoff", handoff=True)
        language = reply_language(language)
        context = follow_up_context(text, history)  # "and to Canada?" is read, and routed, with the question before
        routed = self.router_.route([context]).iloc[0]
        intent, intent_confidence = str(routed["intent"]), float(routed["confidence"])
        base = {"question": text, "language": language, "intent": intent, "intent_confidence": intent_confidence}
        if bool(routed["handoff"]) or intent in HANDOFF_INTENTS:
            return Reply(**base, text=phrase("handoff", language), kind="handoff", handoff=True)
        if intent == OUT_OF_SCOPE:
            return Reply(**base, text=phrase("out_of_scope", language), kind="out_of_scope")
        if intent in ORDER_INTENTS and (order := self._order_reply(text, customer_id, base, channel)) is not None:
            return order
        reply = self._answer(text, base, context, product_id)
        if generate:
            reply = generated_reply(reply, generate, on_token)
        if intent in ORDER_INTENTS:
            reply.text += "\n" + phrase("no_reference", language)
        return reply

    def _order_reply(self, text: str, customer_id: str | None, base: dict[str, Any], channel: str) -> Reply | None:
        """An order status for the asking customer; None when the question names no order (the evidence answers:
        "can I cancel my order?" is about the shop's policy)."""
        references = order_references(text)
        language = base["language"]
        if not references:
            return None  # "can I cancel my order?": the shop's policy answers; the reply asks for the number too
        if customer_id is None:
            return Reply(**base, text=phrase("sign_in", language), kind="sign_in")
        if self.workspace_ is None:
            raise InputError("order look-ups need the workspace: Assistant.load(folder, ws)")
        status = lookup_order(self.workspace_, customer_id, references[0], channel=channel)
        if status is None:
            return Reply(**base, text=phrase("not_found", language, reference=references[0]), kind="order")
        lines = [phrase("order", language, order_id=status.order_id, order_ts=(status.order_ts or "")[:10],
                        status=status.status or "unknown")]
        if status.items:
            lines.append(phrase("order_items", language, items=", ".join(
                f"{i['quantity']} × {i['title'] or i['product_id']}" for i in status.items)))
        return Reply(**base, text="\n".join(lines), kind="order", order=status.to_dict())

    def _answer(self, text: str, base: dict[str, Any], context: str, product_id: str | None) -> Reply:
        hits = self.retriever_.search(context, k=max(self.evidence, 2), product_id=product_id)
        confidence = self.confidence_.of(hits["score"].to_numpy())
        citations = citations_of(hits.head(self.evidence))
        sure = confidence is None or confidence >= self.confidence_.threshold
        verdict = None
        if citations and sure and is_yes_no_question(text):  # a verdict only from evidence that answers
            verdict = self.verdict_.predict([text], [citations[0].text])[0].answer
        reply = extractive_reply(text, citations, base["language"], sure=sure, verdict=verdict,
                                 quote_from=self.quote_from)
        return Reply(**base, text=reply, kind="answer", confidence=confidence, verdict=verdict, citations=citations,
                     context=context if context != text else None)


def generated_reply(reply: Reply, generate: bool | ReplyGenerator, on_token: Callable[[str], None] | None) -> Reply:
    """The answer rewritten by the model where the check accepts it; else the extractive answer, with the reason in
    ``reply.generation``."""
    from shoplens.assistant.generate import ReplyGenerator, default_generator, render

    if not reply.citations:
        reply.generation = {"accepted": False, "reason": "no_evidence"}
        return reply
    generator = generate if isinstance(generate, ReplyGenerator) else default_generator()
    result = generator.generate(reply.question, reply.citations, reply.language, on_token)
    reply.generation = result.to_dict()
    if result.accepted:
        unsure = phrase("unsure", reply.language)  # the extractive answer's doubt is kept in front
        text = render(result.sentences, reply.language)
        reply.text = f"{unsure}\n{text}" if reply.text.startswith(unsure) else text
    return reply


# -- the shop's intents -------------------------------------------------------------------------------------------
def shop_intents(ws: Workspace) -> pd.DataFrame:
    """The shop's intent examples (``assistant/intents.csv``), created from the default set on first use so the
    shop can edit it; validated with errors that name the row and column."""
    from shoplens.assistant.intents import ensure_intents_file, load_intents

    return load_intents(ensure_intents_file(ws.path / FOLDER / INTENTS_FILE))


def _yes_no_pairs(ws: Workspace) -> dict[str, list[Any]]:
    """The shop's answered questions with their yes/no label where its Q&A export has one in the attributes
    (``answerType`` as Amazon's Q&A data names it, and the other keys :func:`label_from_attributes` reads), grouped
    by product so that the verdict's threshold is chosen on held-out products; without labels the verdict keeps its
    lead-word rules."""
    from shoplens.assistant.verdict import label_from_attributes

    frame = ws.sql("SELECT qa_id, product_id, question, answer, attributes FROM qa "
                   "WHERE question IS NOT NULL AND answer IS NOT NULL ORDER BY qa_id")
    return {"questions": frame["question"].tolist(), "evidence": frame["answer"].tolist(),
            "labels": [label_from_attributes(a) for a in frame["attributes"]],
            "groups": frame["product_id"].fillna(frame["qa_id"]).astype(str).tolist()}


def validation_questions(passages: pd.DataFrame) -> pd.DataFrame:
    """The shop's past questions that check the retriever: a quarter of the Q&A passages (by a hash of the product,
    or of the passage where it has none), each question's relevant evidence its own answer, its own question
    withheld from the question-side signals; at most :data:`MAX_VALIDATION` of them."""
    qa = passages[(passages["kind"] == "qa") & passages["question"].notna()]
    key = qa["product_id"].where(qa["product_id"].notna(), qa["evidence_id"]).astype(str)
    chosen = qa[key.map(lambda k: int(hashlib.sha256(("val:" + k).encode()).hexdigest(), 16) % 4 == 0)]
    chosen = chosen.head(MAX_VALIDATION)
    return pd.DataFrame({"question": chosen["question"].to_numpy(), "evidence_id": chosen["evidence_id"].to_numpy(),
                         "withhold": [[e] for e in chosen["evidence_id"]],
                         "product_id": chosen["product_id"].to_numpy()})


@dataclass
class AnswerConfidence:
    """How likely the best passage answers the question, from its fused score and its margin over the second
    (a logistic regression fitted on the validation questions: was the top passage the question's own answer?).
    Below ``threshold`` (0.5) the reply says it is not sure. Without enough validation questions: unknown (None)."""

    coef: list[float] = field(default_factory=list)
    intercept: float = 0.0
    threshold: float = 0.5
    questions: int = 0
    accuracy_at_1: float | None = None

    def fit(self, retriever: Any, validation: pd.DataFrame, ws: Workspace) -> AnswerConfidence:
        from sklearn.linear_model import LogisticRegression

        if len(validation) < MIN_CALIBRATION:
            return self
        scores = retriever.scores(validation["question"].tolist(), withhold=validation["withhold"].tolist(),
                                  workspace=ws)
        top = np.argsort(-scores, axis=1)[:, :2]
        ids = retriever.passages_["evidence_id"].to_numpy()
        correct = ids[top[:, 0]] == validation["evidence_id"].to_numpy()
        features = _confidence_features(np.take_along_axis(scores, top, axis=1))
        self.questions, self.accuracy_at_1 = len(validation), round(float(correct.mean()), 4)
        if correct.all() or not correct.any():
            return self
        model = LogisticRegression().fit(features, correct)
        self.coef, self.intercept = model.coef_[0].tolist(), float(model.intercept_[0])
        return self

    def of(self, ranked_scores: np.ndarray) -> float | None:
        """The confidence of a ranked hit list's scores (best first)."""
        if not self.coef or len(ranked_scores) == 0:
            return None
        pair = np.array([[ranked_scores[0], ranked_scores[1] if len(ranked_scores) > 1 else ranked_scores[0]]])
        z = float(_confidence_features(pair)[0] @ np.array(self.coef) + self.intercept)
        return 1.0 / (1.0 + math.exp(-z))

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> AnswerConfidence:
        return cls(**values)


def _confidence_features(top_two: np.ndarray) -> np.ndarray:
    """The best fused score and its margin over the second."""
    return np.column_stack([top_two[:, 0], top_two[:, 0] - top_two[:, 1]])
