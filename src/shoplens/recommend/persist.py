"""Saving and loading recommenders: a folder with ``model.json`` (class, parameters, scalars) and
``arrays.npz`` (every fitted array and sparse matrix; no pickle, so loading runs no code).

Fitted attributes are those ending in ``_``: numpy arrays, scipy sparse matrices, dicts of arrays (the
weights of a neural model), lists of fitted recommenders (the parts of a model that combines others, each
saved in its own sub-folder ``<attribute>/<position>/``) and JSON values. A model is written into a
temporary folder and renamed into place, so a failed save leaves nothing half-written.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import scipy.sparse as sp

from shoplens._files import replace_folder
from shoplens.base import json_safe
from shoplens.errors import InputError, NotFound
from shoplens.registry import write_curves

if TYPE_CHECKING:
    from shoplens.recommend.base import Recommender

MODEL_FILE, ARRAYS_FILE = "model.json", "arrays.npz"
FORMAT_VERSION = 1
# Model classes by name, so that a saved model can say what it is (each model module registers its classes;
# importing ``shoplens.recommend`` imports them all).
MODELS: dict[str, type[Recommender]] = {}
SPARSE_PARTS = ("data", "indices", "indptr", "shape")


def register(cls: type[Recommender]) -> type[Recommender]:
    """Make a model class loadable by its ``name``."""
    MODELS[cls.name] = cls
    return cls


def _is_model_list(value: Any) -> bool:
    return isinstance(value, (list, tuple)) and bool(value) and all(type(v) in MODELS.values() for v in value)


def _flatten(model: Recommender) -> tuple[dict[str, np.ndarray], dict[str, Any], dict[str, str]]:
    arrays: dict[str, np.ndarray] = {}
    scalars: dict[str, Any] = {}
    kinds: dict[str, str] = {}
    for name, value in vars(model).items():
        if not name.endswith("_") or name.startswith("_"):
            continue
        if _is_model_list(value):
            scalars[name] = len(value)
            kinds[name] = "models"
        elif sp.issparse(value):
            csr = sp.csr_matrix(value)
            for part in SPARSE_PARTS:
                arrays[f"{name}/{part}"] = np.asarray(getattr(csr, part))
            kinds[name] = "sparse"
        elif isinstance(value, np.ndarray):
            arrays[name] = value.astype(str) if value.dtype == object else value
            kinds[name] = "array"
        elif isinstance(value, dict) and value and all(isinstance(v, np.ndarray) for v in value.values()):
            for key, array in value.items():
                arrays[f"{name}/{key}"] = array
            kinds[name] = "dict"
        else:
            scalars[name] = value.item() if hasattr(value, "item") else value
            kinds[name] = "json"
    return arrays, scalars, kinds


def save_model(model: Recommender, path: Path) -> Path:
    """Write ``model`` into the folder ``path`` (replaced when it exists)."""
    return replace_folder(path, lambda staging: write_model_files(model, staging))


def write_model_files(model: Recommender, folder: Path) -> None:
    """The model's two files (``model.json``, ``arrays.npz``) into an existing folder, beside what it holds."""
    arrays, scalars, kinds = _flatten(model)
    description = {"format": FORMAT_VERSION, "class": type(model).name, "params": json_safe(model.get_params()),
                   "scalars": json_safe(scalars), "kinds": kinds}
    (folder / MODEL_FILE).write_text(json.dumps(description, indent=2), encoding="utf-8")
    np.savez(folder / ARRAYS_FILE, **arrays)
    if scalars.get("curves_"):  # a model trained in epochs (SASRec): its curves for the dashboard and TensorBoard
        write_curves(folder, scalars["curves_"])
    for name in (n for n, kind in kinds.items() if kind == "models"):
        for position, part in enumerate(getattr(model, name)):
            target = folder / name / str(position)
            target.mkdir(parents=True, exist_ok=True)  # an erasure rewrites a version in place of its copy
            write_model_files(part, target)


def is_saved_model(path: Path) -> bool:
    """Whether a folder holds a saved recommender."""
    return (path / MODEL_FILE).is_file() and (path / ARRAYS_FILE).is_file()


def load_model(path: Path) -> Recommender:
    """The model saved in folder ``path``."""
    description_file = path / MODEL_FILE
    if not description_file.exists():
        raise NotFound(f"{path} holds no saved recommender (no {MODEL_FILE})")
    try:
        description = json.loads(description_file.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise InputError(f"not valid JSON ({exc.msg})", file=str(description_file)) from None
    cls = MODELS.get(description.get("class", ""))
    if cls is None:
        raise InputError(f"unknown model class {description.get('class')!r}; known: {', '.join(sorted(MODELS))}",
                         file=str(description_file))
    params = {k: tuple(v) if isinstance(v, list) else v for k, v in description["params"].items()}
    model = cls(**params)
    with np.load(path / ARRAYS_FILE, allow_pickle=False) as stored:
        arrays = {key: stored[key] for key in stored.files}
    for name, kind in description["kinds"].items():
        if kind == "sparse":
            data, indices, indptr, shape = (arrays[f"{name}/{part}"] for part in SPARSE_PARTS)
            setattr(model, name, sp.csr_matrix((data, indices, indptr), shape=tuple(shape)))
        elif kind == "array":
            setattr(model, name, arrays[name])
        elif kind == "dict":
            prefix = f"{name}/"
            setattr(model, name, {k[len(prefix):]: v for k, v in arrays.items() if k.startswith(prefix)})
        elif kind == "models":
            setattr(model, name, [load_model(path / name / str(n)) for n in range(description["scalars"][name])])
        else:
            setattr(model, name, description["scalars"][name])
    model._after_load()
    return model
