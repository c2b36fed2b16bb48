"""Table overview: the canonical tables with row counts and columns, and their rows page by page."""

from __future__ import annotations

from fastapi import APIRouter, Depends

from shoplens.serve.deps import Limit, Offset, get_settings, get_warehouse, page_limit, require_read
from shoplens.serve.models import TableList, TableRows, error_responses, table_name
from shoplens.serve.registry import Capability
from shoplens.serve.settings import ServiceSettings
from shoplens.serve.warehouse import Warehouse, canonical_table, table_overview, table_rows

router = APIRouter(prefix="/api/v1/tables", tags=["tables"], dependencies=[Depends(require_read)],
                   responses=error_responses(401, 403, 503))


@router.get("", response_model=TableList, summary="Canonical tables: name, row count, columns")
def list_tables(warehouse: Warehouse = Depends(get_warehouse)) -> TableList:
    with warehouse.read() as con:
        return TableList.model_validate({"tables": table_overview(con)})


@router.get("/{name}", response_model=TableRows, summary="Rows of one table, ordered by its key",
            responses=error_responses(404))
def get_table_rows(name: str = table_name(), limit: int | None = Limit, offset: int = Offset,
                   settings: ServiceSettings = Depends(get_settings),
                   warehouse: Warehouse = Depends(get_warehouse)) -> TableRows:
    canonical_table(name)
    with warehouse.read() as con:
        return TableRows.model_validate(table_rows(con, name, page_limit(limit, settings), offset))


capability = Capability(name="tables", router=router)
