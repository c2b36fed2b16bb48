"""SASRec (Kang & McAuley, ICDM 2018) trained with full softmax cross-entropy over the whole catalogue
("SASRec+", Klenitskiy & Vasilev, RecSys 2023), in PyTorch on the CPU, with early stopping on the
validation NDCG@10.

A causal transformer reads a customer's items in time order and, at every position, scores every item
as the next one (logits = hidden state · item embeddings, tied). Training uses every position of every
training sequence; sequences are bucketed by length so padding costs little. Early stopping: after
each epoch the model ranks each validation customer's held-out next item against the full catalogue
(history excluded); training stops after ``patience`` epochs without improvement and keeps the best
weights. Without a validation frame, the last interaction of each customer with at least three is held
out of training for that purpose (and used as history when scoring).

Side information (``side="text"``, ``"attributes"`` or ``"text+attributes"``): each item's representation — read
by the input and, tied, by the output layer — fuses its learned id embedding with a projection of the frozen
sentence embedding of its text (title, brand, category, attribute facts; ``shoplens.text``, cached in the
workspace) and/or the mean of learned embeddings of its attribute tokens (brand, category levels, attribute
facts; S3-Rec's attribute ids), by a sum or a gated sum (``fusion``). Items nobody interacted with in training
have no id part: they are ranked by their side information alone, instead of being left out (``side=None``).
"""

from __future__ import annotations

import copy
import time
from typing import Any, ClassVar, NamedTuple

import numpy as np
import pandas as pd
import scipy.sparse as sp

from shoplens.errors import InputError, ShoplensError
from shoplens.recommend.base import Recommender
from shoplens.recommend.data import ITEM, USER, products_frame, time_number
from shoplens.recommend.persist import register
from shoplens.recommend.ranking import top_k_rows
from shoplens.recommend.side import AttributeTokens, attribute_tokens, item_side_texts, side_parts, text_vectors


def _torch() -> Any:
    try:
        import torch
    except ImportError:
        raise ShoplensError("SASRec needs PyTorch: install shoplens[text]") from None
    return torch


class SideInputs(NamedTuple):
    """What the item representation reads beside the id (``SASRec(side=...)``), one row per item (no pad row):
    frozen text vectors, attribute tokens as CSR parts, which items were trained on, and the fusion."""

    text: np.ndarray | None
    tokens: AttributeTokens | None
    trained: np.ndarray
    fusion: str


