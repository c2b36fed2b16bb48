"""Where SASRec's training time goes on Beauty (issue 18): CPU seconds per phase of one epoch, not a benchmark record.

    PYTHONPATH=src python benchmarks/_sasrec_phases.py [--batches N] full sampled:4096 sampled:2048 fp32 validation

Each setting trains the same batches (the first ``--batches`` of one epoch's length buckets, seed 0; all 175 by
default) from the same fresh network, with the calls ``SASRec._train_epoch`` makes, timed around each phase:
encoder forward, catalogue logits forward, cross-entropy forward, cross-entropy + logits backward, encoder
backward, Adam. ``validation`` times the validation scoring of the 22,363 customers as ``SASRec`` does it now
(blocks of similar history length) and as it did before (blocks in customer order), on the same network.
Seconds are CPU seconds of this process (``time.process_time``, both threads), which a shared machine's load
inflates far less than wall seconds; ratios between settings are the figures to read. docs/recommend.md has a run.
"""

from __future__ import annotations

import argparse
import time
from typing import Any

import numpy as np
import torch

from recommend import beauty_frame, beauty_sasrec
from shoplens.recommend import SASRec, leave_one_out
from shoplens.recommend import sasrec as sasrec_module
from shoplens.recommend.data import interactions_frame

PHASES = ("encoder_forward", "logits_forward", "cross_entropy_forward", "cross_entropy_logits_backward",
          "encoder_backward", "adam")


class Untrained(SASRec):
    """SASRec's fitted state (ids, histories, the network) without training: what the phases need."""

    def _train(self, *args: Any, **kwargs: Any) -> None:
        return None


def training_sequences(model: SASRec, train: Any) -> list[np.ndarray]:
    frame = interactions_frame(train)
    users = np.searchsorted(model.user_ids_, frame["customer_id"].astype(str).to_numpy())
    items = np.searchsorted(model.item_ids_, frame["product_id"].astype(str).to_numpy())
    indptr, ordered = model._sequences(frame.assign(u=users, i=items))
    return [ordered[indptr[u]:indptr[u + 1]] for u in range(len(indptr) - 1)]


def timed_epoch(net: Any, setting: str, trainable: list[np.ndarray], batches: list[np.ndarray]) -> dict[str, float]:
    """CPU seconds per phase over ``batches`` for a setting: full | fp32 | sampled:<negatives>."""
    negatives = int(setting.split(":")[1]) if setting.startswith("sampled") else 0
    optimiser = torch.optim.Adam(net.parameters(), lr=2e-3)
    seconds = dict.fromkeys(PHASES, 0.0)
    lengths = np.array([len(s) for s in trainable])
    net.train()
    for batch in batches:
        padded = torch.from_numpy(sasrec_module._left_pad([trainable[b] for b in batch], int(lengths[batch].max())))
        inputs, targets = padded[:, :-1], padded[:, 1:]
        real = targets > 0
        marks = [time.process_time()]
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=setting != "fp32"):
            hidden = net(inputs)[real]
            cut = hidden.detach().requires_grad_()  # the encoder's backward is timed on its own below
            marks.append(time.process_time())
            if negatives:
                loss = sasrec_module._sampled_softmax_loss(net, cut, targets[real], negatives)
            else:
                logits = net.logits(cut)
        marks.append(time.process_time())
        if not negatives:
            loss = torch.nn.functional.cross_entropy(logits.float(), targets[real] - 1)
        marks.append(time.process_time())
        optimiser.zero_grad()
        loss.backward()
        marks.append(time.process_time())
        hidden.backward(cut.grad)
        marks.append(time.process_time())
        optimiser.step()
        marks.append(time.process_time())
        for phase, spent in zip(PHASES, np.diff(marks), strict=True):
            seconds[phase] += float(spent)
    return seconds | {"training_pass": sum(seconds.values())}


def validation_before(model: SASRec, net: Any, sequences: list[np.ndarray], users: np.ndarray,
                      items: np.ndarray) -> float:
    """The validation NDCG@10 as SASRec computed it before issue 18 (blocks of 1,024 customers in their order)."""
    ranks = []
    for start in range(0, len(users), 1024):
        block = users[start:start + 1024]
        scores = model._score_sequences(net, [sequences[u] for u in block])
        seen = model.X_[block].tocoo()
        target_scores = scores[np.arange(len(block)), items[start:start + 1024]].copy()
        scores[seen.row, seen.col] = -np.inf
        ranks.append((scores > target_scores[:, None]).sum(axis=1))
    rank = np.concatenate(ranks)
    return float(np.where(rank < 10, 1.0 / np.log2(rank + 2), 0.0).mean())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("settings", nargs="+", help="full | fp32 | sampled:<negatives> | validation")
    parser.add_argument("--batches", type=int, help="time only the first N batches (scaled to an epoch)")
    args = parser.parse_args()
    split = leave_one_out(beauty_frame())
    model = Untrained(**beauty_sasrec().get_params()).fit(split.train, validation=split.validation, extend=False)
    sequences = training_sequences(model, split.train)
    trainable = [s[-(model.max_len + 1):] for s in sequences if len(s) >= 2]
    batches = sasrec_module._length_buckets(np.array([len(s) for s in trainable]), model.batch_size,
                                            np.random.default_rng(0))
    timed = batches[:args.batches] if args.batches else batches
    print(f"{len(sequences)} sequences, {sum(len(s) - 1 for s in trainable)} targets, {len(model.item_ids_)} items, "
          f"{len(timed)} of {len(batches)} batches timed", flush=True)
    torch.set_num_threads(model.threads)
    torch.manual_seed(0)
    fresh = sasrec_module._build_network(len(model.item_ids_), model.dim, model.layers, model.heads, model.max_len,
                                         model.dropout).state_dict()
    net = sasrec_module._build_network(len(model.item_ids_), model.dim, model.layers, model.heads, model.max_len,
                                       model.dropout)
    valid = split.validation
    users = np.searchsorted(model.user_ids_, valid["customer_id"].astype(str).to_numpy())
    items = np.searchsorted(model.item_ids_, valid["product_id"].astype(str).to_numpy())
    for setting in args.settings:
        net.load_state_dict(fresh)
        if setting == "validation":
            for name, score in (("before", validation_before), ("now", model._validation_ndcg)):
                start = time.process_time()
                ndcg = score(net, sequences, users, items) if name == "now" else score(model, net, sequences, users,
                                                                                         items)
                print(f"validation {name}: {time.process_time() - start:.2f} CPU s (NDCG@10 {ndcg:.6f})", flush=True)
            continue
        scale = len(batches) / len(timed)
        seconds = timed_epoch(net, setting, trainable, timed)
        print(setting, {k: round(v * scale, 2) for k, v in seconds.items()}, flush=True)


if __name__ == "__main__":
    main()
