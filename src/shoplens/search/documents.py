"""A product's searchable text, field by field, from the warehouse.

One row per product of the ``products`` table (products that only appear in reviews or Q&A are added with their
id as title), with the fields of :data:`shoplens.search.index.FIELDS`:

- ``title``, ``brand``, ``category`` (the path ``A > B > C``), ``description`` from ``products``;
- ``attributes``: the product's attributes JSON as ``key value`` words (``colour red, size 38``);
- ``reviews``: the product's distinct review titles (at most :data:`MAX_REVIEW_TITLES`) and its most frequent
  two-word phrases in review text (at least twice, at most :data:`MAX_PHRASES`): what customers call it;
- ``qa``: the product's questions (at most :data:`MAX_QUESTIONS`), the words customers search with;
- ``price`` (a number, for filters and price bands).
"""

from __future__ import annotations

import itertools
import json
import re
from collections import Counter
from typing import TYPE_CHECKING, Any

import pandas as pd

from shoplens.search.index import FIELDS

if TYPE_CHECKING:
    from shoplens.workspace import Workspace

MAX_REVIEW_TITLES = 20
MAX_PHRASES = 10
MAX_QUESTIONS = 20
MAX_REVIEWS_READ = 200  # per product: enough for its frequent phrases, bounded on a shop with huge review counts
_WORD = re.compile(r"[^\W\d_]{3,}")
_STOPWORD_TEXT = (
    "the and for with this that was are but not have has had you your its it's they them were very just all out one "
    "from what when will would there their than then too also more most much can could get got been does did don't "
    "didn into our about after before only over some such other which who why how")
STOPWORDS = frozenset(_STOPWORD_TEXT.split())


def attribute_text(value: Any) -> str:
    """``{"colour": "red", "size": 38}`` → ``colour red, size 38`` (nested values flattened, nulls dropped)."""
    if value is None or (isinstance(value, float) and pd.isna(value)) or value == "":
        return ""
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            return value
    if isinstance(value, dict):
        return ", ".join(f"{k} {attribute_text(v)}".strip() for k, v in value.items() if v not in (None, ""))
    if isinstance(value, list):
        return " ".join(attribute_text(v) for v in value)
    return str(value)


def frequent_phrases(texts: list[str], top: int = MAX_PHRASES) -> list[str]:
    """The most frequent two-word phrases (no stopwords, at least twice) across ``texts``."""
    counts: Counter[str] = Counter()
    for text in texts:
        words = [w for w in _WORD.findall(str(text).lower()) if w not in STOPWORDS]
        counts.update(f"{a} {b}" for a, b in itertools.pairwise(words))
    return [phrase for phrase, n in counts.most_common(top) if n >= 2]


def product_documents(ws: Workspace) -> pd.DataFrame:
    """The searchable fields of every product (see the module's docstring), ordered by product_id."""
    tables = set(ws.table_names())
    products = ws.sql("SELECT product_id, title, description, brand, category, price, attributes FROM products "
                      "ORDER BY product_id") if "products" in tables else pd.DataFrame(columns=["product_id"])
    products["product_id"] = products["product_id"].astype(str)
    docs = products.set_index("product_id", drop=False)
    docs["attributes"] = docs["attributes"].map(attribute_text) if "attributes" in docs else ""
    extra: dict[str, dict[str, str]] = {"reviews": _reviews(ws) if "reviews" in tables else {},
                                        "qa": _questions(ws) if "qa" in tables else {}}
    missing = sorted((set(extra["reviews"]) | set(extra["qa"])) - set(docs.index))
    if missing:
        docs = pd.concat([docs, pd.DataFrame({"product_id": missing, "title": missing}, index=missing)])
    for field, texts in extra.items():
        docs[field] = docs["product_id"].map(texts).fillna("")
    return docs.sort_index().reset_index(drop=True)


def _reviews(ws: Workspace) -> dict[str, str]:
    frame = ws.sql(f"""
        SELECT product_id, title, body FROM (
            SELECT CAST(product_id AS VARCHAR) AS product_id, title, body,
                   row_number() OVER (PARTITION BY product_id ORDER BY review_ts DESC NULLS LAST, review_id) AS n
            FROM reviews WHERE product_id IS NOT NULL) WHERE n <= {MAX_REVIEWS_READ}""")
    out = {}
    for product, group in frame.groupby("product_id", sort=False):
        titles = list(dict.fromkeys(t.strip() for t in group["title"].dropna().astype(str) if t.strip()))
        phrases = frequent_phrases((group["title"].fillna("") + " " + group["body"].fillna("")).tolist())
        out[str(product)] = " . ".join(titles[:MAX_REVIEW_TITLES] + phrases)
    return out


def _questions(ws: Workspace) -> dict[str, str]:
    frame = ws.sql("SELECT CAST(product_id AS VARCHAR) AS product_id, question FROM qa "
                   "WHERE product_id IS NOT NULL AND question IS NOT NULL ORDER BY product_id, qa_id")
    return {str(p): " . ".join(g["question"].astype(str).head(MAX_QUESTIONS))
            for p, g in frame.groupby("product_id", sort=False)}


def dense_texts(documents: pd.DataFrame) -> list[str]:
    """What the encoders read of a product: title, brand, category, attributes, then description, questions and
    reviews (the encoder truncates; the short identifying fields come first)."""
    parts = [documents[c].fillna("").astype(str) for c in FIELDS if c in documents]
    joined = parts[0]
    for part in parts[1:]:
        joined = joined.str.cat(part, sep=" . ")
    return [re.sub(r"(\s*\.\s*){2,}", " . ", t).strip(" .") or pid
            for t, pid in zip(joined, documents["product_id"].astype(str), strict=True)]