def _side_module(n_items: int, dim: int, side: SideInputs) -> Any:
    """The fused item matrix ((n_items + 1) × dim, row 0 the pad): the id embedding (items never trained on
    have none: theirs would only have been pushed down as a negative) fused with a projection of the frozen
    text vector and/or the mean of the item's attribute-token embeddings — by sum, or by a gated sum whose gate
    (per dimension, from both parts) weighs the id against the side information."""
    torch = _torch()
    nn = torch.nn

    class SideItems(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            has_side = np.zeros(n_items + 1, dtype=bool)
            if side.text is not None:
                self.text_projection = nn.Linear(side.text.shape[1], dim)
                nn.init.normal_(self.text_projection.weight, std=dim ** -0.5)  # unit inputs → the ids' scale
                nn.init.zeros_(self.text_projection.bias)
                self.register_buffer("text", torch.from_numpy(np.vstack([np.zeros((1, side.text.shape[1])),
                                                                         side.text]).astype(np.float32)),
                                     persistent=False)
                has_side[1:] |= np.abs(side.text).sum(axis=1) > 0
            if side.tokens is not None:
                self.attributes = nn.EmbeddingBag(max(len(side.tokens.names), 1), dim, mode="mean")
                nn.init.normal_(self.attributes.weight, std=dim ** -0.5)
                offsets = np.concatenate([[0], side.tokens.indptr[:-1]])  # row 0 (the pad): an empty bag
                self.register_buffer("codes", torch.from_numpy(side.tokens.codes.astype(np.int64)), persistent=False)
                self.register_buffer("offsets", torch.from_numpy(offsets.astype(np.int64)), persistent=False)
                has_side[1:] |= np.diff(side.tokens.indptr) > 0
            self.gate = nn.Linear(2 * dim, dim) if side.fusion == "gate" else None
            warm = np.concatenate([[False], side.trained])
            self.register_buffer("warm", torch.from_numpy(warm.astype(np.float32))[:, None], persistent=False)
            self.register_buffer("has_side", torch.from_numpy(has_side.astype(np.float32))[:, None],
                                 persistent=False)

        def forward(self, ids: Any) -> Any:
            parts = []
            if side.text is not None:
                parts.append(self.text_projection(self.text))
            if side.tokens is not None:
                parts.append(self.attributes(self.codes, self.offsets))
            features = sum(parts[1:], parts[0]) * self.has_side
            ids = ids * self.warm
            if self.gate is None:
                return ids + features
            gate = torch.sigmoid(self.gate(torch.cat([ids, features], dim=1)))
            return gate * ids + (1 - gate) * features

    return SideItems()


def _build_network(n_items: int, dim: int, layers: int, heads: int, max_len: int, dropout: float,
                   side: SideInputs | None = None) -> Any:
    torch = _torch()
    nn = torch.nn
    functional = torch.nn.functional

    class Block(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.norm1, self.norm2 = nn.LayerNorm(dim), nn.LayerNorm(dim)
            self.qkv, self.out = nn.Linear(dim, 3 * dim), nn.Linear(dim, dim)
            self.ff = nn.Sequential(nn.Linear(dim, dim), nn.GELU(), nn.Dropout(dropout), nn.Linear(dim, dim))
            self.drop = nn.Dropout(dropout)

        def forward(self, x: Any, mask: Any) -> Any:
            batch, length, _ = x.shape
            q, k, v = self.qkv(self.norm1(x)).view(batch, length, 3, heads, dim // heads).permute(2, 0, 3, 1, 4)
            attended = functional.scaled_dot_product_attention(
                q, k, v, attn_mask=mask, dropout_p=dropout if self.training else 0.0)
            x = x + self.drop(self.out(attended.transpose(1, 2).reshape(batch, length, dim)))
            return x + self.drop(self.ff(self.norm2(x)))

    class SASRecNet(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.items = nn.Embedding(n_items + 1, dim, padding_idx=0)  # 0 pads
            self.positions = nn.Embedding(max_len, dim)
            self.drop = nn.Dropout(dropout)
            self.blocks = nn.ModuleList([Block() for _ in range(layers)])
            self.norm = nn.LayerNorm(dim)
            self.side = _side_module(n_items, dim, side) if side is not None else None
            nn.init.normal_(self.items.weight, std=dim ** -0.5)
            with torch.no_grad():
                self.items.weight[0].zero_()

        def item_table(self) -> Any:
            """Every item's representation ((n_items + 1) × dim, row 0 the pad), read by the input and, tied, by
            the output layer."""
            return self.items.weight if self.side is None else self.side(self.items.weight)

        def forward(self, sequences: Any, table: Any = None) -> Any:
            """Hidden states (batch × length × dim) of left-padded sequences; the last column is the newest.
            ``table``: the item table when the caller has it already (a training step reads it twice)."""
            table = self.item_table() if table is None else table
            length = sequences.shape[1]
            positions = torch.arange(max_len - length, max_len)
            x = functional.embedding(sequences, table, padding_idx=0) * dim ** 0.5 + self.positions(positions)[None]
            x = self.drop(x) * (sequences > 0).unsqueeze(-1)
            causal = torch.ones(length, length, dtype=torch.bool).tril()
            # a position sees earlier real items and itself (never an all-masked row)
            mask = (causal[None] & (sequences > 0)[:, None, :]) | torch.eye(length, dtype=torch.bool)[None]
            for block in self.blocks:
                x = block(x, mask[:, None])
            return self.norm(x)

        def logits(self, hidden: Any, table: Any = None) -> Any:
            return hidden @ (self.item_table() if table is None else table)[1:].T

    return SASRecNet()


LOSSES = ("full", "sampled")
FUSIONS = ("sum", "gate")


def _sampled_softmax_loss(net: Any, hidden: Any, targets: Any, negatives: int, table: Any = None) -> Any:
    """Cross-entropy of each target against a uniform sample of ``negatives`` items shared by the batch.

    Each sampled item stands for ``n_items / negatives`` items of the catalogue (the logQ correction of a
    uniform proposal), so the sum of exponentials estimates the full softmax's denominator; a sampled item that
    is the row's own target is left out (an "accidental hit"). The shared sample makes the catalogue part of
    the cost ``negatives / n_items`` of the full softmax's."""
    torch = _torch()
    weight = net.item_table() if table is None else table  # row 0 pads; items are rows 1..n
    n_items = weight.shape[0] - 1
    sample = torch.randperm(n_items)[:negatives] + 1
    positive = (hidden.float() * weight[targets].float()).sum(-1)
    sampled = (hidden @ weight[sample].T).float()
    # accidental hits: where in the sample each row's target sits, if it does (one entry per row, not a mask)
    slot = torch.full((n_items + 1,), -1, dtype=torch.long)
    slot[sample] = torch.arange(len(sample))
    rows = torch.nonzero(slot[targets] >= 0).squeeze(1)
    sampled = sampled.index_put((rows, slot[targets[rows]]), torch.tensor(float("-inf")))
    denominator = torch.logaddexp(positive, torch.logsumexp(sampled, dim=1) + float(np.log(n_items / len(sample))))
    return (denominator - positive).mean()


def _cpu_has_bf16() -> bool:
    """Whether the CPU multiplies bfloat16 natively (AVX-512 BF16 or AMX); elsewhere bf16 is emulated, slower."""
    try:
        with open("/proc/cpuinfo", encoding="ascii", errors="ignore") as handle:
            flags = next((line for line in handle if line.startswith("flags")), "")
    except OSError:
        return False
    return " avx512_bf16" in flags or " amx_bf16" in flags


def _length_buckets(lengths: np.ndarray, batch_size: int, rng: np.random.Generator) -> list[np.ndarray]:
    """Batches of similar-length sequences (little padding), in random order; noise keeps batches varied."""
    noisy = lengths + rng.uniform(0, 2, size=len(lengths))
    order = np.argsort(noisy, kind="stable")
    batches = [order[start:start + batch_size] for start in range(0, len(order), batch_size)]
    return [batches[b] for b in rng.permutation(len(batches))]


def _left_pad(sequences: list[np.ndarray], length: int) -> np.ndarray:
    out = np.zeros((len(sequences), length), dtype=np.int64)
    for row, seq in enumerate(sequences):
        tail = seq[-length:]
        if len(tail):
            out[row, length - len(tail):] = tail
    return out


@register
class SASRec(Recommender):
    """Self-attentive sequential recommendation with full cross-entropy; see the module docstring.

    ``max_epochs`` bounds training, ``patience`` epochs without a better validation NDCG@10 stop it,
    ``max_seconds`` (optional) bounds the wall time; ``validate_every`` epochs the validation NDCG@10 is
    measured (and after the last). ``loss="full"`` is the cross-entropy over the whole catalogue;
    ``loss="sampled"`` scores each target against ``negatives`` items sampled uniformly per batch, with the
    logQ correction (cheaper where the catalogue is large; docs/recommend.md measures both on Beauty).
    ``bfloat16`` trains with bfloat16 matrix products when the CPU has native support (scoring is always
    float32). Threads: ``threads`` (2 by default).

    ``side`` (None, ``"text"``, ``"attributes"``, ``"text+attributes"``) adds side information to the item
    representation, fused by ``fusion`` (``"sum"`` or ``"gate"``); ``encoder`` names the ``shoplens.text``
    encoder of the texts (module docstring)."""

    name = "sasrec"
    # with side="text" the text embeddings are cached in the workspace (api and AutoRecommender pass it)
    reads_workspace: ClassVar[bool] = True

    def __init__(self, dim: int = 64, layers: int = 2, heads: int = 1, max_len: int = 50, dropout: float = 0.5,
                 learning_rate: float = 1e-3, batch_size: int = 128, max_epochs: int = 200, patience: int = 10,
                 max_seconds: float | None = None, bfloat16: bool = True, threads: int = 2, seed: int = 0,
                 verbose: bool = False, loss: str = "full", negatives: int = 4096, validate_every: int = 1,
                 side: str | None = None, fusion: str = "gate", encoder: str = "minilm") -> None:
        self.dim = dim
        self.layers = layers
        self.heads = heads
        self.max_len = max_len
        self.dropout = dropout
        self.learning_rate = learning_rate
        self.batch_size = batch_size
        self.max_epochs = max_epochs
        self.patience = patience
        self.max_seconds = max_seconds
        self.bfloat16 = bfloat16
        self.threads = threads
        self.seed = seed
        self.verbose = verbose
        self.loss = loss
        self.negatives = negatives
        self.validate_every = validate_every
        self.side = side
        self.fusion = fusion
        self.encoder = encoder

    # -- fitting ----------------------------------------------------------------------------------------
    def fit(self, data: Any, products: Any = None, validation: pd.DataFrame | None = None, *,
            extend: bool = True) -> SASRec:
        """Train on ``data``; ``validation`` (held-out next items, e.g. ``leave_one_out(...).validation``)
        drives early stopping and becomes part of each customer's history for scoring. With ``extend=False``
        it stays out of the histories, so that the fitted model can be scored on it (model selection does,
        then adds it with ``extend_history``)."""
        self._validation = validation
        # the catalogue (read once) and the workspace whose embedding cache the text side reads
        self._workspace = next((d for d in (data, products) if hasattr(d, "sql")), None)
        self._products = products_frame(products if products is not None else self._workspace)
        try:
            super().fit(data, self._products)
        finally:
            self._validation = self._products = self._workspace = None
        if validation is not None and extend:
            self.extend_history(validation)
        return self

    def _sequences(self, frame: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
        """Every user's items in time order as (indptr, items + 1); users without rows get empty ones."""
        order = np.lexsort((np.arange(len(frame)), time_number(frame["ts"]), frame["u"].to_numpy()))
        users = frame["u"].to_numpy()[order]
        items = frame["i"].to_numpy()[order] + 1
        counts = np.bincount(users, minlength=len(self.user_ids_))
        return np.concatenate([[0], np.cumsum(counts)]), items.astype(np.int64)

    def _fit(self, frame: pd.DataFrame) -> None:
        torch = _torch()
        self._check_params()
        torch.manual_seed(self.seed)
        rng = np.random.default_rng(self.seed)
        train, valid = self._training_frames(frame)
        indptr, items = self._sequences(train)
        sequences = [items[indptr[u]:indptr[u + 1]] for u in range(len(indptr) - 1)]
        trainable = [s[-(self.max_len + 1):] for s in sequences if len(s) >= 2]
        if not trainable:
            raise InputError("SASRec needs customers with at least two interactions in time order")
        valid_users, valid_items = self._validation_targets(valid)
        self.trained_items_ = np.bincount(train["i"].to_numpy(), minlength=len(self.item_ids_)) > 0
        self._fit_side()
        previous_threads = torch.get_num_threads()
        torch.set_num_threads(self.threads)
        try:
            net = self._network()
            self._net = net
            self.seq_indptr_, self.seq_items_ = indptr, items
            self._train(net, trainable, sequences, valid_users, valid_items, rng)
        finally:
            torch.set_num_threads(previous_threads)
        # every row of the frame is history for scoring (with an internal hold-out, its items too)
        self.seq_indptr_, self.seq_items_ = self._sequences(frame)
        self.weights_ = {k: v.detach().numpy().copy() for k, v in net.state_dict().items()}

    def _fit_side(self) -> None:
        """The side information of every catalogue item (``side_*_`` arrays, saved with the model), and which
        items can be scored: those trained on, and with side information those that have some."""
        self.side_items_ = np.zeros(len(self.item_ids_), dtype=bool)
        if self.side is None:
            return
        wants_text, wants_attributes = side_parts(self.side)
        if wants_text:
            texts = item_side_texts(self._products, self.item_ids_)
            if not any(t.strip() for t in texts):
                raise InputError("SASRec(side='text') needs product texts (title, brand, category, attributes): pass "
                                 "products=... or a workspace whose products table has them")
            self.side_text_ = text_vectors(texts, self.encoder, self._workspace)
            self.side_items_ |= np.abs(self.side_text_).sum(axis=1) > 0
        if wants_attributes:
            tokens = attribute_tokens(self._products, self.item_ids_)
            if not len(tokens.names):
                raise InputError(f"SASRec(side={self.side!r}) needs product attributes (brand, category or the "
                                 "attributes JSON) shared by at least two products: none found in the products")
            self.side_token_indptr_, self.side_token_codes_, self.side_token_names_ = tokens
            self.side_items_ |= np.diff(tokens.indptr) > 0

    def _side_inputs(self) -> SideInputs | None:
        if self.side is None:
            return None
        wants_text, wants_attributes = side_parts(self.side)
        tokens = AttributeTokens(self.side_token_indptr_, self.side_token_codes_, self.side_token_names_) \
            if wants_attributes else None
        return SideInputs(self.side_text_ if wants_text else None, tokens, self.trained_items_, self.fusion)

    def _network(self) -> Any:
        return _build_network(len(self.item_ids_), self.dim, self.layers, self.heads, self.max_len, self.dropout,
                              self._side_inputs())

    def _check_params(self) -> None:
        if self.side is not None:
            side_parts(self.side)
        if self.fusion not in FUSIONS:
            raise InputError(f"SASRec: fusion {self.fusion!r} is not one of {', '.join(FUSIONS)}")
        if self.dim % self.heads:
            raise InputError(f"SASRec: dim {self.dim} must be a multiple of heads {self.heads}")
        if self.loss not in LOSSES:
            raise InputError(f"SASRec: loss {self.loss!r} is not one of {', '.join(LOSSES)}")
        if self.negatives < 1 or self.validate_every < 1:
            raise InputError(f"SASRec: negatives ({self.negatives}) and validate_every ({self.validate_every}) "
                             "must be at least 1")

    def _training_frames(self, frame: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
        if self._validation is not None:
            valid = self._validation
            valid = valid.assign(u=np.searchsorted(self.user_ids_, valid[USER].astype(str).to_numpy()),
                                 i=self.item_index(valid[ITEM].astype(str).to_numpy(), strict=False))
            return frame, valid
        from shoplens.recommend.splits import leave_one_out

        split = leave_one_out(frame, validation=False, min_history=2)
        return split.train, split.test

    def _validation_targets(self, valid: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
        known = (valid["i"].to_numpy() >= 0) & (valid["u"].to_numpy() < len(self.user_ids_))
        valid = valid[known]
        users = valid["u"].to_numpy()
        ok = self.user_ids_[np.minimum(users, len(self.user_ids_) - 1)] == valid[USER].astype(str).to_numpy()
        return users[ok], valid["i"].to_numpy()[ok]

    def _train(self, net: Any, trainable: list[np.ndarray], sequences: list[np.ndarray], valid_users: np.ndarray,
               valid_items: np.ndarray, rng: np.random.Generator) -> None:
        torch = _torch()
        optimiser = torch.optim.Adam(net.parameters(), lr=self.learning_rate)
        lengths = np.array([len(s) for s in trainable])
        best, best_state, waited, started = -1.0, None, 0, time.perf_counter()
        self.epochs_ = 0
        self.history_ndcg_ = []
        self.curves_: dict[str, list[dict[str, float]]] = {"train": [], "validation": []}  # curves.json
        for epoch in range(1, self.max_epochs + 1):
            loss = self._train_epoch(net, optimiser, trainable, lengths, rng)
            self.epochs_ = epoch
            out_of_time = bool(self.max_seconds and time.perf_counter() - started > self.max_seconds)
            self.curves_["train"].append({"step": epoch, "epoch": epoch, "loss": loss,
                                          "seconds": time.perf_counter() - started})
            if epoch % self.validate_every and epoch < self.max_epochs and not out_of_time:
                continue  # validation only every validate_every epochs (and after the last)
            score = self._validation_ndcg(net, sequences, valid_users, valid_items) if len(valid_users) else -epoch
            self.history_ndcg_.append(float(score))
            if len(valid_users):
                self.curves_["validation"].append({"step": epoch, "epoch": epoch, "metric": float(score),
                                                   "ndcg@10": float(score)})
            if self.verbose:
                print(f"epoch {epoch}: loss {loss:.4f} valid ndcg@10 {score:.4f} "
                      f"({time.perf_counter() - started:.0f} s)", flush=True)
            if score > best:
                best, best_state, waited = score, copy.deepcopy(net.state_dict()), 0
                self.best_epoch_ = epoch
            else:
                waited += self.validate_every
            if waited >= self.patience or out_of_time:
                break
        self.validation_ndcg_ = float(best)
        if best_state is not None:
            net.load_state_dict(best_state)

    def _train_epoch(self, net: Any, optimiser: Any, trainable: list[np.ndarray], lengths: np.ndarray,
                     rng: np.random.Generator) -> float:
        """One pass over the training sequences; the mean loss per sequence."""
        torch = _torch()
        bf16 = self.bfloat16 and _cpu_has_bf16()
        net.train()
        loss_sum = 0.0
        for batch in _length_buckets(lengths, self.batch_size, rng):
            padded = torch.from_numpy(_left_pad([trainable[b] for b in batch], int(lengths[batch].max())))
            inputs, targets = padded[:, :-1], padded[:, 1:]
            real = targets > 0
            # bfloat16 matrix products where the CPU has them (the catalogue's logits dominate the cost)
            with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
                table = net.item_table()  # with side information, computed once per step for input and output
                hidden = net(inputs, table)[real]
                if self.loss == "sampled":
                    loss = _sampled_softmax_loss(net, hidden, targets[real], self.negatives, table)
                else:
                    logits = net.logits(hidden, table)
            if self.loss == "full":
                loss = torch.nn.functional.cross_entropy(logits.float(), targets[real] - 1)
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
            loss_sum += float(loss.detach()) * len(batch)
        return loss_sum / len(trainable)

    def _validation_ndcg(self, net: Any, sequences: list[np.ndarray], users: np.ndarray, items: np.ndarray) -> float:
        # blocks of customers with similar history lengths: each block is padded to its longest history
        order = np.argsort([min(len(sequences[u]), self.max_len) for u in users], kind="stable")
        rank = np.empty(len(users), dtype=np.int64)
        for start in range(0, len(users), 1024):
            rows = order[start:start + 1024]
            block = users[rows]
            scores = self._score_sequences(net, [sequences[u] for u in block])
            seen = self.X_[block].tocoo()
            target_scores = scores[np.arange(len(block)), items[rows]].copy()
            scores[seen.row, seen.col] = -np.inf
            rank[rows] = (scores > target_scores[:, None]).sum(axis=1)
        return float(np.where(rank < 10, 1.0 / np.log2(rank + 2), 0.0).mean())

    def _score_sequences(self, net: Any, sequences: list[np.ndarray]) -> np.ndarray:
        torch = _torch()
        net.eval()
        length = max(1, min(self.max_len, max((len(s) for s in sequences), default=1)))
        with torch.no_grad():
            table = net.item_table()
            hidden = net(torch.from_numpy(_left_pad(sequences, length)), table)[:, -1]
            scores = net.logits(hidden, table).numpy()
        scores[:, ~(self.trained_items_ | self.side_items_)] = -np.inf  # items the model has nothing about
        empty = np.array([len(s) == 0 for s in sequences])
        if empty.any():
            scores[empty] = np.log1p(self.item_users_)[None]  # nothing to read: popularity
        return scores

    # -- scoring ----------------------------------------------------------------------------------------
    def _after_load(self) -> None:
        torch = _torch()
        if not hasattr(self, "side_items_"):  # saved before side information existed
            self.side_items_ = np.zeros(len(self.item_ids_), dtype=bool)
        self._net = self._network()
        self._net.load_state_dict({k: torch.from_numpy(v) for k, v in self.weights_.items()})
        self._net.eval()

    def _sequence(self, user: int) -> np.ndarray:
        return self.seq_items_[self.seq_indptr_[user]:self.seq_indptr_[user + 1]]

    def _score_rows(self, rows: sp.csr_matrix, users: np.ndarray) -> np.ndarray:
        # known customers: their items in time order; other histories (a basket) in catalogue order
        sequences = [self._sequence(u) if u >= 0 else rows[r].indices.astype(np.int64) + 1
                     for r, u in enumerate(users)]
        torch = _torch()
        previous = torch.get_num_threads()
        torch.set_num_threads(self.threads)
        try:
            return self._score_sequences(self._net, sequences)
        finally:
            torch.set_num_threads(previous)

    def _extend(self, frame: pd.DataFrame) -> None:
        """Append later interactions to the stored sequences (they follow what was there, in time order)."""
        new_indptr, new_items = self._sequences(frame)
        sequences = [np.concatenate([self._sequence(u), new_items[new_indptr[u]:new_indptr[u + 1]]])
                     for u in range(len(self.user_ids_))]
        self.seq_indptr_ = np.concatenate([[0], np.cumsum([len(s) for s in sequences])])
        self.seq_items_ = np.concatenate(sequences).astype(np.int64)

    def _forget_rows(self, keep: np.ndarray) -> None:
        sequences = [self._sequence(u) for u in np.flatnonzero(keep)]
        self.seq_indptr_ = np.concatenate([[0], np.cumsum([len(s) for s in sequences])]).astype(np.int64)
        self.seq_items_ = (np.concatenate(sequences) if sequences else np.zeros(0)).astype(np.int64)

    def score_histories(self, histories: list[list[str]]) -> np.ndarray:
        """Scores for ordered histories (oldest first): the sequence order is what SASRec reads."""
        self._check_fitted()
        sequences = []
        for history in histories:
            items = self.item_index(history, strict=False) if len(history) else np.zeros(0, dtype=np.int64)
            sequences.append(items[items >= 0] + 1)
        return self._score_sequences(self._net, sequences)

    def recommend_for_sequence(self, product_ids: list[str], k: int = 10) -> pd.DataFrame:
        """Next products for an ordered list of products (oldest first), e.g. the current session."""
        self._check_fitted()
        items = self.item_index(product_ids, strict=False)
        sequence = items[items >= 0] + 1
        scores = self._score_sequences(self._net, [sequence])
        scores[0, sequence - 1] = -np.inf
        top, values = top_k_rows(scores, k)
        return self._result(top[0], values[0], self.history_row(product_ids), None, True)
