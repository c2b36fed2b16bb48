"""The dashboard's model pages: ``/models`` lists the registry's models; ``/models/<name>`` shows every version with
its card (data fingerprint, parameters, metrics with their protocol beside the baselines) and its training curves
(loss and validation metric per step, drawn as inline SVG from ``curves.json`` or TensorBoard event files), the
deploy history, and two versions side by side (``?a=…&b=…``).

An admin session also gets the buttons: deploy a version, roll back. They post a form with the session's CSRF
token to ``/models/<name>/deploy`` or ``/rollback``; the service checks the session's role (admin) and the token,
writes the deploy history (who: the session's key) and answers with the page again (303). A read session sees no
button, and a post from it is refused (403). The REST API does the same under ``/api/v1/models``."""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Form, Request
from fastapi import Path as PathParam
from fastapi.responses import RedirectResponse, Response

from shoplens.errors import InputError, NotFound, ShoplensError
from shoplens.registry import MAX_NAME_CHARS, Curves, ModelCard, ModelRegistry, protocol_label
from shoplens.serve.auth import KeyInfo, Role
from shoplens.serve.deps import ServiceState, get_state, session_key
from shoplens.serve.registry import Capability, Page, PageQuery
from shoplens.serve.routers.models import NAME_PATTERN, key_label, model_info
from shoplens.serve.sessions import COOKIE_NAME
from shoplens.serve.warehouse import Warehouse
from shoplens.workspace import Workspace

PAGE_PATH = "/models"
SHOWN_VERSIONS = 20  # the newest versions drawn on a model's page
CHART_W, CHART_H = 420, 190
LEFT, RIGHT, TOP, BOTTOM = 56, 12, 12, 36
# (series, measure, label, colour) drawn in the loss chart and in the validation chart
LOSS_LINES = (("train", "loss", "training loss", "#2f5fd0"), ("validation", "loss", "validation loss", "#ca8a04"),
              ("pretrain", "loss", "pre-training loss", "#7c3aed"))
METRIC_LINES = (("validation", "metric", "validation metric", "#059669"),
                ("validation", "accuracy", "validation accuracy", "#0891b2"))
NAME = PathParam(pattern=NAME_PATTERN, max_length=MAX_NAME_CHARS)

router = APIRouter(include_in_schema=False)


# -- the list -------------------------------------------------------------------------------------------------
def models_list(warehouse: Warehouse, _query: PageQuery) -> dict[str, Any]:
    registry = ModelRegistry(warehouse.ws)
    return {"models": [model_info(registry, name) for name in registry.names()]}


# -- one model ------------------------------------------------------------------------------------------------
@router.get(PAGE_PATH + "/{name}", response_class=Response)
def model_page(request: Request, name: str = NAME, state: ServiceState = Depends(get_state)) -> Response:
    """Versions, cards, curves and history of one model (a signed-in session; buttons for an admin)."""
    from shoplens.serve.pages import private, render

    info = session_key(request, state)
    if info is None:
        return RedirectResponse(f"/login?next={quote(PAGE_PATH)}", status_code=303)
    context: dict[str, Any] = {"title": f"Model {name}", "name": name}
    status = 200
    try:
        registry = ModelRegistry(Workspace.open(state.workspace_path))
        context.update(model_context(registry, name, request.query_params.get("a"), request.query_params.get("b")))
        if info.role >= Role.admin:
            context["csrf"] = state.sessions.csrf_token(request.cookies.get(COOKIE_NAME, ""))
    except ShoplensError as exc:
        context["error"] = private(str(exc), state)
        status = 404 if isinstance(exc, NotFound) else 400 if isinstance(exc, InputError) else 503
    return render(request, state, "models_page.html", context, status_code=status, key=info, active=PAGE_PATH)


def model_context(registry: ModelRegistry, name: str, a: str | None, b: str | None) -> dict[str, Any]:
    cards = registry.versions(name)
    if not cards:
        registry.path(name)  # NotFound naming the models there are
    deployed = registry.deployed_version(name)
    shown = cards[::-1][:SHOWN_VERSIONS]
    context = {**model_info(registry, name), "cards": [version_context(registry, c, deployed) for c in shown],
               "hidden": len(cards) - len(shown), "history": [e.to_dict() for e in registry.history(name)][::-1],
               "all_versions": [c.version for c in cards[::-1]]}
    if a and b:
        context["diff"] = registry.diff(name, a, b)
    return context


def version_context(registry: ModelRegistry, card: ModelCard, deployed: str | None) -> dict[str, Any]:
    curves = registry.curves(card.name, card.version)
    return {"version": card.version, "created_at": card.created_at, "capability": card.capability,
            "data_fingerprint": card.data_fingerprint, "notes": card.notes, "deployed": card.version == deployed,
            "params": [(k, _param_text(v)) for k, v in sorted(card.params.items())],
            "metrics": [_metric_row(r) for r in card.metrics if isinstance(r, dict)],
            "curves": [{"part": part, "charts": curve_charts(c)} for part, c in curves.items()]}


def _param_text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, default=str)


def _metric_row(record: dict[str, Any]) -> dict[str, Any]:
    metrics = record.get("metrics") or {}
    return {"model": record.get("model", ""), "role": record.get("role", ""), "dataset": record.get("dataset", ""),
            "protocol": protocol_label(record.get("protocol")),
            "metrics": [(k, _number(v)) for k, v in metrics.items()]}


def _number(value: Any) -> str:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return "—" if value is None else str(value)
    return f"{value:.4f}" if isinstance(value, float) else f"{value:,}"


