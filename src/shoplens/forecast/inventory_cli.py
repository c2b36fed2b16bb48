"""``shoplens inventory plan|replay``: reorder points and order-up-to levels from the forecast, and a replay
of history under the policy."""

from __future__ import annotations

from typing import Annotated

import typer

from shoplens.clitools import (
    JsonOpt,
    WorkspaceOpt,
    console,
    emit,
    handle_errors,
    open_workspace,
    show_progress,
    table_of,
)

app = typer.Typer(help="Inventory policy from the demand forecast: safety stock, reorder point, order quantity.",
                  no_args_is_help=True)

ServiceOpt = Annotated[float, typer.Option(help="Target cycle service level (fraction, e.g. 0.95).")]
LeadOpt = Annotated[int | None, typer.Option(help="Lead time in days for every product (default: the "
                                                  "inventory table's, else 7).")]
ReviewOpt = Annotated[int, typer.Option(help="Days between stock reviews (periodic review).")]


@app.command()
@handle_errors
def plan(service_level: ServiceOpt = 0.95, lead_time_days: LeadOpt = None, review_days: ReviewOpt = 7,
         fill_rate: Annotated[float | None, typer.Option(help="Target fill rate instead of cycle service.")] = None,
         ordering_cost: Annotated[float | None, typer.Option(help="Fixed cost per order (for EOQ).")] = None,
         holding_rate: Annotated[float, typer.Option(help="Yearly holding cost as a fraction of unit "
                                                         "cost.")] = 0.25,
         limit: Annotated[int, typer.Option(help="Rows to print.")] = 30,
         workspace: WorkspaceOpt = None, as_json: JsonOpt = False) -> None:
    """Per product: safety stock, reorder point, order-up-to level, EOQ and what to order now (table
    inventory_plan), from the registered forecaster (`shoplens forecast train`)."""
    import json

    from shoplens.forecast.workflow import plan as run_plan

    result = run_plan(open_workspace(workspace), service_level=service_level, lead_time_days=lead_time_days,
                      review_days=review_days, fill_rate=fill_rate, ordering_cost=ordering_cost,
                      holding_rate=holding_rate)
    rows = json.loads(result.to_json(orient="records"))
    order_first = sorted(rows, key=lambda r: (not r.get("order_now", False), r["unique_id"]))
    columns = [c for c in ("unique_id", "lead_time_days", "demand_per_day", "safety_stock", "reorder_point",
                           "order_up_to", "eoq", "on_hand", "order_now", "order_qty") if c in result.columns]
    emit(rows, as_json, lambda: console.print(table_of(order_first[:limit], columns,
                                                       title=f"inventory plan: {len(rows):,} products")))


@app.command()
@handle_errors
def replay(service_level: ServiceOpt = 0.95, lead_time_days: LeadOpt = None, review_days: ReviewOpt = 7,
           warmup_days: Annotated[int, typer.Option(help="History before the first review.")] = 120,
           demo: Annotated[bool, typer.Option("--demo", help="Small, fast settings.")] = False,
           workspace: WorkspaceOpt = None, as_json: JsonOpt = False) -> None:
    """Replay history under the policy and the naive "N weeks of average demand" rule: realised service,
    fill rate, stock-outs and holding cost."""
    from shoplens.forecast.replay import replay_policy
    from shoplens.forecast.workflow import forecaster_params

    result = replay_policy(open_workspace(workspace), service_level=service_level, review_days=review_days,
                           lead_time_days=lead_time_days, warmup_days=warmup_days,
                           forecaster=forecaster_params("demo" if demo else "full"), progress=show_progress(as_json))
    data = result.to_dict()

    def render() -> None:
        rows = [r for r in data["summary"] if r["policy"] == "forecast" or
                r["naive_weeks"] == data["comparison"].get("naive_weeks")]
        console.print(table_of(rows, ["policy", "naive_weeks", "cycles", "realised_service_level", "fill_rate",
                                      "stockout_days", "holding_cost"], title="replay of history"))
        ratio = data["comparison"].get("holding_cost_ratio_vs_naive")
        if ratio is not None:
            console.print(f"holding cost {ratio:.2f}× the naive rule's at equal or better service", highlight=False)
    emit(data, as_json, render)
