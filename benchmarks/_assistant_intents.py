"""clinc150 and shop_intents: the assistant's intent router (issue 12, part 1).

Data: ../shared/data/clinc150/data_full.json (Larson et al. 2019; its own splits: 150 intents × 100 train / 20 val /
30 test, out-of-scope 100 train / 100 val / 1,000 test). Protocol, as committed here:

- ``full``: the whole train split; ``10_shot``: 10 training examples per intent drawn with seeds 0–4 (numpy
  ``default_rng(seed)``, per intent in label order), the record is the mean of the five draws, each draw in the notes;
- everything that is chosen — the encoders, the regularisation ``C``, whether the 100 (10-shot: 10) out-of-scope
  training examples join as a class, the confidence model and the out-of-scope threshold — is chosen on ``val`` +
  ``oos_val`` only, by accuracy over those 3,100 texts (an in-scope text is right when given its intent, an
  out-of-scope one when handed off or labelled out of scope); test and oos_test are scored once;
- ``in_scope_accuracy``: share of in-scope test queries given their intent (a hand-off is a miss);
  ``oos_recall``: share of oos_test queries handed off (or labelled out of scope); ``oos_auroc``: in-scope test vs
  oos_test, scored by the router's out-of-scope score (1 − its calibrated confidence).

Baseline, same run: frozen all-MiniLM-L6-v2 + logistic regression (scikit-learn defaults) with the max-probability
threshold chosen by the same rule on the same validation texts (the issue measured full 0.955 / 0.654 / 0.961,
10-shot 0.909 / 0.501 / 0.953).

shop_intents: the router with its package defaults fitted on the shipped default examples
(``src/shoplens/assistant/default_intents.csv``; temperature and threshold from their own out-of-fold predictions),
scored on the committed held-out utterances (``tests/assistant/data/heldout_intents.csv``: 160 English, 160
Chinese, written apart from the examples); accuracy per language (a hand-off counts as a miss unless the utterance
asks for a person), with the hand-off rate; baseline: MiniLM + logistic regression on the same examples.

Embeddings are cached under ``~/.cache/shoplens/intents/`` (keyed by encoder and text hash), so reruns are cheap.
"""

from __future__ import annotations

import json
import os
import statistics
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sklearn.metrics import roc_auc_score

from shoplens.assistant.intents import (
    HANDOFF,
    Features,
    IntentRouter,
    choose_threshold,
    default_intents,
)
from shoplens.evaluation.records import BenchmarkRecord, Protocol

ROOT = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("SHOPLENS_SHARED_DATA", ROOT.parent / "shared" / "data"))
CLINC_FILE = DATA / "clinc150" / "data_full.json"
HELD_OUT = ROOT / "tests" / "assistant" / "data" / "heldout_intents.csv"
CACHE = str(Path(os.environ.get("SHOPLENS_MODEL_CACHE") or Path.home() / ".cache" / "shoplens") / "intents")
BENCHMARK = "assistant"
OOS = "oos"
DRAWS = (0, 1, 2, 3, 4)
SHOTS = 10
BASELINE_ENCODER = "minilm"
# The candidates compared on val + oos_val (all frozen; fine-tuning was left out: see docs/assistant-intents.md).
# The first is the package default (both encoders read Chinese); the others add English-only encoders, which CLINC150
# (English) can use. The best multilingual-only candidate is recorded as well (``intent_router_multilingual``).
# MiniLM + USE + e5 was also tried (10-shot draw 0, C=10, oos class: validation in-scope accuracy before the
# threshold 0.922 vs 0.940 with mpnet) and left out to keep the run within the shared machine's time.
CANDIDATE_ENCODERS: tuple[tuple[str, ...], ...] = (
    ("e5-small", "use-multilingual"),
    ("mpnet", "use-multilingual"),
    ("minilm", "mpnet", "use-multilingual", "e5-small"),
)
MULTILINGUAL = ("e5-small", "use-multilingual")
# C=100 joined after a validation check (10-shot, mpnet + USE, val in-scope accuracy before the threshold, two draws:
# C=10 0.945/0.936, 30 0.947/0.937, 100 0.950/0.937, 1000 0.945/0.935).
CANDIDATE_C = (10.0, 30.0, 100.0)


