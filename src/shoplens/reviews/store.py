"""Review results stored in the warehouse, for the dashboard, the report and the API (which only read):

- ``reviews_predictions``: per review, predicted stars, sentiment and its probabilities, language;
- ``reviews_aspect_mentions``: per clause that names an aspect, the aspect, its sentiment and the quote;
- ``reviews_aspect_summary``: per product and per category (``level``), each aspect's counts, net
  sentiment (positive − negative, over mentions) and representative quotes.

They are rewritten whole by :func:`score_workspace` (``shoplens reviews aspects`` or ``shoplens run``).
"""

from __future__ import annotations

import json
import math
import zlib
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from shoplens.period import Period
from shoplens.reviews.aspects import AspectModel, summarize
from shoplens.reviews.data import from_workspace, newest_per_product
from shoplens.workspace import Workspace, has_table

if TYPE_CHECKING:
    import duckdb

    from shoplens.reviews.models import RatingModel, SentimentModel

PREDICTIONS = "reviews_predictions"
MENTIONS = "reviews_aspect_mentions"
SUMMARY = "reviews_aspect_summary"
TABLES = (PREDICTIONS, MENTIONS, SUMMARY)
# Reviews per scoring chunk (scoring_chunks): large enough for full length-sorted batches, small enough to spread.
CHUNK_ROWS = 4096


def scoring_chunks(review_ids: pd.Series, chunk_rows: int = CHUNK_ROWS) -> np.ndarray:
    """The chunk of each review: CRC-32 of its id (UTF-8) modulo the number of chunks, one per ``chunk_rows``.

    The models score a chunk's reviews in one call, and what they give a review may depend on the reviews beside
    it (the int8 models quantise each batch's activations with one scale, which moves probabilities by up to
    0.02): chunks that depend only on the ids and their count give Spark (``shoplens.reviews.spark``, one task per
    chunk) the local path's batches, hence its predictions exactly."""
    count = chunk_count(len(review_ids), chunk_rows)
    codes = [zlib.crc32(str(value).encode("utf-8")) for value in review_ids]
    return np.asarray(codes, dtype=np.int64) % count


def chunk_count(rows: int, chunk_rows: int = CHUNK_ROWS) -> int:
    if chunk_rows < 1:
        from shoplens.errors import InputError

        raise InputError(f"chunk_rows must be at least 1, got {chunk_rows}")
    return max(1, math.ceil(rows / chunk_rows))


def predictions(frame: pd.DataFrame, rating: RatingModel | None, sentiment: SentimentModel | None, *,
                chunk_rows: int = CHUNK_ROWS) -> pd.DataFrame:
    """Stars and sentiment for every review of ``frame`` (from the rating model, else the sentiment model), scored
    chunk by chunk (:func:`scoring_chunks`; each chunk in ``review_id`` order), returned in the frame's order."""
    if "review_id" not in frame.columns:
        return predict_chunk(frame, rating, sentiment)
    chunks = scoring_chunks(frame["review_id"], chunk_rows)
    parts = []
    for chunk in np.unique(chunks):
        rows = np.flatnonzero(chunks == chunk)
        rows = rows[np.argsort(frame["review_id"].iloc[rows].astype(str).to_numpy(), kind="stable")]
        parts.append(predict_chunk(frame.iloc[rows], rating, sentiment).set_axis(rows))
    if not parts:
        return predict_chunk(frame, rating, sentiment)
    return pd.concat(parts).sort_index().reset_index(drop=True)


