"""Review intelligence benchmark (issue 4): star rating and sentiment, English and Chinese, with the
baselines trained and scored on the same split in the same run, and the int8 ONNX serving model.

    python benchmarks/reviews.py                    # both languages → benchmarks/results/reviews.json
    python benchmarks/reviews.py --part english     # or chinese
    python benchmarks/reviews.py --smoke            # tiny subsample, checks the script → benchmarks/.work/

Data: ../shared/data/womens_clothing_reviews (text = title + ". " + review text, the 845 rows without text
left out) and ../shared/data/online_shopping_10_cats; splits 80/10/10 stratified (stars, resp. label), seed 0,
stored as row indices in src/shoplens/reviews/splits/. Every model trains on train, stops early and tunes
its decoding on validation, and is scored on test.

English: one RatingModel (MiniLM fine-tuned on stars) gives the 5-star, binary (1–2 vs 4–5, P(1)+P(2) against
P(4)+P(5)) and 3-class predictions. Its training time counts everything from the texts to the tuned model.
The int8 ONNX export is scored on the same test split and timed against the PyTorch model on the test texts
(batch 64, max length 128, median of 3 runs). Chinese: SentimentModel with the stacked character TF-IDF +
multilingual-embedding classifier.

Gates (issue 4): 5-star macro-F1 ≥ 0.51 and MAE ≤ 0.37; binary macro-F1 ≥ 0.92; online_shopping_10_cats
accuracy ≥ 0.945; English training < 60 min; int8 ≥ 300 reviews/s and within 0.5 point of PyTorch. The
script prints each and exits 1 when one fails.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from shoplens.evaluation import BenchmarkRecord, PeakMemory, Protocol, timed, write_results
from shoplens.reviews.linear import EmbeddingLogReg, TfidfLogReg
from shoplens.reviews.metrics import class_report, classification_metrics
from shoplens.reviews.models import RatingModel, SentimentModel, stars_to_sentiment
from shoplens.reviews.tasks import TASKS, load_task

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
WORK = HERE / ".work"
DATA = Path(os.environ.get("SHOPLENS_SHARED_DATA", ROOT.parent / "shared" / "data"))
BENCHMARK = "reviews"
GATES = {"womens_clothing_5star": {"macro_f1": (">=", 0.51), "mae": ("<=", 0.37)},
         "womens_clothing_binary": {"macro_f1": (">=", 0.92)},
         "online_shopping_10_cats": {"accuracy": (">=", 0.945)}}
TRAIN_MINUTES_GATE = 60
SPEED_GATE = 300
ONNX_TOLERANCE = 0.005
ENGLISH = {"method": "finetune-stack", "encoder": "minilm", "max_length": 128, "epochs": 2, "batch_size": 32,
           "learning_rate": 1e-4, "class_weight": "sqrt", "ordinal_weight": 0.25, "time_budget_s": 45 * 60}
ENGLISH_NAME = "minilm-finetuned+tfidf"


def protocol(task: str, rows: int, notes: str = "") -> Protocol:
    return Protocol(split="stratified", ratio=[0.8, 0.1, 0.1], seed=0,
                    notes=f"{task}: test split of {rows:,} rows; indices in src/shoplens/reviews/splits; "
                          f"{notes}".strip())


def record(dataset: str, model: str, role: str, metrics: dict[str, Any], rows: int, *, variant: str = "default",
           seconds: float | None = None, peak_mb: float | None = None, notes: str = "") -> BenchmarkRecord:
    return BenchmarkRecord.create(benchmark=BENCHMARK, dataset=dataset, variant=variant, model=model, role=role,
                                  protocol=protocol(dataset, rows, notes), metrics=metrics,
                                  seconds=None if seconds is None else round(seconds, 2),
                                  peak_mb=None if peak_mb is None else round(peak_mb, 1))


SMOKE_ROWS = 240  # per split


def task_frames(names: list[str], smoke: bool) -> dict[str, pd.DataFrame]:
    """The tasks' frames; with ``smoke``, the same few source rows of each split in every task."""
    frames = {name: load_task(name, DATA / TASKS[name].dataset) for name in names}
    if smoke:
        first = frames[names[0]]
        rows = np.concatenate([part["row"].to_numpy()[:SMOKE_ROWS] for _, part in first.groupby("split")])
        frames = {name: frame[frame["row"].isin(rows)].reset_index(drop=True) for name, frame in frames.items()}
    return frames


