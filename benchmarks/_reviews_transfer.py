"""``benchmarks/reviews.py --part transfer`` (issue 17): the review models scored on categories and shops they were
not trained on, with the baselines trained on the same source data.

- Chinese, leave-one-category-out (dataset ``online_shopping_10_cats_loco``, variant ``leave_one_category_out``):
  for each of the 10 categories of online_shopping_10_cats, train on the other nine (their train rows; their
  validation rows for early stopping, blending and decoding) and test on the held-out category's test rows of the
  stored split. Records: the mean over the 10 categories of accuracy and macro-F1, the worst category's, and
  each category's in the notes; ours also ``loco_accuracy_gain`` (mean accuracy minus character TF-IDF + LR's)
  and ``categories_below_tfidf``.
- English, shop to shop (variant ``shop_to_shop``): ``giftcards_from_womens_clothing`` trains on
  womens_clothing_reviews (stored split) and tests on all Amazon Gift_Cards_5 reviews with text (stars 1–5;
  ``binary_*`` metrics: 1–2 vs 4–5); ``womens_clothing_from_giftcards`` the reverse (trained on the Gift Cards
  reviews split 80/10/10 stratified, seed 0; tested on the women's clothing test split).

Ours are the package's review models (``SentimentModel(chinese_method=…)``, ``RatingModel(method=…)``); the
baselines are character (Chinese) or word (English) TF-IDF + LR and frozen embeddings + LR. In the Chinese folds the
two baselines are a stack's own first and third members (``finetune-stack`` or ``stack``, whichever runs first; the
plain stack joins when no stack was asked for), fitted on the same rows with the baseline's exact configuration
(checked), so the stack's fit gives them at no extra cost.

Resumable: every (method, held-out category) fold keeps its aggregates — counts of (true, predicted) class on the
held-out category's test rows and on its validation rows (what methods are chosen by), fit times — in
``benchmarks/results/partial/reviews-loco/`` under a key of the data and of the code that trains the models (a fold
of other code is never read), committed so that a LOCO of many hours goes on on another machine; a method's LOCO
record is written once all 10 folds are there. Every trained English model is cached under
``~/.cache/shoplens/transfer`` (``SHOPLENS_TRANSFER_CACHE``).
"""

from __future__ import annotations

import hashlib
import inspect
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from shoplens.evaluation import BenchmarkRecord, PeakMemory, Protocol
from shoplens.evaluation.records import git_commit
from shoplens.reviews.linear import EmbeddingLogReg, TfidfLogReg
from shoplens.reviews.metrics import classification_metrics
from shoplens.reviews.models import RatingModel, SentimentModel, stars_to_sentiment
from shoplens.reviews.tasks import (
    CATEGORY_NAMES,
    leave_one_category_out,
    load_categories,
    load_giftcards,
    load_task,
)
from shoplens.reviews.training import with_split

BENCHMARK = "reviews"
LOCO_DATASET = "online_shopping_10_cats_loco"
LOCO_VARIANT = "leave_one_category_out"
SHOP_VARIANT = "shop_to_shop"
CACHE = Path(os.environ.get("SHOPLENS_TRANSFER_CACHE", Path.home() / ".cache" / "shoplens" / "transfer"))
# each LOCO fold's aggregates, committed: a run of many hours resumes on another machine (results/partial/README.md)
FOLDS = Path(__file__).resolve().parent / "results" / "partial" / "reviews-loco"
# ours by Chinese method: the package default first, then the fine-tuned ones (about 40 minutes a fold here)
CHINESE_MODELS = {"stack": "zh-stack", "finetune-stack": "zh-e5-stack", "finetune": "zh-e5-finetuned"}
STACKS = ("finetune-stack", "stack")  # the Chinese methods whose members include the two baselines
ADAPTED = "+adapt"  # ours after SentimentModel.adapt to the held-out category's unlabeled train texts
DEFAULT_CHINESE = SentimentModel().chinese_method  # the package's default, the one the gate is on
ENGLISH_MODELS = {"stack": "minilm-frozen+tfidf-stack", "finetune-stack": "minilm-finetuned+tfidf",
                  "finetune": "minilm-finetuned"}
