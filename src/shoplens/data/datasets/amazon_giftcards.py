"""Amazon Review Data 2018 (McAuley), Gift Cards → products + reviews + kg_triples (also bought / viewed)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pandas as pd

from shoplens.data.datasets._common import (
    Files,
    Frames,
    category_path,
    json_text,
    price_or_none,
    read_records,
    to_number,
)

NAME = "amazon_giftcards"  # reviews.source
EDGES = ("also_buy", "also_view")
# Metadata fields kept in products.attributes when not empty (the rest have columns, are edges or are noise).
ATTRIBUTE_FIELDS = ("main_cat", "rank", "date", "feature", "details", "tech1", "tech2", "fit", "similar_item")
# Crawled category lists continue after the path with leaked feature sentences and HTML.
_NOT_A_CATEGORY = re.compile(r"[<>.,;:!?$]")
_IMG_ALT = re.compile(r'<img[^>]*\balt="([^"]*)"')
_MARKUP = re.compile(r"[<>{}]")  # an unparseable "price" with these is leaked page markup, not worth keeping


def build(files: Files) -> Frames:
    meta = read_records(files["meta"])
    return {"products": _products(meta), "reviews": _reviews(read_records(files["reviews"]), files["reviews"]),
            "kg_triples": _edges(meta)}


def _products(meta: list[dict[str, Any]]) -> pd.DataFrame:
    return pd.DataFrame([_product(m) for m in meta])


def _product(m: dict[str, Any]) -> dict[str, Any]:
    categories = m.get("category") or []
    leading = next((i for i, c in enumerate(categories) if _NOT_A_CATEGORY.search(c)), len(categories))
    price_text = str(m.get("price") or "").strip()
    price = price_or_none(price_text)
    attributes = {k: m.get(k) for k in ATTRIBUTE_FIELDS}
    attributes.update(main_cat=_main_category(m.get("main_cat")), details=_details(m.get("details")),
                      category_extra=categories[leading:],
                      price_text=price_text if price is None and not _MARKUP.search(price_text) else None)
    return {
        "product_id": m.get("asin"), "title": m.get("title") or None, "brand": m.get("brand") or None,
        "description": "\n".join(m.get("description") or []) or None,
        "category": category_path(categories[:leading]), "price": price, "currency": "USD",
        "attributes": json_text({k: v for k, v in attributes.items() if v not in (None, "", [], {})}),
    }


def _main_category(value: str | None) -> str | None:
    """``main_cat`` as a name: some are the <img> tag of the store's logo, whose alt text names it."""
    match = _IMG_ALT.search(value or "")
    return match.group(1) if match else value


def _details(details: dict[str, Any] | None) -> dict[str, Any]:
    """Detail labels without the crawl's surrounding whitespace and colons."""
    return {k.strip().rstrip(":").strip(): v for k, v in (details or {}).items()}


def _reviews(records: list[dict[str, Any]], source: Path) -> pd.DataFrame:
    reviews = pd.DataFrame(records)
    # reviewer_name is the one extra column, which ingest stores in reviews.attributes: named so, it matches
    # ingest's personal-column rule and is pseudonymized ("reviewerName", normalized "reviewername", does not).
    fields = {"asin": "product_id", "reviewerID": "customer_id", "overall": "rating", "summary": "title",
              "reviewText": "body", "unixReviewTime": "review_ts", "verified": "verified",
              "reviewerName": "reviewer_name"}
    present = {k: v for k, v in fields.items() if k in reviews.columns}
    frame = reviews[list(present)].rename(columns=present).assign(language="en", source=NAME)
    votes = (to_number(reviews["vote"].str.replace(",", "", regex=False), source)  # '1,234' in larger categories
             if "vote" in reviews.columns else pd.Series(pd.NA, index=reviews.index))
    # the other fields as JSON; ingest merges reviewer_name into it
    frame["attributes"] = [json_text(_attributes(r, v)) for r, v in zip(records, votes, strict=True)]
    return frame


def _attributes(record: dict[str, Any], vote: Any) -> dict[str, Any]:
    """vote (a number), style without the crawl's colons and padding ({'Gift Amount:': ' 50'} → {'Gift Amount':
    '50'}) and image, those present."""
    style = {k.strip().rstrip(":").strip(): v.strip() if isinstance(v, str) else v
             for k, v in (record.get("style") or {}).items()}
    attributes = {"vote": None if pd.isna(vote) else int(vote), "style": style, "image": record.get("image")}
    return {k: v for k, v in attributes.items() if v not in (None, {}, [])}


def _edges(meta: list[dict[str, Any]]) -> pd.DataFrame:
    return pd.DataFrame([(m.get("asin"), relation, other) for m in meta for relation in EDGES
                         for other in m.get(relation) or []], columns=["head", "relation", "tail"])
