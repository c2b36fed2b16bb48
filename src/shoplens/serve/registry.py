"""The extension point of the service: each capability registers its router and its dashboard pages.

A capability module under ``shoplens/serve/routers/`` exposes ``capability = Capability(...)`` and is
named in ``routers.CAPABILITY_MODULES``. Its router's endpoints join the REST API; its pages join the
dashboard's navigation. ``requires`` names the modules the capability needs (``"shoplens.analytics"``):
when one cannot be imported, neither the router nor the pages appear — no placeholders.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from fastapi import APIRouter

if TYPE_CHECKING:
    from shoplens.serve.warehouse import Warehouse

PageContext = Callable[["Warehouse"], Mapping[str, Any]]


@dataclass(frozen=True)
class Page:
    """A dashboard page: ``GET path`` renders ``template`` (under ``serve/templates/``), which extends
    ``base.html``, with what ``context(warehouse)`` returns. Pages need a read key (a signed-in session)."""

    path: str
    title: str
    template: str
    context: PageContext
    order: int = 100  # position in the navigation (lower first)


@dataclass(frozen=True)
class Capability:
    """What one capability adds to the service."""

    name: str
    router: APIRouter | None = None
    pages: tuple[Page, ...] = ()
    requires: tuple[str, ...] = ()  # importable modules the capability needs

    def available(self) -> bool:
        return all(_importable(module) for module in self.requires)


def _importable(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        return False
