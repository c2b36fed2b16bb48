"""The extension point of the service: each capability registers its router and its dashboard pages.

A capability module under ``shoplens/serve/routers/`` exposes ``capability = Capability(...)``, which is
listed in ``routers.CAPABILITIES``. Its router's endpoints join the REST API; its pages join the
dashboard's navigation. ``requires`` names the modules the capability needs (``"shoplens.analytics"``):
when one cannot be imported, neither the router nor the pages appear — no placeholders.

A page's context function gets the warehouse and the page's :class:`PageQuery` (the period filter and the
page's own parameters from the address). A page that declares ``tables`` is a table page: it shows the
period filter, and each table it shows downloads as CSV from ``<path>/<table>.csv`` with the same query.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from fastapi import APIRouter

from shoplens.period import Period

if TYPE_CHECKING:
    from shoplens.serve.datatable import DataTable
    from shoplens.serve.warehouse import Warehouse

PERIOD_PARAMS = ("from", "to")
MAX_PARAM_CHARS = 200


@dataclass(frozen=True)
class PageQuery:
    """What a page's address asks for: the period (``from``/``to``, the shop's days, both included; either may
    be left open) and the page's other parameters (``product`` …), as text. The sign-in ``key`` is never kept."""

    period: Period = field(default_factory=Period)
    params: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def parse(cls, items: Mapping[str, str]) -> PageQuery:
        """From the address's query parameters; a bad date or a period that runs backwards → ``InputError``."""
        kept = {k: v[:MAX_PARAM_CHARS] for k, v in items.items() if k != "key" and k not in PERIOD_PARAMS and v}
        return cls(Period.parse(items.get("from"), items.get("to")), kept)

    def get(self, name: str, default: str | None = None) -> str | None:
        return self.params.get(name, default)

    def period_params(self) -> dict[str, str]:
        return {name: day.isoformat() for name, day in zip(PERIOD_PARAMS, (self.period.start, self.period.end),
                                                           strict=True) if day is not None}

    def query_string(self, *, period: bool = True, **changes: str | None) -> str:
        """The query as ``from=…&to=…&product=…`` with ``changes`` applied (None removes a parameter); without
        the period when ``period`` is false."""
        merged = {**(self.period_params() if period else {}), **self.params, **changes}
        return urlencode({k: v for k, v in merged.items() if v})


PageContext = Callable[["Warehouse", PageQuery], Mapping[str, Any]]
PageTables = Callable[["Warehouse", PageQuery], Mapping[str, "DataTable"]]


@dataclass(frozen=True)
class Page:
    """A dashboard page: ``GET path`` renders ``template`` (under ``serve/templates/``), which extends
    ``base.html``, with what ``context(warehouse, query)`` returns. Pages need a read key (a signed-in session).

    ``tables(warehouse, query)``, when given, returns the tables the page shows by name (the context function
    calls it too, so the page and its CSV show the same rows); ``GET <path>/<name>.csv`` downloads one."""

    path: str
    title: str
    template: str
    context: PageContext
    order: int = 100  # position in the navigation (lower first)
    tables: PageTables | None = None

    def csv_path(self, table: str) -> str:
        return f"{self.path.rstrip('/')}/{table}.csv"


@dataclass(frozen=True)
class Capability:
    """What one capability adds to the service."""

    name: str
    router: APIRouter | None = None
    pages: tuple[Page, ...] = ()
    requires: tuple[str, ...] = ()  # importable modules the capability needs
    # loads what the first request would otherwise wait for (models, indexes), in a background thread when the
    # service starts; given the workspace folder; a failure is logged and the first request loads it instead
    warm: Callable[[Path], None] | None = None

    def available(self) -> bool:
        return all(_importable(module) for module in self.requires)


def _importable(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        return False
