"""Report sections of analytics, drawn from the stored ``analytics_*`` tables (nothing is recomputed):
KPIs, segments, cohorts, the funnel, CLV and churn, market baskets. A section is left out when its
result has not been computed."""

from __future__ import annotations

import html
from typing import TYPE_CHECKING, Any

from shoplens.formats import money
from shoplens.report import figure_html, section, table_html

if TYPE_CHECKING:
    import pandas as pd

    from shoplens.workspace import Workspace


def _read(ws: Workspace, query: str, table: str) -> pd.DataFrame | None:
    if table not in ws.table_names():
        return None
    return ws.sql(query)


def _note(text: str) -> str:
    return f"<p class='note'>{html.escape(text)}</p>"


@section("Sales KPIs", order=10)
def kpis_section(ws: Workspace) -> str | None:
    import plotly.graph_objects as go

    grain = next((g for g in ("month", "week", "day") if f"analytics_kpis_{g}" in ws.table_names()), None)
    if grain is None:
        return None
    frame = ws.sql(f"SELECT * FROM analytics_kpis_{grain} WHERE dimension = 'all' ORDER BY period")
    figure = go.Figure([go.Bar(x=frame["period"], y=frame["revenue"], name="revenue"),
                        go.Scatter(x=frame["period"], y=frame["orders"], name="orders", yaxis="y2", mode="lines")])
    figure.update_layout(height=320, margin={"t": 30, "b": 30}, yaxis={"title": "revenue"},
                         yaxis2={"title": "orders", "overlaying": "y", "side": "right"}, legend={"orientation": "h"})
    latest = frame.tail(6)[["period", "revenue", "orders", "aov", "customers", "new_customers", "repeat_rate",
                            "refund_rate"]]
    rows = [{k: (str(v)[:10] if k == "period" else v) for k, v in r.items()} for r in latest.to_dict("records")]
    figure.update_layout(yaxis={"title": f"revenue ({ws.config.currency})"})
    return (_note(f"Revenue and orders per {grain} (shop time); refunds are orders with a negative total.")
            + figure_html(figure) + table_html(rows, money=("revenue", "aov"), currency=ws.config.currency))


@section("Customer segments (RFM)", order=11)
def segments_section(ws: Workspace) -> str | None:
    import plotly.graph_objects as go

    segments = _read(ws, "SELECT * FROM analytics_rfm_segments ORDER BY rank", "analytics_rfm_segments")
    if segments is None:
        return None
    shown = segments[segments["customers"] > 0]
    figure = go.Figure(go.Treemap(labels=shown["segment"], parents=[""] * len(shown), values=shown["customers"],
                                  customdata=shown["revenue_share"],
                                  texttemplate="%{label}<br>%{value:,} customers<br>%{customdata:.0%} of revenue"))
    figure.update_layout(height=340, margin={"t": 10, "b": 10, "l": 10, "r": 10})
    rows = segments[["segment", "customers", "customer_share", "revenue", "revenue_share", "avg_recency_days",
                     "avg_frequency"]].to_dict("records")
    return (_note("Recency, frequency and money scored 1–5 by quintile cut-offs; segments from the R and F "
                  "scores.") + figure_html(figure) + table_html(rows, money=("revenue",), currency=ws.config.currency))


@section("Cohorts", order=12)
def cohorts_section(ws: Workspace) -> str | None:
    import plotly.graph_objects as go

    from shoplens.analytics.api import cohort_matrix

    table = _read(ws, "SELECT * FROM analytics_cohorts", "analytics_cohorts")
    if table is None or table.empty:
        return None
    segment = sorted(table["segment"].unique())[0]
    matrix = cohort_matrix(table, "retention", segment)
    figure = go.Figure(go.Heatmap(z=matrix.to_numpy(), x=[str(c) for c in matrix.columns],
                                  y=[str(c)[:7] for c in matrix.index], colorscale="Blues", zmin=0, zmax=1,
                                  texttemplate="%{z:.0%}", hovertemplate="%{y}, month %{x}: %{z:.1%}<extra></extra>"))
    figure.update_layout(height=60 + 26 * len(matrix), margin={"t": 10, "b": 30}, yaxis={"autorange": "reversed"},
                         xaxis={"title": "months since the first purchase"})
    return _note("Share of each monthly acquisition cohort buying again, by months since the first purchase.") \
        + figure_html(figure)


@section("Conversion funnel", order=13)
def funnel_section(ws: Workspace) -> str | None:
    import plotly.graph_objects as go

    steps = _read(ws, "SELECT * FROM analytics_funnel WHERE segment = 'all' ORDER BY step_no", "analytics_funnel")
    if steps is None or steps.empty:
        return None
    figure = go.Figure(go.Funnel(y=steps["step"], x=steps["entities"], textinfo="value+percent initial"))
    figure.update_layout(height=80 + 50 * len(steps), margin={"t": 10, "b": 10})
    rows = steps[["step", "optional", "entities", "conversion_from_previous", "conversion_from_start",
                  "median_seconds_from_start"]].to_dict("records")
    return figure_html(figure) + table_html(rows)


@section("Customer lifetime value and churn", order=14)
def clv_section(ws: Workspace) -> str | None:
    import plotly.graph_objects as go

    clv = _read(ws, "SELECT clv, p_alive FROM analytics_clv", "analytics_clv")
    if clv is None or clv.empty:
        return None
    cap = float(clv["clv"].quantile(0.99))
    figure = go.Figure(go.Histogram(x=clv["clv"].clip(upper=cap), nbinsx=40))
    figure.update_layout(height=300, margin={"t": 10, "b": 40}, yaxis={"title": "customers"},
                         xaxis={"title": f"12-month CLV in {ws.config.currency} (top 1% capped)"})
    parts = [_note(f"BG/NBD + Gamma-Gamma: {len(clv):,} customers, total 12-month CLV "
                   f"{money(clv['clv'].sum(), ws.config.currency)}, mean P(alive) {clv['p_alive'].mean():.1%}."),
             figure_html(figure)]
    churn = _read(ws, "SELECT churn_probability FROM analytics_churn", "analytics_churn")
    if churn is not None and not churn.empty:
        parts.append(_note(f"Churn model: mean probability of no purchase within the horizon "
                           f"{churn['churn_probability'].mean():.1%}; the backtest against BG/NBD is in the run "
                           "table above (analytics · churn backtest)."))
    return "".join(parts)


@section("Market baskets", order=15)
def baskets_section(ws: Workspace) -> str | None:
    rules = _read(ws, "SELECT * FROM analytics_rules ORDER BY lift DESC, support DESC LIMIT 15", "analytics_rules")
    if rules is None or rules.empty:
        return None
    rows: list[dict[str, Any]] = [{"if bought": " + ".join(r["antecedents"]), "also buys": " + ".join(r["consequents"]),
                                   "support": r["support"], "confidence": r["confidence"], "lift": r["lift"]}
                                  for r in rules.to_dict("records")]
    return _note("Association rules with the highest lift (how much likelier together than apart).") + table_html(rows)
