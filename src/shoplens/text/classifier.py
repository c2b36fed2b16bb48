"""Fine-tuning a pretrained encoder with a classification head, and running it fast.

:class:`TransformerClassifier` — encoder (MiniLM by default, mpnet, or any folder) + mean pooling +
dropout + a linear head, trained with AdamW, linear warm-up and decay, class weights against imbalance,
an optional ordinal term for ordered labels (stars), gradient clipping and early stopping on a validation
split. Batches are drawn in random order but grouped by length, so padding costs little. The word
embedding matrix is frozen by default: it holds half of MiniLM's weights, barely moves when fine-tuning
on a few thousand reviews, and freezing it makes each step cheaper.

Training curves (loss and learning rate every few steps, validation metrics at each evaluation) are kept
in ``curves`` and written with the model (``curves.json``, plus TensorBoard event files when tensorboard
is installed).

:class:`OnnxClassifier` — the same model exported to ONNX and int8-quantised, for serving.
"""

from __future__ import annotations

import copy
import json
import math
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import KW_ONLY, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from shoplens.base import Params, json_safe
from shoplens.errors import InputError, NotFound
from shoplens.progress import progress_bar
from shoplens.registry import CURVES_FILE, write_curves
from shoplens.text.encoder import check_texts, length_batches
from shoplens.text.threads import configure_torch

CONFIG_FILE = "classifier.json"
HEAD_FILE = "head.npz"
ENCODER_DIR = "encoder"
LOG_EVERY = 20  # steps between two points of the training curve
MEGABATCH = 50  # batches sorted by length together before shuffling the batches


def softmax(logits: np.ndarray) -> np.ndarray:
    shifted = logits - logits.max(axis=1, keepdims=True)
    exp = np.exp(shifted)
    return exp / exp.sum(axis=1, keepdims=True)


def class_weights(labels: np.ndarray, n_classes: int, mode: str | None) -> np.ndarray:
    """Per-class loss weights: ``balanced`` (inverse frequency), ``sqrt`` (its square root) or None (all 1)."""
    counts = np.bincount(labels, minlength=n_classes).astype(float)
    if mode is None:
        return np.ones(n_classes)
    if mode not in ("balanced", "sqrt"):
        raise InputError(f"class_weight must be 'balanced', 'sqrt' or None, got {mode!r}")
    inverse = counts.sum() / (n_classes * np.maximum(counts, 1))
    weights = inverse if mode == "balanced" else np.sqrt(inverse)
    return weights / (weights * counts).sum() * counts.sum()  # mean weight over the samples is 1


def warmup_steps(total: int, warmup_ratio: float) -> int:
    return max(1, int(total * warmup_ratio))


def linear_schedule(step: int, total: int, warmup: int) -> float:
    """Learning-rate factor: linear warm-up over ``warmup`` steps, then linear decay to zero at ``total``."""
    if step < warmup:
        return (step + 1) / warmup
    return max(0.0, (total - step) / max(1, total - warmup))


def training_batches(lengths: np.ndarray, batch_size: int, rng: np.random.Generator) -> list[np.ndarray]:
    """Random batches of similar length: shuffle, sort within mega-batches, cut, shuffle the batches."""
    order = rng.permutation(len(lengths))
    batches: list[np.ndarray] = []
    span = batch_size * MEGABATCH
    for start in range(0, len(order), span):
        chunk = order[start:start + span]
        chunk = chunk[np.argsort(-lengths[chunk], kind="stable")]
        batches.extend(chunk[i:i + batch_size] for i in range(0, len(chunk), batch_size))
    rng.shuffle(batches)  # type: ignore[arg-type]
    return batches


