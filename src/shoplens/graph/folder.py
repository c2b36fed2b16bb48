"""The graph's folder in a workspace (``graph/``): the database file, the build manifest and the imported
triples kept for rebuilds. Shared by the builder and the readers."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from shoplens.errors import WorkspaceError

if TYPE_CHECKING:
    from shoplens.workspace import Workspace

DATABASE_FILE = "graph.lbug"
MANIFEST_FILE = "build.json"
IMPORTED_DIR = "imported"  # triples imported with import_triples, kept for rebuilds
IMPORTED_TRIPLES = "triples.parquet"
IMPORTED_LINKS = "links.parquet"


def graph_folder(ws: Workspace) -> Path:
    return Path(ws.path) / "graph"


def is_built(folder: Path) -> bool:
    return (folder / DATABASE_FILE).exists() and (folder / MANIFEST_FILE).exists()


class GraphNotBuilt(WorkspaceError):
    """The workspace has no graph yet (the service answers 503: it is the workspace's state, not the request)."""


def require_built(folder: Path) -> Path:
    if not is_built(folder):
        raise GraphNotBuilt("no product graph built yet in this workspace; run `shoplens graph build` or "
                            "`shoplens run`")
    return folder


def read_manifest(folder: Path) -> dict[str, Any]:
    return json.loads((require_built(folder) / MANIFEST_FILE).read_text(encoding="utf-8"))


def imported_frames(folder: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The triples and links imported into the graph at ``folder`` (empty frames when none were)."""
    triples, links = folder / IMPORTED_DIR / IMPORTED_TRIPLES, folder / IMPORTED_DIR / IMPORTED_LINKS
    return (pd.read_parquet(triples) if triples.exists() else pd.DataFrame(columns=["head", "relation", "tail"]),
            pd.read_parquet(links) if links.exists() else pd.DataFrame(columns=["item_id", "entity_id"]))


