"""Review digest: per product, what customers say — the most praised and most criticised aspects, each with quoted
review sentences and their citations (``review:<review_id>#<n>``), and a one-line summary.

```python
from shoplens.assistant.digest import review_digest
digest = review_digest(ws, "P00012")
digest["praised"][0]     # {"aspect": "quality", "label": "quality", "mentions": 14, "positive": 12, "net": 0.71,
                         #  "quotes": [{"text": "the fabric is soft", "evidence_id": "review:R000381#2"}, …]}
digest["summary"]        # "Customers praise quality (12 of 14 positive) and complain about size/fit (…)."
```

It reads what the review models stored (``shoplens reviews train`` / ``shoplens run``: the aspect mentions of every
review, :mod:`shoplens.reviews.aspects`), so a digest costs a query, not a model. A quote is the clause the aspect
model read; its citation names the review sentence that contains it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pandas as pd

from shoplens.assistant.knowledge import sentences_of
from shoplens.errors import InputError, NotFound

if TYPE_CHECKING:
    from shoplens.workspace import Workspace

MENTIONS = "reviews_aspect_mentions"  # written by shoplens.reviews.store.score_workspace
MIN_NET = 0.2  # |net sentiment| an aspect needs to count as praised or criticised


def review_digest(ws: Workspace, product_id: str, *, top: int = 3, quotes: int = 2) -> dict[str, Any]:
    """The digest of one product's reviews (see the module's docstring)."""
    from shoplens.reviews.aspects import summarize, summary_sentence

    if not 1 <= top <= 10 or not 1 <= quotes <= 5:
        raise InputError(f"top must be 1–10 and quotes 1–5, got {top} and {quotes}")
    if MENTIONS not in ws.table_names():
        raise NotFound("no review aspects stored yet: run `shoplens reviews train` (or `shoplens run`)")
    product = ws.sql("SELECT product_id, title FROM products WHERE product_id = ?", [str(product_id)])
    reviews = ws.sql("SELECT review_id, body FROM reviews WHERE product_id = ?", [str(product_id)])
    if product.empty and reviews.empty:
        raise NotFound(f"no product {product_id!r}")
    mentions = ws.sql(f"SELECT review_id, product_id, aspect, sentiment, confidence, clause FROM {MENTIONS} "
                      "WHERE product_id = ?", [str(product_id)])
    summary = summarize(mentions, "product_id", quotes=quotes) if len(mentions) else pd.DataFrame()
    sentence_of = _sentence_finder(reviews)
    praised = _side(summary, mentions, "positive", top, quotes, sentence_of)
    criticised = _side(summary, mentions, "negative", top, quotes, sentence_of)
    return {"product_id": str(product_id), "title": None if product.empty else product["title"].iloc[0],
            "reviews": len(reviews), "mentions": len(mentions), "praised": praised, "criticised": criticised,
            "summary": summary_sentence(summary) if len(summary) else "No aspects mentioned yet."}


def _side(summary: pd.DataFrame, mentions: pd.DataFrame, sentiment: str, top: int, quotes: int,
          sentence_of: Any) -> list[dict[str, Any]]:
    if summary.empty:
        return []
    praised = sentiment == "positive"
    chosen = summary[summary["net"] > MIN_NET] if praised else summary[summary["net"] < -MIN_NET]
    chosen = chosen.sort_values([sentiment, "net"], ascending=[False, not praised]).head(top)
    out = []
    for row in chosen.itertuples():
        rows = mentions[(mentions["aspect"] == row.aspect) & (mentions["sentiment"] == sentiment)]
        rows = rows.sort_values("confidence", ascending=False).drop_duplicates("clause").head(quotes)
        out.append({"aspect": row.aspect, "label": row.label, "mentions": int(row.mentions),
                    "positive": int(row.positive), "negative": int(row.negative), "net": float(row.net),
                    "quotes": [{"text": r.clause, "evidence_id": sentence_of(r.review_id, r.clause)}
                               for r in rows.itertuples()]})
    return out


def _sentence_finder(reviews: pd.DataFrame) -> Any:
    """``(review_id, clause) → "review:<id>#<n>"``: the sentence of the review that contains the clause (the
    review's first sentence when the clause spans two)."""
    sentences = {str(r.review_id): sentences_of(r.body) for r in reviews.itertuples()}

    def find(review_id: Any, clause: str) -> str:
        found = sentences.get(str(review_id), [])
        n = next((i for i, s in enumerate(found, start=1) if clause.strip() in s), 1)
        return f"review:{review_id}#{n}"
    return find