def load_clinc(path: Path = CLINC_FILE) -> dict[str, list[tuple[str, str]]]:
    data = json.loads(path.read_text(encoding="utf-8"))
    return {split: [(text, intent) for text, intent in rows] for split, rows in data.items()}


def draw(train: list[tuple[str, str]], seed: int, shots: int = SHOTS) -> list[tuple[str, str]]:
    """``shots`` training examples per intent (out-of-scope included as its own group), by seed."""
    rng = np.random.default_rng(seed)
    groups: dict[str, list[int]] = {}
    for position, (_, intent) in enumerate(train):
        groups.setdefault(intent, []).append(position)
    chosen = [p for intent in sorted(groups) for p in sorted(rng.choice(groups[intent], shots, replace=False))]
    return [train[p] for p in chosen]


def clinc_metrics(predicted: list[str], oos_score: np.ndarray, truth: list[str]) -> dict[str, float]:
    labels = np.array(truth, dtype=object)
    guess = np.array(predicted, dtype=object)
    is_oos = labels == OOS
    found = (guess == HANDOFF) | (guess == OOS)
    return {"in_scope_accuracy": float((guess == labels)[~is_oos].mean()),
            "oos_recall": float(found[is_oos].mean()),
            "oos_auroc": float(roc_auc_score(is_oos, oos_score))}


def _texts(rows: list[tuple[str, str]]) -> list[str]:
    return [t for t, _ in rows]


def _intents(rows: list[tuple[str, str]]) -> list[str]:
    return [i for _, i in rows]


def validation_score(router: IntentRouter, val: list[tuple[str, str]]) -> float:
    """Accuracy over val + oos_val at the router's chosen threshold (out of scope: handed off or labelled so)."""
    guess = np.array(router.predict(_texts(val)), dtype=object)
    truth = np.array(_intents(val), dtype=object)
    found = (guess == HANDOFF) | (guess == OOS)
    return float(np.where(truth == OOS, found, guess == truth).mean())


def fit_router(train: list[tuple[str, str]], val: list[tuple[str, str]], encoders: tuple[str, ...], c: float,
               with_oos: bool) -> IntentRouter:
    rows = train if with_oos else [r for r in train if r[1] != OOS]
    router = IntentRouter(encoder=encoders, C=c, out_of_scope_label=OOS, cache_dir=CACHE)
    return router.fit(_texts(rows), _intents(rows), validation=(_texts(val), _intents(val)))


def choose(train: list[tuple[str, str]],
           val: list[tuple[str, str]]) -> tuple[IntentRouter, IntentRouter, str]:
    """The candidates with the best validation score (over all, and among multilingual-only encoders) and a note
    of every candidate's score."""
    scored: list[tuple[float, IntentRouter]] = []
    notes = []
    for encoders in CANDIDATE_ENCODERS:
        for c in CANDIDATE_C:
            for with_oos in (False, True):
                router = fit_router(train, val, encoders, c, with_oos)
                scored.append((validation_score(router, val), router))
                notes.append(f"{'+'.join(encoders)} C={c:g}{' +oos class' if with_oos else ''}: {scored[-1][0]:.4f}")
    best = max(scored, key=lambda pair: pair[0])[1]  # the first of equal scores: the earlier, smaller candidate
    multilingual = max((pair for pair in scored if set(_as_tuple(pair[1].encoder)) <= set(MULTILINGUAL)),
                       key=lambda pair: pair[0])[1]
    return best, multilingual, "; ".join(notes)


def _as_tuple(encoder: str | tuple[str, ...]) -> tuple[str, ...]:
    return (encoder,) if isinstance(encoder, str) else tuple(encoder)


def describe(router: IntentRouter) -> str:
    encoders = router.encoder if isinstance(router.encoder, str) else "+".join(router.encoder)
    return (f"{encoders}, C={router.C:g}, {'oos class, ' if OOS in router.classes_ else ''}"
            f"temperature {router.temperature_:.3f}, threshold {router.threshold_:.3f}")


