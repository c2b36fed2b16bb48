"""The report's data section: what the warehouse holds and what ingest rejected, with reasons."""

from __future__ import annotations

from collections import Counter

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
