"""Training everything a workspace's reviews support, in one call (used by the CLI and the pipeline).

``train(ws)`` fits the rating model where reviews have ratings, the sentiment model where they only have
a 0/1 label, and the aspect model; evaluates each on its test split beside the baselines; saves every
model to the registry (with its records on the card); optionally deploys them and stores predictions
and aspect summaries in the warehouse.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import pandas as pd

from shoplens.errors import InputError, NotFound
from shoplens.reviews.aspects import AspectModel
from shoplens.reviews.data import from_workspace, newest_per_product
from shoplens.reviews.models import RatingModel, SentimentModel

if TYPE_CHECKING:
    from shoplens.evaluation import BenchmarkRecord
    from shoplens.workspace import Workspace

# demo: no fine-tuning (TF-IDF + frozen MiniLM embeddings blended), so the whole capability takes about a minute
DEMO = {"method": "stack", "chinese_method": "tfidf"}
FULL = {"method": "finetune-stack", "chinese_method": "finetune-stack"}


@dataclass
class Trained:
    rating: RatingModel | None = None
    sentiment: SentimentModel | None = None
    aspects: AspectModel | None = None
    records: list[BenchmarkRecord] = field(default_factory=list)
    versions: dict[str, str] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)
    aspect_reviews: int | None = None  # aspects of about this many reviews (the newest of each product); None: all

    def summary(self) -> dict[str, Any]:
        out: dict[str, Any] = {"models": self.versions, "seconds": {k: round(v, 1) for k, v in self.seconds.items()}}
        for record in self.records:
            if record.role == "ours":
                out[f"{record.dataset} {record.model}"] = {k: round(v, 3) for k, v in record.metrics.items()
                                                           if isinstance(v, float)}
        return out


def train(ws: Workspace, *, profile: str = "full", deploy: bool = False, store: bool = False,
          evaluate: bool = True, aspect_reviews: int | None = None, baseline_max_train: int | None = None,
          adapt: bool = False, **params: Any) -> Trained:
    """Fit, evaluate and register the review models the workspace's reviews support. ``aspect_reviews``: learn
    and store aspects from about that many reviews, the newest of each product (default all);
    ``baseline_max_train``: the evaluation's baselines train on a random sample of that many training reviews;
    ``adapt``: after training, self-train on the workspace's reviews that carry neither a rating nor a label
    (``ReviewClassifier.adapt``)."""
    frame = from_workspace(ws)
    if frame.empty:
        raise InputError(f"{ws.path} has no reviews with text; ingest some first (`shoplens ingest reviews …`)")
    settings = {**(DEMO if profile == "demo" else FULL), **params}
    out = Trained(aspect_reviews=aspect_reviews)
    rated = pd.to_numeric(frame["rating"], errors="coerce").notna()
    labelled = pd.to_numeric(frame["label"], errors="coerce").notna()
    unlabeled = None
    if adapt:
        unlabeled = frame[~rated & ~labelled]
        if unlabeled.empty:
            raise InputError(f"adapt: every review with text in {ws.path} has a rating or a label; there are no "
                             "unlabeled reviews to adapt to")
    if rated.sum() >= 30:
        out.rating = _fit(RatingModel(**settings), ws, out, "rating", evaluate, baseline_max_train, unlabeled)
    elif labelled.sum() >= 30:
        out.sentiment = _fit(SentimentModel(**settings), ws, out, "sentiment", evaluate, baseline_max_train,
                             unlabeled)
    started = time.perf_counter()
    try:
        aspect_frame = frame if aspect_reviews is None else newest_per_product(frame, aspect_reviews)
        out.aspects = AspectModel(workspace=ws).fit(aspect_frame)
        out.versions["reviews-aspects"] = out.aspects.register(ws).version
    except InputError as error:  # too few clauses or no labels: the rest is still useful
        out.versions["reviews-aspects"] = f"not trained: {error}"
    out.seconds["aspects"] = time.perf_counter() - started
    if deploy:
        from shoplens.registry import ModelRegistry

        registry = ModelRegistry(ws)
        for name, version in out.versions.items():
            if not version.startswith("not trained"):
                registry.deploy(name, version)
    if store:
        from shoplens.reviews.store import score_workspace

        score_workspace(ws, rating=out.rating, sentiment=out.sentiment, aspects=out.aspects,
                        aspect_reviews=aspect_reviews)
    return out


def _fit(model: Any, ws: Workspace, out: Trained, kind: str, evaluate: bool,
         baseline_max_train: int | None = None, unlabeled: pd.DataFrame | None = None) -> Any:
    started = time.perf_counter()
    model.fit(ws, adapt_on=unlabeled)
    if any(s in ("pytorch", "onnx") for s in model.serving_.values()):
        model.optimize_for_serving(ws, ws.dir("tmp") / f"reviews-{kind}-onnx")
    out.seconds[kind] = time.perf_counter() - started
    records = model.evaluate(ws, baselines=True, baseline_max_train=baseline_max_train) if evaluate else []
    out.records += records
    out.versions[model.registry_name] = model.register(ws, metrics=[r.model_dump() for r in records]).version
    return model


def deployed_as_trained(ws: Workspace) -> Trained | None:
    """The deployed review models as a :class:`Trained` (no records: their evaluation is on their cards), for an
    incremental run that keeps them; ``None`` when no star or sentiment model is deployed."""
    found = load_deployed(ws)
    if "rating" not in found and "sentiment" not in found:
        return None
    from shoplens.registry import ModelRegistry

    registry = ModelRegistry(ws)
    out = Trained(rating=found.get("rating"), sentiment=found.get("sentiment"), aspects=found.get("aspects"))
    for model in found.values():
        out.versions[model.registry_name] = registry.path(model.registry_name, "deployed").name
    return out


def load_deployed(ws: Workspace) -> dict[str, Any]:
    """The deployed review models of a workspace (``rating``, ``sentiment``, ``aspects``; absent ones left out)."""
    from shoplens.registry import ModelRegistry

    registry = ModelRegistry(ws)
    found: dict[str, Any] = {}
    for key, loader in (("rating", RatingModel), ("sentiment", SentimentModel), ("aspects", AspectModel)):
        try:
            registry.path(loader.registry_name)
        except NotFound:
            continue
        found[key] = loader.from_registry(ws)
    return found
