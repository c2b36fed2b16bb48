"""amazon_qa_yesno: yes/no verdicts from evidence, answered only where the evidence says so (issue 12, part 3).

Data: ../shared/data/amazon_qa/qa_Appliances_dev.json.gz; the yes/no questions (``questionType == 'yes/no'``)
with their ``answerType``: Y, N, or ? (the answer does not settle it). Protocol, as committed here:

- products with ``int(sha256(("eval:" + asin).encode()).hexdigest(), 16) % 5 == 0`` are the evaluation products;
  among the rest, ``sha256("val:" + asin) % 4 == 0`` are validation products, the remainder training products;
- **the evidence is the question's own answer**: the verdict reads evidence, it does not find it (finding it is
  measured by the ``answers`` part), so every question comes with the text a customer wrote to answer it;
- scored: the evaluation products' Y/N questions (? ones left out, as in always-yes's 0.734 over the whole file);
  a verdict is right when it matches Y/N; ``answered_accuracy`` over the questions given a verdict, ``coverage``
  the share given one; always-yes on the same questions beside it, and on the answered ones in the notes. Also
  ``supported_precision``: the share of all verdicts, on Y, N and ? questions, that the label supports (a verdict
  on a ? answer is unsupported: the evidence did not say so), and ``unclear_verdict_rate``;
- fitted on training products (Y, N and, where the candidate uses it, ? as a third class "unclear"); every choice
  (encoder, features, C, whether ? trains a third class, ``precision_z``, ``min_pairs``) is made on validation
  products; the threshold (``shoplens.assistant.verdict.choose_threshold``): the lowest score at which the
  answered validation verdicts beat always-yes on the same answered questions and on all validation Y/N
  questions, and the supported share (its Wilson lower bound at ``precision_z``) reaches the strong lead-word
  rules' share on the same questions; the candidate answering the most validation Y/N questions wins; evaluation
  products only report;
- the risk–coverage curve (coverage and error of answered verdicts on evaluation products at fixed score
  thresholds, with the supported share) is in the record's notes.

Logistic regression (lbfgs) on fixed features is deterministic: one run, no seeds. Also reported: the lead-word
rules alone (the fallback of a shop without labelled pairs) and the question detector's precision and recall
against ``questionType`` on validation products.
"""

from __future__ import annotations

import ast
import gzip
import hashlib
import itertools
import os
import time
from pathlib import Path

import numpy as np
import pandas as pd

from shoplens.assistant.verdict import (
    RULE_PRECISION,
    YesNoVerdict,
    choose_threshold,
    is_yes_no_question,
    lead_word_verdict,
    risk_coverage,
)
from shoplens.evaluation.measure import PeakMemory
from shoplens.evaluation.records import BenchmarkRecord, Protocol

ROOT = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("SHOPLENS_SHARED_DATA", ROOT.parent / "shared" / "data"))
QA_FILE = DATA / "amazon_qa" / "qa_Appliances_dev.json.gz"
DATASET = "amazon_qa_yesno"
CACHE = Path(os.environ.get("SHOPLENS_MODEL_CACHE") or Path.home() / ".cache" / "shoplens") / "yesno" / "ws"
ENCODERS = (None, "minilm", "use-multilingual")
ELIGIBLE = (None, "use-multilingual")  # read Chinese evidence (lead-word cues only, or a multilingual encoder)
FEATURES = ("evidence", "evidence+question")
CS = (0.1, 1.0, 10.0)
Z_CANDIDATES = (0.0, 1.0, 1.645)  # how sure the supported share must clear the rules' (Wilson lower bound)
Z_SPLITS = 10  # random halvings of the validation products
Z_BELOW_AT_MOST = 0.25  # the smallest z whose other-half supported share falls below the rules' this rarely
SIZES = (200, 400, 800, 1100, 1500, 2186)  # labelled training pairs (Y, N and ?) for the learning curve; 2186 = all
CURVE = (0.5, 0.6, 0.7, 0.8, 0.85, 0.9, 0.95, 0.97, 0.99)
Gate = tuple[str, bool, str]


def split_of(asin: str) -> str:
    if int(hashlib.sha256(("eval:" + asin).encode()).hexdigest(), 16) % 5 == 0:
        return "eval"
    return "validation" if int(hashlib.sha256(("val:" + asin).encode()).hexdigest(), 16) % 4 == 0 else "train"


