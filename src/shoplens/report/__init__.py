"""The HTML report: one self-contained file (charts included, no CDN) with a section per capability.

Capabilities register sections with :func:`section` in their ``report.py``; a section appears only when
its capability has something to show (a section function returns ``None`` otherwise).
"""

from __future__ import annotations

import datetime as dt
import html
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from jinja2 import Environment, PackageLoader, select_autoescape

from shoplens._imports import import_if_present
from shoplens.pipeline import CAPABILITIES, STAGE_TITLES, last_run, unfinished_details

if TYPE_CHECKING:
    from shoplens.pipeline import StepResult
    from shoplens.workspace import Workspace

# ``shoplens.<capability>.report`` registers a capability's sections once that module exists.
REPORT_MODULES = [f"shoplens.{name}.report" for name in CAPABILITIES]


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


def table_html(rows: list[dict[str, Any]], columns: list[str] | None = None) -> str:
    """A plain HTML table of records (values escaped; numbers with thousands separators)."""
    if not rows:
        return "<p class='empty'>nothing to show</p>"
    columns = columns or list(rows[0])
    head = "".join(f"<th>{html.escape(c)}</th>" for c in columns)

    def cell(value: Any) -> str:
        if isinstance(value, int):
            return f"<td class='num'>{value:,}</td>"
        if isinstance(value, float):
            return f"<td class='num'>{value:,.4g}</td>"
        return f"<td>{html.escape('' if value is None else str(value))}</td>"
    body = "".join("<tr>" + "".join(cell(r.get(c)) for c in columns) + "</tr>" for r in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _unfinished_run(ws: Workspace) -> dict[str, Any] | None:
    """The banner's data when the last run did not finish: its sentence and the steps that did not run."""
    run = last_run(ws)
    if run is None or run["finished"]:
        return None
    steps = [f"{STAGE_TITLES[s['stage']]}: {s['capability']} · {s['name']} ({s['status']})"
             for s in run["missing_steps"]]
    return {"details": unfinished_details(run), "stages": ", ".join(run["missing_stages"]), "steps": steps}


def build_report(ws: Workspace, results: list[StepResult] | None = None, path: Path | None = None) -> Path:
    """Write the report into ``reports/`` (and ``reports/latest.html``); returns its path."""
    import plotly.offline

    for module in REPORT_MODULES:
        import_if_present(module)
    rendered = []
    for sec in sorted(_SECTIONS, key=lambda s: s.order):
        fragment = sec.render(ws)
        if fragment:
            rendered.append({"title": sec.title, "id": sec.title.lower().replace(" ", "-"), "html": fragment})
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
