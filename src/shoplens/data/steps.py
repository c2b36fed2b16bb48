"""Pipeline steps of the data foundation: check what the warehouse holds before anything trains."""

from __future__ import annotations

from typing import Any

from shoplens.errors import InputError
from shoplens.pipeline import RunContext, step


@step("data", "prepare", "check warehouse")
def check_warehouse(ctx: RunContext) -> dict[str, Any]:
    """Counts per table and the ingest accounting; fails clearly when there is nothing to work on."""
    counts = ctx.ws.counts()
    if not any(counts.values()):
        raise InputError(f"the warehouse of {ctx.ws.path} is empty: ingest data (`shoplens ingest`), load a "
                         "dataset (`shoplens datasets load`) or simulate a shop (`shoplens simulate`) first")
    runs = ctx.ws.ingest_runs()
    return {"tables": {k: v for k, v in counts.items() if v},
            "read": int(runs["read"].sum()), "loaded": int(runs["loaded"].sum()),
            "quarantined": int(runs["quarantined"].sum())}