TFIDF, FROZEN_ZH, FROZEN_EN = "tfidf-logreg", "frozen-use-multilingual-logreg", "frozen-minilm-logreg"
# the baselines' configurations (those of benchmarks/reviews.py's in-domain records)
BASELINE_TFIDF = {"zh": {"analyzer": "char", "ngram_range": (1, 3), "C": 8.0},
                  "en": {"analyzer": "word", "ngram_range": (1, 2), "C": 4.0}}
BASELINE_FROZEN = {"zh": {"encoder": "use-multilingual", "C": 2.0}, "en": {"encoder": "minilm", "C": 2.0}}
# the bars: LOCO gain of the default Chinese model over character TF-IDF + LR, categories it may lose
LOCO_GAIN_GATE, LOCO_LOSSES_GATE = 0.015, 2
BINARY_F1_GATE = 0.03
SMOKE_ROWS = {"train": 40, "validation": 12, "test": 15}  # per category and split, or per split in English


def _fmt(metrics: dict[str, Any]) -> str:
    return " ".join(f"{k}={v:.4f}" for k, v in metrics.items() if isinstance(v, float))


def _record(dataset: str, variant: str, model: str, role: str, metrics: dict[str, Any], split: str, notes: str,
            seconds: float | None, peak_mb: float | None = None) -> BenchmarkRecord:
    protocol = Protocol(split=split, ratio=None if split == "leave_one_category_out" else [0.8, 0.1, 0.1], seed=0,
                        notes=notes)
    return BenchmarkRecord.create(benchmark=BENCHMARK, dataset=dataset, variant=variant, model=model, role=role,
                                  protocol=protocol, metrics=metrics,
                                  seconds=None if seconds is None else round(seconds, 2),
                                  peak_mb=None if peak_mb is None else round(peak_mb, 1))


def _cache_root(smoke: bool, work: Path) -> Path:
    return work / "transfer-smoke" if smoke else CACHE


def _folds_root(smoke: bool, work: Path) -> Path:
    return work / "transfer-smoke" / "loco" if smoke else FOLDS


def _subsample(frame: pd.DataFrame, by: list[str], smoke: bool) -> pd.DataFrame:
    """With ``smoke``, a few random rows of each group (``by`` includes ``split``); else the frame."""
    if not smoke:
        return frame
    parts = [part.sample(min(len(part), SMOKE_ROWS[key[-1]]), random_state=0)
             for key, part in frame.groupby(by, sort=True)]
    return pd.concat(parts).sort_values("row").reset_index(drop=True)


# -- Chinese: leave one category out --------------------------------------------------------------------------
def _check_baseline_member(member: Any, kind: type, config: dict[str, Any]) -> None:
    """The stack member read as a baseline must be configured exactly as the baseline."""
    if not isinstance(member, kind) or any(getattr(member, k) != v for k, v in config.items()) \
            or getattr(member, "head", "logreg") != "logreg":
        raise RuntimeError(f"the stack's member {member!r} is no longer the baseline {kind.__name__}({config}): "
                           f"fit the baselines separately")


def _pairs(y: Any, pred: Any) -> list[list[int]]:
    """Counts of (true, predicted) class: what a fold keeps of its predictions (aggregates, no data rows)."""
    pairs, counts = np.unique(np.column_stack([np.asarray(y, int), np.asarray(pred, int)]), axis=0,
                              return_counts=True)
    return [[int(t), int(p), int(n)] for (t, p), n in zip(pairs, counts, strict=True)]


def _unpairs(pairs: list[list[int]]) -> tuple[np.ndarray, np.ndarray]:
    y = np.concatenate([np.full(n, t) for t, _, n in pairs])
    return y, np.concatenate([np.full(n, p) for _, p, n in pairs])


