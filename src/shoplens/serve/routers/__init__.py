"""One router per capability, each imported by name so that the import graph shows what the service serves. To
add one: write ``routers/<name>.py`` exposing ``capability = Capability(name, router, pages, requires)``, import
it here and list its ``capability`` in :data:`CAPABILITIES` (the order of the API's routes)."""

from __future__ import annotations

from shoplens.serve.registry import Capability
from shoplens.serve.routers import (
    analytics,
    assistant,
    assistant_page,
    dashboard,
    drift,
    events,
    forecast,
    graph,
    graph_page,
    health,
    ingest,
    models,
    models_page,
    pricing,
    quarantine,
    recommend,
    reviews,
    search,
    search_page,
    tables,
)

CAPABILITIES: tuple[Capability, ...] = (
    health.capability, dashboard.capability, tables.capability, ingest.capability, events.capability,
    quarantine.capability,
    analytics.capability, reviews.capability, recommend.capability, forecast.capability, pricing.capability,
    graph.capability,
    graph_page.capability,
    search.capability,
    search_page.capability,
    assistant.capability,
    assistant_page.capability,
    drift.capability,
    models.capability,
    models_page.capability,
)


def load_capabilities(capabilities: tuple[Capability, ...] = CAPABILITIES) -> list[Capability]:
    """The capabilities whose required modules can be imported (``Capability.requires``), in the order listed."""
    return [capability for capability in capabilities if capability.available()]
