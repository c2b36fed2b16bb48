"""Pipeline steps of pricing (``shoplens run`` / ``shoplens demo``):

- train: elasticities (fixed effects with category shrinkage), suggested prices under the default
  constraints, cross-price effects and the identification report, registered as one bundle; on a
  simulated shop also scored against the truth (elasticity recovery, the optimiser against the oracle);
- deploy: the new bundle becomes the version the service loads.

The demo profile uses the last year of sales and fewer iterations. A shop without product sales over time,
or whose prices never moved, has nothing to estimate: the step raises ``NotApplicable`` with the reason and
the run goes on.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from shoplens.pipeline import NotApplicable, RunContext, step

if TYPE_CHECKING:
    from shoplens.workspace import Workspace

CAPABILITY = "pricing"
READS = ("products", "orders", "order_items", "inventory")
DEMO_SETTINGS: dict[str, Any] = {"history_days": 364, "max_iter": 30}
PRICE_VARIATION_SQL = """
WITH paid AS (
    SELECT product_id, count(DISTINCT round(revenue / units, 2)) AS prices
    FROM daily_sales WHERE product_id <> '__all__' AND units > 0 AND revenue > 0
    GROUP BY product_id)
SELECT count(*) AS sold, count(*) FILTER (WHERE prices > 1) AS moved FROM paid
"""


def applicability(ws: Workspace) -> str | None:
    """Why pricing cannot run on this workspace (no product sales, no price variation), or None."""
    from shoplens.pricing.panel import NO_SALES

    counts = ws.sql(PRICE_VARIATION_SQL).iloc[0]
    if not counts["sold"]:
        return NO_SALES
    if not counts["moved"]:
        return (f"no price variation: each of the {int(counts['sold'])} products sold was always sold at one price, "
                "so no elasticity can be identified (a price test can create the variation: "
                "`shoplens pricing plan-test`)")
    return None


@step(CAPABILITY, "train", "elasticities and prices", reads=READS)
def train(ctx: RunContext) -> dict[str, Any]:
    from shoplens.pricing.model import ElasticityModel
    from shoplens.pricing.panel import InsufficientData
    from shoplens.pricing.workflow import run_pricing

    reason = applicability(ctx.ws)
    if reason is not None:
        raise NotApplicable(reason)
    kept = ctx.kept_version("pricing", "pricing.version")
    if kept is not None:
        ctx.reuse(f"deployed pricing bundle {kept} kept: the sales grew within the {ctx.reuse_limit:.0%} a model is "
                  "kept for (elasticities move little with one more day)")
        return {"version": kept, "kept": True}
    settings = DEMO_SETTINGS if ctx.profile == "demo" else {}
    try:
        summary = run_pricing(ctx.ws, ElasticityModel(**settings), cross_top_k=3 if ctx.profile == "demo" else 4)
    except InsufficientData as error:
        raise NotApplicable(str(error)) from None
    ctx.outputs["pricing.version"] = summary["version"]
    return summary


@step(CAPABILITY, "deploy", "pricing bundle", reads=READS)
def deploy(ctx: RunContext) -> dict[str, Any]:
    from shoplens.registry import ModelRegistry

    version = ctx.outputs.get("pricing.version")
    if version is None:
        raise NotApplicable("no pricing model was trained in this run")
    card = ModelRegistry(ctx.ws).deploy("pricing", version)
    return {"deployed": f"pricing/{card.version}"}
