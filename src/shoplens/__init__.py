"""shoplens: turn an online shop's raw data into decisions."""

from __future__ import annotations

import os

# Small models run several times slower with OpenMP's busy-waiting threads on small CPUs.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

from shoplens.errors import InputError, NotFound, ShoplensError, WorkspaceBusy, WorkspaceError
from shoplens.workspace import Workspace

__version__ = "0.1.0"
__all__ = ["InputError", "NotFound", "ShoplensError", "Workspace", "WorkspaceBusy", "WorkspaceError", "__version__"]
