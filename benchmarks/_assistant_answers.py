"""amazon_qa_answers: answer retrieval with real customer questions (issue 12, part 2).

Data: ../shared/data/amazon_qa/qa_Appliances_dev.json.gz (7,362 Q&A pairs, 940 products, 7,317 distinct
(product, question) pairs). Protocol, as committed here:

- products with ``int(sha256(("eval:" + asin).encode()).hexdigest(), 16) % 5 == 0`` are the evaluation products;
  each distinct question of an evaluation product is a query;
- the corpus is every answer of every product (7,362 passages, the answer text alone); the relevant passages of a
  query are that question's own answers (a question asked twice about one product has two);
- MRR@10 (first relevant answer) and Recall@10 (share of the relevant answers in the top 10), ties pessimistic;
- the query's own pair never vouches for itself: its question is withheld from every question-side signal (the
  product-level signals see the product's *other* questions), its answer text stays a candidate like any other;
- anything learned (fine-tuning, which signals join, fusion weights) sees only the other products: those with
  ``sha256("val:" + asin) % 4 == 0`` are validation products (their questions are validation queries under the
  same protocol), the rest are training products (their question → answer pairs train the fine-tuned encoder).

Baselines, same run, same queries: BM25 over the answers (tantivy via ``shoplens.search.index``), off-the-shelf
all-MiniLM-L6-v2 cosine of question and answer, and equal-weight reciprocal rank fusion of the two.

Ours: :class:`shoplens.assistant.retrieval.EvidenceRetriever` with MiniLM and multilingual-e5-small —
first stage: BM25 and cosines of the answer, product-level signals (the best BM25 and cosines between the query
and the product's other questions), a yes/no match, fused by weights learned on the validation questions; a
LightGBM LambdaRank reranker over its top 100 trained on the training products' questions (own question withheld
the same way), its setting chosen on validation; then MiniLM fine-tuned contrastively on the training products'
question → answer pairs, whose cosine joins the final fusion only if it beats off-the-shelf MiniLM's MRR@10 on
validation. Reported without fine-tuning (``hybrid-reranked``, deterministic) and with it, the mean over three
fine-tuning seeds (each seed's figures in the notes).

Caches (``~/.cache/shoplens/answers/``): embeddings in a workspace, each fine-tuned encoder and each seed's result
under a key of the data and the code that produces them, so an interrupted run resumes where it stopped.
"""

from __future__ import annotations

import ast
import gzip
import hashlib
import inspect
import json
import os
import shutil
import statistics
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from shoplens.assistant.retrieval import EvidenceRetriever, evidence_metrics
from shoplens.evaluation.measure import PeakMemory
from shoplens.evaluation.records import BenchmarkRecord, Protocol
from shoplens.search.fusion import reciprocal_rank_fusion

ROOT = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("SHOPLENS_SHARED_DATA", ROOT.parent / "shared" / "data"))
QA_FILE = DATA / "amazon_qa" / "qa_Appliances_dev.json.gz"
DATASET = "amazon_qa_answers"
K = 10
SEEDS = (0, 1, 2)
# Passes of fine-tuning, chosen on validation with seed 0 (2026-12-07, the code of this commit): 2 passes gave the
# fused retriever validation MRR@10 0.3428 (fine-tuned encoder alone 0.2830), 1 pass 0.3390 (0.2818).
EPOCHS = 2
ENCODERS = ("minilm", "e5-small")
CACHE = Path(os.environ.get("SHOPLENS_MODEL_CACHE") or Path.home() / ".cache" / "shoplens") / "answers"
GATE_MRR, GATE_RATIO = 0.33, 1.20
SOURCES = [Path(__file__), *(ROOT / "src" / "shoplens" / p for p in
                             ("assistant/retrieval.py", "search/finetune.py", "search/fusion.py",
                              "search/index.py"))]


def is_eval(asin: str) -> bool:
    return int(hashlib.sha256(("eval:" + asin).encode()).hexdigest(), 16) % 5 == 0


def is_validation(asin: str) -> bool:
    return int(hashlib.sha256(("val:" + asin).encode()).hexdigest(), 16) % 4 == 0


def load_pairs(path: Path = QA_FILE) -> pd.DataFrame:
    """One row per Q&A pair (file order) with its product's split and its evidence id ``qa:<row>``."""
    with gzip.open(path, "rt", encoding="utf-8") as handle:
        rows = [ast.literal_eval(line) for line in handle if line.strip()]
    pairs = pd.DataFrame(rows)[["asin", "question", "answer"]].fillna("")
    pairs["evidence_id"] = [f"qa:{i}" for i in range(len(pairs))]
    pairs["split"] = np.where(pairs["asin"].map(is_eval), "eval",
                              np.where(pairs["asin"].map(is_validation), "validation", "train"))
    return pairs


