"""Answer retrieval over the shop's knowledge: which evidence passages answer a customer's question.

```python
from shoplens.assistant.retrieval import EvidenceRetriever

retriever = EvidenceRetriever().fit(passages)          # evidence_id, text[, kind, product_id, language, question]
hits = retriever.search("does it fit a 30 inch cabinet?", k=5, product_id="B00X")
hits[["evidence_id", "score"]]                           # best first, with each signal beside the fused score
retriever.save(folder); same = EvidenceRetriever.load(folder)
```

Passages come from the knowledge builder (Q&A answers, review sentences, catalog text, policy sections); this
module knows nothing of a workspace. Every passage is scored by several **signals**, each a ``(questions,
passages)`` matrix:

- ``bm25``: BM25 of the passage text (tantivy through :mod:`shoplens.search.index`: jieba for Chinese, stemming);
- ``dense:<encoder>``: cosine of question and passage text, one per encoder in ``encoders``;
- ``tuned``: the same cosine with an encoder fine-tuned contrastively on the shop's own question → evidence pairs
  (:func:`shoplens.search.finetune.fine_tune`: in-batch negatives, no product twice per batch, one mined hard
  negative) — kept only when it beats the first off-the-shelf encoder on the validation questions;
- product-level signals, because a question that resembles *other* questions about a product is about that
  product: ``product_question:<encoder>`` (the best cosine between the question and the questions already asked
  about the passage's product — a Q&A passage carries its ``question``; other passages stand for themselves) and
  ``product_question_bm25`` (the same with BM25). Added linearly they hurt on Amazon Q&A (a flat boost to every
  answer of a likely product); the reranker uses them through the product's rank.

Three stages, each earning its place on validation questions (naive equal-weight reciprocal rank fusion lost to
the dense model alone on Amazon Q&A, 0.237 vs 0.275 MRR@10):

1. **first stage** — the off-the-shelf signals fused by :class:`shoplens.search.fusion.LinearFusion` (per-question
   z-scores, weights learned on the validation questions by coordinate ascent on MRR@10);
2. **reranker** — a LightGBM LambdaRank model over the first stage's top ``candidates``, trained on the training
   questions, with features a linear fusion cannot express (the product's rank by each product-level signal, the
   gap to the best cosine, the passage's length and kind, its product's size …); setting chosen on validation;
3. **final fusion** — first stage, reranker and, where it beats off-the-shelf on validation, the fine-tuned cosine,
   by weights learned on validation.

Without validation questions every signal gets weight 1 and there is no reranker.

When the retriever is evaluated on the shop's own Q&A, a question's own pair must not vouch for itself:
``withhold`` (a list of evidence ids per question) hides those passages' *questions* from the question-side
signals; their answer text stays a candidate.
"""

from __future__ import annotations

import copy
import json
import re
import shutil
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Self

import numpy as np
import pandas as pd

from shoplens.base import Estimator
from shoplens.errors import InputError, NotFound
from shoplens.search.fusion import LinearFusion, standardize

if TYPE_CHECKING:
    from shoplens.search.index import ProductIndex
    from shoplens.text import Encoder
    from shoplens.workspace import Workspace

KINDS = ("qa", "review", "product", "policy")
MAX_QUESTION_CHARS = 2_000  # longer questions are cut here (the encoders read 256 tokens, BM25 64 terms)
# BM25 fields of the passage index: the evidence text, and the question a Q&A passage answers
TEXT_FIELD, QUESTION_FIELD = "description", "qa"
FORMAT_VERSION = 1
TUNED = "tuned"
YES_NO_STARTS = frozenset(["is", "are", "am", "does", "do", "did", "can", "could", "will", "would", "should", "has",
                           "have", "had", "was", "were", "may", "might", "must"])
_ZH_YES_NO = re.compile(r"(吗|么|是否|能否|可否|有没有|是不是|能不能|会不会)\s*[？?]?\s*$")
_VERDICT = re.compile(r"(yes|no|yep|yeah|nope|nah|not|sure|absolutely|definitely|correct)\b|(是|不|可以|能|会|有|没有)")
MIN_RERANK_QUESTIONS = 50  # fewer training questions than this teach a reranker nothing: it is left out
# LambdaRank settings compared on the validation questions (a few small forests: ~thousands of questions)
RERANK_GRID = ({"num_leaves": 7, "n_estimators": 150, "learning_rate": 0.1},
               {"num_leaves": 7, "n_estimators": 400, "learning_rate": 0.03},
               {"num_leaves": 15, "n_estimators": 300, "learning_rate": 0.05})


