"""The model registry over REST: list the models, show a model's versions (cards, deploy history) or one version
(card and training curves), compare two versions, deploy a version and roll back. Reading needs role read;
deploying and rolling back need role admin and are audited: each is a line of the model's deploy history
(``models/<name>/HISTORY.jsonl``: when, which version, the one before, which key, why) and of the service log.
The running service serves a newly deployed version within a second, without a restart (hot reload,
:mod:`shoplens.serve.live`)."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import APIRouter, Body, Depends, Query
from fastapi import Path as PathParam
from pydantic import BaseModel, Field

from shoplens.registry import MAX_NAME_CHARS, ModelCard, ModelRegistry
from shoplens.serve.auth import KeyInfo
from shoplens.serve.deps import get_workspace, require_admin, require_read
from shoplens.serve.models import error_responses
from shoplens.serve.registry import Capability
from shoplens.serve.warehouse import jsonable
from shoplens.workspace import Workspace

PREFIX = "/api/v1/models"
NAME_PATTERN = r"^[A-Za-z0-9_-][A-Za-z0-9._-]*$"  # the registry's rule: a folder name that stays in models/
NAME = PathParam(pattern=NAME_PATTERN, max_length=MAX_NAME_CHARS,
                 description="the model's registry name (recommend, reviews-stars, forecast …)")
VERSION = PathParam(pattern=NAME_PATTERN, max_length=MAX_NAME_CHARS,
                    description="a version, or latest / deployed")
MAX_REASON_CHARS = 500
audit_log = logging.getLogger("shoplens.serve.audit")

router = APIRouter(prefix=PREFIX, tags=["models"], responses=error_responses(400, 401, 403, 404, 503))


class Card(BaseModel):
    """A version's card: where it came from and how good it is."""

    name: str
    version: str
    capability: str
    created_at: str
    data_fingerprint: str = Field(description="hash of the warehouse's ingest runs the version was trained on")
    params: dict[str, Any]
    metrics: list[dict[str, Any]] = Field(description="benchmark records: ours and the baselines, each with its "
                                                      "protocol")
    notes: str


class Event(BaseModel):
    ts: str
    action: str = Field(description="deploy or rollback")
    version: str
    previous: str | None
    by: str = Field(description="who: the API key (id, name, role), the dashboard session's key, or the CLI")
    reason: str = ""


class ModelInfo(BaseModel):
    name: str
    capability: str
    versions: int
    deployed: str | None = Field(description="the deployed version (null: none deployed; the latest serves)")
    latest: str
    rollback_to: str | None = Field(description="the version a rollback would deploy")


class ModelList(BaseModel):
    models: list[ModelInfo]


class ModelDetail(ModelInfo):
    cards: list[Card] = Field(description="every version's card, oldest first")
    history: list[Event] = Field(description="deploys and rollbacks, oldest first")


class Curves(BaseModel):
    train: list[dict[str, float]] = Field(default_factory=list, description="loss (and learning rate) per step")
    validation: list[dict[str, float]] = Field(default_factory=list, description="the validation metric per step")
    pretrain: list[dict[str, float]] = Field(default_factory=list)


class VersionDetail(BaseModel):
    card: Card
    deployed: bool
    curves: dict[str, Curves] = Field(description="training curves by part ('' for the whole model, or a "
                                                  "language's model); empty for a model fitted in one go")


class Pair(BaseModel):
    a: str
    b: str
    same: bool


class ParamChange(BaseModel):
    param: str
    a: Any
    b: Any
    changed: bool


class MetricChange(BaseModel):
    role: str
    model: str
    dataset: str
    variant: str
    metric: str
    protocol: str
    a: Any
    b: Any
    delta: float | None


class VersionDiff(BaseModel):
    name: str
    a: str
    b: str
    created_at: dict[str, str]
    data_fingerprint: Pair
    params: list[ParamChange]
    metrics: list[MetricChange]


class DeployRequest(BaseModel):
    version: str = Field(pattern=NAME_PATTERN, max_length=MAX_NAME_CHARS, description="a version, or latest")
    reason: str = Field("", max_length=MAX_REASON_CHARS, description="why (kept in the deploy history)")


class RollbackRequest(BaseModel):
    reason: str = Field("", max_length=MAX_REASON_CHARS, description="why (kept in the deploy history)")


