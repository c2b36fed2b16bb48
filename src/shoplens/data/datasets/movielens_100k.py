"""MovieLens 100K (GroupLens) → products (movies) + customers (users) + ratings."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from shoplens.data.datasets._common import (
    RESEARCH_ONLY,
    DatasetInfo,
    Part,
    Reports,
    folder_of,
    ingest_frame,
    json_text,
    read_fields,
    require,
    to_number,
)
from shoplens.workspace import Workspace

RATINGS, ITEMS, USERS = ("u.data",), ("u.item",), ("u.user",)
# u.genre: the 19 genre flags at the end of each u.item line, in this order.
GENRES = ("unknown", "Action", "Adventure", "Animation", "Children's", "Comedy", "Crime", "Documentary", "Drama",
          "Fantasy", "Film-Noir", "Horror", "Musical", "Mystery", "Romance", "Sci-Fi", "Thriller", "War", "Western")
ITEM_FIELDS = ("product_id", "title", "release_date", "video_release_date", "imdb_url", *GENRES)
USER_FIELDS = ("customer_id", "age", "gender", "occupation", "zip_code")
RATING_COLUMNS = {"column_1": "customer_id", "column_2": "product_id", "column_3": "rating", "column_4": "rating_ts"}

INFO = DatasetInfo(
    name="movielens_100k",
    description="100,000 ratings (1–5 stars) from 943 users on 1,682 movies, September 1997 to April 1998, "
                "with movie titles and genres and the users' age, gender, occupation and zip code",
    url="https://grouplens.org/datasets/movielens/100k/",
    licence=f"GroupLens usage licence: {RESEARCH_ONLY}, no redistribution without permission; cite "
            "Harper & Konstan (2015)",
    parts=(
        Part("products", "products", ITEMS[0], 1_682,
             "movie id → product_id, title → title, genres → category ('Action|Adventure|Thriller') and "
             "attributes.genres, release date and IMDb URL → attributes"),
        Part("customers", "customers", USERS[0], 943,
             "user id → customer_id; age, gender, occupation, zip_code → attributes (zip_code pseudonymized)"),
        Part("ratings", "ratings", RATINGS[0], 100_000,
             "user → customer_id, item → product_id, rating → rating, unix time → rating_ts (UTC)"),
    ),
    notes="'|'-separated Latin-1 files without headers (u.item, u.user) and tab-separated u.data. Movie 267 "
          "is 'unknown' with no date or URL. The u1–u5 and ua/ub splits are not loaded: they are folds of u.data.",
)


def load(ws: Workspace, path: str | Path, *, progress: bool = False) -> Reports:
    folder = folder_of(path, INFO.name)
    ratings, items, users = (require(folder, INFO.name, names) for names in (RATINGS, ITEMS, USERS))
    movies, people = _movies(items), _users(users)
    return {
        "products": ingest_frame(ws, "products", movies, items, progress=progress),
        "customers": ingest_frame(ws, "customers", people, users, progress=progress),
        "ratings": ws.ingest("ratings", ratings, header=False, delimiter="\t", mapping=RATING_COLUMNS,
                             ts_format="epoch_s", progress=progress),
    }


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


def _users(users: Path) -> pd.DataFrame:
    frame = pd.DataFrame(read_fields(users, len(USER_FIELDS), sep="|", encoding="latin-1"),
                         columns=list(USER_FIELDS))
    return frame.assign(age=to_number(frame["age"], users))
