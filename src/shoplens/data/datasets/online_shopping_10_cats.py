"""ChineseNlpCorpus online_shopping_10_cats (SophonPlus) → reviews (Chinese, labelled positive/negative)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from shoplens.data.datasets._common import DatasetInfo, Part, Reports, ingest_frame, locate, read_csv
from shoplens.workspace import Workspace

FILES = ("online_shopping_10_cats.csv",)

INFO = DatasetInfo(
    name="online_shopping_10_cats",
    description="Chinese e-commerce reviews in ten categories (books, tablets, phones, fruit, shampoo, "
                "water heaters, Mengniu dairy, clothes, computers, hotels), each labelled positive or negative",
    url="https://github.com/SophonPlus/ChineseNlpCorpus/tree/master/datasets/online_shopping_10_cats",
    licence="published in ChineseNlpCorpus without an explicit licence; treat as research use",
    parts=(
        Part("reviews", "reviews", FILES[0], 62_774,
             "review → body, label → label (1 positive, 0 negative), cat → source (the corpus joins ten "
             "per-category collections), language 'zh'; review_id from the file position"),
    ),
    notes="No product ids, ratings or dates. One review is empty: it loads with an empty body. The first "
          "review starts with a stray byte-order mark, kept as in the source.",
)


def load(ws: Workspace, path: str | Path, *, progress: bool = False) -> Reports:
    source = locate(path, INFO.name, FILES)
    frame = read_csv(source, ["cat", "label", "review"])
    reviews = pd.DataFrame({"body": frame["review"], "label": frame["label"], "source": frame["cat"],
                            "language": "zh"})
    return {"reviews": ingest_frame(ws, "reviews", reviews, source, progress=progress)}
