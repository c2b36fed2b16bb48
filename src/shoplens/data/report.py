"""The report's data section: what the warehouse holds and what ingest rejected, with reasons."""

from __future__ import annotations

from collections import Counter
from html import escape

import plotly.graph_objects as go

from shoplens.data.quarantine import read_quarantine
from shoplens.report import figure_html, section, table_html
from shoplens.workspace import Workspace


@section("Data", order=0)
def data_section(ws: Workspace) -> str | None:
    counts = {k: v for k, v in ws.counts().items() if v}
    if not counts:
        return None
    figure = go.Figure(go.Bar(x=list(counts), y=list(counts.values()), text=[f"{v:,}" for v in counts.values()]))
    figure.update_layout(title="rows per table", height=320, margin={"t": 40, "b": 40, "l": 50, "r": 20})
    runs = ws.ingest_runs().head(15)
    run_rows = [{"table": r.table, "source": r.source + (" (empty file)" if r.read == 0 else ""), "read": int(r.read),
                 "loaded": int(r.loaded),
                 "quarantined": int(r.quarantined), "when": str(r.started_at)[:19]} for r in runs.itertuples()]
    parts = [figure_html(figure), "<h3>Ingest runs (read = loaded + quarantined)</h3>", table_html(run_rows)]
    reasons = _top_reasons(ws, list(counts) + list(runs["table"].unique()))
    if reasons:
        parts += ["<h3>Most frequent quarantine reasons</h3>", table_html(reasons)]
    return "".join(parts)


def _top_reasons(ws: Workspace, tables: list[str], limit: int = 10) -> list[dict]:
    """Reasons grouped by their column and kind (values stripped), most frequent first."""
    counter: Counter[tuple[str, str]] = Counter()
    for table in sorted(set(tables)):
        for row in read_quarantine(ws, table, limit=10_000):
            kind = row["reason"].split('"')[0].split(" (")[0].strip()
            counter[(table, kind)] += 1
    return [{"table": t, "reason": r, "rows": n} for (t, r), n in counter.most_common(limit)]


@section("Drift and retraining", order=95)
def drift_section(ws: Workspace) -> str | None:
    """The latest drift check against the deployed model's training data, and the latest retraining decisions."""
    from shoplens.drift import latest

    with ws.connect() as con:
        features = latest(con)
    decisions = [e for name in ws.models.names() for e in ws.models.decisions(name)]
    if not features and not decisions:
        return None
    parts = []
    if features:
        first = features[0]
        parts += [f"<h3>Drift against the training data of {escape(str(first['model']))} "
                  f"{escape(str(first['model_version']))} (checked {str(first['checked_at'])[:16]}, "
                  f"{escape(str(first['trigger']))})</h3>",
                  "<p>PSI ≥ 0.1 warns, ≥ 0.25 raises the alarm; unseen products and customers are shares of the new "
                  "rows (docs/operations.md, \"Drift\").</p>",
                  table_html([{"feature": f["feature"], "measure": f["measure"],
                               "value": None if f["value"] is None else round(f["value"], 3), "status": f["status"],
                               "reference rows": f["n_reference"], "new rows": f["n_new"], "detail": f["detail"]}
                              for f in features])]
    if decisions:
        latest_first = sorted(decisions, key=lambda e: e.get("recorded_at", ""), reverse=True)[:10]
        parts += ["<h3>Retraining decisions (champion against challenger)</h3>",
                  table_html([{"when": e.get("recorded_at", "")[:16], "model": e.get("model"),
                               "deployed": "yes" if e.get("deployed") else "no", "metric": e.get("metric"),
                               "champion": (e.get("champion") or {}).get("value"),
                               "challenger": (e.get("challenger") or {}).get("value"),
                               "reason": e.get("reason")} for e in latest_first])]
    return "".join(parts)