def load_questions(path: Path = QA_FILE) -> pd.DataFrame:
    """Every question with its answer, type, answer type and product split (file order)."""
    with gzip.open(path, "rt", encoding="utf-8") as handle:
        rows = [ast.literal_eval(line) for line in handle if line.strip()]
    frame = pd.DataFrame(rows)[["asin", "question", "answer", "questionType", "answerType"]]
    frame[["question", "answer"]] = frame[["question", "answer"]].fillna("")
    frame["split"] = frame["asin"].map(split_of)
    return frame


def record(model: str, role: str, metrics: dict[str, float], notes: str, seconds: float | None = None,
           variant: str = "default") -> BenchmarkRecord:
    protocol = Protocol(split="random", ratio=[0.8, 0.2], notes=notes)
    return BenchmarkRecord.create(benchmark="assistant", dataset=DATASET, variant=variant, model=model, role=role,
                                  protocol=protocol, metrics={k: round(v, 4) for k, v in metrics.items()},
                                  seconds=seconds, peak_mb=None)


def verdict_metrics(said: np.ndarray, labels: np.ndarray) -> dict[str, float]:
    """On the Y/N questions: accuracy of the answered verdicts (None = abstained), coverage, always-yes on all and
    on the answered; on all yes/no questions (Y, N, ?): the share of verdicts the label supports (a verdict on a ?
    question is unsupported) and the share of ? questions given a verdict."""
    answered = np.array([s is not None for s in said])
    right = np.array([s == t for s, t in zip(said, labels, strict=True)])
    decided = labels != "unclear"
    on = answered & decided
    return {"answered_accuracy": float(right[on].mean()) if on.any() else 0.0,
            "coverage": float(on.sum() / decided.sum()),
            "always_yes_accuracy": float((labels[decided] == "yes").mean()),
            "always_yes_answered_accuracy": float((labels[on] == "yes").mean()) if on.any() else 0.0,
            "supported_precision": float(right[answered].mean()) if answered.any() else 0.0,
            "unclear_verdict_rate": float(answered[~decided].mean()) if (~decided).any() else 0.0}


def calibration_error(score: np.ndarray, supported: np.ndarray, bins: int = 10) -> float:
    """Expected calibration error of the verdict's probability against "the label supports it" (equal-width bins)."""
    which = np.minimum((score * bins).astype(int), bins - 1)
    return float(sum(abs(score[which == b].mean() - supported[which == b].mean()) * (which == b).mean()
                     for b in range(bins) if (which == b).any()))


def detector_figures(frame: pd.DataFrame) -> dict[str, float]:
    """Precision and recall of :func:`is_yes_no_question` against the data's questionType, validation products."""
    val = frame[frame["split"] == "validation"]
    said = val["question"].map(is_yes_no_question).to_numpy()
    truth = (val["questionType"] == "yes/no").to_numpy()
    return {"precision": float((said & truth).sum() / said.sum()), "recall": float((said & truth).sum() / truth.sum()),
            "questions": len(val)}


def rule_verdicts(answers: pd.Series, weak: bool) -> np.ndarray:
    return np.array([lead_word_verdict(a, weak=weak) for a in answers], dtype=object)


def candidates() -> list[dict[str, object]]:
    """Every learned configuration compared on validation products."""
    out = []
    for encoder, features, c, unclear in itertools.product(ENCODERS, FEATURES, CS, (False, True)):
        if encoder is None and features != "evidence":
            continue
        out.append({"encoder": encoder, "features": features, "C": c, "unclear": unclear})
    return out


def fit_candidate(config: dict[str, object], parts: dict[str, pd.DataFrame], ws: object,
                  z: float) -> YesNoVerdict:
    train = parts["train"] if config["unclear"] else parts["train"][parts["train"]["label"] != "unclear"]
    val = parts["validation"]
    model = YesNoVerdict(encoder=config["encoder"], features=str(config["features"]), C=float(config["C"]),
                         precision_z=z, min_pairs=1)
    return model.fit(train["question"].tolist(), train["answer"].tolist(), train["label"].tolist(),
                     validation=(val["question"].tolist(), val["answer"].tolist(), val["label"].tolist()),
                     workspace=ws)


def said_by(model: YesNoVerdict, part: pd.DataFrame, ws: object) -> np.ndarray:
    return np.array([v.answer for v in model.predict(part["question"].tolist(), part["answer"].tolist(),
                                                     workspace=ws)], dtype=object)


