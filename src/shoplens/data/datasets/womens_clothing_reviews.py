"""Women's E-Commerce Clothing Reviews (Kaggle) → products + reviews."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from shoplens.data.datasets._common import (
    DatasetInfo,
    Part,
    Reports,
    category_path,
    ingest_frame,
    locate,
    mode_per_key,
    read_csv,
    to_number,
)
from shoplens.workspace import Workspace

FILES = ("womens_clothing_ecommerce_reviews.csv", "Womens Clothing E-Commerce Reviews.csv")
LEVELS = ("Division Name", "Department Name", "Class Name")
# The review's own levels, in reviews.attributes; not "division_name": ingest pseudonymizes a column named *_name.
LEVEL_ATTRIBUTES = ("division", "department", "class")

INFO = DatasetInfo(
    name="womens_clothing_reviews",
    description="English reviews of a women's clothing shop: 1–5 stars, title, text, a recommendation flag "
                "and the garment's division, department and class",
    url="https://www.kaggle.com/datasets/nicapotato/womens-ecommerce-clothing-reviews",
    licence="CC0 1.0 (public domain)",
    parts=(
        Part("products", "products", FILES[0], 1_206,
             "one product per Clothing ID; category = Division > Department > Class (the id's most frequent one)"),
        Part("reviews", "reviews", FILES[0], 23_486,
             "unnamed index → review_id, Clothing ID → product_id, Title → title, Review Text → body, "
             "Rating → rating, Recommended IND → label (1 = recommends), language 'en'; Age → attributes.age, "
             "Positive Feedback Count → attributes.positive_feedback_count (numbers), Division / Department / "
             "Class Name → attributes.division / department / class (the review's own)"),
    ),
    notes="845 reviews have stars but no text: they are valid rows and load with an empty body. 196 ids appear "
          "under two divisions (General / General Petite, a size line) and 1 under two classes: the more frequent "
          "path names the product's category and each review keeps its own in attributes. 14 rows have no "
          "division, department or class; the division 'Initmates' is spelled so in the source. Age is the "
          "reviewer's age (18–99), as given.",
)


def load(ws: Workspace, path: str | Path, *, progress: bool = False) -> Reports:
    source = locate(path, INFO.name, FILES)
    frame = read_csv(source, ["Clothing ID", "Age", "Title", "Review Text", "Rating", "Recommended IND",
                              "Positive Feedback Count", *LEVELS])
    frame = frame.rename(columns={frame.columns[0]: "index"})  # the unnamed first column
    products, reviews = _products(frame), _reviews(frame, source)
    return {
        "products": ingest_frame(ws, "products", products, source, progress=progress),
        "reviews": ingest_frame(ws, "reviews", reviews, source, progress=progress),
    }


def _products(frame: pd.DataFrame) -> pd.DataFrame:
    paths = frame.assign(path=[category_path(levels) for levels in frame[list(LEVELS)].itertuples(index=False)])
    ids = paths["Clothing ID"].dropna().drop_duplicates()
    category = mode_per_key(paths, "Clothing ID", "path")
    return pd.DataFrame({"product_id": ids.to_numpy(), "category": ids.map(category).to_numpy()})


def _reviews(frame: pd.DataFrame, source: Path) -> pd.DataFrame:
    return pd.DataFrame({
        "review_id": frame["index"], "product_id": frame["Clothing ID"], "rating": frame["Rating"],
        "title": frame["Title"], "body": frame["Review Text"], "label": frame["Recommended IND"],
        "language": "en", "source": INFO.name,
        "age": to_number(frame["Age"], source),
        "positive_feedback_count": to_number(frame["Positive Feedback Count"], source),
        **{name: frame[level] for name, level in zip(LEVEL_ATTRIBUTES, LEVELS, strict=True)},
    })
