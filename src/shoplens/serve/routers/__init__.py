"""One router per capability. To add one: write ``routers/<name>.py`` exposing
``capability = Capability(name, router, pages, requires)``; the capabilities of the pipeline are listed
here already and their router appears once its module exists."""

from __future__ import annotations

from shoplens._imports import import_if_present
from shoplens.pipeline import CAPABILITIES
from shoplens.serve.registry import Capability

CAPABILITY_MODULES: tuple[str, ...] = ("health", "dashboard", "tables", "ingest", "quarantine",
                                       *[c for c in CAPABILITIES if c != "data"])


def load_capabilities(names: tuple[str, ...] = CAPABILITY_MODULES) -> list[Capability]:
    """The capabilities whose requirements are met, in the order named."""
    found = []
    for name in names:
        module = import_if_present(f"{__name__}.{name}")
        if module is None:
            continue
        capability = module.capability
        if capability.available():
            found.append(capability)
    return found