def baselines(dataset: str, frame: pd.DataFrame, encoder: str, workspace: Any, ordinal: bool,
              analyzer: str = "word") -> list[BenchmarkRecord]:
    """TF-IDF + logistic regression and frozen embeddings + logistic regression, train → test."""
    train, test = frame[frame["split"] == "train"], frame[frame["split"] == "test"]
    out = []
    candidates = [("tfidf-logreg", TfidfLogReg(analyzer=analyzer, ngram_range=(1, 3) if analyzer == "char" else (1, 2),
                                               C=8.0 if analyzer == "char" else 4.0)),
                  (f"frozen-{encoder}-logreg", EmbeddingLogReg(encoder, C=2.0, workspace=workspace))]
    for name, model in candidates:
        started = time.perf_counter()
        model.fit(train["text"].tolist(), train["label"].to_numpy())
        pred = model.predict(test["text"].tolist())
        metrics = classification_metrics(test["label"], pred, ordinal=ordinal)
        out.append(record(dataset, name, "baseline", metrics, len(test), seconds=time.perf_counter() - started,
                          notes="trained on the train split"))
        print(f"  {dataset:26s} {name:28s} {_fmt(metrics)}", flush=True)
    return out


def english(smoke: bool, workspace: Any, details: dict[str, Any]) -> list[BenchmarkRecord]:
    frames = task_frames(["womens_clothing_5star", "womens_clothing_binary", "womens_clothing_3class"], smoke)
    stars = frames["womens_clothing_5star"]
    data = stars.assign(rating=stars["label"] + 1, language="en")
    config = dict(ENGLISH, max_steps=20 if smoke else None, show_progress=sys.stderr.isatty())
    print(f"english: fine-tuning {config}", flush=True)
    with PeakMemory() as peak:
        started = time.perf_counter()
        model = RatingModel(**config).fit(data)
        train_seconds = time.perf_counter() - started
    tuned = model.models_["en"].fine_tuned_member()
    print(f"  trained in {train_seconds / 60:.1f} min (steps {tuned.steps_}, best at {tuned.best_step_}, "
          f"stopped on time: {getattr(tuned, 'stopped_on_time_', False)})", flush=True)
    details["curves"] = tuned.curves_
    serving = model.optimize_for_serving(data, WORK / "reviews-onnx")
    print(f"  serving check on validation: {serving}", flush=True)
    model.save(WORK / "reviews-rating-model")
    test = stars[stars["split"] == "test"]
    texts = test["text"].tolist()
    records: list[BenchmarkRecord] = []
    predictions = {}
    for backend, variant in (("pytorch", "default"), ("onnx", "onnx_int8")):
        model.serving_["en"] = backend
        runs = timed(lambda: model.predict_proba(texts), runs=3)
        probs = runs.result
        speed = len(texts) / runs.median
        predictions[backend] = probs
        name = ENGLISH_NAME + ("-int8" if backend == "onnx" else "")
        notes = (f"one RatingModel(method='finetune-stack') for all three tasks: MiniLM fine-tuned on stars, blended "
                 f"with word TF-IDF on validation; {backend} inference on the {len(texts):,} test "
                 f"texts, batch 64, max length 128: {runs.note('predict')}")
        for task, frame in frames.items():
            rows = frame[frame["split"] == "test"]
            pred = decode(model, task, probs, test, rows)
            metrics = classification_metrics(rows["label"], pred, ordinal=task.endswith("5star"))
            extra: dict[str, Any] = {"reviews_per_s": round(speed, 1)}
            if task.endswith("5star"):
                extra.update({"train_minutes": round(train_seconds / 60, 2),
                              "train_under_60_min": train_seconds < TRAIN_MINUTES_GATE * 60})
            details[f"{task}/{name}"] = class_report(rows["label"], pred, list(TASKS[task].class_names))
            records.append(record(task, name, "ours", {**metrics, **extra}, len(rows), variant=variant,
                                  seconds=train_seconds, peak_mb=peak.mb, notes=notes))
            print(f"  {task:26s} {name:28s} {_fmt(metrics)} {speed:.0f} reviews/s", flush=True)
    model.serving_["en"] = serving.get("en", {}).get("serving", "pytorch")
    details["serving"] = serving
    details["agreement_onnx_vs_pytorch"] = float((predictions["onnx"].argmax(1) == predictions["pytorch"].argmax(1))
                                                 .mean())
    for task, frame in frames.items():
        records += baselines(task, frame, "minilm", workspace, ordinal=task.endswith("5star"))
    return records


def decode(model: RatingModel, task: str, probs: np.ndarray, star_test: pd.DataFrame, rows: pd.DataFrame) -> np.ndarray:
    """The task's labels from the star probabilities of the test rows, with the tuned decoders."""
    position = pd.Series(np.arange(len(star_test)), index=star_test["row"].to_numpy())
    p = probs[position.loc[rows["row"]].to_numpy()]
    log = lambda x: np.log(np.clip(x, 1e-9, 1))  # noqa: E731
    if task.endswith("5star"):
        return model.decoders_["en"].predict(log(p)) if "en" in model.decoders_ else p.argmax(1)
    sentiment = stars_to_sentiment(p)
    if task.endswith("binary"):
        return model.binary_decoders_["en"].predict(log(sentiment[:, [0, 2]]))
    return model.sentiment_decoders_["en"].predict(log(sentiment))


