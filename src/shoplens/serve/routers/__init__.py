"""One router per capability. To add one: write ``routers/<name>.py`` exposing
``capability = Capability(name, router, pages, requires)`` and add ``<name>`` to ``CAPABILITY_MODULES``."""

from __future__ import annotations

import importlib

from shoplens.serve.registry import Capability

CAPABILITY_MODULES: tuple[str, ...] = ("health", "dashboard", "tables", "ingest", "quarantine")


def load_capabilities(names: tuple[str, ...] = CAPABILITY_MODULES) -> list[Capability]:
    """The capabilities whose requirements are met, in the order named."""
    found = []
    for name in names:
        capability = importlib.import_module(f"{__name__}.{name}").capability
        if capability.available():
            found.append(capability)
    return found