def fold_key(method: str, category: str, rows: int) -> str:
    """A fold's result is kept under a key of the data, the method, the held-out category and the code that splits
    the data, trains, adapts and scores the models, so that a result of other code is never read: whole modules,
    and of :mod:`shoplens.reviews.models` the review models' own code and their parameters' defaults — all but
    ``chinese_method``, which the fold passes, so that the package's default can be chosen from the folds without
    invalidating them. Edits elsewhere (this file's records, the package's other parts) keep the folds."""
    from shoplens.reviews import chinese, decoding, linear, models, tasks, training
    from shoplens.text import classifier, e5_weights, transformer

    parts = [Path(m.__file__).read_bytes() for m in (chinese, decoding, linear, tasks, training, classifier,
                                                      e5_weights, transformer)]
    parts += [inspect.getsource(c).encode() for c in (models.ReviewClassifier, models.SentimentModel)]
    parts += [inspect.getsource(f).encode() for f in (models._decoded, models._fine_tuned_part)]
    defaults = {k: v for k, v in SentimentModel().get_params().items() if k != "chinese_method"}
    parts.append(json.dumps(defaults, sort_keys=True, default=str).encode())
    digest = hashlib.sha256(b"\0".join(parts)).hexdigest()
    return hashlib.sha256(f"{LOCO_DATASET}:{rows}:{method}:{category}:{digest}".encode()).hexdigest()[:16]


def loco_fold(method: str, category: str, frame: pd.DataFrame, folds: Path, workspace: Any,
              show_progress: bool) -> dict[str, Any]:
    """One fold (``category`` held out) of one Chinese method: counts of (true, predicted) class on the held-out
    category's test rows and, to choose methods by (never by test rows), on its validation rows; fit wall and CPU
    seconds; for the stack also its two baseline members'. Read from ``folds`` (committed under
    benchmarks/results/partial/reviews-loco, so a run spanning machines resumes) when it is there."""
    path = folds / f"{method}-{category}-{fold_key(method, category, len(frame))}.json"
    if path.exists():
        return json.loads(path.read_text(encoding="utf-8"))
    source, target = leave_one_category_out(frame, category)
    held_out = frame[(frame["category"] == category) & (frame["split"] == "validation")]
    parts = {"test": target, "heldout_validation": held_out}
    started, cpu = time.perf_counter(), time.process_time()
    with PeakMemory() as peak:
        model = SentimentModel(chinese_method=method, show_progress=show_progress).fit(
            source.assign(language="zh"), cache=workspace)
    fold: dict[str, Any] = {"category": category, "method": method, "commit": git_commit(),
                            "train_rows": int((source["split"] == "train").sum()),
                            "validation_rows": int((source["split"] == "validation").sum()),
                            "test_rows": len(target), "heldout_validation_rows": len(held_out), "models": {}}
    seconds = time.perf_counter() - started
    ours = {"seconds": seconds, "cpu_seconds": time.process_time() - cpu, "peak_mb": peak.mb}
    for part, rows in parts.items():
        texts = rows["text"].tolist()
        ours[part] = _pairs(rows["label"], model.predict_index(texts, ["zh"] * len(texts)))
    fold["models"][CHINESE_MODELS[method]] = ours
    stack = model.models_["zh"]
    members = getattr(stack, "members", [stack])  # "finetune" is one model, the others stacks
    member_seconds = getattr(stack, "member_seconds_", [seconds])
    # each member's fit: a busy machine can stop the character CNN on its time budget (20 minutes) before 3 epochs
    fold["members"] = [{"kind": type(m).__name__, "seconds": s, "steps": getattr(m, "steps_", None),
                        "best_step": getattr(m, "best_step_", None),
                        "stopped_early": bool(getattr(m, "stopped_early_", getattr(m, "stopped_on_time_", False)))}
                       for m, s in zip(members, member_seconds, strict=True)]
    if method in STACKS:
        # each member's probabilities of the held-out rows, read once (before adapt refits the n-gram members): the
        # two baselines are members, and finetune and stack are blends of them
        probas = {part: stack._member_probas(rows["text"].tolist()) for part, rows in parts.items()}
        for index, name, kind, config in ((0, TFIDF, TfidfLogReg, BASELINE_TFIDF["zh"]),
                                          (2, FROZEN_ZH, EmbeddingLogReg, BASELINE_FROZEN["zh"])):
            _check_baseline_member(stack.members[index], kind, config)
            fold["models"][name] = {"seconds": stack.member_seconds_[index],
                                    **{part: _pairs(rows["label"], probas[part][index].argmax(1))
                                       for part, rows in parts.items()}}
        if method == "finetune-stack":
            fold["models"].update(derived_methods(stack, source, parts, probas))
        # self-training on the held-out category's train texts (their labels never read), the same model adapted
        unlabeled = frame[(frame["category"] == category) & (frame["split"] == "train")][["text"]]
        started, cpu = time.perf_counter(), time.process_time()
        model.adapt(source.assign(language="zh"), unlabeled.assign(language="zh"))
        adapted = {"seconds": time.perf_counter() - started, "cpu_seconds": time.process_time() - cpu,
                   "unlabeled": len(unlabeled), **model.adapted_["zh"]}
        for part, rows in parts.items():
            texts = rows["text"].tolist()
            adapted[part] = _pairs(rows["label"], model.predict_index(texts, ["zh"] * len(texts)))
        fold["models"][CHINESE_MODELS[method] + ADAPTED] = adapted
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(fold, indent=1), encoding="utf-8")
    return fold


