"""Women's E-Commerce Clothing Reviews (Kaggle) → products + reviews."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from shoplens.data.datasets._common import Files, Frames, category_path, mode_per_key, read_csv, to_number

NAME = "womens_clothing_reviews"  # reviews.source
LEVELS = ("Division Name", "Department Name", "Class Name")
# The review's own levels, in reviews.attributes; not "division_name": ingest pseudonymizes a column named *_name.
LEVEL_ATTRIBUTES = ("division", "department", "class")


def build(files: Files) -> Frames:
    source = files["reviews"]
    frame = read_csv(source, ["Clothing ID", "Age", "Title", "Review Text", "Rating", "Recommended IND",
                              "Positive Feedback Count", *LEVELS])
    frame = frame.rename(columns={frame.columns[0]: "index"})  # the unnamed first column
    return {"products": _products(frame), "reviews": _reviews(frame, source)}


def _products(frame: pd.DataFrame) -> pd.DataFrame:
    paths = frame.assign(path=[category_path(levels) for levels in frame[list(LEVELS)].itertuples(index=False)])
    ids = paths["Clothing ID"].dropna().drop_duplicates()
    category = mode_per_key(paths, "Clothing ID", "path")
    return pd.DataFrame({"product_id": ids.to_numpy(), "category": ids.map(category).to_numpy()})


def _reviews(frame: pd.DataFrame, source: Path) -> pd.DataFrame:
    return pd.DataFrame({
        "review_id": frame["index"], "product_id": frame["Clothing ID"], "rating": frame["Rating"],
        "title": frame["Title"], "body": frame["Review Text"], "label": frame["Recommended IND"],
        "language": "en", "source": NAME,
        "age": to_number(frame["Age"], source),
        "positive_feedback_count": to_number(frame["Positive Feedback Count"], source),
        **{name: frame[level] for name, level in zip(LEVEL_ATTRIBUTES, LEVELS, strict=True)},
    })