def chinese(smoke: bool, workspace: Any, details: dict[str, Any]) -> list[BenchmarkRecord]:
    task = "online_shopping_10_cats"
    frame = task_frames([task], smoke)[task]
    data = frame.assign(language="zh")
    print("chinese: stacked character TF-IDF + multilingual embeddings", flush=True)
    with PeakMemory() as peak:
        started = time.perf_counter()
        model = SentimentModel(chinese_method="stack", show_progress=sys.stderr.isatty()).fit(data)
        seconds = time.perf_counter() - started
    test = frame[frame["split"] == "test"]
    texts = test["text"].tolist()
    runs = timed(lambda: model.predict_index(texts, ["zh"] * len(texts)), runs=3)
    metrics = classification_metrics(test["label"], runs.result)
    details[f"{task}/zh-stack"] = class_report(test["label"], runs.result, ["negative", "positive"])
    notes = ("SentimentModel(chinese_method='stack'): char 1-3-gram TF-IDF + logistic regression, USE Multilingual "
             "frozen embeddings + logistic regression and + a 256-unit perceptron, each fitted on train, blended "
             f"on validation; {runs.note('predict')}")
    out = [record(task, "zh-stack", "ours", {**metrics, "reviews_per_s": round(len(texts) / runs.median, 1)},
                  len(test), seconds=seconds, peak_mb=peak.mb, notes=notes)]
    print(f"  {task:26s} {'zh-stack':28s} {_fmt(metrics)} (trained in {seconds / 60:.1f} min)", flush=True)
    model.save(WORK / "reviews-zh-model")
    out += baselines(task, frame, "use-multilingual", workspace, ordinal=False, analyzer="char")
    return out


def check_gates(records: list[BenchmarkRecord], details: dict[str, Any]) -> list[str]:
    failed = []
    ours = {(r.dataset, r.variant): r for r in records if r.role == "ours"}
    for (dataset, variant), rec in sorted(ours.items()):
        for metric, (op, bound) in GATES.get(dataset, {}).items():
            value = rec.metrics[metric]
            ok = value >= bound if op == ">=" else value <= bound
            print(f"gate {dataset} [{variant}] {metric} {value:.4f} {op} {bound}: {'met' if ok else 'NOT MET'}")
            if not ok:
                failed.append(f"{dataset}/{variant}/{metric}")
    star = ours.get(("womens_clothing_5star", "default"))
    quantized = ours.get(("womens_clothing_5star", "onnx_int8"))
    if star is not None:
        minutes = star.metrics["train_minutes"]
        print(f"gate English training {minutes:.1f} min < {TRAIN_MINUTES_GATE}: "
              f"{'met' if minutes < TRAIN_MINUTES_GATE else 'NOT MET'}")
        if minutes >= TRAIN_MINUTES_GATE:
            failed.append("train_minutes")
    if star is not None and quantized is not None:
        speed = quantized.metrics["reviews_per_s"]
        gap = star.metrics["accuracy"] - quantized.metrics["accuracy"]
        print(f"gate int8 speed {speed:.0f} reviews/s >= {SPEED_GATE}: {'met' if speed >= SPEED_GATE else 'NOT MET'}; "
              f"accuracy gap {gap:+.4f} <= {ONNX_TOLERANCE}: {'met' if gap <= ONNX_TOLERANCE else 'NOT MET'}")
        failed += [name for name, bad in (("int8_speed", speed < SPEED_GATE), ("int8_accuracy", gap > ONNX_TOLERANCE))
                   if bad]
    return failed


def _fmt(metrics: dict[str, Any]) -> str:
    return " ".join(f"{k}={v:.4f}" for k, v in metrics.items() if isinstance(v, float))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--part", choices=["english", "chinese", "all"], default="all")
    parser.add_argument("--smoke", action="store_true", help="a tiny subsample, written to benchmarks/.work/")
    args = parser.parse_args()
    import torch

    torch.set_num_threads(min(2, os.cpu_count() or 2))
    import shoplens as sl

    WORK.mkdir(parents=True, exist_ok=True)
    workspace = sl.Workspace.init(WORK / "reviews-ws")  # embedding cache shared by the baselines
    details: dict[str, Any] = {}
    records: list[BenchmarkRecord] = []
    if args.part in ("english", "all"):
        records += english(args.smoke, workspace, details)
    if args.part in ("chinese", "all"):
        records += chinese(args.smoke, workspace, details)
    output = WORK / "results" / "reviews.json" if args.smoke else None
    path = write_results(BENCHMARK, records, output)
    (WORK / f"reviews_details{'_smoke' if args.smoke else ''}.json").write_text(
        json.dumps(details, indent=2, default=float), encoding="utf-8")
    print(f"wrote {path}")
    failed = check_gates(records, details)
    return 1 if failed and not args.smoke else 0


if __name__ == "__main__":
    sys.exit(main())
