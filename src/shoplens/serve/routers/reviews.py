"""Review intelligence in the service: predict stars and sentiment for a batch of texts (with the words that
drove each prediction), aspects of a product or category with quotes, sentiment over time; and the dashboard
page. Predictions use the deployed models (loaded once, reloaded when another version is deployed); aspects
and sentiment over time read the tables ``shoplens reviews train`` / ``shoplens run`` stored."""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Response
from fastapi import Path as PathParam
from pydantic import BaseModel, Field, StringConstraints
from starlette.concurrency import run_in_threadpool

from shoplens.errors import InputError, NotFound, ShoplensError
from shoplens.formats import language_of
from shoplens.serve.answers import Answer
from shoplens.serve.compute import Compute
from shoplens.serve.datatable import Column, DataTable
from shoplens.serve.deps import get_compute, get_warehouse, require_read
from shoplens.serve.live import MODEL_VERSION_HEADER, Served, live_models
from shoplens.serve.models import error_responses
from shoplens.serve.registry import Capability, Page, PageQuery
from shoplens.serve.warehouse import Warehouse, jsonable
from shoplens.views import product_titles
from shoplens.workspace import Workspace, has_table

if TYPE_CHECKING:
    import pandas as pd

MAX_TEXTS = 32  # one model pass per text (≤ 128 tokens): the longest batch takes about 2 s on 2 busy cores
MAX_CHARS = 5000
MAX_EXPLAIN_PASSES = 32  # explanations cost one model pass per word and per text: as much as a batch
TRAIN_COMMAND = "shoplens reviews train"

router = APIRouter(prefix="/api/v1/reviews", tags=["reviews"], dependencies=[Depends(require_read)],
                   responses=error_responses(401, 403, 503))


class PredictRequest(BaseModel):
    texts: list[Annotated[str, StringConstraints(max_length=MAX_CHARS)]] = Field(
        min_length=1, max_length=MAX_TEXTS, description=f"1–{MAX_TEXTS} review texts of at most {MAX_CHARS:,} "
                                                        "characters")
    languages: list[Annotated[str, StringConstraints(max_length=35)]] | None = Field(
        None, max_length=MAX_TEXTS, description="language per text (en, zh …); detected when absent or empty")
    explain: bool = Field(False, description="also return the words that drove each prediction (one model pass per "
                                             f"word and per text, at most {MAX_EXPLAIN_PASSES} per request)")

    model_config = {"json_schema_extra": {"examples": [{"texts": ["Lovely fabric but it runs small",
                                                                  "质量很好，物流也快"], "explain": True}]}}


class Word(BaseModel):
    text: str
    start: int
    end: int
    weight: float = Field(description="fall of the predicted label's probability without this word")


class Prediction(BaseModel):
    text: str
    stars: int | None = Field(None, description="1–5 (rating models only)")
    sentiment: str
    confidence: float
    explained_label: str | None = None
    words: list[Word] | None = None


class PredictResponse(BaseModel):
    model: str
    version: str
    predictions: list[Prediction]


class AspectRow(BaseModel):
    aspect: str
    label: str
    mentions: int
    positive: int
    neutral: int
    negative: int
    net: float = Field(description="(positive − negative) / mentions")
    positive_quotes: list[str]
    negative_quotes: list[str]


class AspectsResponse(BaseModel):
    level: Literal["product", "category"]
    key: str
    summary: str
    aspects: list[AspectRow]


class SentimentPoint(BaseModel):
    period: str
    reviews: int
    positive: float
    neutral: float
    negative: float
    mean_rating: float | None
    mean_predicted_stars: float | None


# -- deployed models, loaded once per version and swapped when another is deployed (hot reload) ---------------
RATING_MODEL = "reviews-stars"  # RatingModel.registry_name (without importing the models on the event loop)


def deployed_model(warehouse: Warehouse) -> Served:
    """The deployed rating model, else the sentiment model, as this request sees it."""
    return _deployed(warehouse.ws)


def _deployed(ws: Workspace) -> Served:
    from shoplens.reviews.models import RatingModel, SentimentModel

    models = live_models(ws.path)
    for model_class in (RatingModel, SentimentModel):
        try:
            return models.get(model_class.registry_name, model_class.load, ws)
        except NotFound:
            continue
    raise NotFound(f"no review model in this workspace yet: train one with `{TRAIN_COMMAND}`")


@router.post("/predict", response_model=PredictResponse, summary="Stars and sentiment of a batch of review texts",
             responses=error_responses(400, 404, 429))
