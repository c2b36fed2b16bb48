"""Charts of the analytics dashboard as inline SVG: a cohort heatmap, funnel bars, a segment treemap and
a CLV histogram.

The dashboard's Content-Security-Policy (``default-src 'self'``) forbids inline scripts and styles, so
these are drawn on the server with SVG presentation attributes only: no JavaScript, nothing fetched, and
every number is also written as text (readable, testable, printable). Labels are escaped.
"""

from __future__ import annotations

import html
import math
from collections.abc import Sequence

import numpy as np
import pandas as pd

from shoplens.formats import money

FONT = "font-size='11'"  # the family comes from the page's style (with its CJK fonts)
LOW, HIGH = (239, 246, 255), (30, 64, 175)  # light to dark blue
PALETTE = ("#1e40af", "#2563eb", "#0891b2", "#059669", "#ca8a04", "#ea580c", "#dc2626", "#7c3aed")


def _text(value: object) -> str:
    return html.escape(str(value), quote=True)


def shade(share: float) -> str:
    """A colour between light and dark blue for a share in [0, 1]."""
    share = min(max(share, 0.0), 1.0) if math.isfinite(share) else 0.0
    r, g, b = (round(lo + (hi - lo) * share) for lo, hi in zip(LOW, HIGH, strict=True))
    return f"#{r:02x}{g:02x}{b:02x}"


def _svg(width: float, height: float, body: list[str], label: str) -> str:
    return (f"<svg xmlns='http://www.w3.org/2000/svg' viewBox='0 0 {width:.0f} {height:.0f}' "
            f"width='{width:.0f}' height='{height:.0f}' "
            f"role='img' aria-label='{_text(label)}' {FONT}>" + "".join(body) + "</svg>")


def cohort_heatmap(matrix: pd.DataFrame, *, percent: bool = True, label: str = "cohort retention",
                   currency: str = "") -> str:
    """Rows = cohorts, columns = months since the first purchase; cells shaded by value (darker = higher).
    Money (``currency`` given) shows whole units in the cells and the amount with its currency on hover."""
    if matrix.empty:
        return ""
    cell_w, cell_h, left, top = 44, 22, 70, 24
    values = matrix.to_numpy(dtype=float)
    finite = values[np.isfinite(values)]
    scale = 1.0 if percent else (float(finite.max()) if finite.size and finite.max() > 0 else 1.0)
    body = [f"<text x='{left + i * cell_w + cell_w / 2}' y='16' text-anchor='middle'>{_text(p)}</text>"
            for i, p in enumerate(matrix.columns)]
    for row, (cohort, cells) in enumerate(zip(matrix.index, values, strict=True)):
        y = top + row * cell_h
        body.append(f"<text x='{left - 6}' y='{y + 15}' text-anchor='end'>{_text(str(cohort)[:7])}</text>")
        for col, value in enumerate(cells):
            if not math.isfinite(value):
                continue
            x = left + col * cell_w
            share = value / scale
            shown = f"{value:.0%}" if percent else f"{value:,.0f}"
            hover = money(value, currency) if currency else shown
            ink = "#ffffff" if share > 0.55 else "#111827"
            body.append(f"<rect x='{x}' y='{y}' width='{cell_w - 2}' height='{cell_h - 2}' fill='{shade(share)}'>"
                        f"<title>{_text(cohort)}, month {_text(matrix.columns[col])}: {hover}</title></rect>"
                        f"<text x='{x + cell_w / 2 - 1}' y='{y + 15}' text-anchor='middle' fill='{ink}'>{shown}</text>")
    width = left + cell_w * len(matrix.columns) + 10
    return _svg(width, top + cell_h * len(matrix) + 6, body, label)


def funnel_bars(steps: pd.DataFrame, label: str = "funnel") -> str:
    """One bar per step, length ∝ entities, with counts and conversion from the start and the previous step."""
    if steps.empty:
        return ""
    width, bar_h, left = 720, 30, 150
    most = max(int(steps["entities"].max()), 1)
    body = []
    for i, row in enumerate(steps.itertuples()):
        y = 8 + i * (bar_h + 10)
        length = max((width - left - 300) * row.entities / most, 1)
        name = f"{row.step}{' (optional)' if row.optional else ''}"
        body.append(f"<text x='{left - 8}' y='{y + 19}' text-anchor='end'>{_text(name)}</text>"
                    f"<rect x='{left}' y='{y}' width='{length:.1f}' height='{bar_h}' "
                    f"fill='{PALETTE[1] if not row.optional else '#93c5fd'}'><title>{_text(name)}: "
                    f"{row.entities:,}</title></rect>"
                    f"<text x='{left + length + 6:.1f}' y='{y + 19}'>{row.entities:,}{_conversion(row, i)}</text>")
    return _svg(width, 16 + len(steps) * (bar_h + 10), body, label)


