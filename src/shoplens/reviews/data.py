"""Review frames: what the review models read, from a workspace or from a frame the user gives.

A review frame has ``text`` (title + ". " + body, the body alone without a title), ``language``
(``en``/``zh``…: the column when the source gives it, else detected from the script), and where known
``review_id``, ``product_id``, ``category``, ``rating`` (1–5), ``label`` (a source's sentiment label,
0 negative / 1 positive), ``review_ts`` and ``split`` (train / validation / test, for benchmarks).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from shoplens.errors import InputError
from shoplens.text.language import detect_languages

if TYPE_CHECKING:
    from shoplens.workspace import Workspace

REVIEWS_SQL = """
SELECT r.review_id, r.product_id, p.title AS product_title, p.category, r.rating, r.label, r.title, r.body,
       r.review_ts, r.language
FROM reviews r LEFT JOIN products p ON p.product_id = r.product_id
ORDER BY r.review_id
"""


def review_text(title: pd.Series, body: pd.Series) -> pd.Series:
    """title + ". " + body; the body alone when there is no title, the title alone when there is no body."""
    title = title.fillna("").astype(str).str.strip().str.rstrip(".")
    body = body.fillna("").astype(str).str.strip()
    joined = title + ". " + body
    return joined.where((title != "") & (body != ""), title.where(body == "", body))


def from_workspace(ws: Workspace, *, not_in: str | None = None) -> pd.DataFrame:
    """Every review of the workspace with text, as a review frame; with ``not_in`` (a table with a ``review_id``
    column), only the reviews that table does not hold."""
    query = REVIEWS_SQL
    if not_in is not None:
        query = query.replace("ORDER BY r.review_id",
                              f'WHERE r.review_id NOT IN (SELECT review_id FROM "{not_in}") ORDER BY r.review_id')
    frame = ws.sql(query)
    frame["text"] = review_text(frame["title"], frame["body"])
    return normalize(frame[frame["text"] != ""])


def newest_per_product(frame: pd.DataFrame, total: int) -> pd.DataFrame:
    """About ``total`` reviews of ``frame``: the newest of each product, the same number for every product
    (``total`` // products, at least one); the frame itself when it holds no more than ``total``."""
    if len(frame) <= total or "product_id" not in frame.columns:
        return frame if len(frame) <= total else frame.sample(n=total, random_state=0).sort_index()
    per_product = max(1, total // max(frame["product_id"].nunique(), 1))
    ts = frame["review_ts"] if "review_ts" in frame.columns else pd.Series(0, index=frame.index)
    order = frame.assign(_ts=ts).sort_values(["_ts", "review_id"] if "review_id" in frame.columns else ["_ts"],
                                            ascending=False, na_position="last")
    rank = order.groupby("product_id", dropna=False).cumcount()
    return frame.loc[order.index[rank.to_numpy() < per_product]].sort_index()


def normalize(frame: pd.DataFrame) -> pd.DataFrame:
    """Check a user's frame and fill ``language``; a frame needs a ``text`` column at least."""
    if "text" not in frame.columns:
        if {"title", "body"} & set(frame.columns):
            frame = frame.assign(text=review_text(frame.get("title", pd.Series("", index=frame.index)),
                                                  frame.get("body", pd.Series("", index=frame.index))))
        else:
            raise InputError(f"a review frame needs a 'text' column (or 'title'/'body'); it has "
                             f"{', '.join(map(str, frame.columns))}")
    out = frame.reset_index(drop=True).copy()
    out["text"] = out["text"].fillna("").astype(str)
    detected = detect_languages(out["text"])
    if "language" in out.columns:
        given = out["language"].fillna("").astype(str).str.lower().str[:2]
        out["language"] = np.where(given != "", given, detected)
    else:
        out["language"] = detected
    return out


def as_frame(data: Any) -> pd.DataFrame:
    """A review frame from a workspace, a pandas frame or a list of texts."""
    from shoplens.workspace import Workspace

    if isinstance(data, Workspace):
        return from_workspace(data)
    if isinstance(data, pd.DataFrame):
        return normalize(data)
    if isinstance(data, list | tuple):
        return normalize(pd.DataFrame({"text": list(data)}))
    raise InputError(f"reviews come from a Workspace, a pandas DataFrame or a list of texts, not {type(data).__name__}")
