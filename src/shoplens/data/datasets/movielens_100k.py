"""MovieLens 100K (GroupLens) → products (movies); customers and ratings load by their rows of catalog.toml."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from shoplens.data.datasets._common import Files, Frames, json_text, read_fields

# u.genre: the 19 genre flags at the end of each u.item line, in this order.
GENRES = ("unknown", "Action", "Adventure", "Animation", "Children's", "Comedy", "Crime", "Documentary", "Drama",
          "Fantasy", "Film-Noir", "Horror", "Musical", "Mystery", "Romance", "Sci-Fi", "Thriller", "War", "Western")
ITEM_FIELDS = ("product_id", "title", "release_date", "video_release_date", "imdb_url", *GENRES)


def build(files: Files) -> Frames:
    return {"products": _movies(files["items"])}


def _movies(items: Path) -> pd.DataFrame:
    movies = pd.DataFrame(read_fields(items, len(ITEM_FIELDS), sep="|", encoding="latin-1"),
                          columns=list(ITEM_FIELDS))
    genres = [[g for g, flag in zip(GENRES, flags, strict=True) if flag == "1"]
              for flags in movies[list(GENRES)].itertuples(index=False)]
    return pd.DataFrame({
        "product_id": movies["product_id"], "title": movies["title"], "category": ["|".join(g) for g in genres],
        "attributes": [json_text({"genres": g, "release_date": date or None, "imdb_url": url or None})
                       for g, date, url in zip(genres, movies["release_date"], movies["imdb_url"], strict=True)],
    })