def curve_of(model: YesNoVerdict, part: pd.DataFrame, ws: object) -> tuple[list[dict[str, float]], float]:
    """Risk–coverage on the Y/N questions at fixed thresholds (with the supported share on all yes/no questions),
    and the calibration error of the verdict's probability on all yes/no questions."""
    score, answer = model.scores(part["question"].tolist(), part["answer"].tolist(), workspace=ws)
    labels = part["label"].to_numpy()
    decided = labels != "unclear"
    rows = risk_coverage(score[decided], answer[decided] == labels[decided], CURVE)
    for row in rows:
        given = score >= row["threshold"]
        row["supported"] = round(float((answer[given] == labels[given]).mean()), 4) if given.any() else 1.0
    return rows, calibration_error(score, answer == labels)


def learning_curve(parts: dict[str, pd.DataFrame], ws: object) -> list[dict[str, float]]:
    """How many labelled pairs a shop needs before a learned model beats the lead-word rules (``min_pairs``): for
    each size, three random samples of training products' pairs, fitted as a shop's ``fit`` does (default
    parameters, threshold on a held-out quarter of the sample's products; a model that does not answer more of
    that quarter than the rules falls back to them), measured on validation products."""
    val, rows = parts["validation"], []
    for size in SIZES:
        runs = []
        for seed in (0, 1, 2):
            sample = parts["train"].sample(n=min(size, len(parts["train"])), random_state=seed)
            model = YesNoVerdict(min_pairs=1, random_state=seed).fit(
                sample["question"].tolist(), sample["answer"].tolist(), sample["label"].tolist(),
                groups=sample["asin"].tolist(), workspace=ws)
            runs.append(verdict_metrics(said_by(model, val, ws), val["label"].to_numpy())
                        | {"learned": float(model.method_ == "learned")})
        rows.append({"pairs": size, "yes_no_pairs": round(size * float((parts["train"]["label"] != "unclear").mean())),
                     **{k: round(float(np.mean([r[k] for r in runs])), 4)
                        for k in ("answered_accuracy", "coverage", "supported_precision", "learned")}})
        print("learning curve", rows[-1], flush=True)
    return rows