def _conversion(row: object, index: int) -> str:
    if index == 0:
        return ""
    start, previous = row.conversion_from_start, row.conversion_from_previous
    return f" · {start:.1%} of start · {previous:.1%} of previous" if start == start and previous == previous else ""


def treemap(labels: Sequence[str], sizes: Sequence[float], notes: Sequence[str], *, width: float = 720,
            height: float = 320, label: str = "treemap") -> str:
    """A squarified treemap (Bruls, Huizing & van Wijk 2000) of positive sizes, biggest first."""
    items = sorted(((float(s), str(lb), str(n)) for lb, s, n in zip(labels, sizes, notes, strict=True) if s > 0),
                   reverse=True)
    if not items:
        return ""
    boxes = _squarify([s for s, _, _ in items], 0.0, 0.0, width, height)
    body = []
    for i, ((_, name, note), (x, y, w, h)) in enumerate(zip(items, boxes, strict=True)):
        body.append(f"<rect x='{x:.1f}' y='{y:.1f}' width='{max(w - 2, 0):.1f}' height='{max(h - 2, 0):.1f}' "
                    f"fill='{PALETTE[i % len(PALETTE)]}'><title>{_text(name)}: {_text(note)}</title></rect>")
        if w > 7 * len(name) + 12 and h > 22:
            body.append(f"<text x='{x + 6:.1f}' y='{y + 16:.1f}' fill='#ffffff' font-weight='bold'>"
                        f"{_text(name)}</text>")
        for line_no, line in enumerate(note.split(" · ")):  # one fact per line, where it fits
            if w > 6 * len(line) + 12 and h > 36 + 14 * line_no:
                body.append(f"<text x='{x + 6:.1f}' y='{y + 30 + 14 * line_no:.1f}' fill='#ffffff'>"
                            f"{_text(line)}</text>")
    return _svg(width, height, body, label)


def _squarify(sizes: list[float], x: float, y: float, w: float, h: float) -> list[tuple[float, float, float, float]]:
    total = sum(sizes)
    areas = [s * w * h / total for s in sizes]
    boxes: list[tuple[float, float, float, float]] = []
    while areas:
        side = min(w, h)
        row = [areas[0]]
        while len(row) < len(areas) and _worst([*row, areas[len(row)]], side) <= _worst(row, side):
            row.append(areas[len(row)])
        thickness = sum(row) / side
        offset = 0.0
        for area in row:
            length = area / thickness
            boxes.append((x, y + offset, thickness, length) if w >= h else (x + offset, y, length, thickness))
            offset += length
        if w >= h:
            x, w = x + thickness, w - thickness
        else:
            y, h = y + thickness, h - thickness
        areas = areas[len(row):]
    return boxes


def _worst(row: list[float], side: float) -> float:
    total = sum(row)
    return max(max(side * side * a / (total * total), total * total / (side * side * a)) for a in row)


def histogram(values: Sequence[float], *, bins: int = 20, label: str = "distribution", currency: str = "") -> str:
    """Bars of a distribution up to its 99th percentile (the rest in the last bar), with counts; amounts of
    money when ``currency`` is given."""
    data = np.asarray(values, dtype=float)
    data = data[np.isfinite(data)]
    if data.size == 0:
        return ""
    top = float(np.quantile(data, 0.99)) or float(data.max()) or 1.0
    counts, edges = np.histogram(np.minimum(data, top), bins=bins, range=(min(float(data.min()), 0.0), top))
    width, height, left, bottom = 720, 240, 50, 40
    bar_w = (width - left - 10) / bins
    most = max(int(counts.max()), 1)

    def amount(value: float) -> str:
        return money(value, currency, digits=0) if currency else f"{value:,.0f}"

    body = [f"<line x1='{left}' y1='{height - bottom}' x2='{width - 10}' y2='{height - bottom}' stroke='#9ca3af'/>"]
    for i, n in enumerate(counts):
        bar_h = (height - bottom - 20) * n / most
        x = left + i * bar_w
        body.append(f"<rect x='{x:.1f}' y='{height - bottom - bar_h:.1f}' width='{bar_w - 2:.1f}' height='{bar_h:.1f}' "
                    f"fill='{PALETTE[1]}'><title>{amount(edges[i])}–{amount(edges[i + 1])}: {n:,}</title></rect>")
        if i % max(bins // 5, 1) == 0:
            body.append(f"<text x='{x:.1f}' y='{height - bottom + 16}'>{amount(edges[i])}</text>")
    body.append(f"<text x='{width - 10}' y='{height - 6}' text-anchor='end'>{amount(top)}+ "
                f"(99th percentile)</text>")
    body.append(f"<text x='{left}' y='14'>{most:,} customers in the fullest bar</text>")
    return _svg(width, height, body, label)
