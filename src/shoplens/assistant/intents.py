"""The intent router: what a customer's message is about, or a hand-off to a person when it is not sure.

```python
from shoplens.assistant.intents import IntentRouter, default_intents

examples = default_intents()                      # text, intent, language: the shop's editable example set
router = IntentRouter().fit(examples["text"], examples["intent"])
router.predict(["where is my parcel?", "我要退货"])  # ['order_status', 'return_refund']
router.route(["asdf qwerty"])                     # text, intent, confidence, handoff, language
```

Method (docs/assistant-intents.md): each text is embedded by frozen pretrained encoders of :mod:`shoplens.text`
(several encoders are concatenated, each block unit length; an English-only encoder contributes to Latin-script
texts only, so Chinese texts are read by the multilingual ones); a multinomial logistic regression over the
intents sits on top. A shop writes ten examples per intent, not a thousand, so the model is small and refits in
seconds. The confidence is the calibrated probability that the best intent is right: Platt scaling of the best
logit, fitted on validation predictions when given, else on out-of-fold predictions of the examples (a confidence
of 0.9 means about nine in ten are right). Below the threshold the router never guesses: it answers the hand-off
label. ``threshold="auto"`` chooses it on the same predictions, maximising accuracy where an in-scope text counts
when given its intent and an out-of-scope text (an intent not trained, or the out-of-scope intent) counts when
handed off or labelled out of scope.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Sequence
from importlib import resources
from pathlib import Path
from typing import Any, Self

import numpy as np
import pandas as pd

from shoplens.base import Estimator, json_safe
from shoplens.errors import InputError, NotFound
from shoplens.text.encoder import check_texts, l2_normalize
from shoplens.text.language import detect_language, detect_languages

INTENTS: tuple[str, ...] = (
    "order_status", "return_refund", "shipping_delivery", "cancel_order", "payment_invoice", "account",
    "product_question", "complaint", "human_handoff", "out_of_scope",
)
HANDOFF = "human_handoff"  # a customer asking for a person, and the router's answer when it is not sure
OUT_OF_SCOPE = "out_of_scope"
COLUMNS: tuple[str, ...] = ("text", "intent", "language")
LANGUAGES: tuple[str, ...] = ("en", "zh")
DEFAULT_FILE = "default_intents.csv"
MIN_EXAMPLES = 2  # per intent: one example cannot be cross-validated, and a shop should write ten
INTENT_NAME = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
# Chosen by out-of-fold accuracy on the default examples (5 folds; docs/assistant-intents.md): e5-small +
# USE-multilingual at C=30 0.967 en / 0.967 zh, vs 0.958 / 0.933 with MiniLM added (zero for Chinese texts), 0.958 /
# 0.942 USE alone, 0.950 / 0.933 e5 alone. English-only sets (CLINC150) do better with mpnet added: see the benchmark.
DEFAULT_ENCODERS: tuple[str, ...] = ("e5-small", "use-multilingual")
DEFAULT_C = 30.0
DEFAULT_OOS_WEIGHT = 1.0
CONFIG_FILE = "router.json"
WEIGHTS_FILE = "weights.npz"
EXAMPLES_FILE = "examples.csv"
TEMPERATURES = np.exp(np.linspace(np.log(0.05), np.log(20.0), 121))


# -- the shop's intent set ------------------------------------------------------------------------------------

def default_intents() -> pd.DataFrame:
    """The default English and Chinese example utterances (text, intent, language) shipped with shoplens, which
    the assistant copies into a workspace as ``assistant/intents.csv`` for the shop to edit."""
    source = resources.files("shoplens.assistant").joinpath(DEFAULT_FILE)
    with resources.as_file(source) as path:
        return load_intents(path)


def default_intents_path() -> Path:
    """Where the packaged default file is (to copy it into a workspace)."""
    return Path(str(resources.files("shoplens.assistant").joinpath(DEFAULT_FILE)))


def ensure_intents_file(path: str | os.PathLike) -> Path:
    """The shop's editable intents file at ``path`` (e.g. ``<workspace>/assistant/intents.csv``): the default set
    is copied there when no file exists yet; a file the shop already has is left as it is."""
    import shutil

    target = Path(path)
    if not target.exists():
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(default_intents_path(), target)
    return target


def load_intents(path: str | os.PathLike) -> pd.DataFrame:
    """A shop-edited intents file (CSV with columns text, intent, language), validated: a clear error names the
    file, the row (as a spreadsheet numbers it: the header is row 1) and the column of the first problem."""
    path = Path(path)
    if not path.exists():
        raise NotFound(f"no intents file at {path}")
    try:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8")
    except (UnicodeDecodeError, pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise InputError(f"not a readable UTF-8 CSV file ({type(exc).__name__}: {exc})", file=str(path)) from None
    return validate_intents(frame, file=str(path))


def validate_intents(frame: pd.DataFrame, *, file: str = "intents") -> pd.DataFrame:
    """The examples with text and intent stripped and language filled in (detected when left empty), or an
    :class:`InputError` naming the row and column: a missing column, an empty text or intent, an intent name
    that is not lower-case ``snake_case``, a language other than en/zh, a text given twice with different
    intents, an intent with fewer than two examples."""
    missing = [c for c in ("text", "intent") if c not in frame.columns]
    if missing:
        raise InputError(f"missing column {missing[0]!r}; the columns must be {', '.join(COLUMNS)} "
                         f"(found {', '.join(map(str, frame.columns)) or 'none'})", file=file)
    out = pd.DataFrame({"text": frame["text"].astype(str).str.strip(),
                        "intent": frame["intent"].astype(str).str.strip(),
                        "language": (frame["language"].astype(str).str.strip().str.lower()
                                     if "language" in frame.columns else "")})
    for position, row in enumerate(out.itertuples(index=False)):
        _check_row(row, position + 2, file)
    out["language"] = [lang or detect_language(text) for text, lang in zip(out["text"], out["language"], strict=True)]
    _check_duplicates(out, file)
    counts = out["intent"].value_counts()
    for intent, count in counts[counts < MIN_EXAMPLES].items():
        row = int(np.flatnonzero(out["intent"].to_numpy() == intent)[0]) + 2
        raise InputError(f"intent {intent!r} has {count} example; write at least {MIN_EXAMPLES} (ten is better)",
                         file=file, row=row, column="intent")
    return out


def _check_row(row: Any, line: int, file: str) -> None:
    if not row.text or row.text == "nan":
        raise InputError("empty text", file=file, row=line, column="text")
    if not row.intent or row.intent == "nan":
        raise InputError("empty intent", file=file, row=line, column="intent")
    if not INTENT_NAME.match(row.intent):
        raise InputError(f"intent {row.intent!r} must be lower-case letters, digits and '_' (like order_status)",
                         file=file, row=line, column="intent")
    if row.language and row.language not in LANGUAGES:
        raise InputError(f"language {row.language!r} must be one of {', '.join(LANGUAGES)} (or empty to detect it)",
                         file=file, row=line, column="language")


def _check_duplicates(frame: pd.DataFrame, file: str) -> None:
    first: dict[str, tuple[int, str]] = {}
    for position, (text, intent) in enumerate(zip(frame["text"], frame["intent"], strict=True)):
        key = text.casefold()
        if key in first and first[key][1] != intent:
            row, other = first[key]
            raise InputError(f"text {text!r} is also on row {row} with intent {other!r}; one text, one intent",
                             file=file, row=position + 2, column="intent")
        first.setdefault(key, (position + 2, intent))


# -- features -------------------------------------------------------------------------------------------------

def _as_names(encoder: str | Sequence[str]) -> tuple[str, ...]:
    names = (encoder,) if isinstance(encoder, str) else tuple(encoder)
    if not names:
        raise InputError("encoder must name at least one encoder")
    return names


_LOADED: dict[str, Any] = {}


def shared_encoder(name: str) -> Any:
    """A packaged encoder loaded once per process: routers refitted after a shop edits its intents (and the
    service's routers) share the weights instead of loading them again."""
    if name not in _LOADED:
        from shoplens.text import load_encoder

        _LOADED[name] = load_encoder(name)
    return _LOADED[name]


class Features:
    """Concatenated embeddings of several encoders, loaded on first use, optionally cached on disk
    (``cache_dir/<model id>/``, keyed by the text's hash) so that a benchmark's reruns embed nothing twice."""

    def __init__(self, names: Sequence[str], cache_dir: str | os.PathLike | None = None) -> None:
        self.names = tuple(names)
        self.cache_dir = Path(cache_dir).expanduser() if cache_dir else None
        self._encoders: dict[str, Any] = {}
        self._caches: dict[str, Any] = {}

    def encoder(self, name: str) -> Any:
        if name not in self._encoders:
            self._encoders[name] = shared_encoder(name)
        return self._encoders[name]

    def embed(self, name: str, texts: list[str]) -> np.ndarray:
        """Unit vectors of one encoder, read from and added to the cache when there is one."""
        encoder = self.encoder(name)
        if self.cache_dir is None:
            return encoder.encode(texts)
        from shoplens.text.cache import EmbeddingCache, _safe, text_key

        cache = self._caches.get(name)
        if cache is None:
            cache = self._caches[name] = EmbeddingCache(self.cache_dir / _safe(encoder.cache_id))
        unique = list(dict.fromkeys(texts))
        keys = [text_key(t) for t in unique]
        found, missing = cache.lookup(keys)
        vectors = np.zeros((len(unique), encoder.dim), dtype=np.float32)
        for i, vector in found.items():
            vectors[i] = vector
        if missing:
            fresh = encoder.encode([unique[i] for i in missing])
            vectors[missing] = fresh
            cache.add([keys[i] for i in missing], fresh)
        row = {t: i for i, t in enumerate(unique)}
        return l2_normalize(vectors[[row[t] for t in texts]])

    def block(self, name: str, texts: list[str]) -> np.ndarray:
        """One encoder's unit vectors; an English-only encoder gives zeros for texts not in Latin script."""
        vectors = self.embed(name, texts)
        if getattr(self.encoder(name), "languages", "en") == "en":
            english = np.array([lang == "en" for lang in detect_languages(texts)])
            vectors = vectors * english[:, None]
        return vectors

    def __call__(self, texts: Sequence[str]) -> np.ndarray:
        items = check_texts(texts)
        blocks = [self.block(name, items) for name in self.names]
        return np.hstack(blocks).astype(np.float32) / np.sqrt(len(blocks))


# -- the router -----------------------------------------------------------------------------------------------

def _softmax(logits: np.ndarray) -> np.ndarray:
    shifted = logits - logits.max(axis=1, keepdims=True)
    exp = np.exp(shifted)
    return exp / exp.sum(axis=1, keepdims=True)


def fit_temperature(logits: np.ndarray, labels: np.ndarray) -> float:
    """The temperature that minimises the negative log-likelihood of ``labels`` (a grid, robust on few rows)."""
    rows = np.arange(len(labels))
    losses = [-np.log(_softmax(logits / t)[rows, labels] + 1e-12).mean() for t in TEMPERATURES]
    return float(TEMPERATURES[int(np.argmin(losses))])


def best_logit(logits: np.ndarray) -> np.ndarray:
    """What the confidence is computed from: the best intent's logit. It is low for a text unlike every intent,
    which is what an out-of-scope question looks like; on CLINC150 validation (10-shot) it separated out-of-scope
    texts better than the top probability or a fit on the best logit and its margin over the second (AUROC 0.981
    vs 0.977 and 0.955), and it kept more in-scope accuracy at the same out-of-scope recall."""
    return logits.max(axis=1).astype(np.float64)


def fit_confidence(scores: np.ndarray, correct: np.ndarray) -> np.ndarray:
    """Platt scaling of :func:`best_logit` to the probability that the best intent is right: a weight and a bias.
    With only right (or only wrong) predictions to learn from, a unit slope centred on the median."""
    if correct.all() or not correct.any():
        return np.array([1.0, -float(np.median(scores))])
    from sklearn.linear_model import LogisticRegression

    model = LogisticRegression(C=100.0, max_iter=1000).fit(scores[:, None], correct)
    return np.array([model.coef_[0, 0], model.intercept_[0]])


def choose_threshold(confidence: np.ndarray, predicted_oos: np.ndarray, correct: np.ndarray,
                     is_oos: np.ndarray, *, oos_weight: float = 1.0) -> float:
    """The confidence threshold maximising validation utility: each in-scope text given its intent counts 1 (a
    hand-off or a wrong intent 0), each out-of-scope text handed off or labelled out of scope counts
    ``oos_weight``; the lowest threshold of the best utility wins (no hand-off without a gain)."""
    candidates = np.unique(np.concatenate([[0.0], confidence]))
    best, best_score = 0.0, -1.0
    inscope = ~is_oos
    for threshold in candidates:
        kept = confidence >= threshold
        score = float((correct & kept)[inscope].sum()) + oos_weight * float((~kept | predicted_oos)[is_oos].sum())
        if score > best_score + 1e-9:
            best, best_score = float(threshold), score
    return best


def labelled_accuracy(guess: np.ndarray, labelled: pd.DataFrame, handoff_label: str = HANDOFF) -> dict[str, float]:
    """Accuracy overall and per language, and the share handed off that did not ask for a person."""
    truth = labelled["intent"].to_numpy(dtype=object)
    right = guess == truth
    metrics = {"accuracy": round(float(right.mean()), 4),
               "handoff_rate": round(float(((guess == handoff_label) & (truth != handoff_label)).mean()), 4)}
    languages = labelled["language"].to_numpy()
    if len(set(languages)) > 1:
        metrics |= {f"accuracy_{lang}": round(float(right[languages == lang].mean()), 4)
                    for lang in sorted(set(languages))}
    return metrics


class IntentRouter(Estimator):
    """Intents from a few examples each, with calibrated confidence; below the threshold, a hand-off.

    ``encoder``: a packaged encoder name of :mod:`shoplens.text` or a tuple of them (concatenated); the default
    reads English and Chinese. ``C``: the logistic regression's inverse regularisation. ``threshold``: a
    confidence in [0, 1], or ``"auto"`` (chosen on validation data, see the module). ``cache_dir``: where
    embeddings are cached (none by default: customers' messages are not kept on disk unless asked).
    """

    registry_name = "intents"
    capability = "assistant"

    def __init__(self, encoder: str | tuple[str, ...] = DEFAULT_ENCODERS, *, C: float = DEFAULT_C,
                 threshold: float | str = "auto", handoff_label: str = HANDOFF,
                 out_of_scope_label: str = OUT_OF_SCOPE, oos_weight: float = DEFAULT_OOS_WEIGHT, cv_folds: int = 5,
                 seed: int = 0,
                 cache_dir: str | None = None) -> None:
        self.encoder = encoder
        self.C = C
        self.threshold = threshold
        self.handoff_label = handoff_label
        self.out_of_scope_label = out_of_scope_label
        self.oos_weight = oos_weight
        self.cv_folds = cv_folds
        self.seed = seed
        self.cache_dir = cache_dir

    # -- fitting ------------------------------------------------------------------------------------------
    def _features(self) -> Features:
        if getattr(self, "_features_", None) is None:
            self._features_ = Features(_as_names(self.encoder), self.cache_dir)
        return self._features_

    def _check_params(self) -> None:
        if not (self.threshold == "auto" or (isinstance(self.threshold, int | float)
                                             and 0.0 <= float(self.threshold) <= 1.0)):
            raise InputError(f"threshold must be 'auto' or a number in [0, 1], got {self.threshold!r}")
        if not self.C > 0:
            raise InputError(f"C must be positive, got {self.C!r}")

    def fit(self, texts: Sequence[str], intents: Sequence[str], *,
            validation: tuple[Sequence[str], Sequence[str]] | None = None) -> Self:
        """Learn the intents of ``texts``. ``validation`` (texts, intents) sets the temperature and the automatic
        threshold; its texts whose intent is not among the trained ones count as out of scope. Without it both
        come from out-of-fold predictions of the examples."""
        self._check_params()
        texts, labels = self._examples(texts, intents)
        features = self._features()(texts)
        self.classes_ = sorted(set(labels))
        if len(self.classes_) < 2:
            raise InputError("fit needs examples of at least two intents")
        y = np.array([self.classes_.index(label) for label in labels])
        self.coef_, self.intercept_ = self._fit_linear(features, y)
        if validation is not None:
            val_texts, val_intents = self._examples(*validation, what="validation")
            logits = self._logits(self._features()(val_texts))
            truth = np.array(val_intents, dtype=object)
        else:
            logits, y_used = self._out_of_fold_logits(features, y)
            truth = np.array(self.classes_, dtype=object)[y_used]
        self._calibrate(logits, truth)
        self.examples_ = pd.DataFrame({"text": texts, "intent": labels})
        return self

    @staticmethod
    def _examples(texts: Sequence[str], intents: Sequence[str], what: str = "texts") -> tuple[list[str], list[str]]:
        items = check_texts(texts, what)
        labels = [str(i) for i in intents]
        if len(items) != len(labels):
            raise InputError(f"{what}: {len(items)} texts but {len(labels)} intents")
        if not items:
            raise InputError(f"{what}: no examples")
        return items, labels

    def _fit_linear(self, features: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        from sklearn.linear_model import LogisticRegression

        model = LogisticRegression(C=self.C, max_iter=2000, random_state=self.seed)
        model.fit(features, y)
        coef, intercept = model.coef_, model.intercept_
        if coef.shape[0] == 1:  # two classes: sklearn keeps one row; make it two logits
            coef, intercept = np.vstack([-coef / 2, coef / 2]), np.array([-intercept[0] / 2, intercept[0] / 2])
        return coef.astype(np.float32), intercept.astype(np.float32)

    def _out_of_fold_logits(self, features: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Logits of each example from a model that did not see it (stratified folds)."""
        from sklearn.model_selection import StratifiedKFold

        folds = min(self.cv_folds, int(np.bincount(y).min()))
        if folds < 2:
            return self._logits(features), y
        logits = np.zeros((len(y), len(self.classes_)), dtype=np.float32)
        splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=self.seed)
        for train, held in splitter.split(features, y):
            coef, intercept = self._fit_linear(features[train], y[train])
            present = np.unique(y[train])
            part = np.full((len(held), len(self.classes_)), -1e4, dtype=np.float32)
            part[:, present] = features[held] @ coef.T + intercept
            logits[held] = part
        return logits, y

    def _calibrate(self, logits: np.ndarray, truth: np.ndarray) -> None:
        """Temperature for the class probabilities (in-scope texts), the confidence model (all texts), then the
        threshold on that confidence."""
        known = np.isin(truth, self.classes_) & (truth != self.out_of_scope_label)
        if known.any():
            labels = np.array([self.classes_.index(t) for t in truth[known]])
            self.temperature_ = fit_temperature(logits[known], labels)
        else:
            self.temperature_ = 1.0
        predicted = np.array(self.classes_, dtype=object)[logits.argmax(1)]
        correct = predicted == truth
        self.confidence_weights_ = fit_confidence(best_logit(logits), correct)
        confidence = self._confidence(logits)
        if self.threshold == "auto":
            self.threshold_ = choose_threshold(confidence, predicted == self.out_of_scope_label, correct, ~known,
                                               oos_weight=self.oos_weight)
        else:
            self.threshold_ = float(self.threshold)

    def _confidence(self, logits: np.ndarray) -> np.ndarray:
        weights = self.confidence_weights_
        return 1.0 / (1.0 + np.exp(-(best_logit(logits) * weights[0] + weights[1])))

    # -- using it -----------------------------------------------------------------------------------------
    def _logits(self, features: np.ndarray) -> np.ndarray:
        return features @ self.coef_.T + self.intercept_

    def _fitted(self) -> None:
        if not hasattr(self, "coef_"):
            raise InputError("the router is not fitted: call fit(texts, intents) first")

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        """Probabilities over ``classes_`` (temperature-scaled on validation or out-of-fold predictions)."""
        self._fitted()
        return _softmax(self._logits(self._features()(check_texts(texts))) / self.temperature_)

    def _scored(self, texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        """Best class and the calibrated confidence that it is right."""
        self._fitted()
        items = check_texts(texts)
        if not items:
            return np.zeros(0, dtype=object), np.zeros(0)
        logits = self._logits(self._features()(items))
        return np.array(self.classes_, dtype=object)[logits.argmax(1)], self._confidence(logits)

    def route(self, texts: Sequence[str]) -> pd.DataFrame:
        """One row per text: text, intent (the hand-off label when below the threshold), confidence (the
        calibrated probability that the best intent is right), handoff (bool), language."""
        items = check_texts(texts)
        best, confidence = self._scored(items)
        handoff = confidence < self.threshold_
        intents = np.where(handoff, self.handoff_label, best)
        return pd.DataFrame({"text": items, "intent": intents, "confidence": confidence.astype(float),
                             "handoff": handoff, "language": detect_languages(items)})

    def predict(self, texts: Sequence[str]) -> list[str]:
        """The intent of each text, or the hand-off label where the router is not confident enough."""
        return self.route(texts)["intent"].tolist()

    def out_of_scope_score(self, texts: Sequence[str]) -> np.ndarray:
        """How out of scope each text looks (for AUROC): 1 − confidence where the best intent is a real one,
        1 + confidence where it is the out-of-scope intent."""
        best, confidence = self._scored(texts)
        return np.where(best == self.out_of_scope_label, 1.0 + confidence, 1.0 - confidence)

    def accuracy(self, data: pd.DataFrame) -> dict[str, float]:
        """Accuracy on labelled texts (a hand-off is right only where the text asks for a person), per language
        where there are several, and the share of texts handed off that did not ask for it."""
        labelled = validate_intents(data, file="evaluation texts")
        guess = np.array(self.predict(labelled["text"].tolist()), dtype=object)
        return labelled_accuracy(guess, labelled, self.handoff_label)

    def evaluate(self, data: pd.DataFrame, *, dataset: str = "shop_intents", **protocol: Any) -> list[Any]:
        """Benchmark records on labelled texts (text, intent[, language]): this router, and beside it frozen MiniLM
        + logistic regression (scikit-learn defaults, no threshold) fitted on the same examples."""
        from sklearn.linear_model import LogisticRegression

        from shoplens.evaluation.records import BenchmarkRecord, Protocol

        self._fitted()
        labelled = validate_intents(data, file="evaluation texts")
        features = Features(("minilm",), self.cache_dir)
        model = LogisticRegression(max_iter=2000).fit(features(self.examples_["text"].tolist()),
                                                      self.examples_["intent"])
        baseline = np.array(model.predict(features(labelled["text"].tolist())), dtype=object)
        proto = Protocol(split=protocol.pop("split", "none"), notes=protocol.pop("notes", ""))
        variant = protocol.pop("variant", "default")
        scores = {"intent_router": self.accuracy(labelled),
                  "minilm_logreg": labelled_accuracy(baseline, labelled, self.handoff_label)}
        return [BenchmarkRecord.create(benchmark="assistant", dataset=dataset, variant=variant, model=name,
                                       role="ours" if name == "intent_router" else "baseline", protocol=proto,
                                       metrics=metrics) for name, metrics in scores.items()]

    # -- persistence --------------------------------------------------------------------------------------
    def save(self, path: str | os.PathLike) -> Path:
        """Parameters, weights, temperature, threshold and the examples it learned from, in ``path``."""
        self._fitted()
        folder = Path(path)
        folder.mkdir(parents=True, exist_ok=True)
        config = {"params": json_safe(self.get_params()), "classes": self.classes_,
                  "temperature": self.temperature_, "threshold": self.threshold_,
                  "confidence_weights": self.confidence_weights_.tolist(),
                  "examples_sha256": hashlib.sha256(self.examples_.to_csv(index=False).encode()).hexdigest()}
        (folder / CONFIG_FILE).write_text(json.dumps(config, indent=2, ensure_ascii=False), encoding="utf-8")
        np.savez(folder / WEIGHTS_FILE, coef=self.coef_, intercept=self.intercept_)
        self.examples_.to_csv(folder / EXAMPLES_FILE, index=False)
        return folder

    @classmethod
    def load(cls, path: str | os.PathLike) -> Self:
        folder = Path(path)
        if not (folder / CONFIG_FILE).exists():
            raise NotFound(f"no intent router in {folder} (missing {CONFIG_FILE})")
        config = json.loads((folder / CONFIG_FILE).read_text(encoding="utf-8"))
        params = dict(config["params"])
        if isinstance(params.get("encoder"), list):
            params["encoder"] = tuple(params["encoder"])
        router = cls.from_saved_params(params)
        with np.load(folder / WEIGHTS_FILE) as weights:
            router.coef_, router.intercept_ = weights["coef"], weights["intercept"]
        router.classes_ = list(config["classes"])
        router.temperature_ = float(config["temperature"])
        router.threshold_ = float(config["threshold"])
        router.confidence_weights_ = np.array(config["confidence_weights"], dtype=np.float64)
        router.examples_ = pd.read_csv(folder / EXAMPLES_FILE, dtype=str, keep_default_na=False)
        return router