# -- curves as inline SVG (no script: the service's Content-Security-Policy) ------------------------------------
def curve_charts(curves: Curves) -> list[dict[str, Any]]:
    """The loss chart and the validation metric chart of one set of curves (each only when it has a line)."""
    charts = [line_chart("loss per step", "loss", _lines(curves, LOSS_LINES)),
              line_chart("validation metric per step", "metric", _lines(curves, METRIC_LINES))]
    return [c for c in charts if c is not None]


def _lines(curves: Curves, wanted: tuple[tuple[str, str, str, str], ...]) -> list[dict[str, Any]]:
    lines = []
    for series, measure, label, colour in wanted:
        points = [(p["step"], p[measure]) for p in curves.get(series, []) if measure in p and "step" in p]
        if points:
            lines.append({"key": f"{series}-{measure}", "label": label, "colour": colour, "points": points})
    return lines


def line_chart(title: str, y_title: str, lines: list[dict[str, Any]]) -> dict[str, Any] | None:
    """Coordinates of a chart of ``lines`` (each ``points`` = [(step, value)]) with labelled axes."""
    if not lines:
        return None
    xs = [x for line in lines for x, _ in line["points"]]
    ys = [y for line in lines for _, y in line["points"]]
    x_lo, x_hi = min(xs), max(xs)
    y_lo, y_hi = min(ys), max(ys)
    if math.isclose(y_lo, y_hi):
        y_lo, y_hi = y_lo - 0.5 * (abs(y_lo) or 1), y_hi + 0.5 * (abs(y_hi) or 1)
    base_y = CHART_H - BOTTOM

    def x_of(x: float) -> float:
        return round(LEFT + (CHART_W - LEFT - RIGHT) * ((x - x_lo) / (x_hi - x_lo) if x_hi > x_lo else 0.5), 1)

    def y_of(y: float) -> float:
        return round(base_y - (base_y - TOP) * (y - y_lo) / (y_hi - y_lo), 1)

    drawn = [{"key": line["key"], "label": line["label"], "colour": line["colour"], "n": len(line["points"]),
              "last": _tick(line["points"][-1][1]),
              "points": " ".join(f"{x_of(x)},{y_of(y)}" for x, y in line["points"]),
              "dots": [(x_of(x), y_of(y)) for x, y in line["points"]] if len(line["points"]) <= 40 else []}
             for line in lines]
    return {"title": title, "y_title": y_title, "width": CHART_W, "height": CHART_H, "left": LEFT,
            "right": CHART_W - RIGHT, "top": TOP, "base_y": base_y, "lines": drawn,
            "y_ticks": [(y_of(v), _tick(v)) for v in (y_lo, (y_lo + y_hi) / 2, y_hi)],
            "x_ticks": [(x_of(v), f"{v:,.0f}") for v in dict.fromkeys((x_lo, x_hi))]}


def _tick(value: float) -> str:
    return f"{value:,.0f}" if abs(value) >= 100 else f"{value:.3g}"


# -- the buttons ------------------------------------------------------------------------------------------------
@router.post(PAGE_PATH + "/{name}/deploy", response_class=Response)
def deploy_button(request: Request, name: str = NAME, version: str = Form(max_length=MAX_NAME_CHARS),
                  csrf: str = Form("", max_length=200), state: ServiceState = Depends(get_state)) -> Response:
    return _operate(request, state, name, csrf, lambda registry, who: registry.deploy(name, version, by=who))


@router.post(PAGE_PATH + "/{name}/rollback", response_class=Response)
def rollback_button(request: Request, name: str = NAME, csrf: str = Form("", max_length=200),
                    state: ServiceState = Depends(get_state)) -> Response:
    return _operate(request, state, name, csrf, lambda registry, who: registry.rollback(name, by=who))


def _operate(request: Request, state: ServiceState, name: str, csrf: str,
             action: Callable[[ModelRegistry, str], object]) -> Response:
    """A button's post: an admin session with its CSRF token, else refused; then back to the model's page."""
    from shoplens.serve.pages import private, render
    from shoplens.serve.routers.models import audited

    info = session_key(request, state)
    if info is None:
        return RedirectResponse(f"/login?next={quote(PAGE_PATH)}", status_code=303)
    refusal = _refusal(request, state, info, csrf)
    if refusal is None:
        try:
            registry = ModelRegistry(Workspace.open(state.workspace_path))
            action(registry, key_label(info, "dashboard session of key"))
            audited(name, registry)
            return RedirectResponse(f"{PAGE_PATH}/{quote(name)}", status_code=303)
        except ShoplensError as exc:
            refusal = (404 if isinstance(exc, NotFound) else 400 if isinstance(exc, InputError) else 503,
                       private(str(exc), state))
    return render(request, state, "models_page.html", {"title": f"Model {name}", "name": name,
                                                       "error": refusal[1]},
                  status_code=refusal[0], key=info, active=PAGE_PATH)


def _refusal(request: Request, state: ServiceState, info: KeyInfo, csrf: str) -> tuple[int, str] | None:
    """(status, why) when the session may not press the button: a role below admin, or a form without the
    session's CSRF token (another site made the browser post it)."""
    if info.role < Role.admin:
        return 403, f"key {info.id!r} has role {info.role.name}; deploying and rolling back need role admin"
    if not state.sessions.check_csrf(request.cookies.get(COOKIE_NAME), csrf):
        return 403, "the form is out of date (its CSRF token does not match this session); reload the page"
    return None


capability = Capability(
    name="models-page",
    router=router,
    pages=(Page(path=PAGE_PATH, title="Models", template="models_list.html", context=models_list, order=90),),
)
