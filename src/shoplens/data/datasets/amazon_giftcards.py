"""Amazon Review Data 2018 (McAuley), Gift Cards → products + reviews + kg_triples (also bought / viewed)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pandas as pd

from shoplens.data.datasets._common import (
    RESEARCH_ONLY,
    DatasetInfo,
    Part,
    Reports,
    category_path,
    folder_of,
    ingest_frame,
    json_text,
    price_or_none,
    read_records,
    require,
    to_number,
)
from shoplens.workspace import Workspace

REVIEWS = ("Gift_Cards_5.json.gz", "Gift_Cards.json.gz")
META = ("meta_Gift_Cards.json.gz",)
EDGES = ("also_buy", "also_view")
# Metadata fields kept in products.attributes when not empty (the rest have columns, are edges or are noise).
ATTRIBUTE_FIELDS = ("main_cat", "rank", "date", "feature", "details", "tech1", "tech2", "fit", "similar_item")
# Crawled category lists continue after the path with leaked feature sentences and HTML.
_NOT_A_CATEGORY = re.compile(r"[<>.,;:!?$]")
_IMG_ALT = re.compile(r'<img[^>]*\balt="([^"]*)"')
_MARKUP = re.compile(r"[<>{}]")  # an unparseable "price" with these is leaked page markup, not worth keeping

INFO = DatasetInfo(
    name="amazon_giftcards",
    description="A small real store: the Gift Cards category of the Amazon Review Data 2018 — 5-core reviews "
                "with stars, text and reviewer ids, and product metadata with titles, brands, descriptions, "
                "prices and also-bought / also-viewed lists",
    url="https://nijianmo.github.io/amazon/index.html (Amazon Review Data 2018, Ni, Li & McAuley, EMNLP 2019)",
    licence=f"Amazon review data (McAuley lab): {RESEARCH_ONLY}",
    parts=(
        Part("products", "products", META[0], 1_547,
             "asin → product_id, title, brand, description (paragraphs joined), category list → category path "
             "(its leading names; the rest → attributes.category_extra), price ('$25.00' → 25.00; anything else → "
             "empty), currency USD; main_cat, rank, date, feature, details … → attributes"),
        Part("reviews", "reviews", REVIEWS[0], 2_972,
             "asin → product_id, reviewerID → customer_id, overall → rating, summary → title, reviewText → body, "
             "unixReviewTime → review_ts, verified, language 'en'; vote → attributes.vote (helpful votes, a "
             "number), style → attributes.style ({'Gift Amount': '50'}), image → attributes.image, reviewerName → "
             "attributes.reviewer_name (pseudonymized); review_id from the file position"),
        Part("kg_triples", "kg_triples", META[0], 55_779,
             "(asin, 'also_buy' or 'also_view', other asin) for every entry of the two lists"),
    ),
    notes="JSON lines, gzip. reviewerName is personal data: it is stored as attributes.reviewer_name, a keyed "
          "pseudonym (renamed so that ingest's personal-column rule applies; never the name itself). vote is on "
          "208 reviews, style on 864, image (customer photo URLs) on 12; reviewTime repeats unixReviewTime's "
          "day and is not kept. 6 reviews have no text and 7 reviewers "
          "reviewed the same card twice: all load. 1,185 products show no price and 4 prices are leaked HTML/CSS: "
          "all load with an empty price (a short unparseable price, e.g. a range, is kept in attributes."
          "price_text). Category lists often continue with feature sentences or HTML after the path (516 "
          "products). 3 main_cat values are <img> tags: their alt text is used.",
)


def load(ws: Workspace, path: str | Path, *, progress: bool = False) -> Reports:
    folder = folder_of(path, INFO.name)
    meta_file, reviews_file = require(folder, INFO.name, META), require(folder, INFO.name, REVIEWS)
    meta = read_records(meta_file)
    products, reviews, edges = _products(meta), _reviews(read_records(reviews_file), reviews_file), _edges(meta)
    return {
        "products": ingest_frame(ws, "products", products, meta_file, progress=progress),
        "reviews": ingest_frame(ws, "reviews", reviews, reviews_file, progress=progress),
        "kg_triples": ingest_frame(ws, "kg_triples", edges, meta_file, progress=progress),
    }


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
    frame = reviews[list(present)].rename(columns=present).assign(language="en", source=INFO.name)
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