def clean_question(question: Any) -> str:
    """A question as the retriever reads it: a non-empty string, cut at :data:`MAX_QUESTION_CHARS`."""
    if not isinstance(question, str):
        raise InputError(f"a question must be a string, got {type(question).__name__}")
    text = " ".join(question.split())
    if not text:
        raise InputError("the question is empty")
    return text[:MAX_QUESTION_CHARS]


def is_yes_no_question(text: str) -> bool:
    """A question that asks for a verdict ("does it …?", "能…吗？"): its first word, or a Chinese particle."""
    words = text.strip().lower().split(maxsplit=1)
    return bool(words) and (words[0] in YES_NO_STARTS or bool(_ZH_YES_NO.search(text)))


def gives_verdict(text: str) -> bool:
    """A passage that opens with a yes or a no ("Yes, it fits …", "不可以 …")."""
    return bool(_VERDICT.match(text.strip().lower()))


def check_passages(passages: pd.DataFrame) -> pd.DataFrame:
    """The passages frame with its optional columns filled, or an InputError naming what is wrong."""
    if not isinstance(passages, pd.DataFrame):
        raise InputError(f"passages must be a DataFrame, got {type(passages).__name__}")
    missing = [c for c in ("evidence_id", "text") if c not in passages.columns]
    if missing:
        raise InputError(f"passages need the column(s) {', '.join(missing)}")
    if passages.empty:
        raise InputError("no passages to index")
    out = pd.DataFrame({"evidence_id": passages["evidence_id"].astype(str).to_numpy(),
                        "text": passages["text"].fillna("").astype(str).str.strip().to_numpy()})
    repeated = out["evidence_id"][out["evidence_id"].duplicated()]
    if len(repeated):
        raise InputError(f"evidence_id {repeated.iloc[0]!r} is repeated; one row per passage")
    empty = out["evidence_id"][out["text"] == ""]
    if len(empty):
        raise InputError(f"passage {empty.iloc[0]!r} has no text")
    out["kind"] = passages["kind"].fillna("qa").astype(str).to_numpy() if "kind" in passages else "qa"
    unknown = sorted(set(out["kind"]) - set(KINDS))
    if unknown:
        raise InputError(f"unknown passage kind {unknown[0]!r}; kinds are {', '.join(KINDS)}")
    product = passages["product_id"] if "product_id" in passages else pd.Series([None] * len(out))
    out["product_id"] = [None if pd.isna(p) or str(p) == "" else str(p) for p in product]
    out["language"] = passages["language"].fillna("").astype(str).to_numpy() if "language" in passages else ""
    question = passages["question"].fillna("").astype(str).str.strip() if "question" in passages else None
    # a passage that answers no recorded question stands for itself on the question side
    out["question"] = out["text"] if question is None else np.where(question.to_numpy() != "",
                                                                    question.to_numpy(), out["text"])
    return out


def evidence_metrics(scores: np.ndarray, relevant: Sequence[Sequence[int]], k: int = 10) -> dict[str, float]:
    """``mrr@k`` (1 / rank of the first relevant passage, 0 beyond k) and ``recall@k`` (share of the relevant
    passages in the top k), averaged over questions. Ties are pessimistic: a passage scored the same as a relevant
    one ranks ahead of it."""
    scores = np.where(np.isfinite(scores), scores, -np.inf)
    mrr, recall = np.zeros(len(scores)), np.zeros(len(scores))
    for i, rows in enumerate(relevant):
        rows = np.asarray(rows, dtype=np.int64)
        if not len(rows):
            raise InputError(f"question {i} has no relevant passage")
        others = np.delete(scores[i], rows)
        first = 1 + int((others >= scores[i, rows].max()).sum())
        mrr[i] = 1.0 / first if first <= k else 0.0
        ranks = np.array([(scores[i] >= scores[i, r]).sum() for r in rows])  # itself included: rank ≥ 1
        recall[i] = float((ranks <= k).mean())
    return {f"mrr@{k}": float(mrr.mean()), f"recall@{k}": float(recall.mean())}