def passages_of(pairs: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame({"evidence_id": pairs["evidence_id"], "text": pairs["answer"], "kind": "qa",
                         "product_id": pairs["asin"], "language": "en", "question": pairs["question"]})


def queries_of(pairs: pd.DataFrame, split: str) -> pd.DataFrame:
    """A split's distinct (product, question) pairs: the question, its answers' ids (relevant and withheld)."""
    chosen = pairs[pairs["split"] == split]
    grouped = chosen.groupby(["asin", "question"], sort=True)["evidence_id"].agg(list).reset_index()
    return pd.DataFrame({"question": grouped["question"], "evidence_id": grouped["evidence_id"],
                         "withhold": grouped["evidence_id"], "product_id": grouped["asin"]})


def training_of(pairs: pd.DataFrame) -> pd.DataFrame:
    train = pairs[pairs["split"] == "train"]
    return train[train["question"].str.strip() != ""][["question", "evidence_id"]].reset_index(drop=True)


def code_key(*parts: Any) -> str:
    """A key of the data file and of every source file whose edit changes the result."""
    digests = [hashlib.sha256(f.read_bytes()).hexdigest() for f in SOURCES]
    return hashlib.sha256(":".join([str(QA_FILE.stat().st_size), *map(str, parts), *digests]).encode()).hexdigest()[:16]


def tuned_key(training: pd.DataFrame, seed: int) -> str:
    """What a fine-tuned encoder depends on: the training pairs, the seed and passes, the training code (the
    retriever's ``train_encoder`` and ``shoplens.search.finetune``) — not the fusion, so editing that keeps it."""
    parts = [pd.util.hash_pandas_object(training, index=False).sum(), seed, EPOCHS,
             inspect.getsource(EvidenceRetriever.train_encoder),
             (ROOT / "src" / "shoplens" / "search" / "finetune.py").read_text(), QA_FILE.stat().st_size]
    return hashlib.sha256(":".join(map(str, parts)).encode()).hexdigest()[:16]


def tuned_encoder(passages: pd.DataFrame, training: pd.DataFrame, seed: int, ws: Any) -> Path:
    """The seed's fine-tuned encoder, trained once and kept in the cache (keyed by what training depends on)."""
    folder = CACHE / f"tuned-{tuned_key(training, seed)}"
    if (folder / "training.json").exists():
        return folder
    base = EvidenceRetriever(encoders=ENCODERS[:1], product_signals=False, rerank=False).fit(passages, workspace=ws)
    staging = folder.with_name(folder.name + ".partial")
    shutil.rmtree(staging, ignore_errors=True)
    base.train_encoder(training, staging, seed=seed, epochs=EPOCHS, workspace=ws)
    staging.rename(folder)
    return folder


def record(model: str, role: str, metrics: dict[str, float], notes: str, seconds: float | None = None,
           peak_mb: float | None = None) -> BenchmarkRecord:
    protocol = Protocol(split="random", ratio=[0.8, 0.2], candidates="full", k=K, notes=notes)
    return BenchmarkRecord.create(benchmark="assistant", dataset=DATASET, variant="default", model=model, role=role,
                                  protocol=protocol, metrics={k: round(v, 4) for k, v in metrics.items()},
                                  seconds=seconds, peak_mb=peak_mb)


PROTOCOL = ("products split by sha256('eval:'+asin) % 5 == 0 → evaluation products, each distinct question a "
            "query; corpus all 7,362 answers (answer text); relevant = the question's own answers; the query's "
            "own question withheld from every question-side signal; ties pessimistic")


def run() -> tuple[list[BenchmarkRecord], list[tuple[str, bool, str]]]:
    with PeakMemory() as peak:
        records, gates = _run()
    return [r.model_copy(update={"peak_mb": round(peak.mb)}) if r.role == "ours" else r for r in records], gates


def workspace() -> Any:
    import shoplens as sl

    path = CACHE / "ws"
    CACHE.mkdir(parents=True, exist_ok=True)
    return sl.Workspace.open(path) if (path / "shoplens.toml").exists() else sl.Workspace.init(path)


def evaluate(retriever: EvidenceRetriever, queries: pd.DataFrame, ws: Any) -> dict[str, float]:
    scores = retriever.scores(queries["question"].tolist(), withhold=queries["withhold"].tolist(), workspace=ws)
    return evidence_metrics(scores, relevant_rows(retriever, queries), K)


def relevant_rows(retriever: EvidenceRetriever, queries: pd.DataFrame) -> list[np.ndarray]:
    return [np.array([retriever.row_of_[e] for e in ids]) for ids in queries["evidence_id"]]


def _run() -> tuple[list[BenchmarkRecord], list[tuple[str, bool, str]]]:
    """Everything, or with ``SHOPLENS_ANSWERS_CACHED_SEEDS=1`` only the fine-tuning seeds already in the cache (to
    write what is measured while the rest of a long run is still going)."""
    started = time.perf_counter()
    ws = workspace()
    pairs = load_pairs()
    passages, training = passages_of(pairs), training_of(pairs)
    evaluation, validation, train_queries = (queries_of(pairs, s) for s in ("eval", "validation", "train"))
    fitted: list[EvidenceRetriever] = []  # the base retriever, fitted (or loaded) once when a seed needs it

    def base_model() -> EvidenceRetriever:
        if not fitted:
            fitted.append(base_retriever(passages, train_queries, validation, ws))
        return fitted[0]

    base = cached_json(f"base-{code_key('base')}", lambda: base_run(base_model(), evaluation, ws))
    print("baselines and ours without fine-tuning", base, flush=True)
    cached_only = os.environ.get("SHOPLENS_ANSWERS_CACHED_SEEDS") == "1"
    runs = [seed_run(base_model, passages, training, validation, evaluation, seed, ws, cached_only)
            for seed in SEEDS]
    return report(pairs, evaluation, validation, base, [r for r in runs if r], time.perf_counter() - started)


def cached_json(name: str, compute: Any) -> Any:
    """A JSON result computed once per name (names carry a key of the data and code) in the cache folder."""
    path = CACHE / f"{name}.json"
    if path.exists():
        return json.loads(path.read_text())
    value = compute()
    path.write_text(json.dumps(value, default=float))
    return json.loads(path.read_text())


def base_retriever(passages: pd.DataFrame, train_queries: pd.DataFrame, validation: pd.DataFrame,
                   ws: Any) -> EvidenceRetriever:
    """Ours without fine-tuning, fitted once and kept (a saved retriever folder keyed by data and code)."""
    folder = CACHE / f"retriever-{code_key('base')}"
    if (folder / "retriever.json").exists():
        return EvidenceRetriever.load(folder)
    started = time.perf_counter()
    model = EvidenceRetriever(encoders=ENCODERS).fit(passages, train_queries, validation, workspace=ws)
    model.notes_["fit_seconds"] = round(time.perf_counter() - started, 1)
    model.save(folder)
    return model


def base_run(base: EvidenceRetriever, evaluation: pd.DataFrame, ws: Any) -> dict[str, Any]:
    """The baselines and ours without fine-tuning, on the evaluation queries."""
    signals = base.staged(base.signals(evaluation["question"].tolist(), withhold=evaluation["withhold"].tolist(),
                                       workspace=ws))
    relevant = relevant_rows(base, evaluation)
    baselines = {"bm25": signals["bm25"], "minilm": signals["dense:minilm"],
                 "rrf-bm25-minilm": reciprocal_rank_fusion([signals["bm25"], signals["dense:minilm"]]),
                 "first-stage": signals["first_stage"], "hybrid-minilm": base.fusion_.score(signals)}
    return {"metrics": {name: evidence_metrics(s, relevant, K) for name, s in baselines.items()},
            "notes": base.notes_, "seconds": base.notes_.get("fit_seconds")}


def seed_run(base: Any, passages: pd.DataFrame, training: pd.DataFrame, validation: pd.DataFrame,
             evaluation: pd.DataFrame, seed: int, ws: Any, cached_only: bool = False) -> dict[str, Any] | None:
    """One fine-tuning seed's result, cached under a key of the data and the code (resumable): the seed's encoder
    fine-tuned on the training pairs, added to the base retriever (``base()``, fitted once) with
    :meth:`EvidenceRetriever.with_fine_tuned`. None when ``cached_only`` and not yet in the cache."""
    path = CACHE / f"seed-{code_key('seed', seed, EPOCHS)}.json"
    if path.exists() or cached_only:
        return json.loads(path.read_text()) if path.exists() else None
    seed_started = time.perf_counter()
    folder = tuned_encoder(passages, training, seed, ws)
    retriever = base().with_fine_tuned(folder, validation, workspace=ws)
    info = json.loads((folder / "training.json").read_text())
    result = {"seed": seed, "metrics": evaluate(retriever, evaluation, ws), "used": retriever.tuned_folder_ is not None,
              "notes": retriever.notes_, "steps": info["steps"], "train_seconds": info["seconds"],
              "seconds": round(time.perf_counter() - seed_started, 1)}
    path.write_text(json.dumps(result, default=float))
    print("seed", seed, result, flush=True)
    return result


def report(pairs: pd.DataFrame, evaluation: pd.DataFrame, validation: pd.DataFrame, base: dict[str, Any],
           runs: list[dict[str, Any]], seconds: float) -> tuple[list[BenchmarkRecord], list[tuple[str, bool, str]]]:
    metrics = base["metrics"]
    common = (f"{PROTOCOL}; {len(evaluation)} queries of {evaluation['product_id'].nunique()} products; validation "
              f"{len(validation)} queries of {validation['product_id'].nunique()} other products (sha256('val:'+asin)"
              f" % 4 == 0), training the rest ({int((pairs['split'] == 'train').sum())} pairs); corpus "
              f"{len(pairs)} answers of {pairs['asin'].nunique()} products")
    ours_method = (f"EvidenceRetriever, encoders {list(ENCODERS)}: first stage = BM25 and cosines of the answer, "
                   f"product-level best BM25 and cosines to the product's other questions, fused by weights learned "
                   f"on the validation questions (coordinate ascent on MRR@10); LightGBM LambdaRank reranker over its "
                   f"top 100, trained on the training products' questions (own question withheld the same way), "
                   f"setting chosen on validation MRR@10; final fusion weights on validation")
    records = [
        record("bm25", "baseline", metrics["bm25"], f"{common}; tantivy BM25 over the answer text "
               "(shoplens.search.index analysis: stemming, jieba for Chinese)"),
        record("minilm", "baseline", metrics["minilm"], f"{common}; off-the-shelf all-MiniLM-L6-v2, cosine of "
               "question and answer"),
        record("rrf-bm25-minilm", "baseline", metrics["rrf-bm25-minilm"], f"{common}; equal-weight reciprocal "
               "rank fusion (k=60) of the two"),
        record("fused-first-stage", "reference", metrics["first-stage"], f"{common}; the first stage of ours alone "
               f"(linear fusion learned on validation, no reranker, no fine-tuning)"),
        record("hybrid-reranked", "reference", metrics["hybrid-minilm"],
               f"{common}; ours without fine-tuning: {ours_method}; {json.dumps(base['notes'], default=float)}",
               seconds=base["seconds"]),
    ]
    minilm = metrics["minilm"][f"mrr@{K}"]
    gate = f"{DATASET}: MRR@10 ≥ {GATE_MRR} and ≥ {GATE_RATIO} × off-the-shelf MiniLM (mean of {len(SEEDS)} seeds)"
    per_seed = "; ".join(
        f"seed {r['seed']}: MRR@10 {r['metrics'][f'mrr@{K}']:.4f} R@10 {r['metrics'][f'recall@{K}']:.4f}, "
        f"fine-tuned used {r['used']} ({r['steps']} steps in {r['train_seconds']:.0f} s), "
        f"{json.dumps(r['notes'], default=float)}" for r in runs)
    if len(runs) < len(SEEDS):  # measured so far: no record of ours, the gate open
        return records, [(gate, False, f"{len(runs)} of {len(SEEDS)} fine-tuning seeds measured so far "
                                       f"({per_seed or 'none'}); without fine-tuning MRR@10 "
                                       f"{metrics['hybrid-minilm'][f'mrr@{K}']:.4f} vs {GATE_MRR} and {GATE_RATIO}"
                                       f" × {minilm:.4f} = {GATE_RATIO * minilm:.4f}")]
    mean = {m: statistics.mean(r["metrics"][m] for r in runs) for m in (f"mrr@{K}", f"recall@{K}")}
    records.append(record(
        "hybrid-reranked-finetuned", "ours", mean,
        f"{common}; mean over fine-tuning seeds {list(SEEDS)}: {ours_method}; plus MiniLM fine-tuned with "
        f"MultipleNegativesRankingLoss on the training products' question → answer pairs (in-batch negatives, no "
        f"product twice per batch, one hard negative mined with off-the-shelf MiniLM among other products' "
        f"answers, lr 5e-5, batch 32, max 128 tokens, {EPOCHS} passes), its cosine joining the final fusion only "
        f"where it beats off-the-shelf MiniLM's MRR@10 on validation. Per seed: {per_seed}",
        seconds=round(seconds, 1)))
    seeds = ", ".join(f"{r['metrics'][f'mrr@{K}']:.4f}" for r in runs)
    met = mean[f"mrr@{K}"] >= GATE_MRR and mean[f"mrr@{K}"] >= GATE_RATIO * minilm
    gates = [(gate, met, f"MRR@10 {mean[f'mrr@{K}']:.4f} (seeds: {seeds}) vs {GATE_MRR} and {GATE_RATIO} × "
                         f"{minilm:.4f} = {GATE_RATIO * minilm:.4f}; Recall@10 {mean[f'recall@{K}']:.4f}")]
    return records, gates
