"""``shoplens forecast train|backtest|predict``: demand forecasts with intervals, checked by backtests."""

from __future__ import annotations

from typing import Annotated

import typer

from shoplens import clitools as cli

app = cli.command_group("Demand forecasts with intervals, chosen and checked by rolling-origin backtests.")

LevelOpt = Annotated[str, typer.Option(help="product, category or total.")]
FreqOpt = Annotated[str, typer.Option(help="D (days), W (weeks) or M (months).")]
ModelsOpt = Annotated[list[str] | None, typer.Option("--model", "-m", help="Base model (repeat); default: "
                                                     "AutoETS, AutoTheta, AutoCES, SeasonalProfile, LightGBM.")]
TargetOpt = Annotated[str, typer.Option(help="units or revenue.")]


def _models(models: list[str] | None) -> list[str] | None:
    return list(models) if models else None


@cli.command(app)
def train(level: LevelOpt = "product", freq: FreqOpt = "D", target: TargetOpt = "units",
          horizon: Annotated[int, typer.Option(help="Periods to forecast.")] = 35,
          model: ModelsOpt = None,
          demo: Annotated[bool, typer.Option("--demo", help="Small, fast settings.")] = False,
          workspace: cli.WorkspaceOpt = None, as_json: cli.JsonOpt = False) -> None:
    """Fit the forecaster, register it (models/forecast) and store its forecast (table forecast_daily)."""
    from shoplens.forecast.workflow import train as run_train

    summary = run_train(cli.open_workspace(workspace), "demo" if demo else "full", progress=cli.show_progress(as_json),
                        level=level, freq=freq, target=target, horizon=horizon, models=_models(model))

    def render() -> None:
        cli.console.print(f"forecaster {summary['version']}: {summary['series']:,} series from {summary['origin']}, "
                          f"{summary['horizon']} periods ahead ({summary['rows']:,} rows in forecast_daily)",
                          highlight=False)
        rows = [{"model": m, "inner MASE": v, "in ensemble": m in summary["models"]}
                for m, v in summary["inner_mase"].items()]
        cli.console.print(cli.table_of(rows, ["model", "inner MASE", "in ensemble"],
                                       title="models on the windows before the origin"))
    cli.emit(summary, as_json, render)


@cli.command(app)
def backtest(h: Annotated[int, typer.Option("--h", help="Periods per window.")] = 7,
             windows: Annotated[int, typer.Option(help="Evaluation windows (origins).")] = 4,
             step: Annotated[int | None, typer.Option(help="Periods between origins (default h).")] = None,
             level: LevelOpt = "product", freq: FreqOpt = "D", target: TargetOpt = "units",
             model: ModelsOpt = None,
             point: Annotated[str, typer.Option(help="mean or median (what MASE rewards).")] = "mean",
             demo: Annotated[bool, typer.Option("--demo", help="Small, fast settings.")] = False,
             workspace: cli.WorkspaceOpt = None, as_json: cli.JsonOpt = False) -> None:
    """Rolling-origin backtest: MASE, sMAPE, RMSSE, WRMSSE, coverage and bias, beside SeasonalNaive."""
    from shoplens.forecast.workflow import backtest as run_backtest

    result = run_backtest(cli.open_workspace(workspace), h=h, n_windows=windows, step_size=step,
                          profile="demo" if demo else "full", progress=cli.show_progress(as_json), level=level,
                          freq=freq, target=target, models=_models(model), point=point)
    data = result.to_dict()

    def render() -> None:
        rows = [{k: row.get(k) for k in ("model", "mase", "smape", "rmsse", "wrmsse", "bias", "coverage_80",
                                        "coverage_95", "share_series_not_worse")} for row in data["summary"]]
        cli.console.print(cli.table_of(rows, list(rows[0]), title=f"rolling origin: {windows} windows of {h} periods, "
                                                          f"step {step or h} ({result.seconds:.0f} s)"))
    cli.emit(data, as_json, render)


@cli.command(app)
def predict(horizon: Annotated[int | None, typer.Option(help="Periods (default: the trained horizon).")] = None,
            product: Annotated[list[str] | None, typer.Option("--product", "-p", help="Only this series "
                                                                                   "(repeat).")] = None,
            version: Annotated[str, typer.Option(help="Model version: deployed, latest or a version.")] = "deployed",
            limit: Annotated[int, typer.Option(help="Rows to print in the table.")] = 50,
            workspace: cli.WorkspaceOpt = None, as_json: cli.JsonOpt = False) -> None:
    """Forecasts of the registered forecaster: y with 80 % and 95 % intervals per series and period."""
    import json

    from shoplens.errors import NotFound
    from shoplens.forecast.store import load_model

    fc = load_model(cli.open_workspace(workspace), version)
    frame = fc.predict(horizon)
    if product:
        missing = sorted(set(product) - set(frame["unique_id"]))
        if missing:
            raise NotFound(f"no forecast for {', '.join(missing)}")
        frame = frame[frame["unique_id"].isin(product)]
    frame = frame.assign(ds=frame["ds"].dt.date.astype(str))
    rows = json.loads(frame.to_json(orient="records"))
    columns = ["unique_id", "ds", "y", "y-lo-80", "y-hi-80", "y-lo-95", "y-hi-95"]
    cli.emit(rows, as_json, lambda: cli.console.print(cli.table_of(rows[:limit], [c for c in columns if c in frame],
                                                                   title=f"forecast ({len(rows):,} rows)")))


