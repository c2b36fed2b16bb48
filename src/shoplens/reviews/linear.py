"""Linear review classifiers: the two baselines of every evaluation, and the stacked blend built from them.

- :class:`TfidfLogReg` — TF-IDF n-grams (words for English, characters for Chinese) + logistic regression;
- :class:`EmbeddingLogReg` — frozen pretrained sentence embeddings (:mod:`shoplens.text`) + logistic regression;
- :class:`StackedClassifier` — members fitted on the training split, blended by a logistic regression over
  their log-probabilities fitted on the validation split (never on test).

All share the surface of :class:`shoplens.text.classifier.TransformerClassifier`:
``fit(texts, labels, class_names=, validation=)``, ``predict_proba``, ``predict``.
"""

from __future__ import annotations

import os
import pickle
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from shoplens.errors import InputError, NotFound
from shoplens.text.encoder import check_texts

if TYPE_CHECKING:
    from shoplens.workspace import Workspace

MODEL_FILE = "model.pkl"
# Confidence thresholds tried for a stack's shortcut (StackedClassifier.fit_shortcut), strictest first.
SHORTCUT_THRESHOLDS = (0.999, 0.995, 0.99, 0.98, 0.97, 0.95, 0.9, 0.85, 0.8)


class _Linear:
    class_names_: list[str]

    def predict(self, texts: Sequence[str]) -> np.ndarray:
        return self.predict_proba(texts).argmax(1)

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:  # pragma: no cover - overridden
        raise NotImplementedError

    def _classes(self, labels: Sequence[int], class_names: Sequence[str] | None) -> np.ndarray:
        y = np.asarray(labels, dtype=np.int64)
        if y.size == 0:
            raise InputError("no training texts")
        self.class_names_ = [str(c) for c in (class_names or range(int(y.max()) + 1))]
        if len(np.unique(y)) < 2:
            raise InputError(f"training labels hold a single class ({self.class_names_[int(y[0])]}); need two or more")
        return y

    def _full_proba(self, estimator: Any, features: Any) -> np.ndarray:
        """Probabilities over every class name, also those absent from the training labels."""
        out = np.zeros((features.shape[0], len(self.class_names_)))
        out[:, estimator.classes_] = estimator.predict_proba(features)
        return out

    def save(self, folder: str | os.PathLike) -> Path:
        target = Path(folder)
        target.mkdir(parents=True, exist_ok=True)
        state = {k: v for k, v in vars(self).items() if k not in ("_encoder", "workspace")}
        with open(target / MODEL_FILE, "wb") as handle:
            pickle.dump((type(self).__name__, state), handle)
        return target

    @classmethod
    def load(cls, folder: str | os.PathLike, fine_tuned: Any = None) -> Any:
        path = Path(folder) / MODEL_FILE
        if not path.exists():
            raise NotFound(f"{folder} holds no saved linear review model ({MODEL_FILE} missing)")
        with open(path, "rb") as handle:  # our own files, written by save()
            name, state = pickle.load(handle)
        if name == "StackedClassifier":
            return StackedClassifier.load_stack(Path(folder), state, fine_tuned)
        model = LINEAR_MODELS[name].__new__(LINEAR_MODELS[name])
        model.__dict__.update(state)
        return model


