"""shoplens: turn an online shop's raw data into decisions.

```python
import shoplens as sl
ws = sl.Workspace.init("shop")
sl.forecast.Forecaster(level="product").fit(ws)   # capabilities load on first use
```
"""

from __future__ import annotations

import importlib
import os
from types import ModuleType

# Small models run several times slower with OpenMP's busy-waiting threads on small CPUs.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

from shoplens.errors import InputError, NotFound, ShoplensError, WorkspaceBusy, WorkspaceError
from shoplens.workspace import Workspace

__version__ = "0.1.0"
__all__ = ["InputError", "NotFound", "ShoplensError", "Workspace", "WorkspaceBusy", "WorkspaceError", "__version__"]

# Subpackages imported on first attribute access (``sl.analytics``), so ``import shoplens`` stays fast and
# a capability whose optional extra is missing does not break the others.
_LAZY = ("data", "text", "evaluation", "analytics", "reviews", "recommend", "forecast", "pricing", "graph", "search",
         "assistant", "registry", "pipeline", "report", "serve")


def __getattr__(name: str) -> ModuleType:
    if name in _LAZY:
        return importlib.import_module(f"shoplens.{name}")
    raise AttributeError(f"module 'shoplens' has no attribute {name!r}")
