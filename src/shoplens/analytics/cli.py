"""``shoplens analyze …``: run an analysis on the workspace (DuckDB, or ``--engine spark``), store it as
``analytics_<name>`` and print it (a table for people, ``--json`` for scripts)."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from shoplens import clitools as cli
from shoplens.errors import InputError

app = cli.command_group("Behaviour analytics: KPIs, RFM segments, cohorts, funnels, CLV and churn, baskets.")

EngineOpt = Annotated[str, typer.Option("--engine", help="duckdb (default) or spark (needs shoplens[spark]).")]
MasterOpt = Annotated[str | None, typer.Option(
    "--spark-master", "--master", show_default=False,
    help="Spark master for --engine spark (spark://host:7077, local[4] …); default $SHOPLENS_SPARK_MASTER, "
         "else local[2].")]
DIMENSIONS = ("all", "country", "channel", "category")


def _session(workspace: Any, engine: str, master: str | None) -> Any:
    from shoplens.analytics.api import AnalysisSession

    return AnalysisSession(cli.open_workspace(workspace), engine, master=master)


def _records(frame: Any) -> list[dict[str, Any]]:
    import json

    return json.loads(frame.to_json(orient="records", date_format="iso"))


@cli.command(app)
def kpis(grain: Annotated[str, typer.Option(help="day, week or month (shop time).")] = "day",
         dimension: Annotated[str, typer.Option(help="Rows to print: all, country, channel or category.")] = "all",
         last: Annotated[int, typer.Option(min=1, help="Periods to print (the latest).")] = 14,
         engine: EngineOpt = "duckdb", spark_master: MasterOpt = None,
         workspace: cli.WorkspaceOpt = None, as_json: cli.JsonOpt = False) -> None:
    """Revenue, orders, AOV, units, new vs returning customers, repeat and refund rates per period."""
    from shoplens.analytics.api import kpis as run

    if dimension not in DIMENSIONS:
        raise InputError(f"--dimension {dimension!r}: use {', '.join(DIMENSIONS)}")
    with _session(workspace, engine, spark_master) as session:
        table = run(session, grain)
    shown = table[table["dimension"] == dimension]
    shown = shown[shown["period"].isin(sorted(shown["period"].unique())[-last:])]
    columns = ["period", "value", "revenue", "orders", "aov", "units", "customers", "new_customers",
               "repeat_rate", "refund_rate"]
    cli.emit(_records(table), as_json, lambda: cli.console.print(cli.table_of(
        _records(shown), columns, title=f"KPIs by {grain} ({dimension}); all rows in analytics_kpis")))


@cli.command(app)
def rfm(as_of: Annotated[str | None, typer.Option(help="History ends before this day (default: after the "
                                                         "last purchase).")] = None,
        engine: EngineOpt = "duckdb", spark_master: MasterOpt = None,
        workspace: cli.WorkspaceOpt = None, as_json: cli.JsonOpt = False) -> None:
    """RFM scores by quintile cut-offs and named segments, with each segment's size and revenue share."""
    from shoplens.analytics.api import rfm as run

    with _session(workspace, engine, spark_master) as session:
        result = run(session, as_of)
    rows = [{"segment": r.segment, "customers": r.customers, "share": f"{r.customer_share:.1%}",
             "revenue": r.revenue, "of revenue": f"{r.revenue_share:.1%}",
             "recency (days)": None if r.customers == 0 else round(r.avg_recency_days, 1)}
            for r in result.segments.itertuples()]
    cli.emit({"segments": _records(result.segments), "customers": len(result.customers)}, as_json,
             lambda: cli.console.print(cli.table_of(rows, list(rows[0]),
                                                    title="RFM segments (per customer: analytics_rfm)")))


