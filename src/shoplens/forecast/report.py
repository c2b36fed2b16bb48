"""The report's forecast section: forecasts with intervals for the best sellers (one product at a time, picked
from a menu, by title), the backtest beside SeasonalNaive, and the reorder table."""

from __future__ import annotations

import json

from shoplens.report import figure_html, product_titles, section, table_html
from shoplens.workspace import Workspace

TOP_PRODUCTS = 30  # in the chart's menu, best sellers first
HISTORY_DAYS = 56
TRACES = 3  # per product: the 80 % band, units sold, the forecast


@section("Demand forecast and inventory", order=50)
def forecast_section(ws: Workspace) -> str | None:
    from shoplens.forecast.store import FORECAST_TABLE, PLAN_TABLE

    tables = ws.table_names()
    if FORECAST_TABLE not in tables:
        return None
    parts = [_forecast_chart(ws)]
    backtest = _backtest_rows(ws)
    if backtest:
        parts += ["<h3>Backtest (rolling origin; MASE scaled by the in-sample seasonal naive)</h3>",
                  table_html(backtest)]
    if PLAN_TABLE in tables:
        rows = _plan_rows(ws)
        parts += ["<h3>Reorder table (products to order first)</h3>",
                  table_html(rows, titles=product_titles(ws, [r["unique_id"] for r in rows]))]
    return "".join(parts)


def _forecast_chart(ws: Workspace) -> str:
    """Units per day sold and forecast (with the 80 % interval), one best seller at a time from the menu."""
    import plotly.graph_objects as go

    top = ws.sql("SELECT unique_id FROM forecast_daily GROUP BY unique_id ORDER BY sum(y) DESC, unique_id "
                 f"LIMIT {TOP_PRODUCTS}")["unique_id"].tolist()
    titles = product_titles(ws, top)
    figure = go.Figure()
    # one query each for all the products shown: daily_sales is a view over every order line, computed per query
    forecasts = ws.sql("SELECT unique_id, ds, y, y_lo_80, y_hi_80 FROM forecast_daily "
                       "WHERE list_contains(?, unique_id) ORDER BY unique_id, ds", [top])
    sold = ws.sql("SELECT product_id, day, units FROM daily_sales WHERE list_contains(?, product_id) "
                  f"QUALIFY row_number() OVER (PARTITION BY product_id ORDER BY day DESC) <= {HISTORY_DAYS} "
                  "ORDER BY product_id, day", [top])
    for number, uid in enumerate(top):
        fc = forecasts[forecasts["unique_id"] == uid]
        history = sold[sold["product_id"] == uid]
        shown = number == 0
        figure.add_trace(go.Scatter(x=list(fc["ds"]) + list(fc["ds"])[::-1],
                                    y=list(fc["y_hi_80"]) + list(fc["y_lo_80"])[::-1], fill="toself",
                                    opacity=0.2, line={"width": 0}, name="80 % interval", visible=shown))
        figure.add_trace(go.Scatter(x=history["day"], y=history["units"], mode="lines", name="sold",
                                    line={"width": 1}, visible=shown))
        figure.add_trace(go.Scatter(x=fc["ds"], y=fc["y"], mode="lines", name="forecast", line={"dash": "dash"},
                                    visible=shown))
    buttons = [{"label": f"{_short(titles.get(uid, uid))} ({uid})", "method": "restyle",
                "args": [{"visible": [n // TRACES == i for n in range(TRACES * len(top))]}]}
               for i, uid in enumerate(top)]
    figure.update_layout(height=420, margin={"t": 60, "b": 50, "l": 60, "r": 20}, xaxis={"title": "date"},
                         yaxis={"title": "units per day", "rangemode": "tozero"},
                         updatemenus=[{"buttons": buttons, "x": 0, "xanchor": "left", "y": 1.16, "yanchor": "top"}])
    note = (f"<p class='note'>The {len(top)} best sellers by forecast units: pick one in the chart's menu. Units "
            f"per day, the last {HISTORY_DAYS} days sold, then the forecast with its 80 % interval.</p>")
    return note + figure_html(figure)


def _short(title: str, width: int = 60) -> str:
    return title if len(title) <= width else title[:width - 1] + "…"


def _backtest_rows(ws: Workspace) -> list[dict]:
    from shoplens.errors import NotFound
    from shoplens.forecast.store import MODEL_NAME
    from shoplens.registry import ModelRegistry

    try:
        folder = ModelRegistry(ws).path(MODEL_NAME, "deployed")
    except NotFound:  # no model yet: the section shows what exists
        return []
    path = folder / "backtest.json"
    if not path.exists():
        return []
    data = json.loads(path.read_text(encoding="utf-8"))
    keys = ("model", "mase", "smape", "rmsse", "bias", "coverage_80", "coverage_95", "share_series_not_worse")
    return [{k: row.get(k) for k in keys} for row in data["summary"]]


def _plan_rows(ws: Workspace, limit: int = 15) -> list[dict]:
    from shoplens.forecast.store import read_plan

    plan = read_plan(ws).head(limit)
    keys = [c for c in ("unique_id", "lead_time_days", "demand_per_day", "safety_stock", "reorder_point",
                        "order_up_to", "on_hand", "order_now", "order_qty") if c in plan.columns]
    return [{k: (round(v, 2) if isinstance(v, float) else v) for k, v in row.items()}
            for row in plan[keys].to_dict(orient="records")]
