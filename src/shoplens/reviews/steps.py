"""Pipeline steps of review intelligence (``shoplens run`` / ``shoplens demo``).

train: rating model (or sentiment model where reviews only carry a 0/1 label) and aspect model, evaluated
beside the baselines and registered; deploy: mark them deployed and store predictions and aspect summaries
in the warehouse for the dashboard and report. The demo profile blends TF-IDF with frozen MiniLM embeddings
instead of fine-tuning, so the capability finishes in about a minute on two cores.
"""

from __future__ import annotations

from typing import Any

from shoplens.pipeline import NotApplicable, RunContext, step

NOTHING = "no reviews with text in this workspace: nothing to learn from"


@step("reviews", "train", "train")
def train_models(ctx: RunContext) -> dict[str, Any]:
    from shoplens.reviews.api import train

    if not int(ctx.ws.sql("SELECT count(*) AS n FROM reviews WHERE coalesce(body, title, '') <> ''")["n"][0]):
        raise NotApplicable(NOTHING)  # a shop without reviews is not an error of the run
    trained = train(ctx.ws, profile=ctx.profile, evaluate=True)
    ctx.outputs["reviews.trained"] = trained
    return trained.summary()


@step("reviews", "deploy", "deploy")
def deploy_models(ctx: RunContext) -> dict[str, Any]:
    from shoplens.registry import ModelRegistry
    from shoplens.reviews.store import score_workspace

    trained = ctx.outputs.get("reviews.trained")
    if trained is None:
        raise NotApplicable(NOTHING)
    registry = ModelRegistry(ctx.ws)
    deployed = {}
    for name, version in trained.versions.items():
        if not version.startswith("not trained"):
            deployed[name] = registry.deploy(name, version).version
    stored = score_workspace(ctx.ws, rating=trained.rating, sentiment=trained.sentiment, aspects=trained.aspects)
    return {"deployed": deployed, "stored": stored}


@step("reviews", "deploy", "score on spark", engine="spark")
def score_on_spark(ctx: RunContext) -> dict[str, Any]:
    """The deployed star (or sentiment) model scores every review on Spark (``shoplens run --engine spark``)."""
    from shoplens.engine.spark_run import spark_run
    from shoplens.errors import NotFound
    from shoplens.reviews.spark import deployed_model, score_reviews
    from shoplens.reviews.store import PREDICTIONS

    try:
        folder = deployed_model(ctx.ws)
    except NotFound as missing:
        raise NotApplicable(str(missing)) from None
    run = spark_run(ctx)
    if not run.has_rows("reviews"):
        raise NotApplicable(NOTHING)
    ctx.note(f"scoring reviews with {folder.parent.name} {folder.name} on {run.master}")
    scored = score_reviews(run.spark, run.table("reviews"), folder, products=run.table("products"))
    rows = run.save(PREDICTIONS, scored, ["review_id"])
    return {"model": f"{folder.parent.name} {folder.name}", "stored": {PREDICTIONS: rows},
            "parquet": str(run.results / PREDICTIONS)}
