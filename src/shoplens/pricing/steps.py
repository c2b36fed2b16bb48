"""Pipeline steps of pricing (``shoplens run`` / ``shoplens demo``):

- train: elasticities (fixed effects with category shrinkage), suggested prices under the default
  constraints, cross-price effects and the identification report, registered as one bundle; on a
  simulated shop also scored against the truth (elasticity recovery, the optimiser against the oracle);
- deploy: the new bundle becomes the version the service loads.

The demo profile uses the last year of sales and fewer iterations; a shop without product sales is
reported as skipped with the reason.
"""

from __future__ import annotations

from typing import Any

from shoplens.errors import InputError
from shoplens.pipeline import RunContext, step

CAPABILITY = "pricing"
DEMO_SETTINGS: dict[str, Any] = {"history_days": 364, "max_iter": 30}


@step(CAPABILITY, "train", "elasticities and prices")
def train(ctx: RunContext) -> dict[str, Any]:
    from shoplens.pricing.model import ElasticityModel
    from shoplens.pricing.workflow import run_pricing

    settings = DEMO_SETTINGS if ctx.profile == "demo" else {}
    try:
        summary = run_pricing(ctx.ws, ElasticityModel(**settings), cross_top_k=3 if ctx.profile == "demo" else 4)
    except InputError as error:
        return {"skipped": str(error)}
    ctx.outputs["pricing.version"] = summary["version"]
    return summary


@step(CAPABILITY, "deploy", "pricing bundle")
def deploy(ctx: RunContext) -> dict[str, Any]:
    from shoplens.registry import ModelRegistry

    version = ctx.outputs.get("pricing.version")
    if version is None:
        return {"skipped": "no pricing model was trained in this run"}
    card = ModelRegistry(ctx.ws).deploy("pricing", version)
    return {"deployed": f"pricing/{card.version}"}
