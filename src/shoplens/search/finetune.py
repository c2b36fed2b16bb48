"""Contrastive fine-tuning of a bi-encoder on the shop's own (query, product) pairs.

```python
from shoplens.search.finetune import fine_tune, mine_hard_negatives, training_pairs

pairs = training_pairs(ws)          # query, product_id, source: qa questions, search queries → clicked/bought
                                    # products, review titles
folder = fine_tune(queries, positives, negatives=hard, out=tmp / "encoder", seed=0)
encoder = shoplens.text.load_encoder(folder)          # a sentence-transformers folder, like the packaged MiniLM
```

Training is sentence-transformers' ``MultipleNegativesRankingLoss`` (InfoNCE with scale 20): each query is pulled
towards its positive text and pushed from every other positive in the batch and from its mined hard negative
(a text of another product that the off-the-shelf encoder ranks high for it). Batches never hold two pairs of the
same product, so an in-batch "negative" is never a positive. A plain PyTorch loop (AdamW, linear warm-up and
decay from :mod:`shoplens.text.classifier`) keeps it free of the ``datasets`` package and the Trainer.

Whether the result is used is decided elsewhere, on validation data (:class:`shoplens.search.Search` reads the
registered encoder's card; the benchmark compares on held-out products).
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from shoplens.errors import InputError
from shoplens.progress import progress_bar
from shoplens.text.classifier import linear_schedule, warmup_steps
from shoplens.text.encoder import check_texts
from shoplens.text.threads import configure_torch

if TYPE_CHECKING:
    from shoplens.workspace import Workspace

PAIR_SOURCES = ("qa", "search", "review_title")
BUDGET_PROBE_STEPS = 3  # steps timed before the schedule is fitted to ``max_seconds``
TRAINING_FILE = "training.json"  # what the fine-tuning did (pairs, steps, seconds, settings), beside the weights


def training_pairs(ws: Workspace) -> pd.DataFrame:
    """(query, product_id, source) pairs from the warehouse: Q&A questions about a product, search queries with
    the product clicked or bought after them (events that carry both), review titles. Empty sources are skipped."""
    tables = set(ws.table_names())
    parts = []
    queries = {
        "qa": "SELECT question AS query, CAST(product_id AS VARCHAR) AS product_id FROM qa "
              "WHERE product_id IS NOT NULL",
        # a query on the product event itself, or the first product viewed / carted / bought in the same session
        # within 30 minutes after a search event
        "search": """
            SELECT query, CAST(product_id AS VARCHAR) AS product_id FROM events
            WHERE query IS NOT NULL AND product_id IS NOT NULL AND event_type <> 'search'
            UNION ALL
            SELECT query, product_id FROM (
                SELECT s.query, CAST(v.product_id AS VARCHAR) AS product_id,
                       row_number() OVER (PARTITION BY s.event_id ORDER BY v.event_ts, v.event_id) AS n
                FROM events s JOIN events v
                  ON v.session_id = s.session_id AND v.event_ts >= s.event_ts
                 AND v.event_ts <= s.event_ts + INTERVAL 30 MINUTE AND v.product_id IS NOT NULL
                 AND v.event_type IN ('view', 'add_to_cart', 'checkout', 'purchase')
                WHERE s.event_type = 'search' AND s.query IS NOT NULL AND s.session_id IS NOT NULL)
            WHERE n = 1""",
        "review_title": "SELECT title AS query, CAST(product_id AS VARCHAR) AS product_id FROM reviews "
                        "WHERE product_id IS NOT NULL",
    }
    needs = {"qa": "qa", "search": "events", "review_title": "reviews"}
    for source, sql in queries.items():
        if needs[source] not in tables:
            continue
        frame = ws.sql(sql)
        frame["source"] = source
        parts.append(frame)
    if not parts:
        return pd.DataFrame(columns=["query", "product_id", "source"])
    pairs = pd.concat(parts, ignore_index=True)
    pairs["query"] = pairs["query"].fillna("").astype(str).str.strip()
    pairs["product_id"] = pairs["product_id"].astype(str)
    return pairs[pairs["query"].str.len() > 2].drop_duplicates(["query", "product_id"]).reset_index(drop=True)


def mine_hard_negatives(query_vectors: np.ndarray, query_groups: Sequence[Any], text_vectors: np.ndarray,
                        text_groups: Sequence[Any], *, skip: int = 2, depth: int = 30, seed: int = 0) -> np.ndarray:
    """For each query, a text of *another* group (product) that ranks high by cosine: drawn at random from ranks
    ``skip``…``depth`` of the other groups' texts (the very top ones are left out: some are unlabelled positives).
    Returns text indices; -1 where there is none."""
    rng = np.random.default_rng(seed)
    query_groups = np.asarray(query_groups)
    text_groups = np.asarray(text_groups)
    out = np.full(len(query_vectors), -1, dtype=np.int64)
    for start in range(0, len(query_vectors), 512):
        scores = query_vectors[start:start + 512] @ text_vectors.T
        for i, row in enumerate(scores):
            row = np.where(text_groups == query_groups[start + i], -np.inf, row)
            top = np.argpartition(-row, depth)[:depth] if len(row) > depth else np.arange(len(row))
            top = top[np.argsort(-row[top])][skip:]
            top = top[np.isfinite(row[top])]
            if len(top):
                out[start + i] = rng.choice(top)
    return out


def distinct_group_batches(groups: Sequence[Any], batch_size: int, rng: np.random.Generator) -> list[np.ndarray]:
    """Random batches in which no group appears twice (a same-product in-batch negative would be a positive)."""
    order = rng.permutation(len(groups))
    groups = np.asarray(groups)
    batches: list[list[int]] = []
    open_batches: list[tuple[list[int], set]] = []
    for i in order:
        for members, seen in open_batches:
            if groups[i] not in seen:
                members.append(int(i))
                seen.add(groups[i])
                break
        else:
            open_batches.append(([int(i)], {groups[i]}))
        full = [b for b in open_batches if len(b[0]) == batch_size]
        batches.extend(np.asarray(b[0]) for b in full)
        open_batches = [b for b in open_batches if len(b[0]) < batch_size]
    batches.extend(np.asarray(b[0]) for b in open_batches if len(b[0]) > 1)
    return [batches[i] for i in rng.permutation(len(batches))]


def fine_tune(queries: Sequence[str], positives: Sequence[str], *, out: str | os.PathLike,
              groups: Sequence[Any] | None = None, negatives: Sequence[str | None] | None = None,
              base: str | os.PathLike = "minilm", epochs: int = 1, batch_size: int = 32, learning_rate: float = 3e-5,
              max_length: int = 128, warmup_ratio: float = 0.1, seed: int = 0, max_seconds: float | None = None,
              num_threads: int | None = None) -> Path:
    """Fine-tune ``base`` (a packaged name or a sentence-transformers folder) so that each query is closest to its
    positive; writes a sentence-transformers folder to ``out`` and returns it. ``groups`` (the product of each
    pair) keeps a product out of its own batch's negatives; ``negatives`` adds one hard negative per pair (None
    where there is none). ``max_seconds`` stops early (the learning-rate schedule still spans the planned steps)."""
    import torch
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.sentence_transformer.losses import MultipleNegativesRankingLoss

    queries, positives = check_texts(queries, "queries"), check_texts(positives, "positives")
    if len(queries) != len(positives) or len(queries) < 2:
        raise InputError(f"fine-tuning needs at least 2 (query, positive) pairs of equal count, got "
                         f"{len(queries)} queries and {len(positives)} positives")
    groups = list(range(len(queries))) if groups is None else list(groups)
    configure_torch(num_threads)
    torch.manual_seed(seed)
    model = SentenceTransformer(str(_base_folder(base)), device="cpu")
    model.max_seq_length = max_length
    loss = MultipleNegativesRankingLoss(model)
    for parameter in _word_embeddings(model).parameters():
        parameter.requires_grad_(False)  # half of MiniLM's weights; they barely move and freezing halves a step
    rng = np.random.default_rng(seed)
    plan = [b for _ in range(epochs) for b in distinct_group_batches(groups, batch_size, rng)]
    total = [len(plan)]  # shortened once the time per step is known, so the schedule ends with the budget
    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=learning_rate,
                                  weight_decay=0.01)
    scheduler = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda s: linear_schedule(s, total[0], warmup_steps(total[0], warmup_ratio)))
    tokenize = getattr(model, "preprocess", model.tokenize)  # renamed in sentence-transformers 6
    model.train()
    started, step = time.perf_counter(), 0
    with progress_bar("fine-tuning the search encoder", len(plan), unit="steps") as bar:
        for batch in plan:
            texts = [[queries[i] for i in batch], [positives[i] for i in batch]]
            if negatives is not None and all(negatives[i] for i in batch):
                texts.append([str(negatives[i]) for i in batch])
            features = [_to_device(tokenize(t), model.device) for t in texts]
            value = loss(features, torch.zeros(len(batch)))
            optimizer.zero_grad()
            value.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()
            scheduler.step()
            step += 1
            bar.advance(1)
            elapsed = time.perf_counter() - started
            if max_seconds is not None and step == BUDGET_PROBE_STEPS:
                total[0] = min(total[0], max(step + 1, int(max_seconds / (elapsed / step))))
            if step >= total[0] or (max_seconds is not None and elapsed > max_seconds):
                break
    model.eval()
    out = Path(out)
    model.save(str(out))
    info = {"pairs": len(queries), "steps": step, "planned_steps": total[0], "epochs": epochs, "batch_size": batch_size,
            "learning_rate": learning_rate, "max_length": max_length, "hard_negatives": negatives is not None,
            "planned_for_data": len(plan),
            "seed": seed, "seconds": round(time.perf_counter() - started, 1), "base": str(base)}
    (out / TRAINING_FILE).write_text(json.dumps(info, indent=2), encoding="utf-8")
    return out


def _word_embeddings(model: Any) -> Any:
    return model[0].auto_model.get_input_embeddings()


def _to_device(features: dict[str, Any], device: Any) -> dict[str, Any]:
    return {k: v.to(device) if hasattr(v, "to") else v for k, v in features.items()}


def _base_folder(base: str | os.PathLike) -> Path:
    from shoplens.text import models

    if isinstance(base, str) and models.canonical_name(base) == "minilm":
        return models.minilm_path()
    if isinstance(base, str) and models.canonical_name(base) == "mpnet":
        return models.mpnet_path()
    folder = Path(base)
    if not (folder / "modules.json").exists():
        raise InputError(f"fine-tuning needs a sentence-transformers folder (with modules.json) or 'minilm', "
                         f"got {base!r}")
    return folder
