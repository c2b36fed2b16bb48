"""Loaders for public e-commerce datasets: each reads the files from a path the user gives and loads them
into the canonical tables through ``ws.ingest`` (validation, quarantine and pseudonymization apply).

```python
import shoplens as sl
from shoplens.data.datasets import load_dataset

ws = sl.Workspace.init("shop")
reports = load_dataset("movielens_100k", ws, "data/ml-100k")   # {"products": …, "customers": …, "ratings": …}
print(reports["ratings"])                                      # read 100,000 = loaded 100,000 + quarantined 0
```

Loader names are the folder names of the reference copies (../shared/data), plus ``online_retail_ii``.
docs/datasets.md tables what maps where, the licences (several are research-use only) and the row counts.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from types import ModuleType

from shoplens.data.datasets import (
    amazon_cellphones_catalog,
    amazon_giftcards,
    amazon_qa,
    bakery_transactions,
    cdnow,
    diginetica,
    groceries_baskets,
    movielens_100k,
    online_retail_ii,
    online_shoppers_intention,
    online_shopping_10_cats,
    recbole_ml100k_kg,
    s3rec_amazon_seq,
    taobao_userbehavior_sample,
    womens_clothing_reviews,
)
from shoplens.data.datasets._common import DatasetInfo, Part, Reports
from shoplens.errors import NotFound
from shoplens.workspace import Workspace

Loader = Callable[..., Reports]

_MODULES: tuple[ModuleType, ...] = (
    amazon_cellphones_catalog, amazon_giftcards, amazon_qa, bakery_transactions, cdnow, diginetica,
    groceries_baskets, movielens_100k, online_retail_ii, online_shoppers_intention, online_shopping_10_cats,
    recbole_ml100k_kg, s3rec_amazon_seq, taobao_userbehavior_sample, womens_clothing_reviews,
)
DATASETS: dict[str, DatasetInfo] = {m.INFO.name: m.INFO for m in _MODULES}
_LOADERS: dict[str, Loader] = {m.INFO.name: m.load for m in _MODULES}


def list_datasets() -> list[DatasetInfo]:
    """Every dataset shoplens can load, by name."""
    return [DATASETS[name] for name in sorted(DATASETS)]


def get_dataset(name: str) -> DatasetInfo:
    """The description of dataset ``name``; :class:`NotFound` lists the known names."""
    try:
        return DATASETS[name]
    except KeyError:
        raise NotFound(f"no dataset {name!r}; datasets are: {', '.join(sorted(DATASETS))}") from None


def load_dataset(name: str, ws: Workspace, path: str | Path, progress: bool = False) -> Reports:
    """Load dataset ``name`` from ``path`` (its folder or its file) into ``ws``.

    Returns one ingest report per part (``"reviews"``, ``"products"`` …, see ``DATASETS[name].parts``); for
    each, ``read == loaded + quarantined``. A path without the expected file raises :class:`InputError`
    naming that file.
    """
    get_dataset(name)
    return _LOADERS[name](ws, path, progress=progress)


__all__ = ["DATASETS", "DatasetInfo", "Part", "get_dataset", "list_datasets", "load_dataset"]