class DeployResult(BaseModel):
    name: str
    action: str
    version: str
    previous: str | None
    by: str


def model_info(registry: ModelRegistry, name: str) -> dict[str, Any]:
    cards = registry.versions(name)
    return {"name": name, "capability": cards[-1].capability, "versions": len(cards),
            "deployed": registry.deployed_version(name), "latest": cards[-1].version,
            "rollback_to": registry.rollback_target(name)}


def card_body(card: ModelCard) -> Card:
    return Card(**jsonable(card.to_dict()))


def key_label(key: KeyInfo, channel: str = "api key") -> str:
    """Who did it, for the deploy history: the key's id, name and role — never the key."""
    return f"{channel} {key.id} ({key.name}, {key.role.name})"


def audited(name: str, registry: ModelRegistry) -> DeployResult:
    """The deploy or rollback ``registry`` just wrote in the history, also written to the service log."""
    event = registry.last_event
    assert event is not None, "audited() follows a deploy or a rollback"
    audit_log.info("model %s: %s to version %s (was %s) by %s%s", name, event.action, event.version,
                      event.previous, event.by, f": {event.reason}" if event.reason else "")
    return DeployResult(name=name, action=event.action, version=event.version, previous=event.previous, by=event.by)


@router.get("", response_model=ModelList, dependencies=[Depends(require_read)],
            summary="The registry's models: versions, the deployed one, what a rollback would deploy")
def list_models(ws: Workspace = Depends(get_workspace)) -> ModelList:
    registry = ModelRegistry(ws)
    return ModelList(models=[ModelInfo(**model_info(registry, name)) for name in registry.names()])


@router.get("/{name}", response_model=ModelDetail, dependencies=[Depends(require_read)],
            summary="A model: every version's card and the deploy history")
def show_model(name: str = NAME, ws: Workspace = Depends(get_workspace)) -> ModelDetail:
    registry = ModelRegistry(ws)
    cards = registry.versions(name)
    if not cards:
        registry.path(name)  # NotFound with the models there are
    return ModelDetail(**model_info(registry, name), cards=[card_body(c) for c in cards],
                       history=[Event(**e.to_dict()) for e in registry.history(name)])


@router.get("/{name}/versions/{version}", response_model=VersionDetail, dependencies=[Depends(require_read)],
            summary="One version: its card and training curves")
def show_version(name: str = NAME, version: str = VERSION, ws: Workspace = Depends(get_workspace)) -> VersionDetail:
    registry = ModelRegistry(ws)
    card = registry.card(name, version)
    curves = {part: Curves(**c) for part, c in registry.curves(name, card.version).items()}
    return VersionDetail(card=card_body(card), deployed=registry.deployed_version(name) == card.version,
                         curves=curves)


@router.get("/{name}/diff", response_model=VersionDiff, dependencies=[Depends(require_read)],
            summary="Two versions side by side: data fingerprint, parameters, metrics")
def diff_versions(name: str = NAME,
                  a: str = Query(pattern=NAME_PATTERN, max_length=MAX_NAME_CHARS, description="the first version"),
                  b: str = Query(pattern=NAME_PATTERN, max_length=MAX_NAME_CHARS, description="the second version"),
                  ws: Workspace = Depends(get_workspace)) -> VersionDiff:
    return VersionDiff(**jsonable(ModelRegistry(ws).diff(name, a, b)))


@router.post("/{name}/deploy", response_model=DeployResult,
             summary="Deploy a version (role admin; audited); the service serves it within a second")
def deploy(request: DeployRequest, name: str = NAME, key: KeyInfo = Depends(require_admin),
           ws: Workspace = Depends(get_workspace)) -> DeployResult:
    registry = ModelRegistry(ws)
    registry.deploy(name, request.version, by=key_label(key), reason=request.reason)
    return audited(name, registry)


@router.post("/{name}/rollback", response_model=DeployResult,
             summary="Deploy again the version deployed before the current one (role admin; audited)")
def rollback(request: RollbackRequest | None = Body(None), name: str = NAME, key: KeyInfo = Depends(require_admin),
             ws: Workspace = Depends(get_workspace)) -> DeployResult:
    registry = ModelRegistry(ws)
    registry.rollback(name, by=key_label(key), reason=request.reason if request else "")
    return audited(name, registry)


capability = Capability(name="models", router=router)