def choose_z(parts: dict[str, pd.DataFrame], ws: object) -> tuple[float, str]:
    """``precision_z`` by cross-validation over validation products: the default model fitted on training
    products, its threshold chosen on one half of the validation products (each z), measured on the other half
    against the strong lead-word rules there; the smallest z whose supported share falls below the rules' in at
    most a quarter of the ``2 × Z_SPLITS`` halves."""
    train, val = parts["train"], parts["validation"]
    model = YesNoVerdict(min_pairs=1).fit(train["question"].tolist(), train["answer"].tolist(),
                                          train["label"].tolist(), validation=(val["question"].tolist(),
                                          val["answer"].tolist(), val["label"].tolist()), workspace=ws)
    score, answer = model.scores(val["question"].tolist(), val["answer"].tolist(), workspace=ws)
    labels = val["label"].to_numpy()
    rules = rule_verdicts(val["answer"], False)
    given = rules != None  # noqa: E711 (element-wise)
    products = np.sort(val["asin"].unique())
    found = {z: [] for z in Z_CANDIDATES}
    for seed in range(Z_SPLITS):
        half = np.isin(val["asin"].to_numpy(), np.random.default_rng(seed).permutation(products)[: len(products) // 2])
        for pick, other in ((half, ~half), (~half, half)):
            floor = float((rules[pick & given] == labels[pick & given]).mean())
            rule_share = float((rules[other & given] == labels[other & given]).mean())
            for z in Z_CANDIDATES:
                t = choose_threshold(score[pick], answer[pick], labels[pick], floor, z=z)
                said = other & (score >= t)
                decided = other & (labels != "unclear")
                found[z].append((float((answer[said] == labels[said]).mean()) - rule_share if said.any() else 0.0,
                                 float((said & decided).sum() / decided.sum())
                                 - float((given & decided).sum() / decided.sum())))
    summary = {z: (float(np.mean([f[0] < 0 for f in runs])), float(np.mean([f[0] for f in runs])),
                   float(np.mean([f[1] for f in runs]))) for z, runs in found.items()}
    chosen = min(z for z in Z_CANDIDATES if summary[z][0] <= Z_BELOW_AT_MOST) \
        if any(v[0] <= Z_BELOW_AT_MOST for v in summary.values()) else max(Z_CANDIDATES)
    text = "; ".join(f"z={z}: supported below the rules' in {b:.2f} of halves, supported − rules {d:+.4f}, "
                     f"coverage − rules {c:+.4f}" for z, (b, d, c) in summary.items())
    print("precision_z", chosen, text, flush=True)
    return chosen, text


def run() -> tuple[list[BenchmarkRecord], list[Gate]]:
    with PeakMemory() as peak:
        records, gates = _run()
    return [r.model_copy(update={"peak_mb": round(peak.mb)}) if r.role == "ours" else r for r in records], gates


def _run() -> tuple[list[BenchmarkRecord], list[Gate]]:
    import shoplens as sl

    started = time.perf_counter()
    frame = load_questions()
    CACHE.parent.mkdir(parents=True, exist_ok=True)
    ws = sl.Workspace.open(CACHE) if (CACHE / "shoplens.toml").exists() else sl.Workspace.init(CACHE)
    yn = frame[frame["questionType"] == "yes/no"].copy()
    yn["label"] = yn["answerType"].map({"Y": "yes", "N": "no", "?": "unclear"})
    parts = {s: yn[yn["split"] == s] for s in ("train", "validation", "eval")}
    labels = {s: p["label"].to_numpy() for s, p in parts.items()}
    rules = {weak: {s: verdict_metrics(rule_verdicts(parts[s]["answer"], weak), labels[s]) for s in parts}
             for weak in (False, True)}
    print("rules", rules, flush=True)

    z, z_text = choose_z(parts, ws)
    fitted = []
    for config in candidates():
        model = fit_candidate(config, parts, ws, z)
        val = verdict_metrics(said_by(model, parts["validation"], ws), labels["validation"])
        fitted.append((config, model, val))
        print(config, round(model.threshold_, 4), {k: round(v, 4) for k, v in val.items()}, flush=True)
    # English-only MiniLM is compared but not eligible: the shop's verdicts must read Chinese evidence too
    eligible = [f for f in fitted if f[0]["encoder"] in ELIGIBLE]
    config, model, val = max(eligible, key=lambda f: (f[2]["coverage"], f[2]["supported_precision"]))
    best_minilm = max((f for f in fitted if f[0]["encoder"] == "minilm"),
                      key=lambda f: (f[2]["coverage"], f[2]["supported_precision"]))
    seconds = time.perf_counter() - started
    ours = verdict_metrics(said_by(model, parts["eval"], ws), labels["eval"])
    curve, ece = curve_of(model, parts["eval"], ws)
    detector = detector_figures(frame)
    needed = learning_curve(parts, ws)
    sizes = {s: f"{int((p['label'] != 'unclear').sum())} Y/N + {int((p['label'] == 'unclear').sum())} ?"
             for s, p in parts.items()}
    return _records(config, model, val, ours, curve, ece, rules, detector, seconds, sizes, best_minilm,
                    labels["eval"], needed, (z, z_text))


def _fmt(metrics: dict[str, float]) -> str:
    return (f"answered accuracy {metrics['answered_accuracy']:.4f}, coverage {metrics['coverage']:.4f}, supported "
            f"{metrics['supported_precision']:.4f}, ? given a verdict {metrics['unclear_verdict_rate']:.4f}")


def _records(config: dict[str, object], model: YesNoVerdict, val: dict[str, float], ours: dict[str, float],
             curve: list[dict[str, float]], ece: float, rules: dict[bool, dict[str, dict[str, float]]],
             detector: dict[str, float], seconds: float, sizes: dict[str, str],
             best_minilm: tuple, eval_labels: np.ndarray,
             needed: list[dict[str, float]], z: tuple[float, str]) -> tuple[list[BenchmarkRecord], list[Gate]]:
    common = (f"products split by sha256('eval:'+asin) % 5 == 0 → evaluation products, sha256('val:'+asin) % 4 == 0 "
              f"→ validation products, the rest training products; yes/no questions: evaluation {sizes['eval']}, "
              f"validation {sizes['validation']}, training {sizes['train']}; the evidence is the question's own "
              f"answer (verdicts read evidence, retrieval is measured by the answers part); answered_accuracy and "
              f"coverage on the Y/N questions, supported_precision = share of all verdicts (Y, N and ? questions) "
              f"that the label supports, a verdict on a ? question unsupported")
    choice = (f"chosen on validation products (the most validation Y/N questions answered at the validation "
              f"threshold; candidates: cue-only or use-multilingual / MiniLM embeddings, evidence or "
              f"evidence+question, C in {CS}, ? as a third class or not; MiniLM not eligible, English only — its "
              f"best: {best_minilm[0]} validation coverage {best_minilm[2]['coverage']:.4f}): "
              f"encoder={config['encoder']}, features={config['features']}, C={config['C']}, ? as a third "
              f"class={config['unclear']}; threshold {model.threshold_:.4f} = the lowest score at which validation "
              f"answered accuracy beats always-yes (on the same answered questions and on all) and the supported "
              f"share's Wilson lower bound at z={z[0]} is at least the strong lead-word rules' share on validation "
              f"({model.min_precision_:.4f}); z chosen by {Z_SPLITS} random halvings of the validation products "
              f"(threshold on one half, measured on the other; the smallest z whose supported share falls below "
              f"the rules' in at most {Z_BELOW_AT_MOST} of halves): {z[1]}; "
              f"validation: {_fmt(val)}, always-yes {val['always_yes_accuracy']:.4f}")
    curve_text = "; ".join(f"score ≥ {c['threshold']}: coverage {c['coverage']:.3f}, error {c['error']:.3f}, "
                           f"supported {c['supported']:.3f}" for c in curve)
    notes = (f"{common}. {choice}. Logistic regression (lbfgs) on fixed features: deterministic, one run. "
             f"Evaluation: always-yes on the answered questions {ours['always_yes_answered_accuracy']:.4f}; "
             f"calibration error (10 bins, verdict probability vs supported, all yes/no questions) {ece:.4f}. "
             f"Risk–coverage on evaluation products (Y/N questions; supported over all yes/no questions): "
             f"{curve_text}. Question detector (is_yes_no_question) vs questionType on validation products "
             f"({detector['questions']} questions): precision {detector['precision']:.4f}, recall "
             f"{detector['recall']:.4f}")
    keys = ("answered_accuracy", "coverage", "supported_precision", "unclear_verdict_rate")
    records = [record("verdict-lr", "ours", {**{k: ours[k] for k in keys}, "calibration_error": ece}, notes,
                      seconds=seconds)]
    always = ours["always_yes_accuracy"]
    always_all = verdict_metrics(np.full(len(eval_labels), "yes", dtype=object), eval_labels)
    records.append(record("always-yes", "baseline", {k: always_all[k] for k in keys},
                          f"{common}. 'yes' to every yes/no question"))
    train_strong = rules[False]["train"]["supported_precision"]
    learned_text = ". Learned model (defaults, as a shop's fit) by labelled training pairs, 3 samples each, on " \
        "validation products: " + "; ".join(f"{c['pairs']} pairs (~{c['yes_no_pairs']} Y/N): answered accuracy "
                             f"{c['answered_accuracy']:.3f}, coverage {c['coverage']:.3f}, supported "
                             f"{c['supported_precision']:.3f}, learned model kept in {c['learned']:.2f} of samples"
                             for c in needed)
    for weak in (False, True):
        r = rules[weak]
        records.append(record("lead-words" + ("-weak" if weak else ""), "baseline", {k: r["eval"][k] for k in keys},
                              f"{common}. Lead-word rules alone (shoplens.assistant.verdict.lead_word_verdict, "
                              f"weak={weak}){'' if weak else ', the fallback of a shop without labelled pairs'}; "
                              f"training: {_fmt(r['train'])}; validation: {_fmt(r['validation'])}; the rule "
                              f"probability RULE_PRECISION={RULE_PRECISION} is the training supported share"
                              f"{'' if weak else learned_text}"))
    print("strong-rule supported share on training products", round(train_strong, 4), flush=True)
    gate_met = ours["answered_accuracy"] > always and val["answered_accuracy"] > val["always_yes_accuracy"]
    gates = [("yes/no: answered verdicts beat always-yes (threshold chosen on validation), risk–coverage reported",
              gate_met, f"evaluation answered accuracy {ours['answered_accuracy']:.4f} at coverage "
              f"{ours['coverage']:.4f} vs always-yes {always:.4f} (on the answered "
              f"{ours['always_yes_answered_accuracy']:.4f}); lead-word rules "
              f"{rules[False]['eval']['answered_accuracy']:.4f} at {rules[False]['eval']['coverage']:.4f}")]
    return records, gates
