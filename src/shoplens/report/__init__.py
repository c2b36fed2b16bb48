"""The HTML report: one self-contained file (charts included, no CDN) with a section per capability.

Capabilities register sections with :func:`section` in their ``report.py``; a section appears only when
its capability has something to show (a section function returns ``None`` otherwise). The report opens with
a table of contents: every section and each of its ``<h3>`` headings (given anchors here). Money is written
with the shop's currency (:func:`shoplens.formats.money`, ``table_html(money=...)``), products by title with
the id on hover (``table_html(titles=...)``), and long lists of per-product or per-category tables become
one table at a time (:func:`picker_html`).
"""

from __future__ import annotations

import datetime as dt
import html
import re
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from jinja2 import Environment, PackageLoader, select_autoescape

from shoplens._imports import import_if_present
from shoplens.formats import money as money_text
from shoplens.pipeline import CAPABILITIES, STAGE_TITLES, last_run, unfinished_details

if TYPE_CHECKING:
    from shoplens.pipeline import StepResult
    from shoplens.workspace import Workspace

# ``shoplens.<capability>.report`` registers a capability's sections once that module exists.
REPORT_MODULES = [f"shoplens.{name}.report" for name in CAPABILITIES]
PRODUCT_COLUMNS = ("product_id", "unique_id")  # shown by title when table_html gets titles
HEADING = re.compile(r"<h3>(.*?)</h3>", re.S)


@dataclass(frozen=True)
class Section:
    title: str
    order: int
    render: Callable[[Workspace], str | None]


_SECTIONS: list[Section] = []


def section(title: str, order: int) -> Callable[[Callable], Callable]:
    """Register ``render(ws) -> html fragment | None`` as a report section."""
    def register(func: Callable[[Workspace], str | None]) -> Callable:
        if not any(s.title == title for s in _SECTIONS):
            _SECTIONS.append(Section(title, order, func))
        return func
    return register


def figure_html(figure: Any) -> str:
    """A plotly figure as an HTML fragment (plotly.js is included once per report)."""
    import plotly.io as pio

    return pio.to_html(figure, include_plotlyjs=False, full_html=False, config={"displaylogo": False})


def table_html(rows: list[dict[str, Any]], columns: list[str] | None = None, *, money: Collection[str] = (),
               currency: str = "", titles: Mapping[str, str] | None = None) -> str:
    """A plain HTML table of records (values escaped; numbers with thousands separators). Columns named in
    ``money`` are written with ``currency``; with ``titles``, product id columns show the product's title with
    the id in the cell's ``title`` (on hover)."""
    if not rows:
        return "<p class='empty'>nothing to show</p>"
    columns = columns or list(rows[0])
    head = "".join(f"<th>{html.escape('product' if titles is not None and c in PRODUCT_COLUMNS else c)}</th>"
                   for c in columns)

    def cell(column: str, value: Any) -> str:
        if column in money and isinstance(value, (int, float)):
            return f"<td class='num'>{html.escape(money_text(value, currency))}</td>"
        if titles is not None and column in PRODUCT_COLUMNS and value is not None:
            return f'<td title="{html.escape(str(value))}">{html.escape(titles.get(str(value), str(value)))}</td>'
        if isinstance(value, int):
            return f"<td class='num'>{value:,}</td>"
        if isinstance(value, float):
            return f"<td class='num'>{value:,.4g}</td>"
        return f"<td>{html.escape('' if value is None else str(value))}</td>"
    body = "".join("<tr>" + "".join(cell(c, r.get(c)) for c in columns) + "</tr>" for r in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _unfinished_run(ws: Workspace) -> dict[str, Any] | None:
    """The banner's data when the last run did not finish: its sentence and the steps that did not run."""
    run = last_run(ws)
    if run is None or run["finished"]:
        return None
    steps = [f"{STAGE_TITLES[s['stage']]}: {s['capability']} · {s['name']} ({s['status']})"
             for s in run["missing_steps"]]
    return {"details": unfinished_details(run), "stages": ", ".join(run["missing_stages"]), "steps": steps}


def product_titles(ws: Workspace, ids: Collection[Any]) -> dict[str, str]:
    """Titles of the given products, for ``table_html(titles=...)``."""
    from shoplens.views import product_titles as titles_of

    with ws.connect(read_only=True) as con:
        return titles_of(con, ids)


def picker_html(name: str, label: str, choices: list[tuple[str, str, str]]) -> str:
    """One of several blocks at a time: a select of the ``(value, label, html)`` choices, the first shown; the
    report's script shows the chosen block (without JavaScript every block shows, one after the other)."""
    if not choices:
        return ""
    key = html.escape(name)
    options = "".join(f'<option value="{html.escape(v)}">{html.escape(text)}</option>' for v, text, _ in choices)
    blocks = "".join(f'<div class="choice" data-picker="{key}" data-choice="{html.escape(v)}">{block}</div>'
                     for v, _, block in choices)
    return (f'<p class="pick"><label>{html.escape(label)} <select class="picker" data-picker="{key}">{options}'
            f"</select></label> ({len(choices)})</p>{blocks}")


def anchor(text: str) -> str:
    """An id for a heading: lower case, letters, digits and '-' ("Customer segments (RFM)" → customer-segments-rfm)."""
    return re.sub(r"[^a-z0-9]+", "-", html.unescape(re.sub(r"<[^>]+>", "", text)).lower()).strip("-") or "part"


def with_anchors(fragment: str, prefix: str) -> tuple[str, list[dict[str, str]]]:
    """The fragment with an id on each ``<h3>``, and those headings (for the table of contents)."""
    headings: list[dict[str, str]] = []

    def named(match: re.Match[str]) -> str:
        ident = f"{prefix}-{anchor(match.group(1))}"
        ident += f"-{len(headings)}" if any(h["id"] == ident for h in headings) else ""
        headings.append({"id": ident, "title": html.unescape(re.sub(r"<[^>]+>", "", match.group(1)))})
        return f'<h3 id="{ident}">{match.group(1)}</h3>'

    return HEADING.sub(named, fragment), headings


def build_report(ws: Workspace, results: list[StepResult] | None = None, path: Path | None = None) -> Path:
    """Write the report into ``reports/`` (and ``reports/latest.html``); returns its path."""
    import plotly.offline

    for module in REPORT_MODULES:
        import_if_present(module)
    rendered = []
    for sec in sorted(_SECTIONS, key=lambda s: s.order):
        fragment = sec.render(ws)
        if fragment:
            ident = anchor(sec.title)
            fragment, headings = with_anchors(fragment, ident)
            rendered.append({"title": sec.title, "id": ident, "html": fragment, "headings": headings})
    env = Environment(loader=PackageLoader("shoplens.report", "templates"), autoescape=select_autoescape())
    page = env.get_template("report.html.j2").render(
        shop=ws.config.name, created=dt.datetime.now().strftime("%Y-%m-%d %H:%M"), sections=rendered,
        steps=[r.__dict__ for r in results or []], plotly_js=plotly.offline.get_plotlyjs(),
        unfinished=_unfinished_run(ws))
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S")
    target = path or ws.dir("reports") / f"report-{stamp}.html"
    target.write_text(page, encoding="utf-8")
    if path is None:
        (ws.dir("reports") / "latest.html").write_text(page, encoding="utf-8")
    return target