# -- inventory policy from the forecast: ``shoplens forecast inventory plan|replay`` ------------------------------
inventory_app = cli.command_group("Inventory policy from the demand forecast: safety stock, reorder point, order "
                                  "quantity.")
app.add_typer(inventory_app, name="inventory")

ServiceOpt = Annotated[float, typer.Option(help="Target cycle service level (fraction, e.g. 0.95).")]
LeadOpt = Annotated[int | None, typer.Option(help="Lead time in days for every product (default: the "
                                                  "inventory table's, else 7).")]
ReviewOpt = Annotated[int, typer.Option(help="Days between stock reviews (periodic review).")]


@cli.command(inventory_app)
def plan(service_level: ServiceOpt = 0.95, lead_time_days: LeadOpt = None, review_days: ReviewOpt = 7,
         fill_rate: Annotated[float | None, typer.Option(help="Target fill rate instead of cycle service.")] = None,
         ordering_cost: Annotated[float | None, typer.Option(help="Fixed cost per order (for EOQ).")] = None,
         holding_rate: Annotated[float, typer.Option(help="Yearly holding cost as a fraction of unit "
                                                         "cost.")] = 0.25,
         limit: Annotated[int, typer.Option(help="Rows to print.")] = 30,
         workspace: cli.WorkspaceOpt = None, as_json: cli.JsonOpt = False) -> None:
    """Per product: safety stock, reorder point, order-up-to level, EOQ and what to order now (table
    inventory_plan), from the registered forecaster (`shoplens forecast train`)."""
    import json

    from shoplens.forecast.workflow import plan as run_plan

    result = run_plan(cli.open_workspace(workspace), service_level=service_level, lead_time_days=lead_time_days,
                      review_days=review_days, fill_rate=fill_rate, ordering_cost=ordering_cost,
                      holding_rate=holding_rate)
    rows = json.loads(result.to_json(orient="records"))
    order_first = sorted(rows, key=lambda r: (not r.get("order_now", False), r["unique_id"]))
    columns = [c for c in ("unique_id", "lead_time_days", "demand_per_day", "safety_stock", "reorder_point",
                           "order_up_to", "eoq", "on_hand", "order_now", "order_qty") if c in result.columns]
    cli.emit(rows, as_json, lambda: cli.console.print(cli.table_of(order_first[:limit], columns,
                                                                   title=f"inventory plan: {len(rows):,} products")))


@cli.command(inventory_app)
def replay(service_level: ServiceOpt = 0.95, lead_time_days: LeadOpt = None, review_days: ReviewOpt = 7,
           warmup_days: Annotated[int, typer.Option(help="History before the first review.")] = 120,
           demo: Annotated[bool, typer.Option("--demo", help="Small, fast settings.")] = False,
           workspace: cli.WorkspaceOpt = None, as_json: cli.JsonOpt = False) -> None:
    """Replay history under the policy and the naive "N weeks of average demand" rule: realised service,
    fill rate, stock-outs and holding cost."""
    from shoplens.forecast.replay import replay_policy
    from shoplens.forecast.workflow import forecaster_params

    result = replay_policy(cli.open_workspace(workspace), service_level=service_level, review_days=review_days,
                           lead_time_days=lead_time_days, warmup_days=warmup_days,
                           forecaster=forecaster_params("demo" if demo else "full"),
                           progress=cli.show_progress(as_json))
    data = result.to_dict()

    def render() -> None:
        rows = [r for r in data["summary"] if r["policy"] == "forecast" or
                r["naive_weeks"] == data["comparison"].get("naive_weeks")]
        cli.console.print(cli.table_of(rows, ["policy", "naive_weeks", "cycles", "realised_service_level", "fill_rate",
                                              "stockout_days", "holding_cost"], title="replay of history"))
        ratio = data["comparison"].get("holding_cost_ratio_vs_naive")
        if ratio is not None:
            cli.console.print(f"holding cost {ratio:.2f}× the naive rule's at equal or better service", highlight=False)
    cli.emit(data, as_json, render)