def train_top_layers_only(base: Any, trainable: int) -> None:
    """Freeze everything of ``base`` but its top ``trainable`` transformer layers: each step then costs the
    forward pass plus the backward pass of those layers only, and a task with few examples moves less of the
    pretrained encoder."""
    layers = getattr(getattr(base, "encoder", None), "layer", None)
    if layers is None:
        raise InputError(f"trainable_layers: {type(base).__name__} has no encoder.layer list to choose layers from")
    if not 0 < trainable <= len(layers):
        raise InputError(f"trainable_layers {trainable} must be 1 … {len(layers)} (the encoder's layers)")
    for parameter in base.parameters():
        parameter.requires_grad_(False)
    for layer in layers[len(layers) - trainable:]:
        for parameter in layer.parameters():
            parameter.requires_grad_(True)


def _build_net(base: Any, n_classes: int, dropout: float) -> Any:
    import torch

    class ClassifierNet(torch.nn.Module):
        """Encoder → masked mean pooling → dropout → linear head; returns logits."""

        def __init__(self) -> None:
            super().__init__()
            self.base = base
            self.dropout = torch.nn.Dropout(dropout)
            self.head = torch.nn.Linear(base.config.hidden_size, n_classes)

        def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
            hidden = self.base(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
            mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
            pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
            return self.head(self.dropout(pooled))

    return ClassifierNet()


@dataclass(eq=False, repr=False)
class TransformerClassifier(Params):
    """A fine-tuned encoder + linear head over ``class_names``.

    ``ordinal_weight`` > 0 adds ``weight * |E[label] - label|`` to the cross-entropy (labels in order, e.g.
    stars), which pulls probability mass towards neighbouring classes and lowers the mean absolute error.
    ``time_budget_s`` ends training after that many seconds (the best validation state is kept).
    ``trainable_layers`` = n fine-tunes only the top n transformer layers (and the head); None: all of them.
    """

    encoder: str | os.PathLike = "minilm"
    _: KW_ONLY
    max_length: int = 128
    epochs: int = 3
    batch_size: int = 32
    learning_rate: float = 1e-4
    warmup_ratio: float = 0.06
    weight_decay: float = 0.01
    dropout: float = 0.1
    class_weight: str | None = "sqrt"
    ordinal_weight: float = 0.0
    freeze_embeddings: bool = True
    trainable_layers: int | None = None
    evals_per_epoch: int = 2
    patience: int = 2
    max_steps: int | None = None
    time_budget_s: float | None = None
    seed: int = 0
    num_threads: int | None = None
    show_progress: bool = False

    # -- training -------------------------------------------------------------------------------------
    def _load_base(self) -> None:
        from shoplens.text import load_encoder
        from shoplens.text.transformer import TransformerEncoder

        base = load_encoder(self.encoder, max_length=self.max_length, num_threads=self.num_threads)
        if not isinstance(base, TransformerEncoder):
            raise InputError(f"encoder {self.encoder!r} cannot be fine-tuned (it is not a PyTorch model); "
                             f"use 'minilm', 'mpnet' or a Hugging Face folder")
        self.tokenizer_ = base.tokenizer
        self.base_model_id_ = base.model_id
        self.net_ = _build_net(base.model, len(self.class_names_), self.dropout)

    def fit(self, texts: Sequence[str], labels: Sequence[int], *, class_names: Sequence[str] | None = None,
            validation: tuple[Sequence[str], Sequence[int]] | None = None,
            metric: Callable[[np.ndarray, np.ndarray], float] | None = None) -> TransformerClassifier:
        """Fine-tune on ``texts`` with integer ``labels`` (0 … n-1); early stopping uses ``validation``
        and ``metric(y_true, logits)`` (default macro-F1 of the argmax)."""
        import torch

        texts = check_texts(texts)
        y = np.asarray(labels, dtype=np.int64)
        if len(texts) != len(y):
            raise InputError(f"{len(texts)} texts but {len(y)} labels")
        if len(texts) == 0:
            raise InputError("no training texts")
        n_classes = len(class_names) if class_names is not None else int(y.max()) + 1
        if y.min() < 0 or y.max() >= n_classes:
            raise InputError(f"labels must be 0 … {n_classes - 1}; got {y.min()} … {y.max()}")
        self.class_names_ = [str(c) for c in (class_names or range(n_classes))]
        configure_torch(self.num_threads)
        torch.manual_seed(self.seed)
        rng = np.random.default_rng(self.seed)
        self._load_base()
        net = self.net_
        if self.freeze_embeddings:
            net.base.get_input_embeddings().weight.requires_grad_(False)
        if self.trainable_layers is not None:
            train_top_layers_only(net.base, self.trainable_layers)
        ids = self._tokenize(texts)
        lengths = np.array([len(x) for x in ids])
        val = None
        if validation is not None:
            val_texts = check_texts(validation[0], "validation texts")
            val = (self._tokenize(val_texts), np.asarray(validation[1], dtype=np.int64))
        metric = metric or _macro_f1_of_logits
        weights = torch.tensor(class_weights(y, n_classes, self.class_weight), dtype=torch.float32)
        steps_per_epoch = math.ceil(len(texts) / self.batch_size)
        total = steps_per_epoch * self.epochs if self.max_steps is None else min(self.max_steps,
                                                                                 steps_per_epoch * self.epochs)
        plan = {"total": total}  # may shrink to fit time_budget_s (see _fit_plan_to_budget)
        optimizer, scheduler = self._optimizer(plan)
        eval_at = {round(steps_per_epoch * (k + 1) / self.evals_per_epoch) for k in range(self.evals_per_epoch)}
        self.curves_: dict[str, list[dict[str, float]]] = {"train": [], "validation": []}
        best: tuple[float, dict[str, Any] | None, int] = (-math.inf, None, 0)
        since_best, step, running, started = 0, 0, [], time.perf_counter()
        ranks = torch.arange(n_classes, dtype=torch.float32)
        with progress_bar(f"fine-tuning {Path(str(self.encoder)).name}", total, enabled=self.show_progress,
                          unit="steps") as bar:
            for epoch in range(self.epochs):
                for in_epoch, batch in enumerate(training_batches(lengths, self.batch_size, rng), start=1):
                    net.train()
                    input_ids, mask = self._pad([ids[i] for i in batch])
                    logits = net(input_ids, mask)
                    target = torch.from_numpy(y[batch])
                    loss = torch.nn.functional.cross_entropy(logits, target, weight=weights)
                    if self.ordinal_weight:
                        expected = (logits.softmax(-1) * ranks).sum(-1)
                        loss = loss + self.ordinal_weight * (expected - target.float()).abs().mean()
                    optimizer.zero_grad(set_to_none=True)
                    loss.backward()
                    torch.nn.utils.clip_grad_norm_(net.parameters(), 1.0)
                    optimizer.step()
                    scheduler.step()
                    step += 1
                    running.append(loss.item())
                    total = self._fit_plan_to_budget(plan, step, started)
                    bar.advance(1)
                    if step % LOG_EVERY == 0:
                        self.curves_["train"].append({"step": step, "epoch": epoch + step_fraction(in_epoch,
                                                      steps_per_epoch), "loss": float(np.mean(running)),
                                                      "lr": scheduler.get_last_lr()[0],
                                                      "seconds": time.perf_counter() - started})
                        running = []
                    if val is not None and (in_epoch in eval_at or step == total):
                        score = self._evaluate_during_training(val, metric, step, epoch, in_epoch, steps_per_epoch)
                        if score > best[0]:
                            best, since_best = (score, copy.deepcopy(net.state_dict()), step), 0
                        else:
                            since_best += 1
                    if self._should_stop(step, total, since_best, started):
                        break
                if self._should_stop(step, total, since_best, started):
                    break
        if best[1] is not None:
            net.load_state_dict(best[1])
        self.best_step_ = best[2] if best[1] is not None else step
        self.steps_ = step
        self.train_seconds_ = time.perf_counter() - started
        net.eval()
        return self

    def _should_stop(self, step: int, total: int, since_best: int, started: float) -> bool:
        """Planned steps done, no better validation score for ``patience`` evaluations, or out of time."""
        over_time = self.time_budget_s is not None and time.perf_counter() - started > self.time_budget_s
        if over_time and not getattr(self, "stopped_on_time_", False):
            self.stopped_on_time_ = True
        return step >= total or since_best >= self.patience or over_time

    def _evaluate_during_training(self, val: tuple[list[list[int]], np.ndarray], metric: Callable, step: int,
                                  epoch: int, in_epoch: int, steps_per_epoch: int) -> float:
        logits = self._logits_of_ids(val[0])
        score = float(metric(val[1], logits))
        probs = softmax(logits)
        nll = float(-np.log(np.maximum(probs[np.arange(len(val[1])), val[1]], 1e-12)).mean())
        self.curves_["validation"].append({"step": step, "epoch": epoch + step_fraction(in_epoch, steps_per_epoch),
                                           "metric": score, "loss": nll,
                                           "accuracy": float((logits.argmax(1) == val[1]).mean())})
        return score

    def _fit_plan_to_budget(self, plan: dict[str, int], step: int, started: float) -> int:
        """With a time budget, shrink the planned steps to what fits in it (measured after 20 steps and again
        every 100), so that the learning rate still decays to zero by the end instead of being cut off high."""
        if self.time_budget_s is None or step < LOG_EVERY or step % 100 not in (0, LOG_EVERY):
            return plan["total"]
        elapsed = time.perf_counter() - started
        fits = step + int(0.9 * (self.time_budget_s - elapsed) / (elapsed / step))
        if fits < plan["total"]:
            plan["total"] = max(step + 1, fits)
            self.budget_limited_ = True
        return plan["total"]

    def _optimizer(self, plan: dict[str, int]) -> tuple[Any, Any]:
        import torch

        decay, no_decay = [], []
        for name, parameter in self.net_.named_parameters():
            if not parameter.requires_grad:
                continue
            (no_decay if parameter.ndim < 2 or "LayerNorm" in name else decay).append(parameter)
        optimizer = torch.optim.AdamW([{"params": decay, "weight_decay": self.weight_decay},
                                       {"params": no_decay, "weight_decay": 0.0}], lr=self.learning_rate)
        warmup = warmup_steps(plan["total"], self.warmup_ratio)
        # plan["total"] is read at each step: it shrinks when the time budget will not fit the planned steps
        return optimizer, torch.optim.lr_scheduler.LambdaLR(
            optimizer, lambda step: linear_schedule(step, plan["total"], warmup))

    # -- inference ------------------------------------------------------------------------------------
    def _tokenize(self, texts: list[str]) -> list[list[int]]:
        return self.tokenizer_(texts, truncation=True, max_length=self.max_length)["input_ids"]

    def _pad(self, ids: list[list[int]]) -> tuple[Any, Any]:
        padded = self.tokenizer_.pad({"input_ids": ids}, return_tensors="pt")
        return padded["input_ids"], padded["attention_mask"]

    def _logits_of_ids(self, ids: list[list[int]], batch_size: int = 64) -> np.ndarray:
        import torch

        self.net_.eval()
        out = np.zeros((len(ids), len(self.class_names_)), dtype=np.float32)
        with torch.inference_mode():
            for batch in length_batches([len(x) for x in ids], batch_size):
                input_ids, mask = self._pad([ids[i] for i in batch])
                out[batch] = self.net_(input_ids, mask).float().numpy()
        return out

    def _check_fitted(self) -> None:
        if not hasattr(self, "net_"):
            raise NotFound("this classifier is not trained yet: call fit() or load()")

    def predict_logits(self, texts: Sequence[str], batch_size: int = 64) -> np.ndarray:
        self._check_fitted()
        configure_torch(self.num_threads)
        return self._logits_of_ids(self._tokenize(check_texts(texts)), batch_size)

    def predict_proba(self, texts: Sequence[str], batch_size: int = 64) -> np.ndarray:
        return softmax(self.predict_logits(texts, batch_size))

    def predict(self, texts: Sequence[str], batch_size: int = 64) -> np.ndarray:
        return self.predict_logits(texts, batch_size).argmax(1)

    # -- persistence ----------------------------------------------------------------------------------
    def save(self, folder: str | os.PathLike) -> Path:
        """Encoder weights (Hugging Face format), tokenizer, head, parameters and training curves."""
        self._check_fitted()
        target = Path(folder)
        target.mkdir(parents=True, exist_ok=True)
        self.net_.base.save_pretrained(str(target / ENCODER_DIR))
        self.tokenizer_.save_pretrained(str(target / ENCODER_DIR))
        head = self.net_.head
        np.savez(target / HEAD_FILE, weight=head.weight.detach().numpy(), bias=head.bias.detach().numpy())
        config = {"params": json_safe(self.get_params()), "class_names": self.class_names_,
                  "base_model_id": self.base_model_id_, "steps": getattr(self, "steps_", None),
                  "best_step": getattr(self, "best_step_", None),
                  "train_seconds": getattr(self, "train_seconds_", None)}
        (target / CONFIG_FILE).write_text(json.dumps(config, indent=2), encoding="utf-8")
        write_curves(target, getattr(self, "curves_", {"train": [], "validation": []}))
        return target

    @classmethod
    def load(cls, folder: str | os.PathLike, num_threads: int | None = None) -> TransformerClassifier:
        import torch

        source = Path(folder)
        if not (source / CONFIG_FILE).exists():
            raise NotFound(f"{source} holds no saved classifier ({CONFIG_FILE} missing)")
        config = json.loads((source / CONFIG_FILE).read_text(encoding="utf-8"))
        params = {**config["params"], "encoder": str(source / ENCODER_DIR)}
        if num_threads is not None:
            params["num_threads"] = num_threads
        model = cls.from_saved_params(params)
        model.class_names_ = config["class_names"]
        model._load_base()
        model.base_model_id_ = config["base_model_id"]
        with np.load(source / HEAD_FILE) as head:
            model.net_.head.weight.data = torch.from_numpy(head["weight"])
            model.net_.head.bias.data = torch.from_numpy(head["bias"])
        model.net_.eval()
        model.curves_ = read_curves(source)
        return model

    def export_onnx(self, folder: str | os.PathLike, *, quantize: bool = True,
                    keep_float: Sequence[str] = ()) -> OnnxClassifier:
        """An ONNX copy that :class:`OnnxClassifier` loads, made by :func:`shoplens.text.onnx.fuse_and_quantize`:
        the fused graph, with ``quantize`` in int8 (per-channel weights, float head; node names in ``keep_float``
        stay float too)."""
        from shoplens.text import onnx

        self._check_fitted()
        target = Path(folder)
        target.mkdir(parents=True, exist_ok=True)
        example = self.tokenizer_(["an example", "another example text"], padding=True, return_tensors="pt")
        float_path = target / "model.float.onnx"
        with onnx.eager_attention(self.net_.base):
            onnx.export_onnx(self.net_, (example["input_ids"], example["attention_mask"]), float_path,
                             input_names=["input_ids", "attention_mask"], output_names=["logits"],
                             dynamic_axes=onnx.token_axes("logits"))
        export = onnx.fuse_and_quantize(float_path, target / "model.onnx", **onnx.heads_of(self.net_.base.config),
                                        quantize=quantize, check=onnx.example_feed(example), keep_float=keep_float)
        float_path.unlink()
        self.tokenizer_.save_pretrained(str(target))
        (target / CONFIG_FILE).write_text(json.dumps({"class_names": self.class_names_, "max_length": self.max_length,
                                                      "quantized": quantize, "export": export}), encoding="utf-8")
        return OnnxClassifier.load(target, num_threads=self.num_threads)


class OnnxClassifier:
    """An exported classifier run with onnxruntime: same ``predict*`` surface as the PyTorch one. Its batches
    run side by side, one per core (:class:`shoplens.text.onnx.BatchRunner`)."""

    def __init__(self, folder: Path, tokenizer: Any, runner: Any, class_names: list[str], max_length: int) -> None:
        self.folder = folder
        self.tokenizer_ = tokenizer
        self.runner = runner
        self.class_names_ = class_names
        self.max_length = max_length

    @classmethod
    def load(cls, folder: str | os.PathLike, num_threads: int | None = None) -> OnnxClassifier:
        from transformers import AutoTokenizer

        from shoplens.text.onnx import BatchRunner

        source = Path(folder)
        if not (source / "model.onnx").exists():
            raise NotFound(f"{source} holds no exported classifier (model.onnx missing)")
        config = json.loads((source / CONFIG_FILE).read_text(encoding="utf-8"))
        return cls(source, AutoTokenizer.from_pretrained(str(source)), BatchRunner(source / "model.onnx", num_threads),
                   config["class_names"], int(config["max_length"]))

    def truncate_to(self, max_length: int) -> None:
        """Serve with texts cut to ``max_length`` tokens (at most the length the model was trained with), and
        write it into the export's ``classifier.json`` so that a reload serves the same way."""
        config_path = self.folder / CONFIG_FILE
        config = json.loads(config_path.read_text(encoding="utf-8"))
        trained = int(config.get("trained_max_length", config["max_length"]))
        if not 1 <= max_length <= trained:
            raise InputError(f"max_length must be 1 … {trained} (the length the model was trained with), "
                             f"got {max_length}")
        config.update(trained_max_length=trained, max_length=int(max_length))
        config_path.write_text(json.dumps(config), encoding="utf-8")
        self.max_length = int(max_length)
        self._token_ids = None  # the tokenizer copy truncates to the old length

    def save(self, folder: str | os.PathLike) -> Path:
        """A copy of the exported folder (model, tokenizer, class names)."""
        import shutil

        target = Path(folder)
        if target.resolve() != self.folder.resolve():
            shutil.copytree(self.folder, target, dirs_exist_ok=True)
        return target

    def predict_logits(self, texts: Sequence[str], batch_size: int = 64) -> np.ndarray:
        """Logits in input order: the texts are tokenised once, run in batches of similar length, each padded
        (on the right) only to its own longest text."""
        from shoplens.text.onnx import pad_right

        items = check_texts(texts)
        out = np.zeros((len(items), len(self.class_names_)), dtype=np.float32)
        if not items:
            return out
        if getattr(self, "_token_ids", None) is None:
            from shoplens.text.onnx import TokenIds

            self._token_ids = TokenIds(self.tokenizer_, self.max_length)
        ids = self._token_ids(items)
        pad_id = self.tokenizer_.pad_token_id or 0
        batches = length_batches([len(x) for x in ids], batch_size)
        feeds = [dict(zip(("input_ids", "attention_mask"), pad_right([ids[i] for i in batch], pad_id), strict=True))
                 for batch in batches]
        for batch, logits in zip(batches, self.runner.run(feeds), strict=True):
            out[batch] = logits
        return out

    def predict_proba(self, texts: Sequence[str], batch_size: int = 64) -> np.ndarray:
        return softmax(self.predict_logits(texts, batch_size))

    def predict(self, texts: Sequence[str], batch_size: int = 64) -> np.ndarray:
        return self.predict_logits(texts, batch_size).argmax(1)


def step_fraction(in_epoch: int, steps_per_epoch: int) -> float:
    return in_epoch / steps_per_epoch


def _macro_f1_of_logits(y_true: np.ndarray, logits: np.ndarray) -> float:
    from sklearn.metrics import f1_score

    return float(f1_score(y_true, logits.argmax(1), average="macro"))


def read_curves(folder: Path) -> dict[str, list[dict[str, float]]]:
    path = folder / CURVES_FILE
    return json.loads(path.read_text(encoding="utf-8")) if path.exists() else {"train": [], "validation": []}
