"""Optional modules: capabilities plug into the CLI, pipeline, report and service once they exist."""

from __future__ import annotations

import importlib
from types import ModuleType


def import_if_present(module: str) -> ModuleType | None:
    """The module, or None when it (not one of its own imports) does not exist."""
    try:
        return importlib.import_module(module)
    except ModuleNotFoundError as error:
        if error.name and (module == error.name or module.startswith(error.name + ".")):
            return None
        raise
