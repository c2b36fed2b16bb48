"""The HTML report: self-contained, sections only for what exists."""

from __future__ import annotations

import html
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


def test_report_has_contents_titles_currency_and_cjk_fonts(demo_shop: sl.Workspace) -> None:
    """What an analyst reads in the demo shop's report: a table of contents whose anchors exist, product titles
    beside the ids, the shop's currency beside money, a CJK font stack and one product's tables at a time."""
    import re

    page = (demo_shop.dir("reports") / "latest.html").read_text(encoding="utf-8")
    body = page.split("<body>")[1]
    toc = re.search(r'<nav class="toc"[^>]*>(.*?)</nav>', body, re.S)
    assert toc, "no table of contents"
    targets = re.findall(r'href="#([^"]+)"', toc.group(1))
    assert len(targets) >= 8 and all(f'id="{t}"' in body for t in targets)
    titles = demo_shop.sql("SELECT product_id, title FROM products")
    plan_ids = demo_shop.sql("SELECT unique_id FROM inventory_plan ORDER BY order_now DESC, unique_id LIMIT 3")
    for product in plan_ids["unique_id"]:
        title = titles.loc[titles["product_id"] == product, "title"].iloc[0]
        assert f'title="{product}">{html.escape(title)}<' in body, product
    currency = demo_shop.config.currency
    for section in ("customer-segments-rfm", "sales-kpis", "pricing"):
        part = body.split(f'id="{section}"')[1].split("<section")[0]
        assert re.search(rf"\d {currency}<", part), section
    style = page.split("<style>")[1].split("</style>")[0]
    for font in ("Noto Sans CJK SC", "Source Han Sans SC", "WenQuanYi Zen Hei", "PingFang SC", "Microsoft YaHei"):
        assert f'"{font}"' in style, font
    assert re.search(r'<select[^>]*class="picker"', body)  # reviews by category: one table at a time
