"""The encoder surface every text model shares: ``encode(texts) -> (n, dim) float32``.

:class:`Encoder` does what all backends need — input checks, de-duplication, the workspace cache,
normalisation, a progress bar — and leaves one method to a backend: ``_embed(texts, batch_size, bar)``
returning unnormalised vectors. Backends: :mod:`shoplens.text.transformer` (PyTorch, any
BERT-class folder), :mod:`shoplens.text.onnx` (exported ONNX folders, the packaged multilingual
encoders).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from shoplens.errors import InputError
from shoplens.progress import progress_bar
from shoplens.text.cache import EmbeddingCache, text_key

if TYPE_CHECKING:
    from shoplens.workspace import Workspace

DEFAULT_BATCH_SIZE = 32
# below this many texts to embed, a progress bar is more noise than help
PROGRESS_MIN_TEXTS = 512


def check_texts(texts: Sequence[str] | str, what: str = "texts") -> list[str]:
    """A list of strings, or a clear error naming the first bad item."""
    if isinstance(texts, str):
        raise InputError(f"{what} must be a list of strings, not one string (wrap it in a list)")
    out = list(texts)
    for position, text in enumerate(out):
        if not isinstance(text, str):
            raise InputError(f"{what}[{position}] is {type(text).__name__}, expected a string")
    return out


def length_batches(lengths: Sequence[int], batch_size: int) -> list[np.ndarray]:
    """Positions grouped into batches of similar length (longest first), so padding is minimal."""
    if batch_size < 1:
        raise InputError(f"batch_size must be at least 1, got {batch_size}")
    order = np.argsort(-np.asarray(lengths, dtype=np.int64), kind="stable")
    return [order[i:i + batch_size] for i in range(0, len(order), batch_size)]


def l2_normalize(vectors: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors / np.maximum(norms, 1e-12)


class Encoder(ABC):
    """A pretrained text encoder. Build one with :func:`shoplens.text.load_encoder`."""

    name: str  # short name ("minilm") or the folder's name
    model_id: str  # identifies the weights; with max_length it keys the embedding cache
    dim: int
    max_length: int
    languages: str = "en"

    def __init__(self, workspace: Workspace | None = None) -> None:
        self.workspace = workspace
        self._caches: dict[str, EmbeddingCache] = {}

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.name!r}, dim={self.dim}, max_length={self.max_length})"

    @property
    def cache_id(self) -> str:
        return f"{self.model_id}@{self.max_length}"

    def _cache(self, workspace: Workspace | None) -> EmbeddingCache | None:
        ws = workspace if workspace is not None else self.workspace
        if ws is None:
            return None
        key = str(ws.path)
        if key not in self._caches:
            self._caches[key] = EmbeddingCache.for_workspace(ws, self.cache_id)
        return self._caches[key]

    def encode(self, texts: Sequence[str], *, batch_size: int = DEFAULT_BATCH_SIZE, normalize: bool = True,
               workspace: Workspace | None = None, show_progress: bool | None = None) -> np.ndarray:
        """Embeddings of ``texts`` as a ``(len(texts), dim)`` float32 array, in the order given.

        Identical texts are embedded once; with a workspace (here or at load time) embeddings are read
        from and added to its cache. ``normalize`` scales each row to unit length (cosine = dot product).
        """
        items = check_texts(texts)
        out = np.zeros((len(items), self.dim), dtype=np.float32)
        if not items:
            return out
        unique = list(dict.fromkeys(items))
        position = {text: i for i, text in enumerate(unique)}
        vectors = np.zeros((len(unique), self.dim), dtype=np.float32)
        cache = self._cache(workspace)
        keys = [text_key(t) for t in unique] if cache is not None else []
        if cache is not None:
            found, missing = cache.lookup(keys)
            for i, vector in found.items():
                vectors[i] = vector
        else:
            missing = list(range(len(unique)))
        if missing:
            todo = [unique[i] for i in missing]
            show = len(todo) >= PROGRESS_MIN_TEXTS if show_progress is None else show_progress
            with progress_bar(f"embedding with {self.name}", len(todo), enabled=show, unit="texts") as bar:
                fresh = self._embed(todo, batch_size, bar)
            vectors[missing] = fresh
            if cache is not None:
                cache.add([keys[i] for i in missing], fresh)
        if normalize:
            vectors = l2_normalize(vectors)
        out[:] = vectors[[position[t] for t in items]]
        return out

    @abstractmethod
    def _embed(self, texts: list[str], batch_size: int, bar: Any) -> np.ndarray:
        """Unnormalised vectors of ``texts`` (all new), advancing ``bar`` by texts done."""
