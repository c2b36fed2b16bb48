"""Top-k recommendations for every customer on Spark: the deployed recommender's lists, computed on the
executors (docs/scale.md, "Batch scoring on Spark").

```python
from shoplens.engine.spark_engine import start_session
from shoplens.recommend import api
from shoplens.recommend.spark import recommend_all

spark = start_session("local[2]")
top = recommend_all(spark, api.load(ws), k=10)     # customer_id, rank, product_id, title, score, reason, model
top.write.parquet("out/recommend_top_k")
```

How: a recommender keeps two kinds of state. What describes products — item × item weights (EASE, SessionEASE,
ItemKNN), item factors (ALS, BPR), availability dates, titles, categories, popularity — is the same for every
customer: it is **broadcast** once. What describes a customer is the model's ``user_rows`` (their history row,
interaction kinds, last activity, user factors): those rows become a Spark DataFrame of customers, **partitioned**
over the executors; each task rebuilds a model over its own customers (the broadcast item state plus their rows)
and runs the local path's :func:`shoplens.recommend.serving.batch_recommendations` on it. A customer's list
depends only on their own row and the item state, so the lists are the local ones.

Two kinds of model cannot be split that way (:func:`splits_by_customer` says which), and are scored with the
whole model broadcast instead, the customers still partitioned: models whose per-customer state is not one row
per customer (SASRec's interaction sequences), and models that explain with the co-occurrence of items over
every customer's history (``Recommender.item_affinity``'s default: popularity, category popularity), which
needs all the histories on every executor.
"""

from __future__ import annotations

import copy
import uuid
from collections.abc import Iterator
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp

from shoplens.engine.scoring import default_partitions, load_once, to_spark
from shoplens.errors import InputError
from shoplens.recommend.base import Recommender
from shoplens.recommend.data import ITEM, USER

TOP_K_SCHEMA = f"{USER} string, rank int, {ITEM} string, title string, score double, reason string, model string"
SPARK_TYPES = {"float32": "float", "float64": "double", "int64": "bigint", "int32": "int", "bool": "boolean"}


def splits_by_customer(model: Recommender) -> bool:
    """Whether the model's state splits into item-side state (broadcast) and one row per customer (partitioned)."""
    kind = type(model)
    keeps_sequences = kind._forget_rows is not Recommender._forget_rows
    explains_by_cooccurrence = kind.item_affinity is Recommender.item_affinity
    return not keeps_sequences and not explains_by_cooccurrence