def baseline(train: list[tuple[str, str]], val: list[tuple[str, str]],
             test: list[tuple[str, str]]) -> dict[str, float]:
    """Frozen MiniLM + logistic regression (scikit-learn defaults), max-probability threshold on val + oos_val."""
    from sklearn.linear_model import LogisticRegression

    features = Features((BASELINE_ENCODER,), CACHE)
    rows = [r for r in train if r[1] != OOS]
    model = LogisticRegression(max_iter=2000).fit(features(_texts(rows)), _intents(rows))
    classes = np.array(model.classes_, dtype=object)

    def scored(split: list[tuple[str, str]]) -> tuple[np.ndarray, np.ndarray]:
        probabilities = model.predict_proba(features(_texts(split)))
        return classes[probabilities.argmax(1)], probabilities.max(1)

    val_guess, val_conf = scored(val)
    val_truth = np.array(_intents(val), dtype=object)
    threshold = choose_threshold(val_conf, np.zeros(len(val), bool), val_guess == val_truth, val_truth == OOS)
    guess, confidence = scored(test)
    predicted = np.where(confidence < threshold, HANDOFF, guess).tolist()
    return clinc_metrics(predicted, 1.0 - confidence, _intents(test))


def test_metrics(router: IntentRouter, test: list[tuple[str, str]]) -> dict[str, float]:
    return clinc_metrics(router.predict(_texts(test)), router.out_of_scope_score(_texts(test)), _intents(test))


def run_clinc(data: dict[str, list[tuple[str, str]]], train: list[tuple[str, str]]) -> dict[str, Any]:
    val = data["val"] + data["oos_val"]
    test = data["test"] + data["oos_test"]
    started = time.perf_counter()
    router, multilingual, candidates = choose(train, val)
    return {"ours": test_metrics(router, test), "multilingual": test_metrics(multilingual, test),
            "baseline": baseline(train, val, test), "chosen": describe(router),
            "chosen_multilingual": describe(multilingual), "candidates": candidates,
            "seconds": time.perf_counter() - started}


def mean_metrics(runs: list[dict[str, float]]) -> dict[str, float]:
    return {key: round(statistics.fmean(r[key] for r in runs), 4) for key in runs[0]}


def _fmt(metrics: dict[str, float]) -> str:
    return "/".join(f"{metrics[k]:.4f}" for k in ("in_scope_accuracy", "oos_recall", "oos_auroc"))


def clinc_records() -> tuple[list[BenchmarkRecord], list[tuple[str, bool, str]]]:
    data = load_clinc()
    train_all = data["train"] + data["oos_train"]
    full = run_clinc(data, train_all)
    shots = [run_clinc(data, draw(train_all, seed)) for seed in DRAWS]
    protocol = ("its own splits; candidates, temperature, confidence model and threshold chosen on val + oos_val; "
                "test + oos_test scored once")
    records = []
    shot_note = f"{SHOTS} per intent, seeds {DRAWS[0]}-{DRAWS[-1]}, mean"
    for variant, runs, extra in (("full", [full], ""), ("10_shot", shots, shot_note)):
        ours, base = mean_metrics([r["ours"] for r in runs]), mean_metrics([r["baseline"] for r in runs])
        draws = "; ".join(f"draw {s}: {_fmt(r['ours'])} ({r['chosen']})" for s, r in zip(DRAWS, runs, strict=False))
        notes = f"{protocol}; {extra + '; ' if extra else ''}{draws if variant == '10_shot' else full['chosen']}; " \
                f"validation accuracy over val + oos_val: {runs[0]['candidates']}"
        records.append(BenchmarkRecord.create(
            benchmark=BENCHMARK, dataset="clinc150", variant=variant, model="intent_router", role="ours",
            protocol=Protocol(split="none", seed=None if variant == "full" else 0, notes=notes), metrics=ours,
            seconds=round(statistics.fmean(r["seconds"] for r in runs), 1)))
        multi = mean_metrics([r["multilingual"] for r in runs])
        multi_draws = "; ".join(f"draw {s}: {_fmt(r['multilingual'])} ({r['chosen_multilingual']})"
                                for s, r in zip(DRAWS, runs, strict=False))
        records.append(BenchmarkRecord.create(
            benchmark=BENCHMARK, dataset="clinc150", variant=variant, model="intent_router_multilingual",
            role="ours", protocol=Protocol(
                split="none", seed=None if variant == "full" else 0,
                notes=f"the best candidate on val + oos_val among the multilingual encoders only (the package "
                      f"default, which reads Chinese); {extra + '; ' if extra else ''}"
                      f"{multi_draws if variant == '10_shot' else full['chosen_multilingual']}"),
            metrics=multi))
        base_draws = "; ".join(f"draw {s}: {_fmt(r['baseline'])}" for s, r in zip(DRAWS, runs, strict=False))
        records.append(BenchmarkRecord.create(
            benchmark=BENCHMARK, dataset="clinc150", variant=variant, model="minilm_logreg", role="baseline",
            protocol=Protocol(split="none", seed=None if variant == "full" else 0,
                              notes=f"frozen all-MiniLM-L6-v2 + LogisticRegression (defaults), max-probability "
                                    f"threshold on val + oos_val; {extra or 'full train split'}"
                                    f"{'; ' + base_draws if variant == '10_shot' else ''}"),
            metrics=base))
    by = {(r.variant, r.model): r.metrics for r in records}
    shot, whole = by[("10_shot", "intent_router")], by[("full", "intent_router")]
    gates = [
        ("clinc150 10-shot: in-scope accuracy ≥ 0.93 and OOS AUROC ≥ 0.96 (mean of 5 draws)",
         shot["in_scope_accuracy"] >= 0.93 and shot["oos_auroc"] >= 0.96, _fmt(shot)),
        ("clinc150 full: in-scope accuracy ≥ 0.965 with OOS recall ≥ 0.75",
         whole["in_scope_accuracy"] >= 0.965 and whole["oos_recall"] >= 0.75, _fmt(whole)),
    ]
    return records, gates