def derived_methods(stack: Any, source: pd.DataFrame, parts: dict[str, pd.DataFrame],
                    probas: dict[str, list[np.ndarray]]) -> dict[str, dict[str, Any]]:
    """``finetune`` and ``stack`` from a fitted ``finetune-stack`` (``stack``, with its members' probabilities of
    each part's rows in ``probas``): they fit the very members it holds (same configurations, rows and seeds) — the
    fine-tuned encoder alone, and the other five blended by a logistic regression on the validation rows — each with
    its own decoding tuned on those rows, as ``SentimentModel(chinese_method=…)`` would. One fit gives the three
    methods the default is chosen among."""
    from sklearn.linear_model import LogisticRegression

    from shoplens.reviews.decoding import BiasDecoder
    from shoplens.reviews.linear import _log_features

    y_val = source[source["split"] == "validation"]["label"].to_numpy()
    val = stack.validation_member_probas_  # the members' probabilities of the same validation rows, from the fit
    fine = stack.slow_member()

    def others(p: list[np.ndarray]) -> np.ndarray:
        return _log_features(p[:fine] + p[fine + 1:])

    blender = LogisticRegression(C=stack.C, max_iter=3000).fit(others(val), y_val)
    spent = stack.member_seconds_
    out: dict[str, dict[str, Any]] = {}
    for name, of, seconds in ((CHINESE_MODELS["finetune"], lambda p: p[fine], spent[fine]),
                              (CHINESE_MODELS["stack"], lambda p: blender.predict_proba(others(p)),
                               sum(spent) - spent[fine])):
        decoder = BiasDecoder().fit(np.log(np.clip(of(val), 1e-9, 1)), y_val)
        out[name] = {"seconds": seconds, "derived_from": "finetune-stack",
                     **{part: _pairs(rows["label"], decoder.predict(np.log(np.clip(of(probas[part]), 1e-9, 1))))
                        for part, rows in parts.items()}}
    return out


def _fold_metrics(fold: dict[str, Any], model: str, part: str = "test") -> dict[str, float]:
    return classification_metrics(*_unpairs(fold["models"][model][part]))


