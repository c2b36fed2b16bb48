"""Pydantic models at the edge of the service: what each endpoint returns."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import Path
from pydantic import BaseModel, BeforeValidator, Field

from shoplens.schema import TABLES


def _whole_number(value: Any) -> Any:
    return int(value) if isinstance(value, float) and value.is_integer() else value


def not_zero(value: float | None) -> float | None:
    """A field validator for numbers whose schema says ``NOT_ZERO``: zero is a 422, as the schema promises."""
    if value == 0:
        raise ValueError("must not be zero")
    return value


# JSON Schema's integer includes 35.0: accepted as 35 even in strict models (35.5, "35" and true are not)
WholeNumber = Annotated[int, BeforeValidator(_whole_number)]
NOT_ZERO: dict[str, Any] = {"not": {"const": 0}}  # json_schema_extra of a number that must not be zero


class ErrorBody(BaseModel):
    """Every 4xx/5xx answer of the service (except request validation, 422, which is FastAPI's)."""

    detail: str = Field(description="one line saying what is wrong and where")


class ModelHealth(BaseModel):
    """One deployed model the service has loaded (or tried to): hot reload's state."""

    name: str
    serving: str | None = Field(description="the version answering requests (null: none loaded)")
    deployed: str | None = Field(description="the version the registry names as deployed now")
    state: Literal["current", "loading", "failed"] = Field(
        description="current: serving the deployed version; loading: a newly deployed version is being loaded; "
                    "failed: the deployed version failed to load (the serving one stays)")
    error: str | None = Field(None, description="why the deployed version failed to load")


class Health(BaseModel):
    status: Literal["ok"] = "ok"
    version: str
    models: list[ModelHealth] = Field(default_factory=list, description="the models the service has loaded")


class Readiness(BaseModel):
    status: Literal["ready", "unavailable"]
    reason: str | None = Field(None, description="why the warehouse cannot be opened (or, asked with warm=true, "
                                                 "what is still loading), when it cannot")
    warm: bool = Field(False, description="the start-up warm-up has loaded every capability's models")


class ColumnInfo(BaseModel):
    name: str
    type: str = Field(description="DuckDB type")


class TableInfo(BaseModel):
    name: str
    rows: int
    columns: list[ColumnInfo]


class TableList(BaseModel):
    tables: list[TableInfo]


class TableRows(BaseModel):
    name: str
    columns: list[str]
    rows: list[dict[str, Any]]
    total: int = Field(description="rows in the table")
    limit: int
    offset: int


class IngestResult(BaseModel):
    """What one ingest run did; ``read == loaded + quarantined`` always."""

    run_id: str
    table: str
    source: str
    read: int
    loaded: int
    quarantined: int
    inserted: int
    replaced: int
    file_hash: str | None = None
    reader: str = Field("", description="what read the source: duckdb, arrow or python for CSV, else its format")
    mapping: dict[str, str] = Field(default_factory=dict, description="canonical column → source column")
    extras: list[str] = Field(default_factory=list)
    ignored: list[str] = Field(default_factory=list)
    synthesized: list[str] = Field(default_factory=list)
    timestamp_formats: dict[str, str] = Field(default_factory=dict)
    unlinked: dict[str, dict[str, Any]] = Field(default_factory=dict)
    quarantine_file: str | None = Field(None, description="relative to the workspace")
    seconds: float
    messages: list[str] = Field(default_factory=list)


class QuarantineRun(BaseModel):
    run_id: str
    table: str
    source: str | None = None
    started_at: str | None = None
    read: int
    loaded: int
    quarantined: int
    file: str | None = Field(None, description="quarantine file, relative to the workspace")
    file_present: bool


class QuarantineTable(BaseModel):
    table: str
    quarantined: int
    runs: list[QuarantineRun]


class QuarantineOverview(BaseModel):
    tables: list[QuarantineTable]


class QuarantineRow(BaseModel):
    run_id: str
    source_row: int | None = Field(None, description="1-based record number in the source, header excluded")
    reason: str | None = None
    raw: str | None = Field(None, description="the raw line when it could not be parsed (PII masked)")
    values: Any = Field(None, description="the row's source values (PII pseudonymized)")


class QuarantinePage(BaseModel):
    table: str
    total: int
    limit: int
    offset: int
    rows: list[QuarantineRow]


def error_responses(*codes: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses=`` for the error codes an endpoint may answer."""
    return {code: {"model": ErrorBody} for code in codes}


def table_name(description: str = "a canonical table") -> Any:
    """A ``{table}`` path parameter: the schema lists the canonical tables; any other name is answered 404."""
    return Path(description=description, max_length=200, json_schema_extra={"enum": list(TABLES)})
