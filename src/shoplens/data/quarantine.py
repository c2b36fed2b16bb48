"""Reading the quarantine: rows ingest rejected, with the run, source row and reason."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pyarrow.parquet as pq

from shoplens.schema import get_table

if TYPE_CHECKING:
    from shoplens.workspace import Workspace


def quarantine_files(ws: Workspace, table: str | None = None) -> list[dict[str, Any]]:
    """One entry per quarantine file (table, run, rows), newest run first."""
    root = ws.dir("quarantine")
    folders = [root / get_table(table).name] if table else sorted(p for p in root.iterdir() if p.is_dir())
    entries = []
    for folder in folders:
        for path in folder.glob("*.parquet"):
            entries.append({"table": folder.name, "run_id": path.stem, "rows": pq.ParquetFile(path).metadata.num_rows,
                            "file": str(path.relative_to(ws.path))})
    return sorted(entries, key=lambda e: e["run_id"].rsplit("-", 2)[-2:], reverse=True)


def read_quarantine(ws: Workspace, table: str, limit: int = 100, offset: int = 0) -> list[dict[str, Any]]:
    """Quarantined rows of ``table``, newest run first, each with its run_id."""
    rows: list[dict[str, Any]] = []
    skip = offset
    for entry in quarantine_files(ws, table):
        count = entry["rows"]
        if skip >= count:
            skip -= count
            continue
        data = pq.read_table(ws.path / entry["file"]).slice(skip, limit - len(rows)).to_pylist()
        skip = 0
        rows += [{"run_id": entry["run_id"], **r} for r in data]
        if len(rows) >= limit:
            break
    return rows


def _mentions(row: dict, candidates: set[str]) -> bool:
    values = json.loads(row.get("values") or "{}")
    if any(str(v).strip() in candidates for v in values.values() if v is not None):
        return True
    raw = row.get("raw") or ""
    return any(re.search(rf"(?<![\w@.-]){re.escape(c)}(?![\w@.-])", raw) for c in candidates if c)


def forget_in_quarantine(ws: Workspace, candidates: set[str]) -> int:
    """Drop quarantined rows whose values or raw text mention the customer; returns how many."""
    removed = 0
    for path in sorted(Path(ws.dir("quarantine")).glob("*/*.parquet")):
        table = pq.read_table(path)
        rows = table.to_pylist()
        kept = [r for r in rows if not _mentions(r, candidates)]
        if len(kept) != len(rows):
            removed += len(rows) - len(kept)
            tmp = path.with_suffix(".tmp")
            pq.write_table(table.schema.empty_table().from_pylist(kept, schema=table.schema), tmp)
            tmp.replace(path)
    return removed
