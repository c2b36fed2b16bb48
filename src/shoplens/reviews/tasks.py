"""The benchmark tasks of review intelligence, on the published files, with the stored splits.

| task | data | labels | rows |
|---|---|---|---|
| ``womens_clothing_5star`` | Women's clothing reviews with text (845 without text left out) | stars 1–5 | 22,641 |
| ``womens_clothing_binary`` | the same split minus 3-star rows | 0 = 1–2 stars, 1 = 4–5 | 19,770 |
| ``womens_clothing_3class`` | the same split | 0 = 1–2, 1 = 3, 2 = 4–5 | 22,641 |
| ``online_shopping_10_cats`` | all reviews (Chinese) | 0 negative, 1 positive | 62,774 |

Cross-domain tasks (issue 17): :func:`leave_one_category_out` splits ``online_shopping_10_cats`` into a source
(the other nine categories' train and validation rows) and a target (the held-out category's test rows), and
:func:`load_giftcards` reads the Amazon Gift Cards 5-core reviews (stars 1–5) as a second English shop.

Text of a women's clothing review = title + ". " + review text (the text alone when there is no title).
Splits are 80/10/10 stratified by the label (stars for the three women's clothing tasks), seed 0, stored
as 0-based row positions of the published CSV files in ``splits/<dataset>.json.gz`` (indices, never
data); :func:`make_split` recreates them, and a test checks that it still does.
"""

from __future__ import annotations

import gzip
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from shoplens.data.datasets import find_files
from shoplens.data.datasets._common import read_csv
from shoplens.errors import InputError, NotFound

SPLITS_DIR = Path(__file__).parent / "splits"
SPLIT_NAMES = ("train", "validation", "test")
RATIO = (0.8, 0.1, 0.1)
SEED = 0
STAR_NAMES = ["1", "2", "3", "4", "5"]
SENTIMENT_NAMES = ["negative", "neutral", "positive"]
# online_shopping_10_cats' categories by English name (records and metric names are ASCII)
CATEGORY_NAMES = {"书籍": "books", "平板": "tablets", "手机": "phones", "水果": "fruit", "洗发水": "shampoo",
                  "热水器": "water_heaters", "蒙牛": "mengniu_dairy", "衣服": "clothes", "计算机": "computers",
                  "酒店": "hotels"}
# Amazon fills a review title left empty with the star count ("Five Stars"): such a title is the label itself.
_STAR_TITLE = re.compile(r"^\s*(one|two|three|four|five|[1-5])\s+stars?\s*$", re.IGNORECASE)


@dataclass(frozen=True)
class Task:
    name: str
    dataset: str  # the ../shared/data folder
    language: str
    kind: str  # "stars" | "binary" | "3class"
    class_names: tuple[str, ...]


TASKS: dict[str, Task] = {
    "womens_clothing_5star": Task("womens_clothing_5star", "womens_clothing_reviews", "en", "stars",
                                  tuple(STAR_NAMES)),
    "womens_clothing_binary": Task("womens_clothing_binary", "womens_clothing_reviews", "en", "binary",
                                   ("negative", "positive")),
    "womens_clothing_3class": Task("womens_clothing_3class", "womens_clothing_reviews", "en", "3class",
                                   tuple(SENTIMENT_NAMES)),
    "online_shopping_10_cats": Task("online_shopping_10_cats", "online_shopping_10_cats", "zh", "binary",
                                    ("negative", "positive")),
}


def make_split(labels: Sequence[int], seed: int = SEED) -> dict[str, np.ndarray]:
    """Positions of ``labels`` split 80/10/10, stratified, reproducibly (sorted within each part)."""
    from sklearn.model_selection import train_test_split

    positions = np.arange(len(labels))
    labels = np.asarray(labels)
    train, rest = train_test_split(positions, test_size=RATIO[1] + RATIO[2], stratify=labels, random_state=seed)
    validation, test = train_test_split(rest, test_size=RATIO[2] / (RATIO[1] + RATIO[2]), stratify=labels[rest],
                                        random_state=seed)
    return {"train": np.sort(train), "validation": np.sort(validation), "test": np.sort(test)}


def read_source(dataset: str, path: str | Path) -> pd.DataFrame:
    """The dataset's rows with ``row`` (0-based position in the file), ``text`` and the raw label columns."""
    if dataset == "womens_clothing_reviews":
        source = find_files(dataset, path)["reviews"]
        frame = read_csv(source, ["Title", "Review Text", "Rating"])
        body = frame["Review Text"].fillna("").astype(str).str.strip()
        title = frame["Title"].fillna("").astype(str).str.strip()
        text = np.where(title != "", title + ". " + body, body)
        out = pd.DataFrame({"row": np.arange(len(frame)), "text": text, "body": body,
                            "rating": pd.to_numeric(frame["Rating"], errors="coerce")})
        return out[out["body"] != ""].drop(columns="body").reset_index(drop=True)
    if dataset == "online_shopping_10_cats":
        source = find_files(dataset, path)["reviews"]
        frame = read_csv(source, ["cat", "label", "review"])
        text = frame["review"].fillna("").astype(str).str.lstrip("\ufeff")
        return pd.DataFrame({"row": np.arange(len(frame)), "text": text, "category": frame["cat"],
                             "label": pd.to_numeric(frame["label"], errors="coerce")})
    if dataset == "amazon_giftcards":
        return _giftcard_reviews(path)
    raise NotFound(f"no review task data {dataset!r}; known: womens_clothing_reviews, online_shopping_10_cats, "
                   f"amazon_giftcards")


