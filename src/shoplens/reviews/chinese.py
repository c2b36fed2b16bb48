"""Chinese review classifiers learned here from characters, for the Chinese stack (``chinese_method="stack"``).

No Chinese BERT ships on PyPI and the packaged English encoders cannot read Chinese, so these models learn
their character embeddings from the shop's own reviews:

- :class:`CharNetClassifier` — characters (Latin words and digit runs as one token; or jieba words with
  ``tokens="jieba"``) → embeddings → a text CNN
  (``arch="cnn"``: convolutions of width 1–5, max-pooled) or a small transformer (``arch="transformer"``),
  trained with AdamW, warm-up and linear decay, early stopping on the validation split. With
  ``mlm_epochs`` > 0 the transformer is first pretrained by masked-character modelling on the training texts
  (self-supervised; it never sees validation or test text), then fine-tuned.
- :func:`jieba_words` — words from the jieba segmenter, for the word n-gram TF-IDF member
  (``TfidfLogReg(analyzer="jieba")``).

Both share the surface of :class:`shoplens.reviews.linear.TfidfLogReg`: ``fit(texts, labels, class_names=,
validation=)``, ``predict_proba``, ``predict``, ``save``/``load``.
"""

from __future__ import annotations

import copy
import json
import math
import os
import re
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import KW_ONLY, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from shoplens.base import Params
from shoplens.errors import InputError, NotFound, ShoplensError
from shoplens.registry import write_curves
from shoplens.text.encoder import check_texts, length_batches

CONFIG_FILE = "charnet.json"
WEIGHTS_FILE = "charnet.pt"
PAD, UNK, CLS, MASK = 0, 1, 2, 3
SPECIALS = 4
ARCHS = ("cnn", "transformer")
_TOKEN = re.compile(r"[a-z]+|\d+|\S")


def char_tokens(text: str) -> list[str]:
    """Characters of ``text`` (lower-cased), a run of Latin letters or of digits as one token, no spaces."""
    return _TOKEN.findall(text.lower())


def jieba_words(text: str) -> list[str]:
    """Words of a Chinese text from the jieba segmenter (spaces dropped, Latin lower-cased)."""
    try:
        import jieba
    except ImportError:
        raise ShoplensError("Chinese word features need the package jieba; install it with pip install jieba") from None
    if not getattr(jieba_words, "_quiet", False):
        import logging

        jieba.setLogLevel(logging.WARNING)
        jieba_words._quiet = True  # type: ignore[attr-defined]
    return [w for w in jieba.lcut(text.lower()) if w.strip()]