@cli.command(app)
def cohorts(breakdown: Annotated[str | None, typer.Option(help="Customer column or attributes.<key>.")] = None,
            measure: Annotated[str, typer.Option(help="retention, revenue_per_customer, repeat_rate …")] = "retention",
            engine: EngineOpt = "duckdb", spark_master: MasterOpt = None,
            workspace: cli.WorkspaceOpt = None, as_json: cli.JsonOpt = False) -> None:
    """Monthly acquisition cohorts: retention, revenue and repeat-purchase curves."""
    from shoplens.analytics.api import cohort_matrix
    from shoplens.analytics.api import cohorts as run

    with _session(workspace, engine, spark_master) as session:
        table = run(session, breakdown)

    def render() -> None:
        for segment in sorted(table["segment"].unique()):
            matrix = cohort_matrix(table, measure, segment)
            rows = [{"cohort": str(c)[:7], **{str(p): v for p, v in row.items() if v == v}}
                    for c, row in matrix.iterrows()]
            cli.console.print(cli.table_of(rows, ["cohort", *[str(p) for p in matrix.columns[:13]]],
                                           title=f"{measure} by months since first purchase — {segment}"))
    cli.emit(_records(table), as_json, render)


@cli.command(app)
def funnel(step: Annotated[list[str] | None, typer.Option(
               "--step", help="A step: [name=]type[|type…][?]; '|' = alternatives, '?' = optional. Repeat in "
                              "order (default view, cart=add_to_cart, checkout?, purchase).")] = None,
           window: Annotated[str | None, typer.Option(help="Conversion window from the first step (1d, 2h …).")] = None,
           entity: Annotated[str, typer.Option(help="session or customer.")] = "session",
           breakdown: Annotated[str | None, typer.Option(
               help="Customer column, attributes.<key> or properties.<key>.")] = None,
           session_gap: Annotated[float, typer.Option(help="Minutes of inactivity that end a rebuilt session.")] = 30,
           start: Annotated[str | None, typer.Option(help="Only events from this time on.")] = None,
           end: Annotated[str | None, typer.Option(help="Only events before this time.")] = None,
           engine: EngineOpt = "duckdb", spark_master: MasterOpt = None,
           workspace: cli.WorkspaceOpt = None, as_json: cli.JsonOpt = False) -> None:
    """Conversion through ordered steps within a window, with time to convert and breakdowns."""
    from shoplens.analytics.api import funnel as run
    from shoplens.analytics.funnels import DEFAULT_STEPS

    with _session(workspace, engine, spark_master) as session:
        result = run(session, step or list(DEFAULT_STEPS), window=window, entity=entity,  # type: ignore[arg-type]
                     breakdown=breakdown, session_gap_minutes=session_gap, start=start, end=end)
    columns = ["segment", "step_no", "step", "optional", "entities", "conversion_from_previous",
               "conversion_from_start", "median_seconds_from_start"]
    cli.emit({"steps": _records(result.steps), "times": _records(result.times)}, as_json,
             lambda: cli.console.print(cli.table_of(_records(result.steps), columns,
                                                    title=f"funnel per {entity} (times: analytics_funnel_times)")))


@cli.command(app)
def clv(calibration_end: Annotated[str | None, typer.Option(help="Last day of the history (default: the last "
                                                                  "purchase day).")] = None,
        months: Annotated[int, typer.Option(min=1, help="Months of CLV.")] = 12,
        discount_rate: Annotated[float, typer.Option(min=0, help="Monthly discount rate.")] = 0.01,
        top: Annotated[int, typer.Option(min=1, help="Customers to print (highest CLV).")] = 10,
        workspace: cli.WorkspaceOpt = None, as_json: cli.JsonOpt = False) -> None:
    """BG/NBD + Gamma-Gamma: P(alive), expected purchases and discounted CLV per customer."""
    from shoplens.analytics.results import fit_clv

    model, predictions = fit_clv(cli.open_workspace(workspace), calibration_end=calibration_end, months=months,
                                 discount_rate=discount_rate)
    best = predictions.sort_values(["clv", "customer_id"], ascending=[False, True]).head(top)
    data = {"params": model.params, "customers": len(predictions), "total_clv": float(predictions["clv"].sum()),
            "top": _records(best)}

    def render() -> None:
        cli.console.print("fitted: " + ", ".join(f"{k} = {v:.4g}" for k, v in model.params.items()), highlight=False)
        cli.console.print(cli.table_of(_records(best), ["customer_id", "frequency", "p_alive", "expected_purchases",
                                                        "expected_value", "clv"],
                                       title=f"highest {months}-month CLV (all customers: analytics_clv)"))
    cli.emit(data, as_json, render)


