"""Where the canonical tables of an analysis come from: a workspace's warehouse, or Parquet files.

Parquet files (the simulator's bulk mode, exports of another system) are read where they lie, with the
canonical column names; timestamps are read as naive UTC like the warehouse stores them, and canonical
columns a file lacks are empty (NULL), so the same SQL runs on both.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from shoplens.errors import InputError, NotFound
from shoplens.schema import TABLES

if TYPE_CHECKING:
    from shoplens.workspace import Workspace


@dataclass(frozen=True)
class WarehouseSource:
    """The canonical tables (and earlier ``analytics_*`` results) of a workspace's warehouse."""

    ws: Workspace

    @property
    def timezone(self) -> str:
        return self.ws.config.timezone


@dataclass(frozen=True)
class ParquetSource:
    """Canonical tables as Parquet files: ``{"orders": path, "order_items": path, ...}``."""

    files: Mapping[str, Path] = field(default_factory=dict)
    timezone: str = "UTC"

    def __post_init__(self) -> None:
        for table, path in self.files.items():
            if table not in TABLES:
                raise InputError(f"{path}: {table!r} is not a canonical table ({', '.join(TABLES)})")
            if not Path(path).exists():
                raise InputError(f"{path}: no such file (the {table!r} table)")

    @classmethod
    def folder(cls, folder: str | os.PathLike, timezone: str = "UTC") -> ParquetSource:
        """Every ``<table>.parquet`` of a folder whose name is a canonical table."""
        root = Path(folder)
        if not root.is_dir():
            raise InputError(f"{root}: not a folder of Parquet files")
        files = {p.stem: p for p in sorted(root.glob("*.parquet")) if p.stem in TABLES}
        if not files:
            raise InputError(f"{root}: no <table>.parquet file for any canonical table ({', '.join(TABLES)})")
        return cls(files, timezone)

    def path(self, table: str) -> Path:
        try:
            return Path(self.files[table])
        except KeyError:
            raise NotFound(f"the analysis needs the {table!r} table, which the Parquet source lacks "
                           f"(it has {', '.join(self.files) or 'none'})") from None


Source = WarehouseSource | ParquetSource


def as_source(data: Any) -> Source:
    """A source from a Workspace, a source, a folder of ``<table>.parquet`` files or a table → path mapping."""
    from shoplens.workspace import Workspace

    if isinstance(data, (WarehouseSource, ParquetSource)):
        return data
    if isinstance(data, Workspace):
        return WarehouseSource(data)
    if isinstance(data, Mapping):
        return ParquetSource({k: Path(v) for k, v in data.items()})
    if isinstance(data, (str, os.PathLike)):
        return ParquetSource.folder(data)
    raise InputError(f"cannot analyse a {type(data).__name__}: give a Workspace, a folder of <table>.parquet "
                     "files or a mapping of table names to Parquet paths")


def canonical_projection(table: str, present: Mapping[str, str], dialect: str) -> list[str]:
    """The SELECT expressions giving a source file the canonical columns of ``table``.

    ``present`` maps the file's column names to their types (as the engine names them). Timestamps become
    naive UTC ``TIMESTAMP`` (DuckDB) / ``TIMESTAMP`` in a UTC session (Spark); missing columns are NULL of
    the canonical type; other columns keep the file's type (a double price stays a double).
    """
    columns = []
    for column in TABLES[table].columns:
        name = column.name
        sql_type = column.sql_type if dialect == "duckdb" else _spark_type(column.sql_type)
        if name not in present:
            columns.append(f"CAST(NULL AS {sql_type}) AS {name}")
        elif column.kind == "timestamp" and dialect == "spark" and present[name].lower() == "bigint":
            columns.append(f"TIMESTAMP_MICROS({name} DIV 1000) AS {name}")  # nanoseconds read as integers
        elif column.kind == "timestamp" and dialect == "duckdb" and present[name].upper() == "TIMESTAMP WITH TIME ZONE":
            # the UTC wall time by arithmetic: a cast would go through the calendar for every value (7× slower)
            columns.append(f"make_timestamp(epoch_us({name})) AS {name}")
        elif column.kind == "timestamp" and _needs_cast(present[name], dialect):
            columns.append(f"CAST({name} AS {sql_type}) AS {name}")
        elif column.kind == "json" and dialect == "duckdb" and present[name].upper() != "JSON":
            columns.append(f"CAST({name} AS VARCHAR) AS {name}")
        else:
            columns.append(name)
    return columns


def _needs_cast(file_type: str, dialect: str) -> bool:
    kind = file_type.upper()
    if dialect == "duckdb":
        return kind != "TIMESTAMP"
    return not kind.startswith("TIMESTAMP")


def _spark_type(duckdb_type: str) -> str:
    return {"VARCHAR": "STRING", "JSON": "STRING", "TIMESTAMP": "TIMESTAMP"}.get(duckdb_type, duckdb_type)
