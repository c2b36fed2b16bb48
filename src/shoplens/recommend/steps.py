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
# The fast (demo) profile scores the evaluation on a sample of this many test customers (every model on the same
# ones): ranking 39,000 customers' test items four times took most of the 80 s the mid-size shop's evaluation took.
FAST_EVAL_CUSTOMERS = 8_000
# the interactions view (orders, lines, events, reviews, ratings), the catalog, the graph-based models' triples
READS = ("customers", "products", "orders", "order_items", "events", "reviews", "ratings", "kg_triples")


def _has_interactions(ctx: RunContext) -> bool:
    return bool(ctx.ws.sql("SELECT count(*) AS n FROM interactions WHERE weight > 0")["n"].iloc[0])


@step(CAPABILITY, "train", "recommender", reads=READS)
def train_recommender(ctx: RunContext) -> dict[str, Any]:
    from shoplens.recommend import api

    if not _has_interactions(ctx):
        return {"skipped": "no interactions (orders with items, events, reviews or ratings) in the warehouse"}
    kept = _keep_deployed(ctx)
    if kept is not None:
        return kept
    until = api.interactions_until(ctx.ws)
    card = api.train(ctx.ws, api.DEFAULT_MODEL, params=api.profile_params(ctx.profile), evaluate_first=False)
    ctx.outputs["recommend.version"] = card.version
    ctx.outputs["recommend.data_until"] = until
    return {"model": api.DEFAULT_MODEL, "chosen": card.params.get("chosen"), "version": card.version,
            "notes": card.notes}


def _keep_deployed(ctx: RunContext) -> dict[str, Any] | None:
    """Keep the deployed recommender when an incremental run may (the interactions grew a little since it was
    trained, and it is the version this step trained): no selection, no refit; the deployment step adds the new
    interactions to its histories and rescores the customers who have them."""
    from shoplens.errors import NotFound
    from shoplens.recommend import api
    from shoplens.registry import ModelRegistry

    previous = ctx.reusable()
    if previous is None or not previous.outputs.get("recommend.data_until"):
        return None
    try:
        deployed = ModelRegistry(ctx.ws).path(api.REGISTRY_NAME, "deployed").name
    except NotFound:
        return None
    if deployed != previous.outputs.get("recommend.version"):
        return None  # someone deployed another version since: train as usual
    ctx.outputs.update({"recommend.version": deployed, "recommend.kept": True,
                        "recommend.data_until": previous.outputs["recommend.data_until"]})
    ctx.reuse(f"deployed recommender {deployed} kept (no selection, no refit): the interactions grew within the "
              f"{ctx.reuse_limit:.0%} a model is kept for; its evaluation is that of the run that trained it")
    return {"version": deployed, "kept": True, "data_until": previous.outputs["recommend.data_until"]}



@step(CAPABILITY, "evaluate", "recommender vs baselines", reads=READS)
def evaluate_recommender(ctx: RunContext) -> dict[str, Any]:
    from shoplens.recommend import api

    if "recommend.version" not in ctx.outputs:
        return {"skipped": "no model was trained"}
    if ctx.outputs.get("recommend.kept"):
        ctx.reuse("not evaluated again: the kept model's evaluation stays in reports/recommend_evaluation.json")
        return {"kept": ctx.outputs["recommend.version"]}
    baselines = api.BASELINES if ctx.profile == "demo" else (*api.BASELINES, "als")
    cap = FAST_EVAL_CUSTOMERS if ctx.profile == "demo" else None
    records = api.evaluate(ctx.ws, (api.DEFAULT_MODEL,), baselines=baselines,
                           params={api.DEFAULT_MODEL: api.profile_params(ctx.profile)}, max_customers=cap)
    if records and "sample" in (records[0].protocol.notes or ""):
        ctx.limit(f"fast profile: {records[0].protocol.notes}")
    api.save_evaluation(ctx.ws, records)
    summary: dict[str, Any] = {"protocol": records[0].protocol.label()}
    for record in records:
        summary[f"{record.model} ndcg@10"] = round(float(record.metrics["ndcg@10"]), 4)
    return summary


@step(CAPABILITY, "deploy", "recommender", reads=READS)
def deploy_recommender(ctx: RunContext) -> dict[str, Any]:
    from shoplens.recommend import api
    from shoplens.registry import ModelRegistry

    version = ctx.outputs.get("recommend.version")
    if version is None:
        return {"skipped": "no model was trained"}
    if ctx.outputs.get("recommend.kept") and api.TOP_K_TABLE in ctx.ws.table_names():
        done = api.rescore_since(ctx.ws, api.load(ctx.ws, version), ctx.outputs["recommend.data_until"])
        ctx.reuse(f"top 10 recomputed for the {done['customers rescored']:,} customers with interactions since the "
                  f"model was trained; {done['unknown customers']:,} customers it does not know (new since) get "
                  "popular products until the next refit")
        return {"deployed": version, **done, "table": api.TOP_K_TABLE}
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