@dataclass(eq=False, repr=False)
class EvidenceRetriever(Estimator):
    """BM25 + dense (+ fine-tuned) + product-level signals over evidence passages, fused by learned weights.

    ``encoders``: packaged text encoders (:func:`shoplens.text.load_encoder` names); the first is the
    off-the-shelf reference the fine-tuned one must beat, and the one fine-tuned. ``fine_tune``: fine-tune it on
    the training pairs given to :meth:`fit` (``epochs`` passes, ``seed``, ``learning_rate``); ``fine_tuned``: a
    folder of an already fine-tuned encoder to use instead. ``product_signals``: add the product-level signals.
    ``rerank``: train the LambdaRank reranker over the first stage's top ``candidates`` (needs training
    questions). ``depth``: how many BM25 hits per question are scored (the rest get 0)."""

    encoders: tuple[str, ...] = ("minilm",)
    fine_tune: bool = False
    fine_tuned: str | None = None
    epochs: int = 1
    seed: int = 0
    learning_rate: float = 5e-5
    product_signals: bool = True
    rerank: bool = True
    candidates: int = 100
    depth: int = 1000
    k: int = 10

    registry_name = "assistant-retrieval"
    capability = "assistant"

    # -- fitting --------------------------------------------------------------------------------------------------
    def fit(self, passages: pd.DataFrame, training: pd.DataFrame | None = None,
            validation: pd.DataFrame | None = None, *, workspace: Workspace | None = None) -> Self:
        """Index ``passages``. ``training`` (``question``, ``evidence_id``, optional ``withhold``) fine-tunes the
        encoder when asked and trains the reranker; ``validation`` (``question``, ``evidence_id`` — one id or a
        list —, optional ``withhold``) decides whether the fine-tuned encoder is used, learns the fusion weights
        and picks the reranker's setting. ``workspace`` only caches embeddings."""
        self.passages_ = check_passages(passages)
        self.row_of_ = {e: i for i, e in enumerate(self.passages_["evidence_id"])}
        self._tmp = tempfile.TemporaryDirectory(prefix="shoplens-evidence-")
        self.index_ = _build_index(self.passages_, Path(self._tmp.name) / "bm25")
        self._groups()
        self._encoders: dict[str, Encoder] = {}
        self.vectors_ = {name: self._encode(name, workspace) for name in self.encoders}
        self.question_vectors_ = {name: self._encode(name, workspace, "question") for name in self.encoders}
        self.tuned_folder_ = self._tuned_folder(training, workspace)
        if self.tuned_folder_ is not None:
            self.vectors_[TUNED] = self._encode(TUNED, workspace)
        self.notes_: dict[str, Any] = {}
        self.reranker_: Any = None
        if validation is None:
            self.first_stage_ = LinearFusion(weights=dict.fromkeys(self.signal_names(tuned=False), 1.0), k=self.k)
            self.fusion_ = LinearFusion(weights=dict.fromkeys(["first_stage", *self._tuned_names()], 1.0), k=self.k)
            self.notes_["fusion"] = "no validation questions: every signal weighted 1, no reranker"
            return self
        self._fit_stages(training, validation, workspace)
        return self

    def _groups(self) -> None:
        """Passages grouped by product (a passage without one is its own group), sorted for ``reduceat``; which
        passages open with a verdict."""
        self.verdicts_ = np.array([gives_verdict(t) for t in self.passages_["text"]], dtype=np.float32)
        keys = [p if p is not None else f"\0{e}" for p, e in zip(self.passages_["product_id"],
                                                                   self.passages_["evidence_id"], strict=True)]
        self.group_, _ = pd.factorize(pd.Series(keys), sort=False)
        self.order_ = np.argsort(self.group_, kind="stable")
        self.starts_ = np.flatnonzero(np.r_[True, np.diff(self.group_[self.order_]) != 0])

    def _encoder(self, name: str) -> Encoder:
        from shoplens.text import load_encoder

        if name not in self._encoders:
            if name == TUNED:
                self._encoders[name] = load_encoder(Path(self.tuned_folder_), max_length=128)
            else:
                self._encoders[name] = load_encoder(name)
        return self._encoders[name]

    def _query_encoder(self, name: str) -> Encoder:
        """The encoder for one question at a time: the float ONNX copy of a PyTorch encoder (the same vectors,
        about 5× faster on one short text; :func:`shoplens.text.onnx.query_encoder`)."""
        from shoplens.text.onnx import query_encoder

        key = f"query:{name}"
        if key not in self._encoders:
            self._encoders[key] = query_encoder(self._encoder(name))
        return self._encoders[key]

    def _encode(self, name: str, workspace: Workspace | None, column: str = "text") -> np.ndarray:
        return self._encoder(name).encode(self.passages_[column].tolist(), workspace=workspace)

    def _tuned_folder(self, training: pd.DataFrame | None, workspace: Workspace | None) -> str | None:
        if self.fine_tuned is not None:
            if not (Path(self.fine_tuned) / "modules.json").exists():
                raise NotFound(f"no fine-tuned encoder in {self.fine_tuned}")
            return str(self.fine_tuned)
        if not self.fine_tune:
            return None
        if training is None or training.empty:
            raise InputError("fine_tune=True needs training pairs (question, evidence_id)")
        pairs = training.explode("evidence_id")[["question", "evidence_id"]]  # one row per (question, evidence)
        return str(self.train_encoder(pairs, Path(self._tmp.name) / "tuned", workspace=workspace))

    def train_encoder(self, training: pd.DataFrame, out: Path, *, seed: int | None = None,
                      epochs: int | None = None, workspace: Workspace | None = None) -> Path:
        """Fine-tune the first encoder on (question → its evidence) pairs over the indexed passages, ``epochs``
        passes, each with its own hard negatives (another product's passage the off-the-shelf encoder ranks high
        for the question); writes a sentence-transformers folder to ``out``. ``seed`` and ``epochs`` default to
        the parameters (a fitted retriever can train several seeds' encoders from one index)."""
        from shoplens.search.finetune import fine_tune, mine_hard_negatives

        seed = self.seed if seed is None else seed
        epochs = self.epochs if epochs is None else epochs
        rows = self._evidence_rows(training["evidence_id"], "training")
        questions = [clean_question(q) for q in training["question"]]
        groups = self.group_[rows]
        base = self.encoders[0]
        question_vectors = self._encoder(base).encode(questions, workspace=workspace)
        texts = self.passages_["text"].tolist()
        schedule: list[tuple[str, str, str | None, int]] = []
        for epoch in range(epochs):
            negatives = mine_hard_negatives(question_vectors, groups, self.vectors_[base], self.group_,
                                            seed=seed + 1000 * epoch)
            schedule += [(q, texts[r], texts[n] if n >= 0 else None, int(g))
                         for q, r, n, g in zip(questions, rows, negatives, groups, strict=True)]
        queries, positives, hard, group = (list(x) for x in zip(*schedule, strict=True))
        return fine_tune(queries, positives, negatives=hard, groups=group, out=out, base=base,
                         learning_rate=self.learning_rate, seed=seed, epochs=1)

    def _evidence_rows(self, ids: Sequence[Any], what: str) -> np.ndarray:
        unknown = [e for e in ids if str(e) not in self.row_of_]
        if unknown:
            raise InputError(f"{what} names evidence {unknown[0]!r}, which is not among the passages")
        return np.array([self.row_of_[str(e)] for e in ids], dtype=np.int64)

    def _relevant(self, validation: pd.DataFrame) -> list[np.ndarray]:
        ids = [[e] if isinstance(e, str) else list(e) for e in validation["evidence_id"]]
        return [self._evidence_rows(i, "validation") for i in ids]

    def _fit_stages(self, training: pd.DataFrame | None, validation: pd.DataFrame,
                    workspace: Workspace | None) -> None:
        """First stage: the off-the-shelf signals fused by weights learned on validation. Reranker: LightGBM
        LambdaRank over the first stage's top ``candidates``, trained on the training questions (off-the-shelf
        features only: the fine-tuned encoder has seen those questions), its setting chosen on validation. Last,
        the fine-tuned cosine (only if it beats off-the-shelf on validation) joins by weights learned there."""
        relevant = self._relevant(validation)
        targets = np.array([r[0] for r in relevant])
        signals = self.signals(validation["question"].tolist(), withhold=_withhold(validation), workspace=workspace)
        if TUNED in self.vectors_:
            self._keep_tuned(signals, relevant)
        names = self.signal_names(tuned=False)
        self.first_stage_ = LinearFusion(k=self.k).fit({n: signals[n] for n in names}, targets)
        signals["first_stage"] = self.first_stage_.score(signals)
        self.notes_["first_stage_weights"] = {n: w for n, w in self.first_stage_.weights_.items() if w}
        if self.rerank and training is not None and len(training) >= MIN_RERANK_QUESTIONS:
            self._fit_reranker(training, signals, relevant, workspace)
            signals["reranker"] = self._rerank(signals)
        self._fit_final(signals, relevant)

    def _fit_final(self, signals: dict[str, np.ndarray], relevant: list[np.ndarray]) -> None:
        """The last fusion: first stage, reranker (where fitted), fine-tuned cosine (where kept)."""
        final = ["first_stage", *(["reranker"] if self.reranker_ is not None else []), *self._tuned_names()]
        targets = np.array([r[0] for r in relevant])
        self.fusion_ = LinearFusion(k=self.k).fit({n: signals[n] for n in final}, targets)
        self.notes_ |= {"weights": {n: w for n, w in self.fusion_.weights_.items() if w},
                        "validation_questions": len(relevant),
                        "validation": {n: _rounded(evidence_metrics(signals[n], relevant, self.k)) for n in final}}

    def with_fine_tuned(self, folder: str | Path, validation: pd.DataFrame, *,
                        workspace: Workspace | None = None) -> EvidenceRetriever:
        """A copy of this fitted retriever with a fine-tuned encoder (a sentence-transformers folder) added: the
        index, first stage and reranker are kept — neither reads the fine-tuned cosine —, the encoder is kept only
        if it beats off-the-shelf on ``validation``, and the final fusion is learned again there. The same model
        as ``fit`` with ``fine_tuned=folder``, without recomputing what does not change (a new fine-tuning seed,
        the shop's encoder re-trained overnight)."""
        self._check_fitted()
        model = copy.copy(self)  # shares the passages, index and off-the-shelf vectors
        model.fine_tuned, model.notes_ = str(folder), dict(self.notes_)
        model.vectors_, model._encoders = dict(self.vectors_), dict(self._encoders)
        model.vectors_.pop(TUNED, None)
        model._encoders.pop(TUNED, None)
        model.tuned_folder_ = model._tuned_folder(None, workspace)
        model.vectors_[TUNED] = model._encode(TUNED, workspace)
        relevant = model._relevant(validation)
        signals = model.staged(model.signals(validation["question"].tolist(), withhold=_withhold(validation),
                                             workspace=workspace))
        model._keep_tuned(signals, relevant)
        model._fit_final(signals, relevant)
        return model

    def _keep_tuned(self, signals: dict[str, np.ndarray], relevant: list[np.ndarray]) -> None:
        tuned = evidence_metrics(signals[TUNED], relevant, self.k)[f"mrr@{self.k}"]
        base = evidence_metrics(signals[f"dense:{self.encoders[0]}"], relevant, self.k)[f"mrr@{self.k}"]
        self.notes_["tuned_validation_mrr"] = {"tuned": round(tuned, 4), "off_the_shelf": round(base, 4)}
        if tuned <= base:
            del self.vectors_[TUNED], signals[TUNED]
            self.tuned_folder_ = None

    def _tuned_names(self) -> list[str]:
        return [TUNED] if TUNED in self.vectors_ else []

    def _fit_reranker(self, training: pd.DataFrame, validation_signals: dict[str, np.ndarray],
                      relevant: list[np.ndarray], workspace: Workspace | None) -> None:
        from lightgbm import LGBMRanker

        train_relevant = self._relevant(training)
        train = self.signals(training["question"].tolist(), withhold=_withhold(training), workspace=workspace)
        train["first_stage"] = self.first_stage_.score(train)
        X, top = self._features(train)
        y = np.stack([np.isin(row, rel) for row, rel in zip(top, train_relevant, strict=True)]).astype(np.int32)
        keep = y.any(axis=1)  # a question whose evidence is not among the candidates teaches no ordering
        X, y = X[keep].reshape(-1, X.shape[-1]), y[keep].ravel()
        results = {}
        for setting in RERANK_GRID:
            model = LGBMRanker(objective="lambdarank", random_state=self.seed, n_jobs=1, verbose=-1,
                               min_child_samples=20, subsample=0.8, subsample_freq=1, **setting)
            self.reranker_ = model.fit(X, y, group=[top.shape[1]] * int(keep.sum())).booster_
            found = evidence_metrics(self._rerank(validation_signals), relevant, self.k)
            results[json.dumps(setting)] = (found[f"mrr@{self.k}"], self.reranker_)
        chosen = max(results, key=lambda c: results[c][0])  # ties: the first (smallest) setting
        self.reranker_ = results[chosen][1]
        self.notes_["reranker"] = {"training_questions": int(keep.sum()), "of": len(training),
                                   "validation_mrr": {c: round(v[0], 4) for c, v in results.items()},
                                   "chosen": json.loads(chosen)}

    def _features(self, signals: Mapping[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
        """Per question, the first stage's top ``candidates`` rows and their features ``(questions, candidates,
        features)``: every off-the-shelf signal raw and standardised, the log rank of the passage's product by
        each product-level signal, the first stage's log rank, the gap to the best dense cosine, the passage's log
        length, its product's log passage count and its kind."""
        first = signals["first_stage"]
        depth = min(self.candidates, first.shape[1])
        top = np.argpartition(-first, depth - 1, axis=1)[:, :depth]
        top = np.take_along_axis(top, np.argsort(-np.take_along_axis(first, top, axis=1), axis=1), axis=1)
        rows = np.arange(len(top))[:, None]
        columns = []
        for name in [*self.signal_names(tuned=False), "first_stage"]:
            columns += [signals[name][rows, top], standardize(signals[name])[rows, top]]
            if name.startswith("product_"):
                columns.append(np.log(self._product_ranks(signals[name]))[rows, top])
        dense = signals[f"dense:{self.encoders[0]}"]
        columns += [np.log1p(np.arange(depth))[None, :].repeat(len(top), 0),
                    dense[rows, top] - dense.max(axis=1, keepdims=True),
                    np.log(self._rank_in_product(dense, top)),

                    np.log1p(self.passages_["text"].str.len().to_numpy())[top],
                    np.log(np.bincount(self.group_)[self.group_])[top],
                    pd.Categorical(self.passages_["kind"], categories=KINDS).codes[top]]
        X = np.stack([np.asarray(c, dtype=np.float32) for c in columns], axis=-1)
        return np.where(np.isfinite(X), X, -10.0), top

    def _rank_in_product(self, scores: np.ndarray, top: np.ndarray) -> np.ndarray:
        """Each candidate's rank (1 = best) among its own product's passages by ``scores``."""
        out = np.empty(top.shape, dtype=np.int64)
        for i, row in enumerate(scores):
            order = np.lexsort((-row, self.group_))  # by product, best first within it
            rank = np.empty(len(row), dtype=np.int64)
            rank[order] = np.arange(len(row)) - self.starts_[self.group_[order]] + 1
            out[i] = rank[top[i]]
        return out

    def _product_ranks(self, scores: np.ndarray) -> np.ndarray:
        """Each passage's product's rank (1 = best) by a product-level signal."""
        heads = self.order_[self.starts_]  # one passage per product
        per_product = np.where(np.isfinite(scores[:, heads]), scores[:, heads], -np.inf)
        order = np.argsort(-per_product, axis=1, kind="stable")
        ranks = np.empty_like(order)
        np.put_along_axis(ranks, order, np.arange(1, len(heads) + 1)[None, :].repeat(len(order), 0), axis=1)
        return ranks[:, self.group_]  # heads are in group order: column j is group j

    def _rerank(self, signals: Mapping[str, np.ndarray]) -> np.ndarray:
        """The reranker's score of the first stage's candidates; -inf elsewhere."""
        X, top = self._features(signals)
        out = np.full(signals["first_stage"].shape, -np.inf, dtype=np.float64)
        np.put_along_axis(out, top, self.reranker_.predict(X.reshape(-1, X.shape[-1])).reshape(top.shape), axis=1)
        return out

    # -- scoring ------------------------------------------------------------------------------------------------
    def signal_names(self, *, tuned: bool = True) -> list[str]:
        """The signals :meth:`signals` returns (``tuned=False``: the off-the-shelf ones)."""
        names = ["bm25", *(f"dense:{e}" for e in self.encoders)]
        names += self._tuned_names() if tuned else []
        if self.product_signals:
            names += ["product_question_bm25", *(f"product_question:{e}" for e in self.encoders)]
        return [*names, "verdict_match"]

    def signals(self, questions: Sequence[str], *, withhold: Sequence[Sequence[str]] | None = None,
                workspace: Workspace | None = None) -> dict[str, np.ndarray]:
        """Every signal as a ``(questions, passages)`` float32 matrix; ``withhold[i]`` lists evidence ids whose
        questions question ``i`` must not see (its own pair when evaluating on the shop's Q&A)."""
        self._check_fitted()
        texts = [clean_question(q) for q in questions]
        hidden = [self._evidence_rows(w, "withhold") for w in (withhold or [[]] * len(texts))]
        if len(hidden) != len(texts):
            raise InputError(f"withhold has {len(hidden)} rows for {len(texts)} questions")
        out = {"bm25": self._bm25(texts, TEXT_FIELD)}
        query_vectors = {}
        for name in self.vectors_:
            encoder = self._query_encoder(name) if len(texts) == 1 else self._encoder(name)  # a customer's question
            query_vectors[name] = encoder.encode(texts, workspace=workspace)
            out["dense:" + name if name != TUNED else TUNED] = query_vectors[name] @ self.vectors_[name].T
        asks = np.array([is_yes_no_question(t) for t in texts], dtype=np.float32)
        out["verdict_match"] = asks[:, None] * self.verdicts_[None, :]
        if self.product_signals:
            out["product_question_bm25"] = self._by_product(self._bm25(texts, QUESTION_FIELD), hidden)
            for name in self.encoders:
                sims = query_vectors[name] @ self.question_vectors_[name].T
                out[f"product_question:{name}"] = self._by_product(sims, hidden)
        return out

    def _bm25(self, texts: list[str], field: str) -> np.ndarray:
        out = np.zeros((len(texts), len(self.passages_)), dtype=np.float32)
        depth = min(self.depth, len(self.passages_))
        for i, text in enumerate(texts):
            hits = self.index_.lexical(text, k=depth, weights={field: 1.0})
            out[i, hits.rows] = hits.scores
        return out

    def _by_product(self, scores: np.ndarray, hidden: list[np.ndarray]) -> np.ndarray:
        """Each passage gets its product's best score among the product's passages whose question is not hidden
        (-inf where all are)."""
        scores = scores.astype(np.float32, copy=True)
        for i, rows in enumerate(hidden):
            scores[i, rows] = -np.inf
        best = np.maximum.reduceat(scores[:, self.order_], self.starts_, axis=1)
        return best[:, self.group_]

    def scores(self, questions: Sequence[str], *, withhold: Sequence[Sequence[str]] | None = None,
               workspace: Workspace | None = None) -> np.ndarray:
        """The fused score of every passage for each question, ``(questions, passages)``."""
        return self.fusion_.score(self.staged(self.signals(questions, withhold=withhold, workspace=workspace)))

    def staged(self, signals: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """``signals`` with the first stage's fused score and, where fitted, the reranker's added."""
        signals["first_stage"] = self.first_stage_.score(signals)
        if self.reranker_ is not None:
            signals["reranker"] = self._rerank(signals)
        return signals

    def search(self, question: str, k: int = 10, product_id: str | None = None,
               include_general: bool = True) -> pd.DataFrame:
        """The ``k`` best passages for ``question``: evidence_id, text, kind, product_id, score (fused) and each
        signal. ``product_id`` keeps that product's passages and, with ``include_general``, the passages about no
        product (policy pages); an unknown product gives only the general ones."""
        if not isinstance(k, int) or k < 1:
            raise InputError(f"k must be a positive integer, got {k!r}")
        signals = self.staged(self.signals([question]))
        fused = self.fusion_.score(signals)[0]
        keep = np.ones(len(fused), dtype=bool)
        if product_id is not None:
            products = self.passages_["product_id"]
            keep = (products == str(product_id)).to_numpy() | (include_general & products.isna().to_numpy())
        rows = np.flatnonzero(keep)
        rows = rows[np.argsort(-fused[rows], kind="stable")[:k]]
        out = self.passages_.iloc[rows][["evidence_id", "text", "kind", "product_id"]].reset_index(drop=True)
        out["score"] = fused[rows]
        for name, matrix in signals.items():
            out[name] = matrix[0, rows]
        return out

    def _check_fitted(self) -> None:
        if not hasattr(self, "index_"):
            raise NotFound("the retriever is not fitted; call fit(passages) first")

    # -- persistence ----------------------------------------------------------------------------------------------
    def save(self, path: str | Path) -> Path:
        """A folder: parameters, passages, vectors, BM25 index, fusion weights, the fine-tuned encoder if used."""
        self._check_fitted()
        folder = Path(path)
        if folder.exists():
            shutil.rmtree(folder)
        folder.mkdir(parents=True)
        self.passages_.to_parquet(folder / "passages.parquet", index=False)
        np.savez(folder / "vectors.npz", **{f"text|{n}": v for n, v in self.vectors_.items()},
                 **{f"question|{n}": v for n, v in self.question_vectors_.items()})
        shutil.copytree(self.index_.folder, folder / "bm25")
        if self.tuned_folder_ is not None:
            shutil.copytree(self.tuned_folder_, folder / "tuned")
        if self.reranker_ is not None:
            self.reranker_.save_model(str(folder / "reranker.txt"))
        state = {"format": FORMAT_VERSION, "params": self.card_params(), "first_stage": _weights(self.first_stage_),
                 "weights": _weights(self.fusion_), "notes": self.notes_}
        (folder / "retriever.json").write_text(json.dumps(state, indent=2, default=float), encoding="utf-8")
        return folder

    @classmethod
    def load(cls, path: str | Path) -> Self:
        from shoplens.search.index import ProductIndex

        folder = Path(path)
        if not (folder / "retriever.json").exists():
            raise NotFound(f"no saved evidence retriever in {folder}")
        state = json.loads((folder / "retriever.json").read_text(encoding="utf-8"))
        if state.get("format") != FORMAT_VERSION:
            raise InputError(f"{folder} holds retriever format {state.get('format')}; this version reads "
                             f"{FORMAT_VERSION}: fit and save it again")
        params = dict(state["params"], encoders=tuple(state["params"]["encoders"]))
        model = cls.from_saved_params(params)
        model.passages_ = pd.read_parquet(folder / "passages.parquet")
        model.passages_["product_id"] = model.passages_["product_id"].astype(object).where(
            model.passages_["product_id"].notna(), None)
        model.row_of_ = {e: i for i, e in enumerate(model.passages_["evidence_id"])}
        model.index_ = ProductIndex.open(folder / "bm25")
        model._groups()
        model._encoders = {}
        with np.load(folder / "vectors.npz") as arrays:
            model.vectors_ = {k.split("|", 1)[1]: arrays[k] for k in arrays.files if k.startswith("text|")}
            model.question_vectors_ = {k.split("|", 1)[1]: arrays[k] for k in arrays.files
                                       if k.startswith("question|")}
        model.tuned_folder_ = str(folder / "tuned") if (folder / "tuned").is_dir() else None
        model.first_stage_ = LinearFusion(weights=state["first_stage"], k=model.k)
        model.fusion_ = LinearFusion(weights=state["weights"], k=model.k)
        model.reranker_ = None
        if (folder / "reranker.txt").exists():
            from lightgbm import Booster

            model.reranker_ = Booster(model_file=str(folder / "reranker.txt"))
        model.notes_ = state["notes"]
        return model


def _build_index(passages: pd.DataFrame, folder: Path) -> ProductIndex:
    from shoplens.search.index import ProductIndex

    documents = pd.DataFrame({"product_id": passages["evidence_id"], TEXT_FIELD: passages["text"],
                              QUESTION_FIELD: passages["question"]})
    return ProductIndex.build(documents, folder)


def _withhold(frame: pd.DataFrame) -> list[list[str]] | None:
    if "withhold" not in frame:
        return None
    return [[] if w is None else [str(x) for x in w] for w in frame["withhold"]]


def _weights(fusion: LinearFusion) -> dict[str, float]:
    return dict(getattr(fusion, "weights_", fusion.weights))


def _rounded(metrics: Mapping[str, float]) -> dict[str, float]:
    return {name: round(value, 4) for name, value in metrics.items()}