def loco_records(folds: list[dict[str, Any]], model: str, role: str, method: str,
                 reference: dict[str, dict[str, float]] | None) -> tuple[BenchmarkRecord, dict[str, dict[str, float]]]:
    """One record of a model over the 10 folds; also its per-category metrics (``reference``: the TF-IDF
    baseline's, for ours' gain)."""
    per = {f["category"]: _fold_metrics(f, model) for f in folds}
    accuracy = {c: m["accuracy"] for c, m in per.items()}
    macro = {c: m["macro_f1"] for c, m in per.items()}
    worst = min(accuracy, key=accuracy.get)
    pooled = classification_metrics(*_unpairs([p for f in folds for p in f["models"][model]["test"]]))
    # what methods are chosen by: each held-out category's validation rows (never its test rows)
    heldout = [_fold_metrics(f, model, "heldout_validation")["accuracy"] for f in folds]
    metrics: dict[str, Any] = {
        "accuracy": float(np.mean(list(accuracy.values()))), "macro_f1": float(np.mean(list(macro.values()))),
        "worst_accuracy": accuracy[worst], "worst_macro_f1": min(macro.values()),
        "pooled_accuracy": pooled["accuracy"], "pooled_macro_f1": pooled["macro_f1"],
        "heldout_validation_accuracy": float(np.mean(heldout))}
    if reference is not None:
        metrics["loco_accuracy_gain"] = metrics["accuracy"] - float(np.mean([m["accuracy"]
                                                                              for m in reference.values()]))
        metrics["categories_below_tfidf"] = sum(accuracy[c] < reference[c]["accuracy"] for c in accuracy)
    seconds = [f["models"][model]["seconds"] for f in folds]
    metrics["fold_train_minutes_median"] = float(np.median(seconds) / 60)
    cpu = [f["models"][model].get("cpu_seconds") for f in folds]
    if all(c is not None for c in cpu):
        metrics["fold_train_cpu_minutes_median"] = float(np.median(cpu) / 60)
    rows = "; ".join(f"{c} ({per_fold['test_rows']}): {accuracy[c]:.4f} / {macro[c]:.4f}"
                     for c, per_fold in sorted((f["category"], f) for f in folds))
    derived = folds[0]["models"][model].get("derived_from")
    what = (f"SentimentModel(chinese_method={method!r}) fitted on the fold's source" + (
        f" (read from the fold's {derived} fit: the same members, configurations, rows and seeds, {method}'s own "
        f"blend and decoding tuned on the validation rows)" if derived else "") + (
        f", then adapted (SentimentModel.adapt, self-training at threshold {SentimentModel().adapt_threshold}) to the "
        f"held-out category's train texts, their labels never read" if model.endswith(ADAPTED) else "")
            if role == "ours" else
            f"fitted on the fold's source train rows (the {method} stack's member {model}, configured as the "
            f"in-domain baseline)")
    notes = (f"online_shopping_10_cats, each of the 10 categories held out in turn: trained on the other nine "
             f"categories' train rows (their validation rows for early stopping, blending and decoding), tested on "
             f"the held-out category's test rows of the stored split (indices in src/shoplens/reviews/splits); "
             f"{what}; accuracy and macro-F1 are means over the categories, worst = the lowest category, pooled = "
             f"all 6,278 held-out test rows together; heldout_validation_accuracy = the mean over the categories "
             f"of the same models' accuracy on the held-out category's validation rows (what methods are chosen "
             f"by). "
             f"Per category (test rows): accuracy / macro-F1 — {rows}. "
             f"Fit time per fold (wall, nice 19 on 2 shared cores): median {np.median(seconds) / 60:.1f} min, "
             f"{min(seconds) / 60:.1f}–{max(seconds) / 60:.1f}")
    peak = max((f["models"][model].get("peak_mb") or 0.0 for f in folds), default=0.0) or None
    return _record(LOCO_DATASET, LOCO_VARIANT, model, role, metrics, "leave_one_category_out", notes,
                   float(np.sum(seconds)), peak), per


