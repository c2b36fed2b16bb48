"""Pipeline steps of analytics (``shoplens run`` / ``shoplens demo``):

- preprocess: the SQL analyses (KPIs by day and month, RFM, cohorts, funnel, market-basket pairs) — on Spark in
  ``shoplens run --engine spark``, which runs no other analytics step (the models are trained by ``shoplens run``);
- train: CLV (BG/NBD + Gamma-Gamma), churn (LightGBM) and association rules, stored and registered;
- evaluate: the churn backtest against BG/NBD, and against the simulator's latent states when present;
- deploy: the registered analytics models become the versions the service loads.

A workspace with nothing to analyse (no orders and no events) makes the SQL step raise ``NotApplicable``,
and one without orders makes the model step raise it (CLV, churn and rules need orders): analytics is then
skipped with the reason. An analysis that the rest of the data cannot support (a funnel without events,
pair counts without order lines, BG/NBD on a handful of customers) is listed as skipped, with the reason, in
its step's summary; real errors (an engine failure) fail the step. The demo profile uses small models.
"""

from __future__ import annotations

import datetime as dt
import time
from typing import Any

from shoplens.errors import InputError, NotFound
from shoplens.pipeline import NotApplicable, RunContext, step

CAPABILITY = "analytics"
MODELS = ("analytics-clv", "analytics-churn")
BASKET_SUPPORT = 0.005  # pairs and rules: products together in at least one basket in 200
# what every analytics step reads (an incremental run skips the analyses while these are unchanged)
READS = ("customers", "products", "orders", "order_items", "events")


NO_DATA = "no orders and no events to analyse: ingest orders (with order_items) or events"
NO_ORDERS = "no orders: CLV, churn and association rules need orders that name customers"


def _timed(summary: dict[str, Any], name: str, work: Any) -> Any:
    """Run one part; what the data cannot support (an ``InputError`` or ``NotFound``: too few customers, an
    empty table) becomes 'skipped: reason' in the summary. Other errors fail the step."""
    started = time.perf_counter()
    try:
        result = work()
    except (InputError, NotFound) as error:
        summary[name] = f"skipped: {error}"
        return None
    summary[f"{name}_seconds"] = round(time.perf_counter() - started, 2)
    return result


@step(CAPABILITY, "preprocess", "sql analyses", reads=READS)
def sql_analyses(ctx: RunContext) -> dict[str, Any]:
    """The SQL analyses on DuckDB, stored as analytics_* tables."""
    from shoplens.analytics import api

    counts = ctx.ws.counts()
    if not counts.get("orders") and not counts.get("events"):
        raise NotApplicable(NO_DATA)
    with api.AnalysisSession(ctx.ws) as session:
        return _analyses(session, lambda table: bool(counts.get(table)))


@step(CAPABILITY, "preprocess", "sql analyses on spark", engine="spark")
def sql_analyses_on_spark(ctx: RunContext) -> dict[str, Any]:
    """The same SQL on Spark over the run's Parquet tables; each result kept as Parquet and in the warehouse under
    the local run's name (analytics_*)."""
    from shoplens.analytics import api
    from shoplens.engine.spark_run import spark_run

    run = spark_run(ctx)
    if not run.has_rows("orders") and not run.has_rows("events"):
        raise NotApplicable(NO_DATA)
    with api.AnalysisSession(run.source, "spark", spark=run.spark, sink=run.keep) as session:
        summary = _analyses(session, run.has_rows)
    summary["parquet"] = str(run.results)
    return summary


def _analyses(session: Any, has_rows: Any) -> dict[str, Any]:
    """Every SQL analysis the data support, run in ``session``; their summary."""
    from shoplens.analytics import api

    summary: dict[str, Any] = {}
    if has_rows("orders"):
        for grain in ("day", "month"):
            table = _timed(summary, f"kpis_{grain}", lambda g=grain: api.kpis(session, g))
            if table is not None:
                summary[f"kpis_{grain}"] = len(table)
        rfm = _timed(summary, "rfm", lambda: api.rfm(session))
        if rfm is not None:
            summary["rfm_customers"] = len(rfm.customers)
            summary["rfm"] = {r.segment: int(r.customers) for r in rfm.segments.itertuples()}
        cohorts = _timed(summary, "cohorts", lambda: api.cohorts(session))
        if cohorts is not None:
            summary["cohorts"] = int(cohorts["cohort"].nunique())
    else:
        summary["orders"] = "skipped: no orders (KPIs, RFM, cohorts)"
    if has_rows("events"):
        funnel = _timed(summary, "funnel", lambda: api.funnel(session))
        if funnel is not None:
            overall = funnel.steps[funnel.steps["segment"] == "all"]
            summary["funnel_conversion"] = float(overall["conversion_from_start"].iloc[-1])
    else:
        summary["funnel"] = "skipped: no events"
    if has_rows("order_items"):
        pairs = _timed(summary, "pair_counts", lambda: api.pair_counts(session, BASKET_SUPPORT))
        if pairs is not None:
            summary["pair_counts"] = len(pairs)
    else:
        summary["pair_counts"] = "skipped: no order lines"
    return summary


