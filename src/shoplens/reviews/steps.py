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
# The fast (demo) profile on a shop with more reviews than this: TF-IDF + logistic regression stars (no encoder: a
# frozen encoder would embed every review again when they are scored), aspects learned from and stored for about
# this many reviews (the newest of each product), the baselines trained on FAST_BASELINE_TRAIN reviews. On the
# mid-size shop (43,000 reviews, 209,000 clauses) the demo settings took 5 of the run's 25 minutes.
FAST_MAX_REVIEWS = 10_000
FAST_BASELINE_TRAIN = 3_000
READS = ("reviews", "products")


@step("reviews", "train", "train", reads=READS)
def train_models(ctx: RunContext) -> dict[str, Any]:
    from shoplens.reviews.api import train

    if not int(ctx.ws.sql("SELECT count(*) AS n FROM reviews WHERE coalesce(body, title, '') <> ''")["n"][0]):
        raise NotApplicable(NOTHING)  # a shop without reviews is not an error of the run
    kept = _keep_deployed(ctx)
    if kept is not None:
        return kept.summary() | {"kept": True}
    trained = train(ctx.ws, profile=ctx.profile, evaluate=True, **_profile_params(ctx))
    ctx.outputs["reviews.trained"] = trained
    return trained.summary()


def _profile_params(ctx: RunContext) -> dict[str, Any]:
    """The fast profile's caps on a shop with many reviews (said so in the run's notes)."""
    if ctx.profile != "demo":
        return {}
    reviews = int(ctx.ws.sql("SELECT count(*) AS n FROM reviews WHERE coalesce(body, title, '') <> ''")["n"][0])
    if reviews <= FAST_MAX_REVIEWS:
        return {}
    ctx.limit(f"fast profile ({reviews:,} reviews): stars by TF-IDF + logistic regression in both languages (no "
              f"encoder); aspects learned from and stored for about {FAST_MAX_REVIEWS:,} reviews, the newest of each "
              f"product; the baselines trained on {FAST_BASELINE_TRAIN:,} reviews (the full profile fine-tunes on "
              "every review and reads the aspects of all)")
    return {"method": "tfidf", "chinese_method": "tfidf", "aspect_reviews": FAST_MAX_REVIEWS,
            "baseline_max_train": FAST_BASELINE_TRAIN}


def _keep_deployed(ctx: RunContext) -> Any:
    """The deployed models, when an incremental run may keep them (the reviews grew a little since they were
    trained): the deployment step then scores only the new reviews."""
    from shoplens.reviews.api import deployed_as_trained

    if ctx.reusable() is None:
        return None
    kept = deployed_as_trained(ctx.ws)
    if kept is None:
        return None
    ctx.outputs["reviews.trained"] = kept
    ctx.outputs["reviews.kept"] = True
    ctx.reuse(f"deployed models kept ({', '.join(f'{k} {v}' for k, v in kept.versions.items())}): "
              f"{ctx.grown_rows('reviews'):,} new reviews since the last run, within the "
              f"{ctx.reuse_limit:.0%} growth a model is kept for; their evaluation is on their cards")
    return kept


@step("reviews", "deploy", "deploy", reads=READS)
def deploy_models(ctx: RunContext) -> dict[str, Any]:
    from shoplens.registry import ModelRegistry
    from shoplens.reviews.store import score_workspace

    trained = ctx.outputs.get("reviews.trained")
    if trained is None:
        raise NotApplicable(NOTHING)
    if ctx.outputs.get("reviews.kept"):
        from shoplens.reviews.store import score_new_reviews

        added = score_new_reviews(ctx.ws, rating=trained.rating, sentiment=trained.sentiment,
                                  aspects=trained.aspects)
        if added is not None:
            ctx.reuse(f"only the {added['new reviews']:,} reviews not scored yet were scored; the aspect summaries "
                      "were recomputed from every mention")
            return {"deployed": trained.versions, "stored": added}
    registry = ModelRegistry(ctx.ws)
    deployed = {}
    for name, version in trained.versions.items():
        if not version.startswith("not trained"):
            deployed[name] = registry.deploy(name, version).version
    stored = score_workspace(ctx.ws, rating=trained.rating, sentiment=trained.sentiment, aspects=trained.aspects,
                             aspect_reviews=trained.aspect_reviews)
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
