"""The report's pricing section, drawn from the deployed (or latest) pricing bundle: category elasticities with
intervals, the best sellers, the suggested prices with their expected effect, what the data identify, and
the scores against the simulator's truth when known. Nothing is refitted."""

from __future__ import annotations

import html
from typing import TYPE_CHECKING

from shoplens.errors import NotFound
from shoplens.formats import money
from shoplens.report import figure_html, product_titles, section, table_html

if TYPE_CHECKING:
    from shoplens.workspace import Workspace


def _note(text: str) -> str:
    return f"<p class='note'>{html.escape(text)}</p>"


@section("Pricing", order=60)
def pricing_section(ws: Workspace) -> str | None:
    import plotly.graph_objects as go

    from shoplens.pricing.charts import finite_records, leaf_categories
    from shoplens.pricing.store import load_bundle

    try:
        bundle = load_bundle(ws)
    except NotFound:
        return None
    info, table = bundle.info, bundle.elasticities
    level = bundle.params.get("confidence", 0.9)
    leaves = leaf_categories(bundle.categories)
    figure = go.Figure(go.Scatter(
        x=leaves["elasticity"], y=leaves["category"], mode="markers",
        error_x={"type": "data", "symmetric": False, "array": leaves["upper"] - leaves["elasticity"],
                 "arrayminus": leaves["elasticity"] - leaves["lower"]}))
    figure.update_layout(height=max(260, 22 * len(leaves) + 80), margin={"t": 20, "b": 40, "l": 10, "r": 10},
                         xaxis={"title": f"elasticity ({level:.0%} interval)", "zeroline": True})
    counts = table["status"].value_counts().to_dict()
    parts = [_note(f"{info.get('method')} estimates from {info.get('first_day')} to {info.get('last_day')}: "
                   f"{counts.get('identified', 0)} products identified, {counts.get('not_identifiable', 0)} not "
                   f"identifiable, {counts.get('insufficient_data', 0)} with too little data."),
             figure_html(figure)]
    best = table[table["status"] == "identified"].sort_values("units", ascending=False).head(15)
    changed = bundle.suggestions[bundle.suggestions["change"].abs() > 1e-9] if bundle.suggestions is not None \
        else None
    top = changed.sort_values("profit_change", ascending=False).head(15) if changed is not None else None
    titles = product_titles(ws, [*best["product_id"], *([] if top is None else top["product_id"])])
    parts.append(table_html(finite_records(best), ["product_id", "category", "elasticity", "lower", "upper", "units",
                                                   "price_changes"], titles=titles))
    if top is not None:
        currency = ws.config.currency
        totals, limits = bundle.suggestions_meta.get("totals", {}), bundle.suggestions_meta.get("constraints", {})
        parts.append(_note(
            f"Suggested prices (margin ≥ {limits.get('margin_floor', 0):.0%}, change ≤ "
            f"±{limits.get('max_change', 0):.0%}): {totals.get('changed', 0)} of {totals.get('products', 0)} "
            "change; expected profit change over "
            f"{limits.get('horizon_days')} days {money(totals.get('profit_change', 0), currency, signed=True)} "
            f"({money(totals.get('profit_change_lower', 0), currency)} to "
            f"{money(totals.get('profit_change_upper', 0), currency)})."))
        parts.append(table_html(finite_records(top), ["product_id", "current_price", "suggested_price", "change",
                                                      "units_change", "profit_change", "profit_change_lower",
                                                      "profit_change_upper", "reason"], titles=titles,
                                money=("current_price", "suggested_price", "profit_change", "profit_change_lower",
                                       "profit_change_upper"), currency=currency))
    if bundle.identification:
        from shoplens.pricing.identify import IdentificationReport

        parts.append(IdentificationReport(**bundle.identification).html())
    if bundle.evaluation:
        parts.append(_note("Against the simulator's truth (same run, naive per-product OLS beside ours):"))
        parts.append(table_html([bundle.evaluation["summary"]]))
    return "".join(parts)
