"""Quarantine: rejected rows per table and ingest run, with the reason and the source row."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Query

from shoplens.serve.deps import Limit, Offset, get_settings, get_warehouse, page_limit, require_read
from shoplens.serve.models import QuarantineOverview, QuarantinePage, error_responses, table_name
from shoplens.serve.registry import Capability
from shoplens.serve.settings import ServiceSettings
from shoplens.serve.warehouse import Warehouse, canonical_table, quarantine_overview, quarantine_rows

router = APIRouter(prefix="/api/v1/quarantine", tags=["quarantine"], dependencies=[Depends(require_read)],
                   responses=error_responses(401, 403, 503))


@router.get("", response_model=QuarantineOverview,
            summary="Quarantined rows per table and ingest run, with each run's quarantine file")
def list_quarantine(warehouse: Warehouse = Depends(get_warehouse)) -> QuarantineOverview:
    with warehouse.read() as con:
        return QuarantineOverview.model_validate({"tables": quarantine_overview(warehouse.ws, con)})


@router.get("/{table}", response_model=QuarantinePage, responses=error_responses(404),
            summary="A table's quarantined rows (newest run first): reason, source row, values")
def get_quarantine_rows(table: str = table_name(),
                        run: str | None = Query(None, max_length=200, description="one run only"),
                        limit: int | None = Limit,
                        offset: int = Offset,
                        settings: ServiceSettings = Depends(get_settings),
                        warehouse: Warehouse = Depends(get_warehouse)) -> QuarantinePage:
    canonical_table(table)
    with warehouse.read() as con:
        page = quarantine_rows(warehouse.ws, con, table, run_id=run, limit=page_limit(limit, settings),
                               offset=offset)
    return QuarantinePage.model_validate(page)


capability = Capability(name="quarantine", router=router)
