"""The HTML report: self-contained, sections only for what exists."""

from __future__ import annotations

from pathlib import Path

import shoplens as sl
from shoplens.report import build_report


def test_report_shows_data_section_only_with_data(workspace: sl.Workspace, tmp_path: Path) -> None:
    empty = build_report(workspace).read_text(encoding="utf-8")
    assert "<h2>Data</h2>" not in empty
    path = tmp_path / "o.csv"
    path.write_text("order_id,order_ts\nA,2024-01-01\nB,bad\n", encoding="utf-8")
    workspace.ingest("orders", path)
    page = build_report(workspace).read_text(encoding="utf-8")
    assert "<h2>Data</h2>" in page and "o.csv" in page and "order_ts: not a timestamp" in page
    assert "cdn" not in page.lower().split("<body>")[1]  # charts work offline: plotly.js is inline
    assert (workspace.dir("reports") / "latest.html").read_text(encoding="utf-8") == page
