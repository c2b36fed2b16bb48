"""The pricing bundle in the model registry (``models/pricing/<version>/``), read by the CLI, the service
and the report without refitting anything:

```
elasticities.parquet categories.parquet model.json   the ElasticityModel (model.save)
suggestions.parquet suggestions.json                  the optimiser's prices with default constraints
cross_effects.parquet                                 cross-price effects among top sellers
identification.json                                   what the data can and cannot identify
evaluation.json                                       records against the simulator's truth, when known
```

Only pandas and json are imported here, so the service's router stays light.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from shoplens.errors import NotFound

if TYPE_CHECKING:
    from shoplens.pricing.identify import IdentificationReport
    from shoplens.pricing.model import ElasticityModel
    from shoplens.pricing.optimize import PriceSuggestions
    from shoplens.registry import ModelCard
    from shoplens.workspace import Workspace

REGISTRY_NAME = "pricing"


@dataclass
class Bundle:
    version: str
    folder: Path
    elasticities: pd.DataFrame
    categories: pd.DataFrame
    info: dict[str, Any]
    params: dict[str, Any]
    suggestions: pd.DataFrame | None = None
    suggestions_meta: dict[str, Any] = field(default_factory=dict)
    cross_effects: pd.DataFrame | None = None
    identification: dict[str, Any] | None = None
    evaluation: dict[str, Any] | None = None


def save_bundle(folder: Path, model: ElasticityModel, *, suggestions: PriceSuggestions | None = None,
                cross_effects: pd.DataFrame | None = None, identification: IdentificationReport | None = None,
                evaluation: dict[str, Any] | None = None) -> None:
    model.save(folder)
    if suggestions is not None:
        suggestions.save(folder)
    if cross_effects is not None:
        cross_effects.to_parquet(folder / "cross_effects.parquet", index=False)
    if identification is not None:
        (folder / "identification.json").write_text(json.dumps(identification.to_dict(), indent=2, default=str),
                                                    encoding="utf-8")
    if evaluation is not None:
        (folder / "evaluation.json").write_text(json.dumps(evaluation, indent=2, default=str), encoding="utf-8")


def register_bundle(ws: Workspace, model: ElasticityModel, *, deploy: bool = False,
                    metrics: list[dict[str, Any]] | None = None, **parts: Any) -> ModelCard:
    """Save the bundle as a new registry version (optionally deployed); returns its card."""
    info = getattr(model, "info_", {})
    card = ws.models.save(REGISTRY_NAME, "pricing", lambda folder: save_bundle(folder, model, **parts),
                          params=model.card_params(), metrics=metrics,
                          notes=f"{info.get('identified', 0)} of {info.get('products', 0)} products identified, "
                                f"{info.get('first_day')} to {info.get('last_day')}")
    if deploy:
        ws.models.deploy(REGISTRY_NAME, card.version)
    return card


def bundle_path(ws: Workspace, version: str = "deployed") -> Path:
    from shoplens.registry import ModelRegistry

    try:
        return ModelRegistry(ws).path(REGISTRY_NAME, version)
    except NotFound:
        raise NotFound("no pricing model in this workspace; run `shoplens pricing elasticity` (or `shoplens run`) "
                       "first") from None


def load_bundle(ws: Workspace, version: str = "deployed") -> Bundle:
    folder = bundle_path(ws, version)
    meta = json.loads((folder / "model.json").read_text(encoding="utf-8"))
    bundle = Bundle(version=folder.name, folder=folder, elasticities=pd.read_parquet(folder / "elasticities.parquet"),
                    categories=pd.read_parquet(folder / "categories.parquet"), info=meta.get("info", {}),
                    params=meta.get("params", {}))
    if (folder / "suggestions.json").exists():
        bundle.suggestions = pd.read_parquet(folder / "suggestions.parquet")
        bundle.suggestions_meta = json.loads((folder / "suggestions.json").read_text(encoding="utf-8"))
    if (folder / "cross_effects.parquet").exists():
        bundle.cross_effects = pd.read_parquet(folder / "cross_effects.parquet")
    for name in ("identification", "evaluation"):
        path = folder / f"{name}.json"
        if path.exists():
            setattr(bundle, name, json.loads(path.read_text(encoding="utf-8")))
    return bundle
