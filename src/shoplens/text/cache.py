"""Embeddings cached on disk, keyed by the text's hash and the model id.

Layout: ``<workspace>/index/embeddings/<model id>/<shard>.npz``; each shard holds ``keys`` (16-byte
BLAKE2b digests of the UTF-8 text, as uint8 rows) and ``vectors`` (float32, as the model returned them, before any
normalisation). Shards are written to a temporary name and renamed, so concurrent writers and an
interrupted run never leave a half-written file; a reader sees whole shards only.
"""

from __future__ import annotations

import hashlib
import os
import re
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from shoplens.workspace import Workspace

DIGEST_BYTES = 16


def text_key(text: str) -> bytes:
    return hashlib.blake2b(text.encode("utf-8"), digest_size=DIGEST_BYTES).digest()


def _safe(model_id: str) -> str:
    return re.sub(r"[^A-Za-z0-9._@-]+", "__", model_id).strip("_") or "model"


class EmbeddingCache:
    """Vectors of one model in one folder. ``lookup`` → (found rows, missing positions); ``add`` new ones."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._index: dict[bytes, np.ndarray] | None = None
        self._seen_shards: set[str] = set()

    @classmethod
    def for_workspace(cls, ws: Workspace, model_id: str) -> EmbeddingCache:
        return cls(ws.dir("index") / "embeddings" / _safe(model_id))

    def _load(self) -> dict[bytes, np.ndarray]:
        if self._index is None:
            self._index = {}
        if self.folder.is_dir():
            for shard in sorted(self.folder.glob("*.npz")):
                if shard.name in self._seen_shards:
                    continue
                with np.load(shard) as data:
                    for key, vector in zip(data["keys"], data["vectors"], strict=True):
                        self._index[key.tobytes()] = vector
                self._seen_shards.add(shard.name)
        return self._index

    def __len__(self) -> int:
        return len(self._load())

    def lookup(self, keys: Sequence[bytes]) -> tuple[dict[int, np.ndarray], list[int]]:
        index = self._load()
        found: dict[int, np.ndarray] = {}
        missing: list[int] = []
        for position, key in enumerate(keys):
            vector = index.get(key)
            if vector is None:
                missing.append(position)
            else:
                found[position] = vector
        return found, missing

    def add(self, keys: Sequence[bytes], vectors: np.ndarray) -> None:
        if not len(keys):
            return
        self.folder.mkdir(parents=True, exist_ok=True)
        name = f"{uuid.uuid4().hex}.npz"
        tmp = self.folder / f".{name}.tmp"
        with open(tmp, "wb") as handle:
            # raw bytes as uint8 rows: numpy's "S" strings would drop trailing zero bytes of a digest
            np.savez(handle, keys=np.frombuffer(b"".join(keys), dtype=np.uint8).reshape(-1, DIGEST_BYTES),
                     vectors=np.asarray(vectors, dtype=np.float32))
        os.replace(tmp, self.folder / name)
        index = self._load()
        for key, vector in zip(keys, vectors, strict=True):
            index[key] = np.asarray(vector, dtype=np.float32)
        self._seen_shards.add(name)
