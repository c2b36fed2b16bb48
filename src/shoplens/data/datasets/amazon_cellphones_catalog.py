"""Amazon cell-phone listings crawled on 2019-12-26 → products."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from shoplens.data.datasets._common import (
    DatasetInfo,
    Part,
    Reports,
    ingest_frame,
    locate,
    price_or_none,
    read_csv,
    to_number,
)
from shoplens.workspace import Workspace

FILES = ("20191226-items.csv",)
ATTRIBUTES = ("url", "image", "rating", "reviewUrl", "totalReviews")

INFO = DatasetInfo(
    name="amazon_cellphones_catalog",
    description="720 cell-phone listings on Amazon.com (10 brands) with title, brand, average rating, "
                "number of reviews, price and original price, crawled on 2019-12-26",
    url="https://www.kaggle.com/datasets/grikomsn/amazon-cell-phones-reviews (20191226-items.csv)",
    licence="CC0 1.0 (public domain) as published on Kaggle; the listings' content belongs to Amazon and sellers",
    parts=(
        Part("products", "products", FILES[0], 720,
             "asin → product_id, title, brand; price → price (0 = missing → empty), currency USD; "
             "originalPrice (0 = missing), rating, totalReviews, url, image, reviewUrl → attributes"),
    ),
    notes="124 listings show no price and 600 no original (pre-discount) price: the crawl wrote 0 for both; "
          "they load as empty, never as a zero price. 4 listings have no brand.",
)


def load(ws: Workspace, path: str | Path, *, progress: bool = False) -> Reports:
    source = locate(path, INFO.name, FILES)
    listings = read_csv(source, ["asin", "brand", "title", "price", "originalPrice", *ATTRIBUTES])
    products = pd.DataFrame({
        "product_id": listings["asin"], "title": listings["title"], "brand": listings["brand"],
        "price": listings["price"].map(price_or_none), "currency": "USD",
        "original_price": to_number(listings["originalPrice"].map(price_or_none), source),
        "rating": to_number(listings["rating"], source), "total_reviews": to_number(listings["totalReviews"], source),
        "url": listings["url"], "image": listings["image"], "review_url": listings["reviewUrl"],
    })
    return {"products": ingest_frame(ws, "products", products, source, progress=progress)}
