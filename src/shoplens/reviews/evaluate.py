"""Evaluation of review models: ours and the two baselines on the same rows, as benchmark records.

The baselines are trained on the same training rows as the model (per language group) and scored on the
same evaluation rows: TF-IDF + logistic regression (word 1–2-grams for English, character 1–3-grams for
Chinese) and frozen embeddings + logistic regression (the model's encoder for English, USE Multilingual
for Chinese). The per-class report and confusion matrix of ours are kept in ``model.report_``.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from shoplens.reviews.metrics import class_report, classification_metrics
from shoplens.reviews.training import build_classifier, split_rows, workspace_of

if TYPE_CHECKING:
    from shoplens.evaluation import BenchmarkRecord, Protocol
    from shoplens.reviews.models import ReviewClassifier
    from shoplens.workspace import Workspace

BASELINES = ("tfidf", "embedding")


def protocol(notes: str = "") -> Protocol:
    from shoplens.evaluation import Protocol

    return Protocol(split="stratified", ratio=[0.8, 0.1, 0.1], seed=0, notes=notes)


def baseline_name(method: str, group_encoders: dict[str, str]) -> str:
    if method == "tfidf":
        return "tfidf-logreg"
    return "frozen-" + "+".join(sorted(set(group_encoders.values()))) + "-logreg"


def evaluate_model(model: ReviewClassifier, data: Workspace | pd.DataFrame, *, dataset: str | None = None,
                   split: str = "test", baselines: bool = True, variant: str = "default",
                   baseline_max_train: int | None = None) -> list[BenchmarkRecord]:
    from shoplens.workspace import Workspace

    if dataset is None:
        dataset = dataset_name(data, model.target) if isinstance(data, Workspace) else f"frame_{model.target}"

    rows = split_rows(model, data, split)
    if rows.empty:
        from shoplens.errors import InputError

        raise InputError(f"no labelled reviews in the {split!r} split to evaluate on")
    pred = model.predict_index(rows["text"].tolist(), rows["language"].tolist())
    metrics = classification_metrics(rows["y"], pred, ordinal=model.ordinal)
    model.report_ = class_report(rows["y"], pred, model.class_names_)
    notes = (f"{split} split of {len(rows):,} reviews; {model.target}; trained on the train split, early stopping "
             f"and decoding tuned on validation") + unfamiliar_note(model, rows)
    ours = make_record(dataset=dataset, variant=variant, model=describe(model), role="ours", protocol=protocol(notes),
                       metrics=metrics, seconds=round(sum(getattr(model, "train_seconds_", {}).values()), 2))
    records = [ours]
    if baselines:
        train = split_rows(model, data, "train")
        if baseline_max_train is not None and len(train) > baseline_max_train:
            # the frozen-embedding baseline encodes every training review: a capped sample keeps it affordable
            notes += (f"; the baselines trained on a random {baseline_max_train:,} of the {len(train):,} training "
                      "reviews (fast profile)")
            train = train.sample(n=baseline_max_train, random_state=model.seed)
        for method in BASELINES:
            started = time.perf_counter()
            pred = np.zeros(len(rows), dtype=int)
            encoders = {}
            for group in rows["group"].unique():
                part = train[train["group"] == group]
                baseline = build_classifier(method, group, model.get_params(), model.ordinal, workspace_of(data))
                baseline.fit(part["text"].tolist(), part["y"].to_numpy(), class_names=model.class_names_)
                mask = (rows["group"] == group).to_numpy()
                pred[mask] = baseline.predict(rows.loc[mask, "text"].tolist())
                encoders[group] = getattr(baseline, "encoder", "")
            records.append(make_record(
                dataset=dataset, variant=variant, model=baseline_name(method, encoders),
                role="baseline", protocol=protocol(notes), metrics=classification_metrics(rows["y"], pred,
                                                                                         ordinal=model.ordinal),
                seconds=round(time.perf_counter() - started, 2)))
    return records


def unfamiliar_note(model: ReviewClassifier, rows: pd.DataFrame) -> str:
    """Warn (and say in the record's notes) when the evaluated reviews look unlike the model's training data."""
    import warnings

    said = []
    for group, seen in model.familiarity(rows["text"].tolist(), rows["language"].tolist()).items():
        if seen and seen["unlike_training"]:
            said.append(f"{group} reviews look unlike the training data: {seen['coverage']:.1%} of their n-grams "
                        f"known to the model against {seen['reference']:.1%} of its validation rows'; expect lower "
                        f"accuracy than on the shop it was trained on, and consider adapting to them (adapt)")
    for line in said:
        warnings.warn(line, UserWarning, stacklevel=3)
    return "".join(f"; {line}" for line in said)


def make_record(*, dataset: str, **fields: Any) -> BenchmarkRecord:
    """A record; for a user's own workspace (no public dataset name) it is built without the dataset-name
    check, since such records live only on the model's card, never in benchmarks/results."""
    from shoplens.evaluation import BenchmarkRecord
    from shoplens.evaluation.records import dataset_name_problem

    if dataset_name_problem(dataset) is None:
        return BenchmarkRecord.create(benchmark="reviews", dataset=dataset, **fields)
    draft = BenchmarkRecord.create(benchmark="reviews", dataset="simulator_reviews", **fields)
    return BenchmarkRecord.model_construct(**{**draft.__dict__, "dataset": dataset})


def dataset_name(ws: Workspace, kind: str) -> str:
    """``<public dataset>_<kind>`` when every review comes from one, ``simulator_reviews_<kind>`` for a
    simulated shop, else ``workspace_<name>_<kind>``."""
    from shoplens.evaluation.records import DATASET_PREFIXES

    if (ws.path / "truth" / "manifest.json").exists():
        return f"simulator_reviews_{kind}"
    sources = ws.sql("SELECT DISTINCT source FROM reviews")["source"].dropna().tolist()
    if len(sources) == 1 and sources[0] in DATASET_PREFIXES:
        return f"{sources[0]}_{kind}"
    return f"workspace_{ws.config.name}_{kind}".lower().replace("-", "_")


def describe(model: ReviewClassifier) -> str:
    """A short name of the configuration, e.g. ``minilm-finetuned`` or ``minilm-finetuned+zh-stack``."""
    parts = []
    for group, inner in model.models_.items():
        kind = type(inner).__name__
        if kind in ("TransformerClassifier", "OnnxClassifier"):
            name = f"{model.encoder}-finetuned" + ("-int8" if model.serving_.get(group) == "onnx" else "")
        else:
            name = {"StackedClassifier": "stack", "TfidfLogReg": "tfidf", "EmbeddingLogReg": "embedding"}[kind]
        parts.append(name if group == "en" else f"{group}-{name}")
    return "+".join(parts)


def summary(records: list[BenchmarkRecord]) -> list[dict[str, Any]]:
    """Rows for a table: model, role and each metric."""
    return [{"model": r.model, "role": r.role, **{k: round(v, 4) if isinstance(v, float) else v
                                                  for k, v in r.metrics.items()}, "seconds": r.seconds}
            for r in records]
