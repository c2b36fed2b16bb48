"""Loaders for public e-commerce datasets: each reads the files from a path the user gives and loads them
into the canonical tables through ``ws.ingest`` (validation, quarantine and pseudonymization apply).

```python
import shoplens as sl
from shoplens.data.datasets import load_dataset

ws = sl.Workspace.init("shop")
reports = load_dataset("movielens_100k", ws, "data/ml-100k")   # {"products": …, "customers": …, "ratings": …}
print(reports["ratings"])                                      # read 100,000 = loaded 100,000 + quarantined 0
```

The datasets are rows of catalog.toml (beside this file): what each one is, its terms, its files and its parts.
A part that only maps columns loads by its row; the parts that need more are built by the function ``build``
of the module named after the dataset. Loader names are the folder names of the reference copies
(../shared/data), plus ``online_retail_ii``. docs/datasets.md tables what maps where, the licences (several
are research-use only) and the row counts.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING

from shoplens.data.datasets import (
    amazon_giftcards,
    bakery_transactions,
    cdnow,
    diginetica,
    groceries_baskets,
    movielens_100k,
    online_retail_ii,
    s3rec_amazon_seq,
    taobao_userbehavior_sample,
    womens_clothing_reviews,
)
from shoplens.data.datasets._catalog import CATALOG_FILE, Build, Loading, read_catalog
from shoplens.data.datasets._common import DatasetInfo, Files, Part, Reports
from shoplens.data.datasets._common import find_files as _find_files
from shoplens.errors import InputError, NotFound

if TYPE_CHECKING:
    from shoplens.workspace import Workspace

_CATALOG = read_catalog(resources.files(__name__).joinpath(CATALOG_FILE).read_text(encoding="utf-8"))
DATASETS: dict[str, DatasetInfo] = {name: info for name, (info, _) in _CATALOG.items()}
_LOADINGS: dict[str, Loading] = {name: loading for name, (_, loading) in _CATALOG.items()}
_BUILDS: dict[str, Build] = {module.__name__.rpartition(".")[2]: module.build for module in (
    amazon_giftcards, bakery_transactions, cdnow, diginetica, groceries_baskets, movielens_100k, online_retail_ii,
    s3rec_amazon_seq, taobao_userbehavior_sample, womens_clothing_reviews,
)}


def _check_builds() -> None:
    """Every part without a reader has a function that builds it, and every function a dataset that uses it."""
    needing = {name for name, loading in _LOADINGS.items() if loading.built}
    for name in sorted(needing ^ set(_BUILDS)):
        why = "has parts without `read` but no function builds them" if name in needing else \
            "has a function but no part without `read`"
        raise InputError(f"dataset {name!r} {why}", file=CATALOG_FILE)


_check_builds()


def list_datasets() -> list[DatasetInfo]:
    """Every dataset shoplens can load, by name."""
    return [DATASETS[name] for name in sorted(DATASETS)]


def get_dataset(name: str) -> DatasetInfo:
    """The description of dataset ``name``; :class:`NotFound` lists the known names."""
    try:
        return DATASETS[name]
    except KeyError:
        raise NotFound(f"no dataset {name!r}; datasets are: {', '.join(sorted(DATASETS))}") from None


def find_files(name: str, path: str | Path) -> Files:
    """The files dataset ``name`` reads from ``path`` (its folder, or its file), by role (catalog.toml's
    ``files``); an :class:`InputError` names a file that is not there."""
    get_dataset(name)
    loading = _LOADINGS[name]
    return _find_files(path, name, loading.files, loading.given_file)


def load_dataset(name: str, ws: Workspace, path: str | Path, progress: bool = False) -> Reports:
    """Load dataset ``name`` from ``path`` (its folder or its file) into ``ws``.

    Returns one ingest report per part (``"reviews"``, ``"products"`` …, see ``DATASETS[name].parts``); for
    each, ``read == loaded + quarantined``. A path without the expected file raises :class:`InputError`
    naming that file.
    """
    files = find_files(name, path)
    return _LOADINGS[name].load(ws, files, _BUILDS.get(name), progress=progress)


__all__ = ["DATASETS", "DatasetInfo", "Part", "find_files", "get_dataset", "list_datasets", "load_dataset"]
