"""Pipeline steps of recommend (``shoplens run`` / ``shoplens demo``), all on the ``interactions`` view:

- train: the AutoRecommender — every candidate (popularity, ItemKNN, EASE, SessionEASE, the text hybrid,
  SASRec where the data suit them) scored on a validation part, the best refitted on every interaction and
  registered; its card lists every candidate's validation score;
- evaluate: the AutoRecommender (chosen again on the training part alone) against popularity, ItemKNN and EASE
  on a per-user stratified 75/25 split;
- deploy: the registered version becomes the one the service loads, and every customer's top 10 with
  explanations is scored into the warehouse table ``recommend_top_k``.

The demo profile chooses among the closed-form candidates (popularity, ItemKNN, EASE, SessionEASE: seconds on
the demo shop) within ``api.DEMO_TIME_BUDGET`` and skips the extra ALS baseline.
"""

from __future__ import annotations

from typing import Any

from shoplens.pipeline import RunContext, step

CAPABILITY = "recommend"


def _has_interactions(ctx: RunContext) -> bool:
    return bool(ctx.ws.sql("SELECT count(*) AS n FROM interactions WHERE weight > 0")["n"].iloc[0])


@step(CAPABILITY, "train", "recommender")
def train_recommender(ctx: RunContext) -> dict[str, Any]:
    from shoplens.recommend import api

    if not _has_interactions(ctx):
        return {"skipped": "no interactions (orders with items, events, reviews or ratings) in the warehouse"}
    card = api.train(ctx.ws, api.DEFAULT_MODEL, params=api.profile_params(ctx.profile), evaluate_first=False)
    ctx.outputs["recommend.version"] = card.version
    return {"model": api.DEFAULT_MODEL, "chosen": card.params.get("chosen"), "version": card.version,
            "notes": card.notes}


@step(CAPABILITY, "evaluate", "recommender vs baselines")
def evaluate_recommender(ctx: RunContext) -> dict[str, Any]:
    from shoplens.recommend import api

    if "recommend.version" not in ctx.outputs:
        return {"skipped": "no model was trained"}
    baselines = api.BASELINES if ctx.profile == "demo" else (*api.BASELINES, "als")
    records = api.evaluate(ctx.ws, (api.DEFAULT_MODEL,), baselines=baselines,
                           params={api.DEFAULT_MODEL: api.profile_params(ctx.profile)})
    api.save_evaluation(ctx.ws, records)
    summary: dict[str, Any] = {"protocol": records[0].protocol.label()}
    for record in records:
        summary[f"{record.model} ndcg@10"] = round(float(record.metrics["ndcg@10"]), 4)
    return summary


@step(CAPABILITY, "deploy", "recommender")
def deploy_recommender(ctx: RunContext) -> dict[str, Any]:
    from shoplens.recommend import api
    from shoplens.registry import ModelRegistry

    version = ctx.outputs.get("recommend.version")
    if version is None:
        return {"skipped": "no model was trained"}
    ModelRegistry(ctx.ws).deploy(api.REGISTRY_NAME, version)
    rows = api.score_all(ctx.ws, api.load(ctx.ws, version))
    return {"deployed": version, "scored_rows": rows, "table": api.TOP_K_TABLE}


@step(CAPABILITY, "deploy", "top-k on spark", engine="spark")
def score_on_spark(ctx: RunContext) -> dict[str, Any]:
    """Every customer's top 10 from the deployed recommender, scored on Spark (``shoplens run --engine spark``)."""
    from shoplens.engine.spark_run import spark_run
    from shoplens.errors import NotFound
    from shoplens.pipeline import NotApplicable
    from shoplens.recommend import api
    from shoplens.recommend.data import USER
    from shoplens.recommend.spark import recommend_all, splits_by_customer
    from shoplens.registry import ModelRegistry

    try:
        version = ModelRegistry(ctx.ws).path(api.REGISTRY_NAME, "deployed").name
        model = api.load(ctx.ws, version)
    except NotFound as missing:
        raise NotApplicable(f"no deployed recommender ({missing}): run `shoplens run` first") from None
    run = spark_run(ctx)
    how = "item state broadcast" if splits_by_customer(model) else "whole model broadcast"
    ctx.note(f"top 10 for {len(model.user_ids_):,} customers with {model.name} {version} ({how})")
    rows = run.save(api.TOP_K_TABLE, recommend_all(run.spark, model, 10), [USER, "rank"])
    return {"deployed": version, "scored_rows": rows, "table": api.TOP_K_TABLE,
            "parquet": str(run.results / api.TOP_K_TABLE)}