def _build_net(arch: str, vocab_size: int, n_classes: int, dim: int, layers: int, max_length: int,
               dropout: float) -> Any:
    import torch

    class TextCNN(torch.nn.Module):
        """Embeddings → convolutions of width 1–5 → max over positions → dropout → linear head."""

        widths = (1, 2, 3, 4, 5)

        def __init__(self) -> None:
            super().__init__()
            self.embed = torch.nn.Embedding(vocab_size, dim, padding_idx=PAD)
            self.convs = torch.nn.ModuleList([torch.nn.Conv1d(dim, 256, w, padding=w // 2) for w in self.widths])
            self.dropout = torch.nn.Dropout(dropout)
            self.head = torch.nn.Linear(256 * len(self.widths), n_classes)

        def forward(self, ids: torch.Tensor) -> torch.Tensor:
            keep = (ids != PAD).unsqueeze(1)
            hidden = self.embed(ids).transpose(1, 2)
            pooled = [torch.relu(conv(hidden))[:, :, :ids.shape[1]].masked_fill(~keep, -1e4).amax(2)
                      for conv in self.convs]
            return self.head(self.dropout(torch.cat(pooled, 1)))

    class CharTransformer(torch.nn.Module):
        """Embeddings + learned positions → pre-norm transformer → masked mean pooling → linear head;
        ``mlm`` predicts masked characters for the self-supervised pretraining."""

        def __init__(self) -> None:
            super().__init__()
            self.embed = torch.nn.Embedding(vocab_size, dim, padding_idx=PAD)
            self.position = torch.nn.Embedding(max_length, dim)
            layer = torch.nn.TransformerEncoderLayer(dim, max(1, dim // 64), 4 * dim, dropout, batch_first=True,
                                                     norm_first=True, activation="gelu")
            self.encoder = torch.nn.TransformerEncoder(layer, layers, enable_nested_tensor=False)
            self.norm = torch.nn.LayerNorm(dim)
            self.dropout = torch.nn.Dropout(dropout)
            self.head = torch.nn.Linear(dim, n_classes)
            self.mlm = torch.nn.Linear(dim, vocab_size)

        def hidden(self, ids: torch.Tensor) -> torch.Tensor:
            positions = torch.arange(ids.shape[1], device=ids.device).unsqueeze(0)
            return self.norm(self.encoder(self.embed(ids) + self.position(positions),
                                          src_key_padding_mask=ids == PAD))

        def forward(self, ids: torch.Tensor) -> torch.Tensor:
            hidden = self.hidden(ids)
            mask = (ids != PAD).unsqueeze(-1).to(hidden.dtype)
            return self.head(self.dropout((hidden * mask).sum(1) / mask.sum(1).clamp(min=1.0)))

    return TextCNN() if arch == "cnn" else CharTransformer()


@dataclass(eq=False, repr=False)
class CharNetClassifier(Params):
    """A character-level network trained from scratch on the training texts (see the module's docstring).

    ``time_budget_s`` bounds the whole fit (pretraining included); the best validation state is kept.
    """

    arch: str = "cnn"
    _: KW_ONLY
    tokens: str = "char"
    dim: int = 128
    layers: int = 3
    max_length: int = 128
    epochs: int = 3
    batch_size: int = 64
    learning_rate: float = 2e-3
    mlm_epochs: int = 0
    mlm_learning_rate: float = 1e-3
    dropout: float = 0.3
    min_count: int = 2
    evals_per_epoch: int = 2
    patience: int = 3
    time_budget_s: float | None = None
    seed: int = 0
    num_threads: int | None = None

    # -- tokens ---------------------------------------------------------------------------------------
    def _tokens(self, text: str) -> list[str]:
        return jieba_words(text) if getattr(self, "tokens", "char") == "jieba" else char_tokens(text)

    def _ids(self, texts: list[str]) -> list[list[int]]:
        vocab = self._index
        return [[CLS, *[vocab.get(t, UNK) for t in self._tokens(text)][:self.max_length - 1]] for text in texts]

    @property
    def _index(self) -> dict[str, int]:
        if getattr(self, "_vocab_index", None) is None:
            self._vocab_index = {token: i + SPECIALS for i, token in enumerate(self.vocab_)}
        return self._vocab_index

    @staticmethod
    def _pad(ids: list[list[int]]) -> Any:
        import torch

        out = torch.zeros((len(ids), max(len(x) for x in ids)), dtype=torch.long)
        for row, seq in enumerate(ids):
            out[row, :len(seq)] = torch.tensor(seq, dtype=torch.long)
        return out

    # -- training -------------------------------------------------------------------------------------
    def fit(self, texts: Sequence[str], labels: Sequence[int], *, class_names: Sequence[str] | None = None,
            validation: tuple[Sequence[str], Sequence[int]] | None = None) -> CharNetClassifier:
        import torch

        from shoplens.text.threads import configure_torch

        if self.arch not in ARCHS:
            raise InputError(f"arch must be one of {', '.join(ARCHS)}, got {self.arch!r}")
        if self.tokens not in ("char", "jieba"):
            raise InputError(f"tokens must be 'char' or 'jieba', got {self.tokens!r}")
        if self.mlm_epochs and self.arch != "transformer":
            raise InputError("masked-character pretraining (mlm_epochs > 0) needs arch='transformer'")
        items = check_texts(texts)
        y = np.asarray(labels, dtype=np.int64)
        if len(items) != len(y):
            raise InputError(f"{len(items)} texts but {len(y)} labels")
        if len(items) == 0:
            raise InputError("no training texts")
        n_classes = len(class_names) if class_names is not None else int(y.max()) + 1
        if y.min() < 0 or y.max() >= n_classes:
            raise InputError(f"labels must be 0 … {n_classes - 1}; got {y.min()} … {y.max()}")
        self.class_names_ = [str(c) for c in (class_names or range(n_classes))]
        started = time.perf_counter()
        configure_torch(self.num_threads)
        torch.manual_seed(self.seed)
        rng = np.random.default_rng(self.seed)
        counts = Counter(token for text in items for token in self._tokens(text))
        self.vocab_ = [token for token, n in counts.most_common() if n >= self.min_count]
        self._vocab_index = None
        ids = self._ids(items)
        lengths = np.array([len(x) for x in ids])
        val = None
        if validation is not None:
            val = (self._ids(check_texts(validation[0], "validation texts")), np.asarray(validation[1], dtype=np.int64))
        self.net_ = _build_net(self.arch, len(self.vocab_) + SPECIALS, n_classes, self.dim, self.layers,
                               self.max_length, self.dropout)
        self.curves_: dict[str, list[dict[str, float]]] = {"pretrain": [], "train": [], "validation": []}
        deadline = None if self.time_budget_s is None else started + self.time_budget_s
        if self.mlm_epochs:
            self._pretrain(ids, lengths, rng, deadline)
        self._train(ids, lengths, y, val, rng, deadline)
        self.train_seconds_ = time.perf_counter() - started
        self.net_.eval()
        return self

    def _pretrain(self, ids: list[list[int]], lengths: np.ndarray, rng: np.random.Generator,
                  deadline: float | None) -> None:
        """Masked-character modelling on the training texts: 15% of tokens, 80% masked, 10% random, 10% kept."""
        import torch

        from shoplens.text.classifier import training_batches

        net = self.net_
        optimizer = torch.optim.AdamW(net.parameters(), lr=self.mlm_learning_rate, weight_decay=0.01)
        plan = [training_batches(lengths, self.batch_size, rng) for _ in range(self.mlm_epochs)]
        total, step, running = sum(len(p) for p in plan), 0, []
        vocab_size = len(self.vocab_) + SPECIALS
        net.train()
        for batches in plan:
            for batch in batches:
                x = self._pad([ids[i] for i in batch])
                chosen = (torch.rand(x.shape) < 0.15) & (x >= SPECIALS)
                if not chosen.any():
                    continue
                draw = torch.rand(x.shape)
                corrupted = x.clone()
                corrupted[chosen & (draw < 0.8)] = MASK
                random = chosen & (draw >= 0.8) & (draw < 0.9)
                corrupted[random] = torch.randint(SPECIALS, vocab_size, (int(random.sum()),))
                loss = torch.nn.functional.cross_entropy(net.mlm(net.hidden(corrupted)[chosen]), x[chosen])
                running.append(_optimizer_step(net, optimizer, loss, self.mlm_learning_rate * _schedule(step, total)))
                step += 1
                if step % 50 == 0:
                    self.curves_["pretrain"].append({"step": step, "loss": float(np.mean(running))})
                    running = []
                if deadline is not None and time.perf_counter() > deadline:
                    self.pretrain_steps_ = step
                    return
        self.pretrain_steps_ = step

    def _train(self, ids: list[list[int]], lengths: np.ndarray, y: np.ndarray,
               val: tuple[list[list[int]], np.ndarray] | None, rng: np.random.Generator,
               deadline: float | None) -> None:
        import torch

        from shoplens.text.classifier import training_batches

        net = self.net_
        optimizer = torch.optim.AdamW(net.parameters(), lr=self.learning_rate, weight_decay=0.01)
        plan = [training_batches(lengths, self.batch_size, rng) for _ in range(self.epochs)]
        total, step, running = sum(len(p) for p in plan), 0, []
        best: tuple[float, dict[str, Any] | None, int] = (-math.inf, None, 0)
        since_best = 0
        target = torch.from_numpy(y)
        for epoch, batches in enumerate(plan):
            eval_at = {round(len(batches) * (k + 1) / self.evals_per_epoch) for k in range(self.evals_per_epoch)}
            for in_epoch, batch in enumerate(batches, start=1):
                net.train()
                loss = torch.nn.functional.cross_entropy(net(self._pad([ids[i] for i in batch])), target[batch])
                running.append(_optimizer_step(net, optimizer, loss, self.learning_rate * _schedule(step, total)))
                step += 1
                if step % 50 == 0:
                    self.curves_["train"].append({"step": step, "epoch": epoch + in_epoch / len(batches),
                                                  "loss": float(np.mean(running))})
                    running = []
                out_of_time = deadline is not None and time.perf_counter() > deadline
                if val is not None and (in_epoch in eval_at or out_of_time):
                    probs = self._proba_of_ids(val[0])
                    accuracy = float((probs.argmax(1) == val[1]).mean())
                    nll = float(-np.log(np.maximum(probs[np.arange(len(val[1])), val[1]], 1e-12)).mean())
                    self.curves_["validation"].append({"step": step, "epoch": epoch + in_epoch / len(batches),
                                                       "accuracy": accuracy, "loss": nll})
                    if accuracy > best[0]:
                        best, since_best = (accuracy, copy.deepcopy(net.state_dict()), step), 0
                    else:
                        since_best += 1
                if out_of_time or since_best >= self.patience:
                    self.stopped_early_ = True
                    break
            if getattr(self, "stopped_early_", False):
                break
        if best[1] is not None:
            net.load_state_dict(best[1])
        self.steps_, self.best_step_ = step, best[2] if best[1] is not None else step

    # -- inference ------------------------------------------------------------------------------------
    def _check_fitted(self) -> None:
        if getattr(self, "net_", None) is None:
            raise NotFound("this CharNetClassifier is not trained yet: call fit() or load()")

    def _proba_of_ids(self, ids: list[list[int]], batch_size: int = 256) -> np.ndarray:
        import torch

        self.net_.eval()
        out = np.zeros((len(ids), len(self.class_names_)), dtype=np.float64)
        with torch.inference_mode():
            for batch in length_batches([len(x) for x in ids], batch_size):
                out[batch] = torch.softmax(self.net_(self._pad([ids[i] for i in batch])).double(), -1).numpy()
        return out

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        self._check_fitted()
        items = check_texts(texts)
        if not items:
            return np.zeros((0, len(self.class_names_)))
        return self._proba_of_ids(self._ids(items))

    def predict(self, texts: Sequence[str]) -> np.ndarray:
        return self.predict_proba(texts).argmax(1)

    # -- persistence ----------------------------------------------------------------------------------
    def save(self, folder: str | os.PathLike) -> Path:
        import torch

        self._check_fitted()
        target = Path(folder)
        target.mkdir(parents=True, exist_ok=True)
        torch.save(self.net_.state_dict(), target / WEIGHTS_FILE)
        state = {"params": self.get_params(), "class_names": self.class_names_, "vocab": self.vocab_,
                 "curves": self.curves_, "steps": getattr(self, "steps_", None),
                 "best_step": getattr(self, "best_step_", None), "train_seconds": getattr(self, "train_seconds_", None)}
        (target / CONFIG_FILE).write_text(json.dumps(state, ensure_ascii=False), encoding="utf-8")
        write_curves(target, self.curves_)  # for the dashboard's model page and TensorBoard
        return target

    @classmethod
    def load(cls, folder: str | os.PathLike) -> CharNetClassifier:
        import torch

        source = Path(folder)
        if not (source / CONFIG_FILE).exists() or not (source / WEIGHTS_FILE).exists():
            raise NotFound(f"{source} holds no saved character model ({CONFIG_FILE} or {WEIGHTS_FILE} missing)")
        state = json.loads((source / CONFIG_FILE).read_text(encoding="utf-8"))
        model = cls.from_saved_params(state["params"])
        model.class_names_, model.vocab_, model.curves_ = state["class_names"], state["vocab"], state["curves"]
        model.steps_, model.best_step_ = state.get("steps"), state.get("best_step")
        model.net_ = _build_net(model.arch, len(model.vocab_) + SPECIALS, len(model.class_names_), model.dim,
                                model.layers, model.max_length, model.dropout)
        model.net_.load_state_dict(torch.load(source / WEIGHTS_FILE, weights_only=True))
        model.net_.eval()
        return model

    def __getstate__(self) -> dict[str, Any]:
        return {k: v for k, v in vars(self).items() if k != "_vocab_index"}


def _schedule(step: int, total: int, warmup_ratio: float = 0.06) -> float:
    from shoplens.text.classifier import linear_schedule, warmup_steps

    return linear_schedule(step, total, warmup_steps(total, warmup_ratio))


def _optimizer_step(net: Any, optimizer: Any, loss: Any, learning_rate: float) -> float:
    """One AdamW step at ``learning_rate`` with gradients clipped to norm 1; returns the loss."""
    import torch

    for group in optimizer.param_groups:
        group["lr"] = learning_rate
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    torch.nn.utils.clip_grad_norm_(net.parameters(), 1.0)
    optimizer.step()
    return float(loss.item())
