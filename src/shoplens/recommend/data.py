"""Interactions as recommenders read them: a long frame ``customer_id, product_id, ts, weight``.

``interactions_frame(data)`` accepts a workspace (its ``interactions`` view: purchases, click-stream
events, reviews and ratings; see docs/data.md for the weights) or a pandas frame with at least
``customer_id`` and ``product_id``; ``kind`` (purchase, rating, view …), when given, is kept for the verbs of
explanations. ``ts`` may be a timestamp or any orderable number (a position in a
sequence); ``weight`` defaults to 1. Rows with a non-positive weight (a search, a removal from the
cart) are not interactions with the item and are left out.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp

from shoplens.errors import InputError

USER, ITEM, TS, WEIGHT, KIND = "customer_id", "product_id", "ts", "weight", "kind"
# Strongest kind of interaction first: the verb of an explanation names the strongest one.
KIND_VERBS: dict[str, str] = {"purchase": "bought", "checkout": "ordered", "add_to_cart": "put in your cart",
                              "rating": "rated", "review": "reviewed", "wishlist": "saved", "view": "viewed"}
KIND_CODES = {kind: code for code, kind in enumerate(reversed(list(KIND_VERBS)), start=1)}
CODE_VERBS = {code: KIND_VERBS[kind] for kind, code in KIND_CODES.items()}
INTERACTIONS_SQL = """
SELECT customer_id, product_id, ts, kind, weight FROM interactions
WHERE weight > 0 ORDER BY customer_id, ts NULLS FIRST, product_id, kind
"""
PRODUCTS_SQL = ("SELECT product_id, title, description, brand, category, price, attributes FROM products "
                "ORDER BY product_id")


def _is_workspace(data: Any) -> bool:
    return hasattr(data, "sql") and hasattr(data, "table_names")


def interactions_frame(data: Any) -> pd.DataFrame:
    """The interactions of a workspace or a frame, checked: ids as text, ``weight`` > 0, ``ts`` kept."""
    if _is_workspace(data):
        frame = data.sql(INTERACTIONS_SQL)
        if frame.empty:
            raise InputError(f"{data.path}: the interactions view is empty; ingest orders and order_items, events, "
                             "reviews or ratings first")
    elif isinstance(data, pd.DataFrame):
        frame = data
    else:
        raise InputError(f"expected a Workspace or a pandas DataFrame of interactions, got {type(data).__name__}")
    missing = [c for c in (USER, ITEM) if c not in frame.columns]
    if missing:
        raise InputError(f"interactions: missing column {', '.join(map(repr, missing))}; "
                         f"columns are {', '.join(map(str, frame.columns))}")
    for column in (USER, ITEM):
        empty = frame[column].isna()
        if empty.any():
            raise InputError(f"interactions: {int(empty.sum())} rows have no {column} "
                             f"(first at row {int(np.flatnonzero(empty.to_numpy())[0])})", column=column)
    out = pd.DataFrame({USER: frame[USER].astype(str).to_numpy(), ITEM: frame[ITEM].astype(str).to_numpy()},
                       index=frame.index)
    out[TS] = frame[TS].to_numpy() if TS in frame.columns else np.zeros(len(frame), dtype=np.int64)
    weight = pd.to_numeric(frame[WEIGHT], errors="coerce") if WEIGHT in frame.columns else 1.0
    out[WEIGHT] = np.asarray(weight, dtype=np.float64) if WEIGHT in frame.columns else 1.0
    if KIND in frame.columns:  # the verb of explanations ("because you rated …"); missing kinds read as purchases
        out[KIND] = frame[KIND].fillna("purchase").astype(str).to_numpy()
    if out[WEIGHT].isna().any():
        raise InputError("interactions: column 'weight' holds values that are not numbers", column=WEIGHT)
    out = out[out[WEIGHT] > 0]
    if out.empty:
        raise InputError("interactions: no row with a positive weight")
    return out


def run_sql(source: Any, query: str, params: list[Any] | None = None) -> pd.DataFrame:
    """A read query on a workspace (its own read-only connection) or on an open DuckDB connection."""
    import duckdb

    if isinstance(source, duckdb.DuckDBPyConnection):
        return source.execute(query, params or []).df()
    return source.sql(query, params)


def products_frame(data: Any) -> pd.DataFrame | None:
    """The catalogue (``product_id, title, description, brand, category, price, attributes``) of a workspace or
    frame."""
    if data is None:
        return None
    if _is_workspace(data):
        return data.sql(PRODUCTS_SQL)
    if isinstance(data, pd.DataFrame):
        if ITEM not in data.columns:
            raise InputError("products: missing column 'product_id'")
        out = data.copy()
        out[ITEM] = out[ITEM].astype(str)
        return out
    raise InputError(f"expected a Workspace or a products DataFrame, got {type(data).__name__}")


def time_number(ts: pd.Series | np.ndarray) -> np.ndarray:
    """Timestamps (or positions) as float seconds, for arithmetic; NaN where missing."""
    values = pd.Series(ts)
    if pd.api.types.is_datetime64_any_dtype(values):
        numbers = values.astype("int64").astype(np.float64) / 1e9
        numbers[values.isna().to_numpy()] = np.nan
        return numbers.to_numpy()
    if values.dtype == object:
        converted = pd.to_datetime(values, errors="coerce", utc=True)
        if converted.notna().any():
            return time_number(converted)
    return pd.to_numeric(values, errors="coerce").astype(np.float64).to_numpy()


def user_item_matrix(users: np.ndarray, items: np.ndarray, shape: tuple[int, int],
                     values: np.ndarray | None = None) -> sp.csr_matrix:
    """A users × items CSR matrix; repeated pairs are summed (then binarised unless ``values`` are given)."""
    data = np.ones(len(users), dtype=np.float32) if values is None else values.astype(np.float32)
    matrix = sp.csr_matrix((data, (users, items)), shape=shape)
    matrix.sum_duplicates()
    if values is None:
        matrix.data[:] = 1.0
    return matrix