def predict_chunk(frame: pd.DataFrame, rating: RatingModel | None, sentiment: SentimentModel | None) -> pd.DataFrame:
    """:func:`predictions` of one chunk, in one call of the model (what a Spark task runs for its chunk): one pass
    of the model gives the stars, the sentiment and its probabilities (``predict``, ``sentiment_proba`` and
    ``predict_sentiment`` would each run it again)."""
    from shoplens.reviews.models import stars_to_sentiment

    out = frame[["review_id", "product_id", "category", "review_ts", "language", "rating"]].copy()
    texts, languages = frame["text"].tolist(), frame["language"].tolist()
    if rating is not None:
        index, star_probs, groups = rating.predict_with_proba(texts, languages)
        out["predicted_stars"] = (index + 1).astype(int)
        probs = stars_to_sentiment(star_probs)
        out["sentiment"] = rating.sentiment_of(probs, groups)
        out["p_negative"], out["p_neutral"], out["p_positive"] = probs[:, 0], probs[:, 1], probs[:, 2]
    elif sentiment is not None:
        index, probs, _ = sentiment.predict_with_proba(texts, languages)
        names = list(sentiment.class_names_)
        out["predicted_stars"] = np.nan
        out["sentiment"] = np.asarray(names, dtype=object)[index]
        for name in ("negative", "neutral", "positive"):
            out[f"p_{name}"] = probs[:, names.index(name)] if name in names else 0.0
    return out


def summaries(mentions: pd.DataFrame) -> pd.DataFrame:
    """Per product and per category: the aspect summaries, stacked with a ``level`` column."""
    parts = []
    for level, column in (("product", "product_id"), ("category", "category")):
        if column in mentions.columns and mentions[column].notna().any():
            part = summarize(mentions.dropna(subset=[column]), column).rename(columns={column: "key"})
            parts.append(part.assign(level=level))
    if not parts:
        return pd.DataFrame(columns=["level", "key", "aspect", "label", "mentions", "positive", "neutral", "negative",
                                     "net", "positive_quotes", "negative_quotes"])
    table = pd.concat(parts, ignore_index=True)
    for column in ("positive_quotes", "negative_quotes"):
        table[column] = table[column].map(lambda q: json.dumps(q, ensure_ascii=False))
    return table[["level", "key", "aspect", "label", "mentions", "positive", "neutral", "negative", "net",
                  "positive_quotes", "negative_quotes"]]


def score_workspace(ws: Workspace, *, rating: RatingModel | None = None, sentiment: SentimentModel | None = None,
                    aspects: AspectModel | None = None, aspect_reviews: int | None = None) -> dict[str, int]:
    """Predict every review of the workspace and store the three tables; returns their row counts. Aspect
    mentions come from every review, or from about ``aspect_reviews``, the newest of each product."""
    frame = from_workspace(ws)
    tables: dict[str, pd.DataFrame] = {}
    if rating is not None or sentiment is not None:
        tables[PREDICTIONS] = predictions(frame, rating, sentiment)
    if aspects is not None:
        mentions = aspects.mention_table(frame if aspect_reviews is None else newest_per_product(frame, aspect_reviews))
        tables[MENTIONS] = mentions
        tables[SUMMARY] = summaries(mentions)
    with ws.connect(read_only=False, command="reviews: store predictions and aspects") as con:
        for name, table in tables.items():
            replace_table(con, name, table)
    return {name: len(table) for name, table in tables.items()}


def score_new_reviews(ws: Workspace, *, rating: RatingModel | None = None, sentiment: SentimentModel | None = None,
                      aspects: AspectModel | None = None) -> dict[str, int] | None:
    """What :func:`score_workspace` stores, for the reviews not scored yet only (an incremental run whose deployed
    models are those that scored the stored tables): their predictions and aspect mentions are added, the aspect
    summaries recomputed from every mention. ``None`` when the tables are not there to add to (score everything)."""
    with ws.connect() as con:
        present = all(has_table(con, name) for name in TABLES)
    if not present:
        return None
    new = from_workspace(ws, not_in=PREDICTIONS)
    added: dict[str, pd.DataFrame] = {}
    if len(new) and (rating is not None or sentiment is not None):
        added[PREDICTIONS] = predictions(new, rating, sentiment)
    if len(new) and aspects is not None:
        added[MENTIONS] = aspects.mention_table(new)
    with ws.connect(read_only=False, command="reviews: store predictions and aspects of new reviews") as con:
        con.execute("BEGIN TRANSACTION")
        for name, table in added.items():
            con.register("incoming", table)
            try:
                con.execute(f'INSERT INTO "{name}" BY NAME SELECT * FROM incoming')
            finally:
                con.unregister("incoming")
        if MENTIONS in added:
            replace_table(con, SUMMARY, summaries(con.execute(f'SELECT * FROM "{MENTIONS}"').df()))
        con.execute("COMMIT")
    return {"new reviews": len(new), **{f"{name} added": len(table) for name, table in added.items()}}