def shop_accuracy(predicted: list[str], held: pd.DataFrame) -> dict[str, float]:
    guess = np.array(predicted, dtype=object)
    truth = held["intent"].to_numpy(dtype=object)
    return {"accuracy": round(float((guess == truth).mean()), 4),
            "handoff_rate": round(float(((guess == HANDOFF) & (truth != HANDOFF)).mean()), 4)}


def shop_records() -> list[BenchmarkRecord]:
    from sklearn.linear_model import LogisticRegression

    examples = default_intents()
    held = pd.read_csv(HELD_OUT, dtype=str, keep_default_na=False)
    started = time.perf_counter()
    router = IntentRouter(cache_dir=CACHE).fit(examples["text"], examples["intent"])
    ours = router.predict(held["text"].tolist())
    seconds = time.perf_counter() - started
    features = Features((BASELINE_ENCODER,), CACHE)
    model = LogisticRegression(max_iter=2000).fit(features(examples["text"].tolist()), examples["intent"])
    base = model.predict(features(held["text"].tolist())).tolist()
    records = []
    for language in ("en", "zh"):
        mine = (held["language"] == language).to_numpy()
        part = held[mine]
        note = (f"fitted on the {len(examples)} shipped examples (en + zh), scored on {len(part)} committed held-out "
                f"{language} utterances; ")
        records.append(BenchmarkRecord.create(
            benchmark=BENCHMARK, dataset="shop_intents", variant=f"shop_default_{language}", model="intent_router",
            role="ours", protocol=Protocol(split="none", notes=note + describe(router) + " (out-of-fold)"),
            metrics=shop_accuracy([p for p, m in zip(ours, mine, strict=True) if m], part), seconds=round(seconds, 1)))
        records.append(BenchmarkRecord.create(
            benchmark=BENCHMARK, dataset="shop_intents", variant=f"shop_default_{language}", model="minilm_logreg",
            role="baseline", protocol=Protocol(split="none", notes=note + "frozen MiniLM + LogisticRegression "
                                               "(defaults), no threshold"),
            metrics=shop_accuracy([p for p, m in zip(base, mine, strict=True) if m], part)))
    return records


def run() -> tuple[list[BenchmarkRecord], list[tuple[str, bool, str]]]:
    records = shop_records()
    clinc, gates = clinc_records()
    return records + clinc, gates
