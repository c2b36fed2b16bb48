"""``shoplens forecast train|backtest|predict``: demand forecasts with intervals, checked by backtests."""

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

app = typer.Typer(help="Demand forecasts with intervals, chosen and checked by rolling-origin backtests.",
                  no_args_is_help=True)

LevelOpt = Annotated[str, typer.Option(help="product, category or total.")]
FreqOpt = Annotated[str, typer.Option(help="D (days), W (weeks) or M (months).")]
ModelsOpt = Annotated[list[str] | None, typer.Option("--model", "-m", help="Base model (repeat); default: "
                                                     "AutoETS, AutoTheta, AutoCES, SeasonalProfile, LightGBM.")]
TargetOpt = Annotated[str, typer.Option(help="units or revenue.")]


def _models(models: list[str] | None) -> list[str] | None:
    return list(models) if models else None


@app.command()
@handle_errors
def train(level: LevelOpt = "product", freq: FreqOpt = "D", target: TargetOpt = "units",
          horizon: Annotated[int, typer.Option(help="Periods to forecast.")] = 35,
          model: ModelsOpt = None,
          demo: Annotated[bool, typer.Option("--demo", help="Small, fast settings.")] = False,
          workspace: WorkspaceOpt = None, as_json: JsonOpt = False) -> None:
    """Fit the forecaster, register it (models/forecast) and store its forecast (table forecast_daily)."""
    from shoplens.forecast.workflow import train as run_train

    summary = run_train(open_workspace(workspace), "demo" if demo else "full", progress=show_progress(as_json),
                        level=level, freq=freq, target=target, horizon=horizon, models=_models(model))

    def render() -> None:
        console.print(f"forecaster {summary['version']}: {summary['series']:,} series from {summary['origin']}, "
                      f"{summary['horizon']} periods ahead ({summary['rows']:,} rows in forecast_daily)",
                      highlight=False)
        rows = [{"model": m, "inner MASE": v, "in ensemble": m in summary["models"]}
                for m, v in summary["inner_mase"].items()]
        console.print(table_of(rows, ["model", "inner MASE", "in ensemble"],
                               title="models on the windows before the origin"))
    emit(summary, as_json, render)


@app.command()
@handle_errors
def backtest(h: Annotated[int, typer.Option("--h", help="Periods per window.")] = 7,
             windows: Annotated[int, typer.Option(help="Evaluation windows (origins).")] = 4,
             step: Annotated[int | None, typer.Option(help="Periods between origins (default h).")] = None,
             level: LevelOpt = "product", freq: FreqOpt = "D", target: TargetOpt = "units",
             model: ModelsOpt = None,
             point: Annotated[str, typer.Option(help="mean or median (what MASE rewards).")] = "mean",
             demo: Annotated[bool, typer.Option("--demo", help="Small, fast settings.")] = False,
             workspace: WorkspaceOpt = None, as_json: JsonOpt = False) -> None:
    """Rolling-origin backtest: MASE, sMAPE, RMSSE, WRMSSE, coverage and bias, beside SeasonalNaive."""
    from shoplens.forecast.workflow import backtest as run_backtest

    result = run_backtest(open_workspace(workspace), h=h, n_windows=windows, step_size=step,
                          profile="demo" if demo else "full", progress=show_progress(as_json), level=level,
                          freq=freq, target=target, models=_models(model), point=point)
    data = result.to_dict()

    def render() -> None:
        rows = [{k: row.get(k) for k in ("model", "mase", "smape", "rmsse", "wrmsse", "bias", "coverage_80",
                                        "coverage_95", "share_series_not_worse")} for row in data["summary"]]
        console.print(table_of(rows, list(rows[0]), title=f"rolling origin: {windows} windows of {h} periods, "
                                                          f"step {step or h} ({result.seconds:.0f} s)"))
    emit(data, as_json, render)


@app.command()
@handle_errors
def predict(horizon: Annotated[int | None, typer.Option(help="Periods (default: the trained horizon).")] = None,
            product: Annotated[list[str] | None, typer.Option("--product", "-p", help="Only this series "
                                                                                   "(repeat).")] = None,
            version: Annotated[str, typer.Option(help="Model version: deployed, latest or a version.")] = "deployed",
            limit: Annotated[int, typer.Option(help="Rows to print in the table.")] = 50,
            workspace: WorkspaceOpt = None, as_json: JsonOpt = False) -> None:
    """Forecasts of the registered forecaster: y with 80 % and 95 % intervals per series and period."""
    import json

    from shoplens.errors import NotFound
    from shoplens.forecast.store import load_model

    fc = load_model(open_workspace(workspace), version)
    frame = fc.predict(horizon)
    if product:
        missing = sorted(set(product) - set(frame["unique_id"]))
        if missing:
            raise NotFound(f"no forecast for {', '.join(missing)}")
        frame = frame[frame["unique_id"].isin(product)]
    frame = frame.assign(ds=frame["ds"].dt.date.astype(str))
    rows = json.loads(frame.to_json(orient="records"))
    columns = ["unique_id", "ds", "y", "y-lo-80", "y-hi-80", "y-lo-95", "y-hi-95"]
    emit(rows, as_json, lambda: console.print(table_of(rows[:limit], [c for c in columns if c in frame],
                                                       title=f"forecast ({len(rows):,} rows)")))
