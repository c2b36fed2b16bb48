"""A forest plot of elasticities with their intervals, as inline SVG for the dashboard (its Content-Security-
Policy forbids scripts) — every number also written as text, labels escaped."""

from __future__ import annotations

import html

import numpy as np
import pandas as pd

FONT = "font-size='11'"  # the family comes from the page's style (with its CJK fonts)
ROW = 18
LABEL_WIDTH = 260
PLOT_WIDTH = 360
VALUE_WIDTH = 130


def _text(value: object) -> str:
    return html.escape(str(value), quote=True)


def forest_plot(rows: pd.DataFrame, *, label: str, name: str = "category") -> str:
    """One row per entry of ``rows`` (``name``, elasticity, lower, upper): a dot and its interval on a shared
    axis, zero marked."""
    shown = rows.dropna(subset=["elasticity", "lower", "upper"])
    if shown.empty:
        return ""
    low = float(min(shown["lower"].min(), 0.0))
    high = float(max(shown["upper"].max(), 0.0))
    span = high - low or 1.0

    def x(value: float) -> float:
        return LABEL_WIDTH + (value - low) / span * PLOT_WIDTH

    height = ROW * (len(shown) + 2)
    body = [f"<line x1='{x(0):.1f}' y1='4' x2='{x(0):.1f}' y2='{height - ROW:.0f}' stroke='#9ca3af' "
            "stroke-dasharray='3 3'/>",
            f"<text x='{x(0):.1f}' y='{height - 4:.0f}' text-anchor='middle' fill='#6b7280'>0</text>",
            f"<text x='{x(low):.1f}' y='{height - 4:.0f}' text-anchor='start' fill='#6b7280'>{low:.1f}</text>"]
    for i, row in enumerate(shown.itertuples()):
        y = ROW * (i + 1)
        value, lower, upper = float(row.elasticity), float(row.lower), float(row.upper)
        colour = "#1e40af" if upper < -1 else "#ca8a04" if lower > -1 else "#6b7280"
        body.append(f"<text x='{LABEL_WIDTH - 6}' y='{y + 4}' text-anchor='end'>{_text(getattr(row, name))}</text>")
        body.append(f"<line x1='{x(lower):.1f}' y1='{y}' x2='{x(upper):.1f}' y2='{y}' stroke='{colour}' "
                    "stroke-width='2'/>")
        body.append(f"<circle cx='{x(value):.1f}' cy='{y}' r='3.5' fill='{colour}'/>")
        body.append(f"<text x='{LABEL_WIDTH + PLOT_WIDTH + 8}' y='{y + 4}'>{value:.2f} "
                    f"[{lower:.2f}, {upper:.2f}]</text>")
    width = LABEL_WIDTH + PLOT_WIDTH + VALUE_WIDTH
    return (f"<svg xmlns='http://www.w3.org/2000/svg' viewBox='0 0 {width} {height}' width='{width}' "
            f"height='{height}' role='img' aria-label='{_text(label)}' {FONT}>" + "".join(body) + "</svg>")


def leaf_categories(categories: pd.DataFrame) -> pd.DataFrame:
    """The deepest level of the category tree, most elastic first."""
    if categories.empty:
        return categories
    deepest = categories[categories["depth"] == categories["depth"].max()]
    return deepest.sort_values("elasticity", kind="stable").reset_index(drop=True)


def finite_records(frame: pd.DataFrame) -> list[dict[str, object]]:
    """Rows as dicts with NaN turned into None (for templates and JSON)."""
    return [{k: (None if isinstance(v, float) and not np.isfinite(v) else v) for k, v in row.items()}
            for row in frame.to_dict("records")]