async def predict(request: PredictRequest, compute: Compute = Depends(get_compute),
                  warehouse: Warehouse = Depends(get_warehouse)) -> Response:
    languages = request.languages or None
    if languages is not None and len(languages) != len(request.texts):
        raise InputError(f"{len(languages)} languages for {len(request.texts)} texts; give one per text or none")
    if request.explain:
        _check_explanation_cost(request.texts)
    # the same texts scored by the same version files: the same answer, kept in memory (serve.answers)
    served = live_models(warehouse.ws.path).serving_now(RATING_MODEL, warehouse.ws)
    kept = warehouse.kept(_predict_key(served, request)) if served is not None else None
    if kept is not None:
        return kept.response()
    # the deployed model is loaded once per version (outside the budget: no request makes it cost more)
    served = served or await run_in_threadpool(deployed_model, warehouse)
    generation, rows = await compute("reviews/predict", _predict, warehouse, served, request.texts, request.explain,
                                     languages, narrow="fewer texts, or explain=false")
    answer = Answer.of(PredictResponse(model=served.name, version=served.version,
                                       predictions=[Prediction(**row) for row in rows]),
                       {MODEL_VERSION_HEADER: served.header})
    warehouse.keep(generation, _predict_key(served, request), answer)
    return answer.response()


def _predict(warehouse: Warehouse, served: Served, texts: list[str], explain: bool,
             languages: list[str] | None) -> tuple[int | None, list[dict[str, Any]]]:
    """The predictions, and the warehouse's generation before them (the answer is kept until the next one)."""
    from shoplens.reviews.cli import predict_rows

    generation = warehouse.generation()
    return generation, predict_rows(served.model, texts, explain, languages)


def _predict_key(served: Served, request: PredictRequest) -> tuple[Any, ...]:
    return ("reviews/predict", served.signature, tuple(request.texts), tuple(request.languages or ()),
            request.explain)


def _check_explanation_cost(texts: list[str]) -> None:
    from shoplens.reviews.explain import MAX_UNITS, units

    passes = sum(len(units(text)) + 1 for text in texts)
    if passes > MAX_EXPLAIN_PASSES:
        raise InputError(f"explanations cost one model pass per word and per text (a text's first {MAX_UNITS} "
                         f"words): these texts need {passes}, at most {MAX_EXPLAIN_PASSES} per request; explain "
                         "fewer or shorter texts, or send explain=false")


def _aspects(warehouse: Warehouse, level: str, key: str) -> AspectsResponse:
    from shoplens.reviews.aspects import summary_sentence
    from shoplens.reviews.store import SUMMARY, aspect_summary

    with warehouse.read() as con:
        if not has_table(con, SUMMARY):
            raise NotFound(f"no aspect summaries yet: compute them with `{TRAIN_COMMAND}` or "
                           f"`shoplens reviews aspects --refresh`")
        rows = aspect_summary(con, level, key)
    if not rows:
        raise NotFound(f"no aspect mentions for {level} {key!r}")
    import pandas as pd

    return AspectsResponse(level=level, key=key, summary=summary_sentence(pd.DataFrame(rows)),
                           aspects=[AspectRow(**{k: v for k, v in r.items() if k in AspectRow.model_fields})
                                    for r in rows])


@router.get("/products/{product_id}/aspects", response_model=AspectsResponse,
            summary="What customers praise and complain about for one product, with counts and quotes",
            responses=error_responses(404))
def product_aspects(product_id: str = PathParam(max_length=200),
                    warehouse: Warehouse = Depends(get_warehouse)) -> AspectsResponse:
    return _aspects(warehouse, "product", product_id)


@router.get("/categories/aspects", response_model=AspectsResponse,
            summary="Aspects of one category (its full path, e.g. 'Clothing > Women > Dresses')",
            responses=error_responses(404))
def category_aspects(category: str = Query(max_length=500), warehouse: Warehouse = Depends(get_warehouse)
                     ) -> AspectsResponse:
    return _aspects(warehouse, "category", category)


@router.get("/sentiment", response_model=list[SentimentPoint], summary="Predicted sentiment shares per period",
            responses=error_responses(404))
def sentiment(freq: Literal["day", "week", "month", "quarter"] = "month",
              warehouse: Warehouse = Depends(get_warehouse)) -> list[SentimentPoint]:
    from shoplens.reviews.store import PREDICTIONS, sentiment_over_time

    with warehouse.read() as con:
        if not has_table(con, PREDICTIONS):
            raise NotFound(f"no review predictions yet: compute them with `{TRAIN_COMMAND}`")
        series = sentiment_over_time(con, freq)
    return [SentimentPoint(**{k: jsonable(v) for k, v in row.items()} | {"period": str(row["period"])[:10]})
            for row in series.to_dict("records")]