def chinese_loco(data: Path, methods: list[str], categories: list[str] | None, smoke: bool, work: Path,
                 workspace: Any, details: dict[str, Any]) -> list[BenchmarkRecord]:
    frame = _subsample(load_categories(data / "online_shopping_10_cats"), ["category", "split"], smoke)
    folds_root = _folds_root(smoke, work)
    wanted = categories or sorted(CATEGORY_NAMES.values())
    folds: dict[str, list[dict[str, Any]]] = {}
    if not set(methods) & set(STACKS):
        methods = ["stack", *methods]  # a stack gives the baselines (its own members)
    for method in methods:
        for category in wanted:
            started = time.perf_counter()
            fold = loco_fold(method, category, frame, folds_root, workspace, sys.stderr.isatty())
            summary = {name: round(_fold_metrics(fold, name)["accuracy"], 4) for name in fold["models"]}
            print(f"  loco {method:15s} {category:14s} ({fold['test_rows']:5d} test rows) accuracy {summary} "
                  f"[{(time.perf_counter() - started) / 60:.1f} min]", flush=True)
            folds.setdefault(method, []).append(fold)
    records: list[BenchmarkRecord] = []
    complete = {m: f for m, f in folds.items() if {x["category"] for x in f} == set(CATEGORY_NAMES.values())}
    giving = next((m for m in methods if m in STACKS and m in complete), None)
    if giving is None:
        print(f"  loco: no stack has its 10 folds yet ({ {m: len(f) for m, f in folds.items()} }); no records yet",
              flush=True)
        return records
    stack_folds = complete[giving]
    baseline_record, tfidf_per = loco_records(stack_folds, TFIDF, "baseline", giving, None)
    frozen_record, frozen_per = loco_records(stack_folds, FROZEN_ZH, "baseline", giving, None)
    records += [baseline_record, frozen_record]
    details["loco"] = {TFIDF: tfidf_per, FROZEN_ZH: frozen_per}
    for method, method_folds in complete.items():
        names = [(CHINESE_MODELS[method], method)] + ([(CHINESE_MODELS[method] + ADAPTED, method)]
                                                      if method in STACKS else [])
        if method == "finetune-stack":  # the two others, derived from its fit (derived_methods)
            names += [(CHINESE_MODELS[m], m) for m in ("finetune", "stack") if m not in complete]
        for name, of in names:
            record, per = loco_records(method_folds, name, "ours", of, tfidf_per)
            records.append(record)
            details["loco"][name] = per
    for method in set(folds) - set(complete):
        print(f"  loco: {method}: {len(folds[method])}/10 folds done; its record waits for the rest", flush=True)
    for r in records:
        print(f"  {LOCO_DATASET} {r.model:32s} {_fmt(r.metrics)}", flush=True)
    by = {r.model: r.metrics for r in records}
    for method in complete.keys() & set(STACKS):  # the issue asks for the measurement, gain or not
        plain, adapted = by[CHINESE_MODELS[method]], by[CHINESE_MODELS[method] + ADAPTED]
        print(f"  loco {method}: adapting to the held-out category's unlabeled texts changes the mean accuracy by "
              f"{adapted['accuracy'] - plain['accuracy']:+.4f} (held-out validation rows "
              f"{adapted['heldout_validation_accuracy'] - plain['heldout_validation_accuracy']:+.4f})", flush=True)
    return records


# -- English: shop to shop --------------------------------------------------------------------------------------
def english_model(method: str, config: dict[str, Any], source: pd.DataFrame, name: str, cache: Path,
                  workspace: Any) -> tuple[RatingModel, dict[str, Any]]:
    """A RatingModel of ``method`` trained on ``source`` (with its split), or the one trained before (cached)."""
    folder = cache / "english" / f"{name}-{method}"
    info_path = folder / "transfer.json"
    if info_path.exists():
        return RatingModel.load(folder), json.loads(info_path.read_text(encoding="utf-8"))
    started, cpu = time.perf_counter(), time.process_time()
    with PeakMemory() as peak:
        model = RatingModel(**{**config, "method": method}).fit(source.assign(language="en"), cache=workspace)
    info = {"seconds": time.perf_counter() - started, "cpu_seconds": time.process_time() - cpu, "peak_mb": peak.mb}
    model.save(folder)
    info_path.write_text(json.dumps(info), encoding="utf-8")
    return model, info


def _scores(stars_y: np.ndarray, stars_pred: np.ndarray, binary_y: np.ndarray, binary_pred: np.ndarray
            ) -> dict[str, Any]:
    metrics = classification_metrics(stars_y, stars_pred, ordinal=True)
    binary = classification_metrics(binary_y, binary_pred)
    return {**metrics, "binary_accuracy": binary["accuracy"], "binary_macro_f1": binary["macro_f1"]}