class TfidfLogReg(_Linear):
    """TF-IDF + logistic regression. ``analyzer="word"`` (English), ``"char"`` (Chinese, CJK) or ``"jieba"``
    (Chinese words from the jieba segmenter, n-grams of them)."""

    def __init__(self, analyzer: str = "word", ngram_range: tuple[int, int] = (1, 2), C: float = 4.0,
                 min_df: int = 2, class_weight: str | None = None, max_features: int | None = 400_000) -> None:
        self.analyzer = analyzer
        self.ngram_range = ngram_range
        self.C = C
        self.min_df = min_df
        self.class_weight = class_weight
        self.max_features = max_features

    def fit(self, texts: Sequence[str], labels: Sequence[int], *, class_names: Sequence[str] | None = None,
            validation: Any = None) -> TfidfLogReg:
        from sklearn.feature_extraction.text import TfidfVectorizer
        from sklearn.linear_model import LogisticRegression

        y = self._classes(labels, class_names)
        words: dict[str, Any] = {}
        if self.analyzer == "jieba":
            from shoplens.reviews.chinese import jieba_words

            words = {"analyzer": "word", "tokenizer": jieba_words, "token_pattern": None}
        elif self.analyzer not in ("word", "char", "char_wb"):
            raise InputError(f"analyzer must be 'word', 'char', 'char_wb' or 'jieba', not {self.analyzer!r}")
        self.vectorizer_ = TfidfVectorizer(**{"analyzer": self.analyzer, **words}, ngram_range=tuple(self.ngram_range),
                                           min_df=min(self.min_df, max(1, len(y) // 100)), sublinear_tf=True,
                                           max_features=self.max_features, lowercase=True)
        features = self.vectorizer_.fit_transform(check_texts(texts))
        self.model_ = LogisticRegression(C=self.C, max_iter=3000, class_weight=self.class_weight).fit(features, y)
        return self

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        return self._full_proba(self.model_, self.vectorizer_.transform(check_texts(texts)))


class EmbeddingLogReg(_Linear):
    """Frozen sentence embeddings + logistic regression (the encoder is loaded once per process);
    ``head="mlp"`` puts a one-hidden-layer perceptron (256 units, early stopping) there instead."""

    def __init__(self, encoder: str = "minilm", C: float = 1.0, max_length: int = 128,
                 class_weight: str | None = None, head: str = "logreg", workspace: Workspace | None = None) -> None:
        self.encoder = encoder
        self.C = C
        self.max_length = max_length
        self.class_weight = class_weight
        self.head = head
        self.workspace = workspace

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        if getattr(self, "_encoder", None) is None:
            from shoplens.text import load_encoder

            self._encoder = load_encoder(self.encoder, max_length=self.max_length)
        return self._encoder.encode(check_texts(texts), batch_size=64, workspace=getattr(self, "workspace", None))

    def fit(self, texts: Sequence[str], labels: Sequence[int], *, class_names: Sequence[str] | None = None,
            validation: Any = None) -> EmbeddingLogReg:
        from sklearn.linear_model import LogisticRegression

        y = self._classes(labels, class_names)
        if getattr(self, "head", "logreg") == "mlp":
            from sklearn.neural_network import MLPClassifier

            head = MLPClassifier(hidden_layer_sizes=(256,), early_stopping=True, random_state=0, max_iter=200)
        elif getattr(self, "head", "logreg") == "logreg":
            head = LogisticRegression(C=self.C, max_iter=3000, class_weight=self.class_weight)
        else:
            raise InputError(f"head must be 'logreg' or 'mlp', not {self.head!r}")
        self.model_ = head.fit(self.embed(texts), y)
        return self

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        return self._full_proba(self.model_, self.embed(texts))

    @property
    def embedding_key(self) -> tuple[str, int]:
        """What the embeddings depend on: members with the same key can share one ``embed`` call."""
        return str(self.encoder), int(self.max_length)

    def proba_of_embeddings(self, vectors: np.ndarray) -> np.ndarray:
        """Probabilities from embeddings already computed by ``embed`` (by this member or one with the same
        ``embedding_key``)."""
        return self._full_proba(self.model_, vectors)

    def __getstate__(self) -> dict[str, Any]:
        return {k: v for k, v in vars(self).items() if k not in ("_encoder", "workspace")}


class StackedClassifier(_Linear):
    """Members fitted on training texts, blended on validation texts by a logistic regression."""

    def __init__(self, members: Sequence[Any], C: float = 1.0) -> None:
        self.members = list(members)
        self.C = C

    def _member_features(self, texts: list[str]) -> np.ndarray:
        return _log_features(self._member_probas(texts))

    def _member_probas(self, texts: list[str], skip: int | None = None) -> list[np.ndarray]:
        """Each member's probabilities (all but member ``skip``). Frozen-embedding members with the same encoder
        (the Chinese stack's USE Multilingual with a logistic regression and with a perceptron) share one pass of
        the encoder: the same vectors, computed once (the encoder was two fifths of the Chinese stack's time
        without it)."""
        vectors: dict[tuple[str, int], np.ndarray] = {}
        out = []
        for i, member in enumerate(self.members):
            if i == skip:
                continue
            if isinstance(member, EmbeddingLogReg):
                key = member.embedding_key
                if key not in vectors:
                    vectors[key] = member.embed(texts)
                out.append(member.proba_of_embeddings(vectors[key]))
            else:
                out.append(member.predict_proba(texts))
        return out

    def fit(self, texts: Sequence[str], labels: Sequence[int], *, class_names: Sequence[str] | None = None,
            validation: tuple[Sequence[str], Sequence[int]] | None = None) -> StackedClassifier:
        if validation is None:
            raise InputError("a stacked classifier is blended on a validation split: pass validation=(texts, labels)")
        y = self._classes(labels, class_names)
        items = check_texts(texts)
        val_texts = check_texts(validation[0], "validation texts")
        self.member_seconds_: list[float] = []  # each member's fit, for benchmarks that report members alone
        for member in self.members:  # fine-tuned members stop early on the validation split
            started = time.perf_counter()
            member.fit(items, y, class_names=self.class_names_, validation=(val_texts, validation[1]))
            self.member_seconds_.append(time.perf_counter() - started)
        return self.reblend(val_texts, validation[1])

    def reblend(self, texts: Sequence[str], labels: Sequence[int], changed: Sequence[int] | None = None
                ) -> StackedClassifier:
        """Fit the blender on these (validation) texts. ``changed``: after a refit of only these members (their
        positions), the others' probabilities of the same texts are those of the last blend, not computed again.
        Leaves ``validation_proba_``, what ``predict_proba(texts)`` gives, for the caller's decoding
        (ReviewClassifier takes it away)."""
        from sklearn.linear_model import LogisticRegression

        self.shortcut_ = None  # a new blend is served whole until optimize_for_serving chooses a shortcut again
        items = check_texts(texts, "validation texts")
        kept = getattr(self, "validation_member_probas_", None)
        if changed is None or kept is None or len(kept[0]) != len(items):
            probas = self._member_probas(items)
        else:
            probas = [member.predict_proba(items) if i in changed else kept[i] for i, member in enumerate(self.members)]
        self.validation_member_probas_ = probas
        features = _log_features(probas)
        self.blender_ = LogisticRegression(C=self.C, max_iter=3000).fit(features, np.asarray(labels))
        self.validation_proba_ = self._full_proba(self.blender_, features)
        return self

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        items = check_texts(texts)
        shortcut = getattr(self, "shortcut_", None)
        if not shortcut or not items:
            return self._full_proba(self.blender_, self._member_features(items))
        # the texts the other members are sure of are answered by their own blend; the fine-tuned member (most of
        # the time) reads only the others
        skip = shortcut["member"]
        probas = self._member_probas(items, skip=skip)
        out = self._full_proba(shortcut["blender"], _log_features(probas))
        unsure = np.flatnonzero(out.max(1) < shortcut["threshold"])
        if unsure.size:
            skipped = self.members[skip].predict_proba([items[i] for i in unsure])
            rows = [p[unsure] for p in probas]
            out[unsure] = self._full_proba(self.blender_, _log_features([*rows[:skip], skipped, *rows[skip:]]))
        return out

    def fit_shortcut(self, texts: Sequence[str], labels: Sequence[int], *, tolerance: float,
                     thresholds: Sequence[float] = SHORTCUT_THRESHOLDS,
                     decode: Callable[[np.ndarray], np.ndarray] | None = None) -> dict[str, Any]:
        """Let the texts the other members are sure of skip the fine-tuned member (the slow one) where the
        accuracy on these (validation) texts drops by at most ``tolerance``: a blender of the other members
        (logistic regression, as the stack's), and the lowest confidence threshold of ``thresholds`` whose
        accuracy — the sure texts by that blender, the rest by the whole stack — is within ``tolerance`` of the
        whole stack's; each lower one is tried only while the higher ones passed. The threshold is chosen on the other
        members' blend predicted out of fold (5-fold), so it is not flattered by fitting on the same texts; the
        accuracies are those of ``decode`` (the serving model's tuned decoding; the most probable class when
        None). No shortcut when none passes. Returns what was seen (accuracy and skipped share per threshold)."""
        from sklearn.linear_model import LogisticRegression
        from sklearn.model_selection import cross_val_predict

        self.shortcut_ = None
        skip = self.slow_member()
        y = np.asarray(labels, dtype=np.int64)
        items = check_texts(texts)
        classes = np.unique(y)
        if skip is None or len(classes) < 2 or np.bincount(y)[classes].min() < 5:
            return {"threshold": None, "reason": "no fine-tuned member, or a class with under 5 validation texts"}
        decode = decode or (lambda probs: probs.argmax(1))
        probas = self._member_probas(items)
        full = decode(self._full_proba(self.blender_, _log_features(probas)))
        others = _log_features([p for i, p in enumerate(probas) if i != skip])
        blender = LogisticRegression(C=self.C, max_iter=3000)
        out_of_fold = np.zeros((len(y), len(self.class_names_)))
        out_of_fold[:, classes] = cross_val_predict(blender, others, y, cv=5, method="predict_proba")
        sure, cheap = out_of_fold.max(1), decode(out_of_fold)
        full_accuracy = float((full == y).mean())
        seen: dict[str, Any] = {"whole_stack_accuracy": round(full_accuracy, 4), "by_threshold": {}}
        chosen = None
        for threshold in sorted(thresholds, reverse=True):
            skipped = sure >= threshold
            accuracy = float((np.where(skipped, cheap, full) == y).mean())
            seen["by_threshold"][str(threshold)] = {"accuracy": round(accuracy, 4),
                                                    "skipped": round(float(skipped.mean()), 4)}
            if accuracy < full_accuracy - tolerance:
                break
            chosen = threshold
        if chosen is not None:
            self.shortcut_ = {"member": skip, "blender": blender.fit(others, y), "threshold": chosen}
        seen["threshold"] = chosen
        return seen

    def slow_member(self) -> int | None:
        """The position of the fine-tuned member (PyTorch or its ONNX export), if the stack has one."""
        return next((i for i, m in enumerate(self.members)
                     if type(m).__name__ in ("TransformerClassifier", "OnnxClassifier")), None)

    def save(self, folder: str | os.PathLike) -> Path:
        """Each member in ``member-<i>/`` with its own ``save``; the blender pickled beside them."""
        target = Path(folder)
        target.mkdir(parents=True, exist_ok=True)
        kinds = []
        for i, member in enumerate(self.members):
            member.save(target / f"member-{i}")
            kinds.append(type(member).__name__)
        with open(target / MODEL_FILE, "wb") as handle:
            pickle.dump(("StackedClassifier", {"C": self.C, "class_names_": self.class_names_,
                                               "blender_": self.blender_, "member_kinds": kinds,
                                               "shortcut_": getattr(self, "shortcut_", None)}), handle)
        return target

    @classmethod
    def load_stack(cls, folder: Path, state: dict[str, Any], fine_tuned: Any = None) -> StackedClassifier:
        """``fine_tuned``: a model to use in place of the fine-tuned member (its ONNX export, for serving)."""
        model = cls.__new__(cls)
        model.C, model.class_names_, model.blender_ = state["C"], state["class_names_"], state["blender_"]
        model.shortcut_ = state.get("shortcut_")  # absent in stacks saved before the shortcut existed
        model.members = [fine_tuned if fine_tuned is not None and kind == "TransformerClassifier"
                         else load_member(folder / f"member-{i}", kind) for i, kind in enumerate(state["member_kinds"])]
        return model

    def with_member(self, old: Any, new: Any) -> StackedClassifier:
        """A copy whose member ``old`` is replaced by ``new`` (same classes, same blender)."""
        model = StackedClassifier.__new__(StackedClassifier)
        model.__dict__.update(self.__dict__)
        model.members = [new if m is old else m for m in self.members]
        return model

    def fine_tuned_member(self) -> Any:
        from shoplens.text.classifier import TransformerClassifier

        return next((m for m in self.members if isinstance(m, TransformerClassifier)), None)


def _log_features(probas: Sequence[np.ndarray]) -> np.ndarray:
    """The blenders' features: the members' log-probabilities side by side."""
    return np.hstack([np.log(np.clip(p, 1e-6, 1)) for p in probas])


LINEAR_MODELS: dict[str, type[_Linear]] = {c.__name__: c for c in (TfidfLogReg, EmbeddingLogReg, StackedClassifier)}


def load_member(folder: Path, kind: str) -> Any:
    """A saved classifier of any kind: linear, fine-tuned (PyTorch) or exported (ONNX)."""
    if kind in LINEAR_MODELS:
        return _Linear.load(folder)
    if kind == "CharNetClassifier":
        from shoplens.reviews.chinese import CharNetClassifier

        return CharNetClassifier.load(folder)
    from shoplens.text.classifier import OnnxClassifier, TransformerClassifier

    if kind == "TransformerClassifier":
        return TransformerClassifier.load(folder)
    if kind == "OnnxClassifier":
        return OnnxClassifier.load(folder)
    raise NotFound(f"{folder}: unknown classifier kind {kind!r}")
