"""``shoplens pricing …``: elasticities, suggested prices, price tests and what the data can identify.

```
shoplens pricing elasticity -w shop            # fit, print the top products, register (and deploy) the bundle
shoplens pricing optimize -w shop --margin-floor 0.15 --max-change 0.1 --out prices.csv
shoplens pricing plan-test P00001 P00002 -w shop --price-change 0.05 --start 2025-01-06 --out schedule.csv
shoplens pricing analyze-test schedule.csv -w shop
shoplens pricing identify -w shop
```
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from shoplens import clitools as cli
from shoplens.errors import InputError

if TYPE_CHECKING:
    import pandas as pd

app = cli.command_group("Price elasticities, price optimisation and price tests.")

VersionOpt = Annotated[str, typer.Option("--model", help="Model version: deployed (default), latest or a version.")]


def _read_frame(path: Path, what: str) -> pd.DataFrame:
    """A CSV or Parquet file the user gave, with a clear error naming it."""
    import pandas as pd

    if not path.exists():
        raise InputError(f"{what} file not found", file=str(path))
    try:
        if path.suffix.lower() in (".parquet", ".pq"):
            return pd.read_parquet(path)
        return pd.read_csv(path)
    except (ValueError, OSError) as exc:
        raise InputError(f"cannot read the {what} file ({str(exc)[:160]})", file=str(path)) from None


def _write_frame(frame: pd.DataFrame, path: Path) -> None:
    if path.suffix.lower() in (".parquet", ".pq"):
        frame.to_parquet(path, index=False)
    else:
        frame.to_csv(path, index=False)


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    return json.loads(frame.to_json(orient="records", date_format="iso"))


MethodOpt = Annotated[str, typer.Option(help="fixed_effects (default), dml or naive_ols.")]


@cli.command(app)
def elasticity(method: MethodOpt = "fixed_effects",
               shrinkage: Annotated[bool, typer.Option(help="Pool estimates along the category tree.")] = True,
               history_days: Annotated[int | None, typer.Option(help="Use only the last N days of sales.")] = None,
               prices: Annotated[Path | None, typer.Option(help="The shop's price history (CSV/Parquet: product_id, "
                                                                 "day, price, promo).")] = None,
               cross_top_k: Annotated[int, typer.Option(help="Cross-price effects among each category's top N "
                                                             "sellers (0: none).")] = 4,
               deploy: Annotated[bool, typer.Option(help="Mark the new version as the one the service loads.")] = True,
               top: Annotated[int, typer.Option(help="Products to print (best sellers).")] = 15,
               workspace: cli.WorkspaceOpt = None, as_json: cli.JsonOpt = False) -> None:
    """Estimate own-price elasticities per product and category (with intervals) and register them, with
    suggested prices under the default constraints and cross-price effects."""
    from shoplens.pricing.model import ElasticityModel
    from shoplens.pricing.workflow import run_pricing

    ws = cli.open_workspace(workspace)
    history = _read_frame(prices, "price history") if prices is not None else None
    model = ElasticityModel(method=method, shrinkage=shrinkage, history_days=history_days,  # type: ignore[arg-type]
                            progress=cli.show_progress(as_json))
    summary = run_pricing(ws, model, prices=history, cross_top_k=cross_top_k, deploy=deploy)
    table = model.elasticities_.sort_values("units", ascending=False)
    columns = ["product_id", "category", "status", "elasticity", "lower", "upper", "units", "price_changes"]

    categories = model.categories_
    leaves = categories[categories["depth"] == categories["depth"].max()]

    def render() -> None:
        cli.console.print(cli.table_of(_records(table.head(top)), columns,
                                       title=f"Elasticities ({model.confidence:.0%} intervals), best sellers"))
        cli.console.print(cli.table_of(_records(leaves), ["category", "products", "elasticity", "lower", "upper"],
                                       title="Categories"))
        facts = [{"measure": k, "value": v} for k, v in summary.items() if k != "version"]
        cli.console.print(cli.table_of(facts, ["measure", "value"],
                                       title=f"Registered as pricing/{summary['version']}"))

    cli.emit({"summary": summary, "products": _records(table), "categories": _records(model.categories_)}, as_json,
             render)


@cli.command(app)
def optimize(objective: Annotated[str, typer.Option(help="profit or revenue.")] = "profit",
             margin_floor: Annotated[float, typer.Option(help="Minimum margin (price − cost) / price.")] = 0.1,
             max_change: Annotated[float, typer.Option(help="Maximum relative price change.")] = 0.1,
             endings: Annotated[str, typer.Option(help="Allowed cents, comma-separated ('0.99', '0.49,0.99'); "
                                                       "'any' for any cent.")] = "0.99",
             horizon_days: Annotated[int, typer.Option(help="Days the expected changes cover.")] = 28,
             category_max_change: Annotated[float | None, typer.Option(
                 help="Bound on each category's revenue-weighted mean change.")] = 0.05,
             category_min_units: Annotated[float | None, typer.Option(
                 help="Each category keeps at least this share of its units.")] = None,
             stock: Annotated[Path | None, typer.Option(help="Units available (CSV/Parquet: product_id, available); "
                                                             "default: the workspace's plan or inventory.")] = None,
             out: Annotated[Path | None, typer.Option(help="Write all suggestions to this CSV/Parquet file.")] = None,
             top: Annotated[int, typer.Option(help="Changes to print (largest expected profit change).")] = 20,
             model_version: VersionOpt = "deployed", workspace: cli.WorkspaceOpt = None,
             as_json: cli.JsonOpt = False) -> None:
    """Suggested prices with their expected change in units, revenue and profit (with intervals)."""
    from shoplens.pricing.model import ElasticityModel
    from shoplens.pricing.workflow import default_optimizer, suggest

    ws = cli.open_workspace(workspace)
    model = ElasticityModel.from_registry(ws, model_version)
    cents = None if endings.strip().lower() == "any" else _endings(endings)
    optimizer = default_optimizer(objective=objective, margin_floor=margin_floor, max_change=max_change,
                                  endings=cents, horizon_days=horizon_days, category_max_change=category_max_change,
                                  category_min_units=category_min_units)
    plan = suggest(ws, model, optimizer, _read_frame(stock, "stock") if stock is not None else None)
    if out is not None:
        _write_frame(plan.table, out)
    changed = plan.table[plan.table["change"].abs() > 1e-9].sort_values("profit_change", ascending=False)
    columns = ["product_id", "current_price", "suggested_price", "change", "profit_change", "profit_change_lower",
               "profit_change_upper"]

    def render() -> None:
        cli.console.print(cli.table_of(_display(changed.head(top)), columns, title="Suggested price changes"))
        totals = plan.totals
        cli.console.print(f"{totals['changed']:,} of {totals['products']:,} prices change; expected profit change "
                          f"over {horizon_days} days {totals['profit_change']:,.2f} "
                          f"({totals['profit_change_lower']:,.2f} to {totals['profit_change_upper']:,.2f}); "
                          f"revenue {totals['revenue_change']:,.2f}; units {totals['units_change']:,.1f}")
        for note in plan.notes:
            cli.console.print(f"note: {note}")
        if out is not None:
            cli.console.print(f"all suggestions written to {out}")

    cli.emit(plan.to_dict(), as_json, render)


def _display(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """Prices and money to the cent, changes in percent (the shared table shows 4 significant digits)."""
    rows = []
    for row in _records(frame):
        shown = dict(row)
        for key, value in row.items():
            if isinstance(value, float) and ("price" in key or key.startswith(("profit", "revenue"))):
                shown[key] = f"{value:,.2f}"
            elif key == "change" and isinstance(value, float):
                shown[key] = f"{value:+.1%}"
        rows.append(shown)
    return rows


def _endings(text: str) -> tuple[float, ...]:
    try:
        return tuple(float(part) for part in text.split(",") if part.strip())
    except ValueError:
        raise InputError(f"--endings {text!r}: cents as numbers, e.g. 0.99 or 0.49,0.99") from None


@cli.command(app, "plan-test")
def plan_test(products: Annotated[list[str] | None, typer.Argument(help="Products to test (default: the ten best "
                                                                         "sellers with an estimate).")] = None,
              price_change: Annotated[float, typer.Option(help="Relative test price change (0.05 = +5%).")] = 0.05,
              design: Annotated[str, typer.Option(help="switchback or split.")] = "switchback",
              block_days: Annotated[int, typer.Option(help="Days per switchback block.")] = 7,
              detectable_elasticity: Annotated[float | None, typer.Option(
                  help="Detect an elasticity this large (default: the estimated ones).")] = None,
              alpha: Annotated[float, typer.Option(help="Significance level (two-sided).")] = 0.05,
              power: Annotated[float, typer.Option(help="Wanted power.")] = 0.8,
              start: Annotated[str | None, typer.Option(help="First test day (with --out).")] = None,
              out: Annotated[Path | None, typer.Option(help="Schedule file (CSV/Parquet: product_id, day, arm)."
                                                       )] = None,
              model_version: VersionOpt = "deployed", workspace: cli.WorkspaceOpt = None,
              as_json: cli.JsonOpt = False) -> None:
    """How many days a price test needs to detect the effect with the wanted power (and its schedule)."""
    from shoplens.pricing.experiments import plan_price_test
    from shoplens.pricing.model import ElasticityModel

    ws = cli.open_workspace(workspace)
    model = ElasticityModel.from_registry(ws, model_version)
    plan = plan_price_test(model, products or None, price_change=price_change, design=design,  # type: ignore[arg-type]
                           block_days=block_days, detectable_elasticity=detectable_elasticity, alpha=alpha,
                           power=power)
    if out is not None:
        if start is None:
            raise InputError("--out writes the schedule: give --start (the first test day)")
        _write_frame(plan.schedule(start), out)

    def render() -> None:
        cli.console.print(cli.table_of(_records(plan.per_product),
                                       ["product_id", "baseline_units_per_day", "elasticity"],
                                       title=f"{plan.design} test of a {plan.price_change:+.0%} price change"))
        if plan.days is None:
            cli.console.print(f"{power:.0%} power is not reached within the year (power then {plan.power:.0%}).")
        else:
            cli.console.print(f"Run it for {plan.days} days ({plan.days // 7} weeks): power {plan.power:.0%} "
                              f"to detect a {plan.effect:.1%} change in log units at alpha {alpha}.")
        for note in plan.notes:
            cli.console.print(f"note: {note}")
        if out is not None:
            cli.console.print(f"schedule written to {out}")

    cli.emit(plan.to_dict(), as_json, render)


@cli.command(app, "analyze-test")
def analyze_test(assignment: Annotated[Path, typer.Argument(help="Arms (CSV/Parquet: product_id, day or start/end, "
                                                                  "arm).")],
                 confidence: Annotated[float, typer.Option(help="Interval level.")] = 0.9,
                 workspace: cli.WorkspaceOpt = None, as_json: cli.JsonOpt = False) -> None:
    """The measured effect of a finished price test on units, revenue and profit, and the implied elasticity."""
    from shoplens.pricing.experiments import analyze_price_test

    ws = cli.open_workspace(workspace)
    result = analyze_price_test(ws, _read_frame(assignment, "assignment"), confidence=confidence)

    def render() -> None:
        rows = [{"measure": "units", "estimate": result.effect, "lower": result.effect_lower,
                 "upper": result.effect_upper},
                {"measure": "elasticity", "estimate": result.elasticity, "lower": result.elasticity_lower,
                 "upper": result.elasticity_upper}]
        cli.console.print(cli.table_of(rows, ["measure", "estimate", "lower", "upper"],
                                       title=f"Price test over {result.days} days, {result.products} products"))
        cli.console.print(f"{result.verdict}; p = {result.p_value:.3g}; revenue per product-day "
                          f"{result.revenue_change_per_day:+,.2f}")

    cli.emit(result.to_dict(), as_json, render)


@cli.command(app)
def identify(workspace: cli.WorkspaceOpt = None, as_json: cli.JsonOpt = False) -> None:
    """What the workspace's data can and cannot identify about prices."""
    from shoplens.pricing.identify import identification_report

    report = identification_report(cli.open_workspace(workspace))
    cli.emit(report.to_dict(), as_json, lambda: cli.console.print(report.text(), highlight=False))