def shop_to_shop(dataset: str, source: pd.DataFrame, target: pd.DataFrame, methods: list[str],
                 config: dict[str, Any], cache: Path, workspace: Any, describe: str) -> list[BenchmarkRecord]:
    """Ours (RatingModel of each method) and the two baselines trained on ``source`` (stars − 1 in ``label``, a
    ``split``), scored on ``target``'s stars and binary sentiment (its 3-star rows left out)."""
    records = []
    texts = target["text"].tolist()
    keep = (target["label"] != 2).to_numpy()
    binary_y = (target["label"].to_numpy()[keep] >= 3).astype(int)
    stars_y = target["label"].to_numpy()
    train = source[source["split"] == "train"]
    for method in methods:
        model, info = english_model(method, config, source.assign(rating=source["label"] + 1), dataset, cache,
                                    workspace)
        index, probs, groups = model.predict_with_proba(texts, ["en"] * len(texts))
        sentiment = model.sentiment_of(stars_to_sentiment(probs)[keep], groups[keep], binary=True)
        metrics = _scores(stars_y, index, binary_y, (sentiment == "positive").astype(int))
        metrics["train_minutes"] = info["seconds"] / 60
        name = ENGLISH_MODELS[method]
        notes = (f"{describe}; RatingModel(method={method!r}) trained on the source's train rows (validation rows "
                 f"for early stopping, blending and decoding), one model for stars and binary sentiment (P(1)+P(2) "
                 f"vs P(4)+P(5), decoding tuned on the source's validation rows); trained in "
                 f"{info['seconds'] / 60:.1f} min wall, {info['cpu_seconds'] / 60:.1f} CPU-min (nice 19 on 2 "
                 f"shared cores)")
        records.append(_record(dataset, SHOP_VARIANT, name, "ours", metrics, "cross_domain", notes, info["seconds"],
                               info["peak_mb"]))
        print(f"  {dataset} {name:32s} {_fmt(metrics)}", flush=True)
    binary_train = train[train["label"] != 2]
    for name, make in ((TFIDF, lambda: TfidfLogReg(**BASELINE_TFIDF["en"])),
                       (FROZEN_EN, lambda: EmbeddingLogReg(**BASELINE_FROZEN["en"], workspace=workspace))):
        started = time.perf_counter()
        stars_model = make().fit(train["text"].tolist(), train["label"].to_numpy())
        binary_model = make().fit(binary_train["text"].tolist(), (binary_train["label"] >= 3).astype(int).to_numpy())
        metrics = _scores(stars_y, stars_model.predict(texts), binary_y,
                          binary_model.predict([t for t, k in zip(texts, keep, strict=True) if k]))
        seconds = time.perf_counter() - started
        notes = (f"{describe}; trained on the source's train rows: one model on stars, one on binary sentiment "
                 f"(its 3-star rows left out), as the in-domain baselines")
        records.append(_record(dataset, SHOP_VARIANT, name, "baseline", metrics, "cross_domain", notes, seconds))
        print(f"  {dataset} {name:32s} {_fmt(metrics)}", flush=True)
    return records


def english_transfer(data: Path, methods: list[str], config: dict[str, Any], smoke: bool, work: Path,
                     workspace: Any) -> list[BenchmarkRecord]:
    cache = _cache_root(smoke, work)
    clothing = _subsample(load_task("womens_clothing_5star", data / "womens_clothing_reviews"), ["split"], smoke)
    giftcards = load_giftcards(data / "amazon_giftcards", "stars")
    if smoke:
        giftcards = giftcards.groupby("label").sample(15, replace=True, random_state=0).drop_duplicates("row") \
            .sort_values("row").reset_index(drop=True)  # every star in every part of the reverse's split
    gift_share = giftcards["label"].value_counts(normalize=True).sort_index()
    describe = (f"source womens_clothing_reviews (stored split, text = title + '. ' + review text), target all "
                f"{len(giftcards):,} Amazon Gift_Cards_5 reviews with text (summary + '. ' + review text; the "
                f"summaries Amazon filled with the star count, e.g. 'Five Stars', left out as they give the label "
                f"away); target stars 1–5 shares {', '.join(f'{v:.3f}' for v in gift_share)}; binary = 1–2 vs 4–5 "
                f"stars ({(giftcards['label'] != 2).sum():,} reviews)")
    records = shop_to_shop("giftcards_from_womens_clothing", clothing, giftcards, methods, config, cache, workspace,
                           describe)
    # the reverse: a model from the small gift-card shop (93% five stars) read on the clothing shop's test split
    reverse_source = with_split(giftcards.assign(y=giftcards["label"])).drop(columns="y")  # as RatingModel splits
    clothing_test = clothing[clothing["split"] == "test"].reset_index(drop=True)
    describe = (f"source Amazon Gift_Cards_5 reviews with text ({len(giftcards):,}, split 80/10/10 stratified by "
                f"stars, seed 0; summaries holding the star count left out), target the {len(clothing_test):,} "
                f"womens_clothing_reviews test rows of the stored split; binary = 1–2 vs 4–5 stars")
    records += shop_to_shop("womens_clothing_from_giftcards", reverse_source, clothing_test, methods, config, cache,
                            workspace, describe)
    return records


