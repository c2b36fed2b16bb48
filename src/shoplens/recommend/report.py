"""The report's recommendations section: the deployed model, how it was chosen (every candidate's validation
score), its evaluation beside the baselines (with the protocol), and a few customers' recommendations with their
explanations."""

from __future__ import annotations

import html
from typing import TYPE_CHECKING

from shoplens.report import figure_html, section, table_html

if TYPE_CHECKING:
    from shoplens.workspace import Workspace

SAMPLE_CUSTOMERS = 3


@section("Recommendations", order=30)
def recommendations_section(ws: Workspace) -> str | None:
    from shoplens.errors import NotFound
    from shoplens.recommend import api
    from shoplens.registry import ModelRegistry

    try:
        card = ModelRegistry(ws).card(api.REGISTRY_NAME)
    except NotFound:
        return None
    parts = [f"<p>Model <b>{html.escape(str(card.params.get('model')))}</b>, version {html.escape(card.version)}: "
             f"{html.escape(card.notes)}.</p>"]
    if card.params.get("selection"):
        parts.append(_selection(card.params))
    records = api.latest_evaluation(ws)
    if records:
        parts.append(_evaluation(records))
    if api.TOP_K_TABLE in ws.table_names():
        sample = ws.sql(f"""SELECT customer_id, rank, product_id, title, reason FROM {api.TOP_K_TABLE}
                            WHERE customer_id IN (SELECT DISTINCT customer_id FROM {api.TOP_K_TABLE}
                                                  ORDER BY customer_id LIMIT {SAMPLE_CUSTOMERS})
                              AND rank <= 5 ORDER BY customer_id, rank""")
        parts.append("<h3>Examples (top 5, with explanations)</h3>" + table_html(sample.to_dict("records")))
    return "\n".join(parts)


def _selection(params: dict) -> str:
    """The candidates the AutoRecommender scored on validation, best first."""
    from shoplens.recommend.api import selection_rows

    metric, validation = params["metric"], params["validation"]
    rows = [{"candidate": r["candidate"], f"validation {metric}": r["value"], "status": r["status"],
             "parameters": ", ".join(f"{k}={v}" for k, v in r["params"].items())} for r in selection_rows(params)]
    return (f"<h3>How the model was chosen (validation: {html.escape(validation['split'].replace('_', ' '))}, "
            f"{validation['customers']:,} customers)</h3>" + table_html(rows))


def _evaluation(records: list[dict]) -> str:
    import plotly.graph_objects as go

    metrics = ["ndcg@10", "hr@10", "precision@10", "recall@10", "map@10", "coverage@10"]
    rows = [{"model": r["model"], "role": r["role"], **{m: r["metrics"].get(m) for m in metrics}} for r in records]
    figure = go.Figure(go.Bar(x=[r["model"] for r in records], y=[r["metrics"].get("ndcg@10") for r in records],
                              marker_color=["#2a6f97" if r["role"] == "ours" else "#a9a9a9" for r in records]))
    figure.update_layout(title="NDCG@10, ours beside the baselines", height=320, margin=dict(t=40, b=40))
    label = html.escape(_label(records[0]["protocol"]))
    return f"<h3>Evaluation ({label})</h3>" + figure_html(figure) + table_html(rows)


def _label(protocol: dict) -> str:
    from shoplens.evaluation.records import Protocol

    return Protocol.model_validate(protocol).label()