def replace_table(con: duckdb.DuckDBPyConnection, name: str, table: pd.DataFrame) -> None:
    con.register("incoming", table)
    try:
        con.execute(f'CREATE OR REPLACE TABLE "{name}" AS SELECT * FROM incoming')
    finally:
        con.unregister("incoming")


def sentiment_over_time(con: duckdb.DuckDBPyConnection, freq: str = "month", period: Period | None = None,
                        timezone: str = "UTC") -> pd.DataFrame:
    """Per period: reviews, share positive / neutral / negative (predicted) and mean rating where given; only
    the reviews written in ``period`` (the shop's days) when one is given."""
    if freq not in ("day", "week", "month", "quarter"):
        from shoplens.errors import InputError

        raise InputError(f"freq must be day, week, month or quarter, not {freq!r}")
    within, params = (period or Period()).timestamps("review_ts", timezone)
    return con.execute(f"""
        SELECT date_trunc('{freq}', review_ts) AS period, count(*) AS reviews,
               avg(CASE WHEN sentiment = 'positive' THEN 1.0 ELSE 0.0 END) AS positive,
               avg(CASE WHEN sentiment = 'neutral' THEN 1.0 ELSE 0.0 END) AS neutral,
               avg(CASE WHEN sentiment = 'negative' THEN 1.0 ELSE 0.0 END) AS negative,
               avg(rating) AS mean_rating, avg(predicted_stars) AS mean_predicted_stars
        FROM {PREDICTIONS} WHERE review_ts IS NOT NULL AND {within} GROUP BY 1 ORDER BY 1""", params).df()


def aspect_summary(con: duckdb.DuckDBPyConnection, level: str, key: str) -> list[dict[str, Any]]:
    rows = con.execute(f"SELECT * FROM {SUMMARY} WHERE level = ? AND key = ? ORDER BY mentions DESC, aspect",
                       [level, key]).df()
    records = rows.to_dict("records")
    for row in records:
        for column in ("positive_quotes", "negative_quotes"):
            row[column] = json.loads(row[column])
    return records


def product_aspects(con: duckdb.DuckDBPyConnection, period: Period | None = None,
                    timezone: str = "UTC") -> pd.DataFrame:
    """Aspect counts and quotes per product (the product under ``key``): the stored summaries, or, given a
    bounded period, summarised from the mentions in the reviews written in it; empty when nothing is stored."""
    period = period or Period()
    source = MENTIONS if period.bounded else SUMMARY
    if not has_table(con, source):
        return pd.DataFrame(columns=["key", "aspect", "mentions"])
    if not period.bounded:
        stored = con.execute(f"SELECT * FROM {SUMMARY} WHERE level = 'product'").df()
        for column in ("positive_quotes", "negative_quotes"):
            stored[column] = stored[column].map(json.loads)
        return stored
    within, params = period.timestamps("review_ts", timezone)
    mentions = con.execute(f"SELECT * FROM {MENTIONS} WHERE product_id IS NOT NULL AND {within}", params).df()
    return summarize(mentions, "product_id").rename(columns={"product_id": "key"})


def latest_reviews(con: duckdb.DuckDBPyConnection, limit: int, period: Period | None = None,
                   timezone: str = "UTC") -> pd.DataFrame:
    """The newest predicted reviews (written in ``period`` when given) with their title and body."""
    within, params = (period or Period()).timestamps("p.review_ts", timezone)
    return con.execute(f"""SELECT p.review_id, p.product_id, p.sentiment, r.title, r.body FROM {PREDICTIONS} p
                           JOIN reviews r USING (review_id) WHERE {within}
                           ORDER BY p.review_ts DESC NULLS LAST, p.review_id LIMIT ?""", [*params, limit]).df()
