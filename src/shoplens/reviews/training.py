"""What training and evaluating the review models share, below both: language groups, building a group's
classifier for a method, and the labelled rows of a split (the models and their evaluation take the model as an
argument; neither imports the other)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from shoplens.errors import InputError
from shoplens.reviews.data import as_frame
from shoplens.reviews.tasks import make_split
from shoplens.text.language import is_cjk

if TYPE_CHECKING:
    from shoplens.reviews.models import ReviewClassifier
    from shoplens.workspace import Workspace

GROUPS = ("en", "zh")
METHODS = ("finetune", "finetune-stack", "stack", "tfidf", "embedding")
# Fine-tuning multilingual-e5-small on Chinese (one run on online_shopping_10_cats, docs/reviews.md "Chinese"):
# one epoch is enough on ~50,000 reviews (validation accuracy 0.945 alone), the usual 5e-5 for a 12-layer
# encoder, balanced labels so no class weights, and four validation checks per epoch for early stopping.
CHINESE_FINETUNE: dict[str, Any] = {"epochs": 1, "learning_rate": 5e-5, "class_weight": None, "evals_per_epoch": 4}
# The Chinese fine-tuning's default length (``chinese_max_steps``): 400 steps of 32 reviews (12,800 reviews, about 9
# minutes on 2 cores) instead of the full epoch's 1,570 (36 minutes). Measured leaving one category out, the encoder
# fine-tuned this long reads a category it never saw far better than the n-gram members (docs/reviews.md, "Across
# categories and shops"), and the whole stack trains in under 30 minutes.
CHINESE_MAX_STEPS = 400


def language_group(language: str) -> str:
    return "zh" if is_cjk(language) else "en"


def build_classifier(method: str, group: str, params: dict[str, Any], ordinal: bool,
                     workspace: Workspace | None = None) -> Any:
    """A fresh classifier of ``method`` for a language group (frozen embeddings cached in ``workspace``)."""
    from shoplens.reviews.linear import EmbeddingLogReg, StackedClassifier, TfidfLogReg

    if method not in METHODS:
        raise InputError(f"method must be one of {', '.join(METHODS)}, got {method!r}")
    multilingual = "use-multilingual"
    tfidf = (TfidfLogReg(analyzer="char", ngram_range=(1, 3), C=8.0) if group == "zh"
             else TfidfLogReg(analyzer="word", ngram_range=(1, 2), C=4.0))
    embedding = EmbeddingLogReg(multilingual if group == "zh" else params["encoder"], C=2.0,
                                max_length=params["max_length"], workspace=workspace)
    if method.startswith("finetune"):
        from shoplens.text.classifier import TransformerClassifier

        settings = {"encoder": params["encoder"], "epochs": params["epochs"], "learning_rate": params["learning_rate"],
                    "class_weight": params["class_weight"]}
        max_steps = params["max_steps"]
        if group == "zh":
            settings = {"encoder": params["chinese_encoder"], **CHINESE_FINETUNE}
            caps = [s for s in (max_steps, params.get("chinese_max_steps")) if s is not None]
            max_steps = min(caps) if caps else None
        fine_tuned = TransformerClassifier(
            max_length=params["max_length"], batch_size=params["batch_size"],
            ordinal_weight=params["ordinal_weight"] if ordinal else 0.0, max_steps=max_steps,
            time_budget_s=params["time_budget_s"], seed=params["seed"], show_progress=params["show_progress"],
            **settings)
        if method == "finetune":
            return fine_tuned
        # finetune-stack: the fine-tuned model blended on validation with members that err differently
        if group == "zh":
            return StackedClassifier([*chinese_stack_members(tfidf, embedding, workspace), fine_tuned])
        return StackedClassifier([fine_tuned, tfidf])
    if method == "tfidf":
        return tfidf
    if method == "embedding":
        return embedding
    members = [tfidf, embedding]
    if group == "zh":
        members = chinese_stack_members(tfidf, embedding, workspace)
    return StackedClassifier(members)


def chinese_stack_members(tfidf: Any, embedding: Any, workspace: Workspace | None = None) -> list[Any]:
    """The members of the Chinese stack (chosen on the validation split of online_shopping_10_cats,
    docs/reviews.md "Chinese"): character TF-IDF, jieba word TF-IDF, USE Multilingual with a logistic
    regression and with a perceptron (a non-linear head adds what the linear members miss), and a character
    CNN trained here."""
    from shoplens.reviews.chinese import CharNetClassifier
    from shoplens.reviews.linear import EmbeddingLogReg, TfidfLogReg

    return [tfidf, TfidfLogReg(analyzer="jieba", ngram_range=(1, 2), C=8.0), embedding,
            EmbeddingLogReg("use-multilingual", head="mlp", workspace=workspace),
            CharNetClassifier(arch="cnn", epochs=3, time_budget_s=20 * 60)]


def with_split(frame: pd.DataFrame, seed: int = 0) -> pd.DataFrame:
    """The frame with a ``split`` column: the given one, else 80/10/10 stratified by label (seed)."""
    if "split" in frame.columns and frame["split"].notna().all():
        return frame
    counts = frame["y"].value_counts()
    # stratification needs every class at least 10 times (so each part can hold one)
    labels = frame["y"].where(frame["y"].map(counts) >= 10, -1).to_numpy()
    if (pd.Series(labels).value_counts() < 10).any() or len(frame) < 30:
        rng = np.random.default_rng(seed)
        parts = rng.choice(["train", "validation", "test"], size=len(frame), p=[0.8, 0.1, 0.1])
        return frame.assign(split=parts)
    split = make_split(labels, seed=seed)
    parts = np.empty(len(frame), dtype=object)
    for name, positions in split.items():
        parts[positions] = name
    return frame.assign(split=parts)


def split_rows(model: ReviewClassifier, data: Workspace | pd.DataFrame, split: str = "validation") -> pd.DataFrame:
    """The labelled rows of one split, as the model's fit saw them (same labels, groups and split)."""
    frame = as_frame(data)
    y, _ = model.labels(frame)
    frame = frame.assign(y=y).dropna(subset=["y"])
    frame["y"] = frame["y"].astype(int)
    frame["group"] = frame["language"].map(language_group)
    parts = [with_split(frame[frame["group"] == g], model.seed) for g in GROUPS if (frame["group"] == g).any()]
    out = pd.concat(parts) if parts else frame.assign(split=[])
    return out[out["split"] == split]


def workspace_of(data: Any) -> Workspace | None:
    from shoplens.workspace import Workspace

    return data if isinstance(data, Workspace) else None