@cli.command(app)
def churn(horizon: Annotated[int, typer.Option(min=1, help="Days without a purchase that count as churn.")] = 90,
          train_horizon: Annotated[int | None, typer.Option(min=1, help="Label days of the training window "
                                                                         "(default: the horizon).")] = None,
          evaluate_at: Annotated[str | None, typer.Option(
              "--evaluate-at", help="Backtest at this cutoff against BG/NBD instead of predicting now.")] = None,
          workspace: cli.WorkspaceOpt = None, as_json: cli.JsonOpt = False) -> None:
    """Churn probability per customer (LightGBM); with --evaluate-at, AUC and calibration vs BG/NBD."""
    ws = cli.open_workspace(workspace)
    if evaluate_at:
        from shoplens.analytics.churn import ChurnModel

        report = ChurnModel(horizon_days=horizon, train_horizon_days=train_horizon).backtest(ws, evaluate_at)
        rows = [{"metric": k, "value": v} for k, v in report["metrics"].items()]
        cli.emit({"metrics": report["metrics"], "protocol": report["protocol"]}, as_json, lambda: (
            cli.console.print(cli.table_of(rows, ["metric", "value"], title="churn backtest")),
            cli.console.print(report["protocol"], highlight=False)))
        return
    from shoplens.analytics.results import fit_churn

    model, predictions = fit_churn(ws, horizon_days=horizon, train_horizon_days=train_horizon)
    risky = predictions.sort_values(["churn_probability", "customer_id"], ascending=[False, True]).head(10)
    cli.emit({"cutoff": model.cutoff_.isoformat(), "customers": len(predictions), "top": _records(risky)}, as_json,
             lambda: cli.console.print(cli.table_of(_records(risky), ["customer_id", "churn_probability"],
                                                    title=f"most likely to churn within {horizon} days of "
                                                          f"{model.cutoff_} (all: analytics_churn)")))


@cli.command(app)
def baskets(min_support: Annotated[float, typer.Option(help="Minimum share of baskets.")] = 0.01,
            min_confidence: Annotated[float, typer.Option(help="Minimum confidence of a rule.")] = 0.1,
            top: Annotated[int, typer.Option(min=1, help="Rules to print.")] = 20,
            workspace: cli.WorkspaceOpt = None, as_json: cli.JsonOpt = False) -> None:
    """Frequent itemsets and association rules (support, confidence, lift) from order lines."""
    from shoplens.analytics.results import fit_rules

    model = fit_rules(cli.open_workspace(workspace), min_support=min_support, min_confidence=min_confidence)
    rules = model.rules(top).assign(antecedents=lambda f: f["antecedents"].map(" + ".join),
                                    consequents=lambda f: f["consequents"].map(" + ".join))
    cli.emit({"itemsets": len(model.itemsets_), "rules": len(model.rules_), "top": _records(rules)}, as_json,
             lambda: cli.console.print(cli.table_of(
                 _records(rules), ["antecedents", "consequents", "support", "confidence", "lift"],
                 title=f"top rules of {len(model.rules_):,} (all: analytics_rules)")))


@cli.command(app, "all")
def run_all(profile: Annotated[str, typer.Option(help="demo (small, fast) or full.")] = "full",
            workspace: cli.WorkspaceOpt = None, as_json: cli.JsonOpt = False) -> None:
    """Every analysis and model above with default settings (what `shoplens run` does for analytics)."""
    from shoplens.analytics.steps import analyze_everything

    if profile not in ("demo", "full"):
        raise InputError(f"--profile {profile!r}: use demo or full")

    summary = analyze_everything(cli.open_workspace(workspace), profile)
    rows = [{"part": part, "item": key, "value": ", ".join(f"{k}: {v}" for k, v in value.items())
             if isinstance(value, dict) else value}
            for part, values in summary.items() for key, value in values.items()]
    cli.emit(summary, as_json,
             lambda: cli.console.print(cli.table_of(rows, ["part", "item", "value"], title="analytics")))
