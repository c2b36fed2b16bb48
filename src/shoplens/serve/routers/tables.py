"""Table overview: the canonical tables with row counts and columns, and their rows page by page."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Query

from shoplens.serve.deps import get_settings, get_warehouse, page_limit, require_read
from shoplens.serve.models import TableList, TableRows, error_responses, table_name
from shoplens.serve.registry import Capability
from shoplens.serve.settings import ServiceSettings
from shoplens.serve.warehouse import Warehouse, canonical_table, table_overview, table_rows

MAX_OFFSET = 10**12

router = APIRouter(prefix="/api/v1/tables", tags=["tables"], dependencies=[Depends(require_read)],
                   responses=error_responses(401, 403, 503))


@router.get("", response_model=TableList, summary="Canonical tables: name, row count, columns")
def list_tables(warehouse: Warehouse = Depends(get_warehouse)) -> TableList:
    with warehouse.read() as con:
        return TableList.model_validate({"tables": table_overview(con)})


@router.get("/{name}", response_model=TableRows, summary="Rows of one table, ordered by its key",
            responses=error_responses(404))
def get_table_rows(name: str = table_name(),
                   limit: int | None = Query(None, ge=1, le=MAX_OFFSET, description="rows per page (capped)"),
                   offset: int = Query(0, ge=0, le=MAX_OFFSET),
                   settings: ServiceSettings = Depends(get_settings),
                   warehouse: Warehouse = Depends(get_warehouse)) -> TableRows:
    canonical_table(name)
    with warehouse.read() as con:
        return TableRows.model_validate(table_rows(con, name, page_limit(limit, settings), offset))


capability = Capability(name="tables", router=router)