# -- dashboard ---------------------------------------------------------------------------------------------
EXPLAINED_REVIEWS = 6
ASPECT_COLUMNS = (Column("label", "aspect"), Column("mentions", "mentions", "int"),
                  Column("positive", "positive", "int"), Column("negative", "negative", "int"),
                  Column("net", "net", "signed_number"),
                  Column("positive_quotes", "praise", "quotes", tone="positive"),
                  Column("negative_quotes", "complaints", "quotes", tone="negative"))


def _aspect_table(aspects: pd.DataFrame, product: str | None) -> DataTable:
    rows = aspects[aspects["key"] == product].sort_values(["mentions", "aspect"], ascending=[False, True])
    return DataTable("aspects", ASPECT_COLUMNS, [{k: jsonable(v) for k, v in r.items()} for r in
                                                 rows.to_dict("records")], row_key="aspect")


def _chosen(aspects: pd.DataFrame, query: PageQuery) -> tuple[list[str], str | None]:
    """Products with aspect mentions, busiest first, and the one to show (``?product=``, else the busiest)."""
    busiest = aspects.groupby("key")["mentions"].sum().sort_values(ascending=False, kind="stable")
    ranked = [str(k) for k in busiest.index]
    wanted = query.get("product")
    return ranked, wanted if wanted in ranked else (ranked[0] if ranked else None)


def reviews_tables(warehouse: Warehouse, query: PageQuery) -> dict[str, DataTable]:
    from shoplens.reviews.store import product_aspects

    with warehouse.read() as con:
        aspects = product_aspects(con, query.period, warehouse.ws.config.timezone)
    _, product = _chosen(aspects, query)
    return {} if product is None else {"aspects": _aspect_table(aspects, product)}


def _explained(warehouse: Warehouse, recent: pd.DataFrame) -> list[dict[str, Any]]:
    from shoplens.reviews.charts import highlighted
    from shoplens.reviews.data import review_text

    if recent.empty:
        return []
    texts = review_text(recent["title"], recent["body"]).tolist()
    model = deployed_model(warehouse).model
    return [{"review_id": row["review_id"], "product_id": row["product_id"], "label": why["label"],
             "probability": why["probability"], "html": highlighted(why["text"], why["words"]),
             "lang": language_of(why["text"])}
            for row, why in zip(recent.to_dict("records"), model.explain(texts), strict=True)]


def reviews_page(warehouse: Warehouse, query: PageQuery) -> dict[str, Any]:
    """Sentiment over time, one product's aspects with quotes (a picker for the others) and the latest reviews
    with the words that drove their prediction — all for the query's period."""
    import pandas as pd

    from shoplens.reviews.aspects import summary_sentence
    from shoplens.reviews.charts import sentiment_lines
    from shoplens.reviews.store import PREDICTIONS, latest_reviews, product_aspects, sentiment_over_time

    timezone = warehouse.ws.config.timezone
    with warehouse.read() as con:
        if not has_table(con, PREDICTIONS):
            return {"missing": f"Nothing computed yet: run `{TRAIN_COMMAND}` (or `shoplens run`)."}
        series = sentiment_over_time(con, "month", query.period, timezone)
        aspects = product_aspects(con, query.period, timezone)
        ranked, product = _chosen(aspects, query)
        titles = product_titles(con, ranked)
        recent = latest_reviews(con, EXPLAINED_REVIEWS, query.period, timezone)
    table = _aspect_table(aspects, product) if product else None
    shown = None if table is None else {
        "product_id": product, "title": titles.get(product, product), "table": table,
        "sentence": summary_sentence(pd.DataFrame(table.rows))}
    return {"svg": sentiment_lines(series), "periods": len(series), "product": shown,
            "products": [{"product_id": p, "title": titles.get(p, p)} for p in ranked],
            "explained": _explained(warehouse, recent), "wanted": query.get("product")}


def warm(workspace_path: Path) -> None:
    """Load the deployed review model and score one English and one Chinese text (the first call of an ONNX or
    PyTorch model sets it up), so that the first review scored does not wait."""
    model = _deployed(Workspace.open(workspace_path)).model
    for text, language in (("Good value, arrived on time.", "en"), ("质量很好，物流很快。", "zh")):
        with contextlib.suppress(ShoplensError):  # a model of one language only
            model.predict([text], [language])


capability = Capability(
    name="reviews",
    router=router,
    pages=(Page(path="/reviews", title="Reviews", template="reviews_overview.html", context=reviews_page, order=30,
                tables=reviews_tables),),
    requires=("shoplens.reviews",),
    warm=warm,
)
