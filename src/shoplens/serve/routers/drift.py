"""Drift and retraining: the latest drift check against the deployed model's training data (PSI per feature,
unseen products and customers) and the latest champion/challenger decisions (docs/operations.md)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel

from shoplens import drift
from shoplens.serve.datatable import Column, DataTable
from shoplens.serve.deps import get_warehouse, require_read
from shoplens.serve.models import error_responses
from shoplens.serve.registry import Capability, Page, PageQuery
from shoplens.serve.warehouse import Warehouse, jsonable

DECISIONS_SHOWN = 10
FEATURE_COLUMNS = (Column("feature", "feature"), Column("measure", "measure"),
                   Column("value", "value", "number", digits=3), Column("alarm", "alarm at", "number", digits=2),
                   Column("status", "status"), Column("n_reference", "reference rows", "int"),
                   Column("n_new", "new rows", "int"), Column("detail", "detail"))
DECISION_COLUMNS = (Column("recorded_at", "when"), Column("model", "model"), Column("deployed", "deployed", "yes"),
                    Column("champion_score", "champion", "number", digits=4),
                    Column("challenger_score", "challenger", "number", digits=4), Column("metric", "metric"),
                    Column("window", "window"), Column("reason", "reason"))

router = APIRouter(prefix="/api/v1/drift", tags=["operations"], dependencies=[Depends(require_read)],
                   responses=error_responses(401, 403, 503))


class DriftChecks(BaseModel):
    features: list[dict[str, Any]]


@router.get("", response_model=DriftChecks,
            summary="The latest drift check(s): one row per feature (PSI or share, thresholds, status)")
def latest_drift(checks: int = Query(1, ge=1, le=50), warehouse: Warehouse = Depends(get_warehouse)) -> DriftChecks:
    with warehouse.read() as con:
        rows = drift.latest(con, checks)
    return DriftChecks(features=[{k: jsonable(v) for k, v in row.items()} for row in rows])


def decision_rows(warehouse: Warehouse) -> list[dict[str, Any]]:
    """The latest retraining decisions of every model, newest first."""
    models = warehouse.ws.models
    entries = [entry for name in models.names() for entry in models.decisions(name)]
    entries.sort(key=lambda e: e.get("recorded_at", ""), reverse=True)
    return [_decision_row(e) for e in entries[:DECISIONS_SHOWN]]


def _decision_row(entry: dict[str, Any]) -> dict[str, Any]:
    window = entry.get("window") or {}
    return {"recorded_at": entry.get("recorded_at", "")[:16].replace("T", " "), "model": entry.get("model"),
            "deployed": entry.get("deployed"), "metric": entry.get("metric"),
            "champion_score": (entry.get("champion") or {}).get("value"),
            "challenger_score": (entry.get("challenger") or {}).get("value"),
            "window": " … ".join(filter(None, [window.get("start"), window.get("end")])), "reason": entry.get("reason")}


def drift_tables(warehouse: Warehouse, query: PageQuery) -> dict[str, DataTable]:
    with warehouse.read() as con:
        features = [{k: jsonable(v) for k, v in row.items()} for row in drift.latest(con)]
    return {"drift": DataTable("drift", FEATURE_COLUMNS, features, row_key="feature"),
            "decisions": DataTable("decisions", DECISION_COLUMNS, decision_rows(warehouse))}


def drift_page(warehouse: Warehouse, query: PageQuery) -> dict[str, Any]:
    tables = drift_tables(warehouse, query)
    first = tables["drift"].rows[0] if tables["drift"].rows else None
    return {"drift": tables["drift"], "decisions": tables["decisions"], "check": first}


capability = Capability(
    name="drift",
    router=router,
    pages=(Page(path="/drift", title="Drift & retraining", template="drift.html", context=drift_page, order=90,
                tables=drift_tables),),
)