@step(CAPABILITY, "train", "clv, churn and rules", reads=READS)
def train_models(ctx: RunContext) -> dict[str, Any]:
    """Fit the models, store their outputs (analytics_clv, analytics_churn, analytics_rules) and register them."""
    from shoplens.analytics.results import fit_churn, fit_clv, fit_rules

    counts = ctx.ws.counts()
    if not counts.get("orders"):
        raise NotApplicable(NO_ORDERS)
    summary: dict[str, Any] = {}
    fitted = _timed(summary, "clv", lambda: fit_clv(ctx.ws))
    if fitted is not None:
        model, predictions = fitted
        card = model.register(ctx.ws, notes="BG/NBD + Gamma-Gamma by maximum likelihood; weekly time unit")
        summary.update(clv_version=card.version, clv_customers=len(predictions),
                       clv_total=round(float(predictions["clv"].sum()), 2))
    estimators = 100 if ctx.profile == "demo" else 300
    churn = _timed(summary, "churn", lambda: fit_churn(ctx.ws, n_estimators=estimators))
    if churn is not None:
        model, predictions = churn
        card = model.register(ctx.ws, notes=f"LightGBM on RFM and behaviour features; temporal training window; "
                                            f"predictions as of {model.cutoff_.isoformat()}")
        summary.update(churn_version=card.version, churn_mean=round(float(predictions["churn_probability"].mean()), 4))
    if counts.get("order_items"):
        rules = _timed(summary, "rules", lambda: fit_rules(ctx.ws, min_support=BASKET_SUPPORT))
        if rules is not None:
            summary["rules"] = len(rules.rules_)
    else:
        summary["rules"] = "skipped: no order lines"
    return summary


@step(CAPABILITY, "evaluate", "churn backtest", reads=READS)
def evaluate_churn(ctx: RunContext) -> dict[str, Any]:
    """Churn model vs BG/NBD on a temporal backtest; the simulator's latent states when the truth is there."""
    from shoplens.analytics.churn import ChurnModel, prediction_cutoff

    summary: dict[str, Any] = {}
    horizon = 90
    if not ctx.ws.counts().get("orders"):
        raise NotApplicable(NO_ORDERS)
    try:
        cutoff = prediction_cutoff(ctx.ws) - dt.timedelta(days=horizon)
    except (InputError, NotFound) as error:
        return {"churn": f"skipped: {error}"}
    estimators = 100 if ctx.profile == "demo" else 300
    report = _timed(summary, "backtest", lambda: ChurnModel(horizon_days=horizon, n_estimators=estimators)
                    .backtest(ctx.ws, cutoff))
    if report is not None:
        summary.update({k: round(v, 4) for k, v in report["metrics"].items() if k.endswith(("_auc", "_brier"))})
        summary["protocol"] = report["protocol"]
    if (ctx.ws.path / "truth" / "manifest.json").exists():
        from shoplens.analytics.truth import truth_recovery

        truth = _timed(summary, "truth", lambda: truth_recovery(ctx.ws, horizon_days=horizon))
        if truth is not None:
            summary["truth"] = {k: round(v, 4) for k, v in truth["metrics"].items() if "auc" in k}
    return summary


@step(CAPABILITY, "deploy", "deploy models", reads=READS)
def deploy_models(ctx: RunContext) -> dict[str, Any]:
    """Mark the latest analytics models as the deployed versions."""
    from shoplens.registry import ModelRegistry

    registry = ModelRegistry(ctx.ws)
    names = set(registry.names())
    return {name: registry.deploy(name).version for name in MODELS if name in names}


def analyze_everything(ws: Any, profile: str = "full") -> dict[str, Any]:
    """The four steps in order, outside ``shoplens run`` (``shoplens analyze all``). Nothing to analyse at all
    is an error (``NotFound``); a later step that does not apply (no orders for the models) is listed as
    skipped, with the steps after it."""
    ctx = RunContext(ws=ws, profile=profile)  # type: ignore[arg-type]
    try:
        summary: dict[str, Any] = {"sql": sql_analyses(ctx)}
    except NotApplicable as reason:
        raise NotFound(f"{ws.path}: {reason}") from None
    for name, func in (("models", train_models), ("evaluation", evaluate_churn), ("deployed", deploy_models)):
        try:
            summary[name] = func(ctx)
        except NotApplicable as reason:
            summary[name] = {"skipped": str(reason)}
            break
    return summary
