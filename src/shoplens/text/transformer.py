"""BERT-class encoders run with PyTorch: any folder with a Hugging Face model and tokenizer.

Sentence-transformers folders (a ``1_Pooling/config.json``) are pooled as their config says (mean of
token vectors for MiniLM and mpnet); other folders are mean-pooled. Texts are tokenised once, sorted
by token count and padded per batch, which on review-length text is ~2x faster than padding a batch
of mixed lengths.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

import numpy as np

from shoplens.errors import NotFound
from shoplens.text.encoder import Encoder, length_batches
from shoplens.text.threads import configure_torch

DEFAULT_MAX_LENGTH = 256
WEIGHT_FILES = ("model.safetensors", "pytorch_model.bin")


def read_pooling(folder: Path) -> str:
    """``mean``, ``cls`` or ``max`` from a sentence-transformers pooling config (mean when there is none)."""
    config = folder / "1_Pooling" / "config.json"
    if not config.exists():
        return "mean"
    data = json.loads(config.read_text(encoding="utf-8"))
    if data.get("pooling_mode_cls_token"):
        return "cls"
    if data.get("pooling_mode_max_tokens"):
        return "max"
    return "mean"


def read_max_length(folder: Path, fallback: int = DEFAULT_MAX_LENGTH) -> int:
    config = folder / "sentence_bert_config.json"
    if config.exists():
        return int(json.loads(config.read_text(encoding="utf-8")).get("max_seq_length", fallback))
    return fallback


def folder_fingerprint(folder: Path) -> str:
    """A content hash of a model folder's config and weights (the cache key of a local model)."""
    digest = hashlib.blake2b(digest_size=8)
    for name in ("config.json", *WEIGHT_FILES, "model.onnx"):
        path = folder / name
        if path.exists():
            with open(path, "rb") as handle:
                for block in iter(lambda h=handle: h.read(8 << 20), b""):
                    digest.update(block)
    return digest.hexdigest()


def pool(hidden: Any, mask: Any, mode: str) -> Any:
    """Sentence vectors from token vectors (torch tensors or numpy arrays) and the attention mask."""
    if mode == "cls":
        return hidden[:, 0]
    m = mask[..., None].astype(hidden.dtype) if isinstance(hidden, np.ndarray) else mask.unsqueeze(-1).to(hidden.dtype)
    if mode == "max":
        return (hidden + (m - 1) * 1e9).max(1) if isinstance(hidden, np.ndarray) else (hidden + (m - 1) * 1e9).amax(1)
    summed = (hidden * m).sum(1)
    counts = m.sum(1)
    return summed / (np.maximum(counts, 1e-9) if isinstance(hidden, np.ndarray) else counts.clamp(min=1e-9))


class TransformerEncoder(Encoder):
    """A Hugging Face encoder folder, pooled into sentence vectors with PyTorch."""

    def __init__(self, folder: str | os.PathLike, *, name: str | None = None, model_id: str | None = None,
                 max_length: int | None = None, num_threads: int | None = None, languages: str = "en",
                 workspace: Any = None) -> None:
        super().__init__(workspace)
        self.folder = Path(folder)
        self.name = name or self.folder.name
        self._model_id = model_id
        self.max_length = max_length or read_max_length(self.folder)
        self.num_threads = num_threads
        self.languages = languages
        self.pooling = read_pooling(self.folder)
        self._load()

    def _load(self) -> None:
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        import torch  # noqa: F401  (imported here: heavy)
        from transformers import AutoModel, AutoTokenizer
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()  # no "Loading weights" bar on every load
        hf_logging.set_verbosity_error()
        configure_torch(self.num_threads)
        try:
            self.tokenizer = AutoTokenizer.from_pretrained(str(self.folder))
            self.model = AutoModel.from_pretrained(str(self.folder)).eval()
        except OSError as exc:
            raise NotFound(f"cannot load an encoder from {self.folder}: {exc}".splitlines()[0]) from None
        self.dim = int(self.model.config.hidden_size)
        self.max_length = min(self.max_length, int(getattr(self.model.config, "max_position_embeddings", 512)) - 2)

    @property
    def model_id(self) -> str:
        if self._model_id is None:
            self._model_id = f"local:{self.folder.name}:{folder_fingerprint(self.folder)}"
        return self._model_id

    def tokenize(self, texts: list[str]) -> list[list[int]]:
        """Token ids of each text, truncated to ``max_length`` (special tokens included)."""
        return self.tokenizer(texts, truncation=True, max_length=self.max_length)["input_ids"]

    def _embed(self, texts: list[str], batch_size: int, bar: Any) -> np.ndarray:
        import torch

        configure_torch(self.num_threads)
        ids = self.tokenize(texts)
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        with torch.inference_mode():
            for batch in length_batches([len(x) for x in ids], batch_size):
                padded = self.tokenizer.pad({"input_ids": [ids[i] for i in batch]}, return_tensors="pt")
                hidden = self.model(input_ids=padded["input_ids"],
                                    attention_mask=padded["attention_mask"]).last_hidden_state
                out[batch] = pool(hidden, padded["attention_mask"], self.pooling).float().numpy()
                bar.advance(len(batch))
        return out