def transfer_gates(records: list[BenchmarkRecord]) -> list[tuple[str, bool, str]]:
    """The issue's bars, for the records this run produced."""
    by = {(r.dataset, r.model): r for r in records}
    gates = []
    chosen = {m: by[(LOCO_DATASET, n)].metrics["heldout_validation_accuracy"] for m, n in CHINESE_MODELS.items()
              if (LOCO_DATASET, n) in by}
    if len(chosen) > 1:  # the issue: the default chosen leaving categories out, by validation rows only
        best = max(chosen, key=chosen.get)
        gates.append((f"LOCO default Chinese method {DEFAULT_CHINESE!r} is the best by the held-out categories' "
                      f"validation rows ({', '.join(f'{m} {a:.4f}' for m, a in chosen.items())})",
                      best == DEFAULT_CHINESE, best))
    ours = by.get((LOCO_DATASET, CHINESE_MODELS[DEFAULT_CHINESE]))
    if ours is not None:
        gain, losses = ours.metrics["loco_accuracy_gain"], ours.metrics["categories_below_tfidf"]
        gates.append((f"LOCO default Chinese model gain over char TF-IDF {gain:+.4f} >= {LOCO_GAIN_GATE}",
                      gain >= LOCO_GAIN_GATE, f"{gain:+.4f}"))
        gates.append((f"LOCO categories below TF-IDF {losses} <= {LOCO_LOSSES_GATE}", losses <= LOCO_LOSSES_GATE,
                      str(losses)))
    tfidf = by.get(("giftcards_from_womens_clothing", TFIDF))
    for method, name in ENGLISH_MODELS.items():
        mine = by.get(("giftcards_from_womens_clothing", name))
        if mine is None or tfidf is None or method != "finetune-stack":
            continue
        m, t = mine.metrics, tfidf.metrics
        gates.append((f"Gift Cards {name} macro-F1 {m['macro_f1']:.4f} > TF-IDF {t['macro_f1']:.4f} and MAE "
                      f"{m['mae']:.4f} < {t['mae']:.4f}", m["macro_f1"] > t["macro_f1"] and m["mae"] < t["mae"], ""))
        gates.append((f"Gift Cards {name} binary macro-F1 {m['binary_macro_f1']:.4f} >= TF-IDF "
                      f"{t['binary_macro_f1']:.4f} + {BINARY_F1_GATE}",
                      m["binary_macro_f1"] >= t["binary_macro_f1"] + BINARY_F1_GATE, ""))
    return gates


def run(data: Path, work: Path, smoke: bool, chinese_methods: list[str], english_methods: list[str],
        english_config: dict[str, Any], categories: list[str] | None, details: dict[str, Any]
        ) -> tuple[list[BenchmarkRecord], list[tuple[str, bool, str]]]:
    import shoplens as sl

    cache = _cache_root(smoke, work)
    cache.mkdir(parents=True, exist_ok=True)
    workspace = sl.Workspace.init(cache / "embeddings-ws")  # frozen embeddings, computed once for every fold
    records: list[BenchmarkRecord] = []
    if english_methods:
        records += english_transfer(data, english_methods, english_config, smoke, work, workspace)
    if chinese_methods:
        records += chinese_loco(data, chinese_methods, categories, smoke, work, workspace, details)
    return records, transfer_gates(records)