def recommend_all(spark: Any, model: Recommender, k: int = 10, *, explain: bool = True,
                  partitions: int | None = None) -> Any:
    """Top-``k`` for every customer the model knows, as the local path gives them (a lazy Spark DataFrame with
    :data:`TOP_K_SCHEMA`). ``partitions``: how many groups of customers (default two per core)."""
    if not model.fitted:
        raise InputError(f"{type(model).__name__} is not fitted: train and deploy a recommender first")
    if k < 1:
        raise InputError(f"k must be at least 1, got {k}")
    partitions = partitions or default_partitions(spark)
    key = f"recommend:{uuid.uuid4().hex}"  # the rebuilt model's name in each worker process, for this job
    if splits_by_customer(model):
        layout = user_layout(model)
        item_state = spark.sparkContext.broadcast((type(model), fitted_state(model, without=tuple(layout)), layout))
        customers = to_spark(spark, user_rows_frame(model, layout), user_schema(layout), partitions)

        def score(batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
            return _score_customers(batches, item_state, key, k, explain)
    else:
        whole = spark.sparkContext.broadcast((type(model), fitted_state(model), {}))
        customers = to_spark(spark, pd.DataFrame({"user": np.arange(len(model.user_ids_), dtype=np.int64)}),
                             "user bigint", partitions)

        def score(batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
            return _score_with_whole_model(batches, whole, key, k, explain)
    return customers.mapInPandas(score, TOP_K_SCHEMA)


# -- the two kinds of state ---------------------------------------------------------------------------------------
def fitted_state(model: Recommender, without: tuple[str, ...] = ()) -> dict[str, Any]:
    """Parameters and fitted attributes (what ``save`` keeps; caches starting with ``_`` left out), less the
    per-customer attributes ``without`` and the customer ids when those are left out."""
    state = {name: value for name, value in vars(model).items() if not name.startswith("_") and name not in without}
    if without:
        state.pop("user_ids_", None)
    return state


def rebuilt(kind: type[Recommender], state: dict[str, Any]) -> Recommender:
    """A model from :func:`fitted_state` (``_after_load`` rebuilds what is derived: a network, caches)."""
    model = kind.__new__(kind)
    model.__dict__.update(state)
    model._after_load()
    return model


def user_layout(model: Recommender) -> dict[str, tuple[str, str, int]]:
    """Per per-customer attribute: its form (``sparse``, ``vector`` — one number per customer — or ``rows``), its
    dtype, and its width."""
    layout = {}
    for name in model.user_rows:
        value = getattr(model, name)
        if sp.issparse(value):
            layout[name] = ("sparse", str(value.dtype), int(value.shape[1]))
        elif isinstance(value, np.ndarray) and value.ndim in (1, 2):
            layout[name] = ("vector" if value.ndim == 1 else "rows", str(value.dtype),
                            1 if value.ndim == 1 else int(value.shape[1]))
        else:
            raise InputError(f"{type(model).__name__}.{name}: cannot send {type(value).__name__} per customer")
    return layout


def user_schema(layout: dict[str, tuple[str, str, int]]) -> str:
    columns = ["user bigint", f"{USER} string"]
    for name, (form, dtype, _) in layout.items():
        spark_type = SPARK_TYPES.get(dtype)
        if spark_type is None:
            raise InputError(f"{name}: no Spark type for dtype {dtype}")
        if form == "sparse":
            columns += [f"{name}indices array<int>", f"{name}data array<{spark_type}>"]
        elif form == "vector":
            columns.append(f"{name} {spark_type}")
        else:
            columns.append(f"{name} array<{spark_type}>")
    return ", ".join(columns)


def user_rows_frame(model: Recommender, layout: dict[str, tuple[str, str, int]]) -> pd.DataFrame:
    """One row per customer: index, id and the per-customer attributes (sparse rows as index and value lists)."""
    frame = pd.DataFrame({"user": np.arange(len(model.user_ids_), dtype=np.int64), USER: model.user_ids_.astype(str)})
    for name, (form, _, _) in layout.items():
        value = getattr(model, name)
        if form == "sparse":
            csr = sp.csr_matrix(value)
            frame[f"{name}indices"] = np.split(csr.indices.astype(np.int32), csr.indptr[1:-1])
            frame[f"{name}data"] = np.split(csr.data, csr.indptr[1:-1])
        elif form == "vector":
            frame[name] = value
        else:
            frame[name] = list(value)
    return frame


def with_customers(item_model: Recommender, rows: pd.DataFrame, layout: dict[str, tuple[str, str, int]]
                   ) -> Recommender:
    """A copy of the item-side model over the customers of ``rows`` (their ids, histories and other rows)."""
    model = copy.copy(item_model)
    model.user_ids_ = rows[USER].to_numpy().astype(str)
    for name, (form, dtype, width) in layout.items():
        if form == "sparse":
            indices = [np.asarray(i, dtype=np.int32) for i in rows[f"{name}indices"]]
            data = [np.asarray(d, dtype=dtype) for d in rows[f"{name}data"]]
            indptr = np.concatenate([[0], np.cumsum([len(i) for i in indices])]).astype(np.int64)
            setattr(model, name, sp.csr_matrix(
                (np.concatenate(data) if data else np.zeros(0, dtype), np.concatenate(indices) if indices
                 else np.zeros(0, np.int32), indptr), shape=(len(rows), width)))
        elif form == "vector":
            setattr(model, name, rows[name].to_numpy(dtype=dtype))
        else:
            setattr(model, name, np.stack([np.asarray(r, dtype=dtype) for r in rows[name]]) if len(rows)
                    else np.zeros((0, width), dtype))
    return model


# -- on the executors ---------------------------------------------------------------------------------------------
def _score_customers(batches: Iterator[pd.DataFrame], item_state: Any, key: str, k: int,
                     explain: bool) -> Iterator[pd.DataFrame]:
    from shoplens.recommend.serving import batch_recommendations

    kind, state, layout = item_state.value
    item_model = load_once(key, lambda: rebuilt(kind, state))
    for batch in batches:
        rows = batch.sort_values(USER, kind="stable").reset_index(drop=True)
        yield _typed(batch_recommendations(with_customers(item_model, rows, layout), k, explain=explain))


def _score_with_whole_model(batches: Iterator[pd.DataFrame], whole: Any, key: str, k: int,
                            explain: bool) -> Iterator[pd.DataFrame]:
    from shoplens.recommend.serving import batch_recommendations

    kind, state, _ = whole.value
    model = load_once(key, lambda: rebuilt(kind, state))
    for batch in batches:
        yield _typed(batch_recommendations(model, k, explain=explain, users=np.sort(batch["user"].to_numpy())))


def _typed(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.astype({"rank": np.int32, "score": np.float64})[[USER, "rank", ITEM, "title", "score", "reason",
                                                                  "model"]]


__all__ = ["TOP_K_SCHEMA", "recommend_all", "splits_by_customer"]
