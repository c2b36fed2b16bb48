"""The report's review section: how good the deployed models are (beside the baselines, with the protocol),
sentiment over time, and what customers praise and complain about per category, with quotes."""

from __future__ import annotations

import html
import json
from typing import TYPE_CHECKING

from shoplens.report import figure_html, picker_html, section, table_html

if TYPE_CHECKING:
    import pandas as pd

    from shoplens.workspace import Workspace


@section("Review intelligence", order=30)
def reviews_section(ws: Workspace) -> str | None:
    from shoplens.reviews.store import PREDICTIONS, SUMMARY, sentiment_over_time
    from shoplens.workspace import has_table

    with ws.connect() as con:
        if not has_table(con, PREDICTIONS):
            return None
        series = sentiment_over_time(con, "month")
        summary = con.execute(f"SELECT * FROM {SUMMARY} WHERE level = 'category'").df() \
            if has_table(con, SUMMARY) else None
    parts = [_quality(ws), _chart(series), _aspects(summary)]
    return "".join(p for p in parts if p)


def _quality(ws: Workspace) -> str:
    from shoplens.errors import NotFound
    from shoplens.registry import ModelRegistry

    registry = ModelRegistry(ws)
    out = []
    for name in ("reviews-stars", "reviews-sentiment"):
        try:
            card = registry.card(name)
        except NotFound:
            continue
        rows = [{"model": r["model"], "role": r["role"],
                 **{k: round(v, 4) for k, v in r["metrics"].items() if isinstance(v, float)}} for r in card.metrics]
        label = card.metrics[0]["protocol"].get("notes", "") if card.metrics else ""
        out.append(f"<h3>{html.escape(name)} (version {html.escape(card.version)})</h3>"
                   f"<p class='where'>{html.escape(label)}; stratified 80/10/10 split, seed 0.</p>{table_html(rows)}")
    return "".join(out)


def _chart(series: pd.DataFrame) -> str:
    if series.empty:
        return ""
    import plotly.graph_objects as go

    figure = go.Figure()
    for name, color in (("positive", "#16a34a"), ("neutral", "#a3a3a3"), ("negative", "#dc2626")):
        figure.add_trace(go.Scatter(x=series["period"], y=series[name], name=name, mode="lines+markers",
                                    line={"color": color}, customdata=series["reviews"],
                                    hovertemplate="%{y:.0%} of %{customdata} reviews"))
    figure.update_layout(title="Predicted sentiment per month", yaxis={"tickformat": ".0%"}, height=320,
                         margin={"l": 40, "r": 10, "t": 40, "b": 30})
    return figure_html(figure)


def _aspects(summary: pd.DataFrame | None) -> str:
    """Per category (busiest first, one at a time from a menu): what customers praise and complain about."""
    from shoplens.reviews.aspects import summary_sentence

    if summary is None or summary.empty:
        return ""
    busiest = summary.groupby("key")["mentions"].sum().sort_values(ascending=False, kind="stable").index
    choices = []
    for category in busiest:
        rows = summary[summary["key"] == category].sort_values("mentions", ascending=False)
        table = [{"aspect": r["label"], "mentions": int(r["mentions"]), "positive": int(r["positive"]),
                  "negative": int(r["negative"]), "net": round(float(r["net"]), 2),
                  "praise": "; ".join(json.loads(r["positive_quotes"])),
                  "complaints": "; ".join(json.loads(r["negative_quotes"]))} for _, r in rows.iterrows()]
        choices.append((str(category), f"{category} ({int(rows['mentions'].sum())} mentions)",
                        f"<h4>{html.escape(str(category))}</h4><p>{html.escape(summary_sentence(rows))}</p>"
                        f"{table_html(table)}"))
    return "<h3>Aspects by category</h3>" + picker_html("aspects", "Category", choices)
