"""Server-drawn SVG for the dashboard (no JavaScript, so the page works under a strict CSP):
sentiment over time, and review text with the words that drove a prediction highlighted."""

from __future__ import annotations

import html
from typing import Any

import pandas as pd

COLORS = {"positive": "#16a34a", "neutral": "#a3a3a3", "negative": "#dc2626"}


def sentiment_lines(series: pd.DataFrame, label: str = "share of reviews by predicted sentiment") -> str:
    """Lines of the positive / neutral / negative shares per period, with review counts in tooltips."""
    if series.empty:
        return ""
    width, height, left, bottom, top = 720, 240, 44, 28, 12
    n = len(series)
    step = (width - left - 20) / max(n - 1, 1)

    def point(i: int, share: float) -> tuple[float, float]:
        return left + i * step, top + (1 - share) * (height - top - bottom)

    body = [f"<line x1='{left}' y1='{top + (height - top - bottom) * f}' x2='{width - 10}' "
            f"y2='{top + (height - top - bottom) * f}' stroke='#e5e7eb'/>"
            f"<text x='{left - 6}' y='{top + (height - top - bottom) * f + 4}' text-anchor='end'>{1 - f:.0%}</text>"
            for f in (0, 0.25, 0.5, 0.75, 1)]
    for name, color in COLORS.items():
        points = " ".join(f"{x:.1f},{y:.1f}" for x, y in (point(i, v) for i, v in enumerate(series[name])))
        body.append(f"<polyline fill='none' stroke='{color}' stroke-width='2' points='{points}'/>")
        for i, row in enumerate(series.itertuples()):
            x, y = point(i, getattr(row, name))
            body.append(f"<circle cx='{x:.1f}' cy='{y:.1f}' r='3' fill='{color}'><title>{_period(row.period)}: "
                        f"{getattr(row, name):.0%} {name} of {row.reviews:,} reviews</title></circle>")
    every = max(1, n // 8)
    for i, row in enumerate(series.itertuples()):
        if i % every == 0:
            x, _ = point(i, 0)
            body.append(f"<text x='{x:.1f}' y='{height - 8}' text-anchor='middle'>{_period(row.period)}</text>")
    legend = "".join(f"<text x='{width - 250 + k * 80}' y='{top + 2}' fill='{c}'>■ {n_}</text>"
                     for k, (n_, c) in enumerate(COLORS.items()))
    return (f"<svg xmlns='http://www.w3.org/2000/svg' role='img' aria-label='{html.escape(label)}' width='{width}' "
            f"height='{height}' viewBox='0 0 {width} {height}' font-size='11'>"
            f"{''.join(body)}{legend}</svg>")


def highlighted(text: str, words: list[dict[str, Any]]) -> str:
    """The text as HTML with each explaining word marked: green supports the prediction, red speaks against
    it; the stronger, the deeper the colour (four levels, classes ``why-pos-1…4`` / ``why-neg-1…4`` in
    serve/static/reviews.css, since the dashboard's CSP allows no inline styles; weights in ``title``)."""
    strongest = max((abs(w["weight"]) for w in words), default=0) or 1
    spans = sorted(words, key=lambda w: w["start"])
    out, cursor = [], 0
    for word in spans:
        if word["start"] < cursor:
            continue
        level = min(4, 1 + int(4 * abs(word["weight"]) / strongest))
        side = "pos" if word["weight"] > 0 else "neg"
        out.append(html.escape(text[cursor:word["start"]]))
        out.append(f"<mark class='why-{side}-{level}' title='{word['weight']:+.3f}'>"
                   f"{html.escape(text[word['start']:word['end']])}</mark>")
        cursor = word["end"]
    out.append(html.escape(text[cursor:]))
    return "".join(out)


def _period(value: Any) -> str:
    return pd.Timestamp(value).strftime("%Y-%m") if value is not None else ""