def _giftcard_reviews(path: str | Path) -> pd.DataFrame:
    """Gift_Cards_5 reviews with text: ``row`` (line of the file), ``text`` (summary + ". " + review text, the
    summary left out where Amazon wrote the star count into it), ``rating``."""
    from shoplens.data.datasets._common import read_records
    from shoplens.reviews.data import review_text

    source = find_files("amazon_giftcards", path)["reviews"]
    frame = pd.DataFrame(read_records(source))
    title = frame.get("summary", pd.Series("", index=frame.index)).fillna("").astype(str)
    title = title.where(~title.str.match(_STAR_TITLE), "")
    text = review_text(title, frame.get("reviewText", pd.Series("", index=frame.index)))
    out = pd.DataFrame({"row": np.arange(len(frame)), "text": text,
                        "rating": pd.to_numeric(frame["overall"], errors="coerce")})
    return out[(out["text"].str.strip() != "") & out["rating"].between(1, 5)].reset_index(drop=True)


def load_giftcards(path: str | Path, kind: str = "stars") -> pd.DataFrame:
    """Amazon Gift Cards 5-core reviews as a test set from another shop: ``row``, ``text``, ``label`` (stars − 1
    with ``kind="stars"``; 0 = 1–2 stars, 1 = 4–5 with ``kind="binary"``, 3-star rows left out), ``rating``."""
    frame = read_source("amazon_giftcards", path)
    stars = frame["rating"].astype(int)
    if kind == "stars":
        return frame.assign(label=stars - 1)
    if kind == "binary":
        return frame[stars != 3].assign(label=(stars[stars != 3] >= 4).astype(int)).reset_index(drop=True)
    raise InputError(f"kind must be 'stars' or 'binary', not {kind!r}")


def load_categories(path: str | Path) -> pd.DataFrame:
    """online_shopping_10_cats as :func:`load_task` gives it, plus ``category`` (the English name)."""
    frame = load_task("online_shopping_10_cats", path)
    source = read_source("online_shopping_10_cats", path).set_index("row")["category"]
    unknown = set(source) - set(CATEGORY_NAMES)
    if unknown:
        raise InputError(f"unknown categories {sorted(unknown)} in online_shopping_10_cats", file=str(path))
    return frame.assign(category=source.loc[frame["row"]].map(CATEGORY_NAMES).to_numpy())


def leave_one_category_out(frame: pd.DataFrame, held_out: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(source, target) of one fold: the other categories' train and validation rows (their stored split kept,
    test rows never used) and the held-out category's test rows."""
    if held_out not in set(frame["category"]):
        raise NotFound(f"no category {held_out!r}; categories are {', '.join(sorted(set(frame['category'])))}")
    inside = frame["category"] == held_out
    source = frame[~inside & frame["split"].isin(["train", "validation"])]
    target = frame[inside & (frame["split"] == "test")]
    return source.reset_index(drop=True), target.reset_index(drop=True)


def _stratify_labels(dataset: str, frame: pd.DataFrame) -> np.ndarray:
    return (frame["rating"] if dataset == "womens_clothing_reviews" else frame["label"]).astype(int).to_numpy()


def split_file(dataset: str) -> Path:
    return SPLITS_DIR / f"{dataset}.json.gz"


def write_split(dataset: str, path: str | Path) -> Path:
    """Recreate and store the split of ``dataset`` (row positions of the published file)."""
    frame = read_source(dataset, path)
    parts = make_split(_stratify_labels(dataset, frame))
    rows = frame["row"].to_numpy()
    payload = {"dataset": dataset, "rows_in_file": int(rows.max()) + 1, "rows_used": len(frame),
               "ratio": list(RATIO), "seed": SEED, "stratified_by": "rating" if "rating" in frame else "label",
               **{name: rows[parts[name]].tolist() for name in SPLIT_NAMES}}
    target = split_file(dataset)
    with gzip.open(target, "wt", encoding="utf-8") as handle:
        json.dump(payload, handle, separators=(",", ":"))
    return target


def stored_split(dataset: str) -> dict[str, np.ndarray]:
    """The stored split: part name → row positions of the published file."""
    path = split_file(dataset)
    if not path.exists():
        raise NotFound(f"no stored split for {dataset!r} in {SPLITS_DIR}")
    with gzip.open(path, "rt", encoding="utf-8") as handle:
        payload = json.load(handle)
    return {name: np.asarray(payload[name], dtype=np.int64) for name in SPLIT_NAMES}


def load_task(name: str, path: str | Path) -> pd.DataFrame:
    """Rows of a task: ``row``, ``text``, ``label`` (0-based class index), ``split`` (train/validation/test).

    ``path`` is the dataset's folder or file (e.g. ``../shared/data/womens_clothing_reviews``).
    """
    if name not in TASKS:
        raise NotFound(f"no review task {name!r}; tasks are {', '.join(TASKS)}")
    task = TASKS[name]
    frame = read_source(task.dataset, path)
    split = stored_split(task.dataset)
    part_of = pd.Series(index=np.concatenate(list(split.values())),
                        data=np.repeat(SPLIT_NAMES, [len(v) for v in split.values()]))
    if len(part_of) != len(frame) or not frame["row"].isin(part_of.index).all():
        raise InputError(f"the file does not match the stored split of {task.dataset!r} ({len(part_of):,} rows "
                         f"expected, {len(frame):,} found): is it the published file?", file=str(path))
    frame["split"] = part_of.loc[frame["row"]].to_numpy()
    if task.dataset == "womens_clothing_reviews":
        stars = frame["rating"].astype(int)
        if task.kind == "stars":
            frame["label"] = stars - 1
        elif task.kind == "binary":
            frame = frame[stars != 3].copy()
            frame["label"] = (frame["rating"] >= 4).astype(int)
        else:
            frame["label"] = np.select([stars <= 2, stars == 3], [0, 1], 2)
    frame["label"] = frame["label"].astype(int)
    return frame[["row", "text", "label", "split"]].reset_index(drop=True)
