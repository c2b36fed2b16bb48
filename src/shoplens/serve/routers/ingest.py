"""Ingest upload: ``POST /api/v1/ingest/{table}`` with a multipart file; needs a write key.

The file streams into the workspace's ``tmp/`` (size-limited while it arrives), is loaded with
``Workspace.ingest`` (which takes the workspace's write lock) and removed afterwards. The answer is
the ingest report: ``read = loaded + quarantined``.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Depends, Request
from starlette.concurrency import run_in_threadpool

from shoplens.data.ingest import READERS
from shoplens.data.mapping import parse_map_options
from shoplens.data.readers import DELIMITER_PATTERN
from shoplens.errors import InputError, ShoplensError
from shoplens.serve.deps import ServiceState, get_state, get_workspace, require_write
from shoplens.serve.models import IngestResult, error_responses, table_name
from shoplens.serve.registry import Capability
from shoplens.serve.upload import FILE_FIELD, Upload, receive_upload, upload_folder
from shoplens.serve.warehouse import Warehouse, canonical_table
from shoplens.workspace import Workspace

FORMATS = ("csv", "parquet", "jsonl")
TEXT_OPTIONS = ("format", "tz", "encoding", "delimiter", "ts_format", "reader")  # passed to Workspace.ingest as given
FORM_FIELDS = (FILE_FIELD, "map", *TEXT_OPTIONS, "header")
BOOLEANS = {"true": True, "1": True, "yes": True, "false": False, "0": False, "no": False}
# the CLI's options as the form names them, for messages written for the command line
CLI_OPTIONS = {"--map": "map", "--format": "format", "--tz": "tz", "--encoding": "encoding",
               "--delimiter": "delimiter", "--ts-format": "ts_format", "--no-header": "header=false",
               "--reader": "reader"}
_CLI_OPTION = re.compile(r"(pass )?(" + "|".join(re.escape(option) for option in CLI_OPTIONS) + r")\b")

UPLOAD_BODY: dict[str, Any] = {"requestBody": {"required": True, "content": {"multipart/form-data": {"schema": {
    "type": "object",
    "required": [FILE_FIELD],
    "additionalProperties": False,
    "properties": {
        FILE_FIELD: {"type": "string", "format": "binary",
                     "description": "CSV (any delimiter and encoding), JSON lines or Parquet; gzip allowed. "
                                    "The file name's extension tells the format unless `format` is given."},
        "map": {"type": "array", "items": {"type": "string"},
                "description": "SOURCE=CANONICAL column mappings (repeat the field; SOURCE= drops a column)"},
        "format": {"type": "string", "enum": list(FORMATS)},
        "tz": {"type": "string", "description": "IANA timezone of naive timestamps (default: the shop's)"},
        "encoding": {"type": "string", "description": "text encoding of a CSV or JSON lines file (default: "
                                                      "detected), e.g. utf-8, cp1252, gb18030"},
        "delimiter": {"type": "string", "pattern": DELIMITER_PATTERN,
                      "description": "CSV delimiter, one ASCII character (default: detected)"},
        "ts_format": {"type": "string", "description": "strptime format of the timestamps when ambiguous, e.g. "
                                                       "%d/%m/%Y %H:%M"},
        "reader": {"type": "string", "enum": list(READERS), "default": READERS[0],
                   "description": "CSV reader: auto (the fastest that reads the file exactly), or arrow / python to "
                                  "compare or rule one out"},
        "header": {"type": "boolean", "default": True, "description": "false: the CSV has no header row (its "
                                                                      "columns are column_1, column_2 …)"},
    },
}}}}}

router = APIRouter(prefix="/api/v1/ingest", tags=["ingest"], dependencies=[Depends(require_write)],
                   responses=error_responses(400, 401, 403, 404, 413, 415, 503))


@router.post("/{table}", response_model=IngestResult, openapi_extra=UPLOAD_BODY,
             summary="Upload a file and ingest it into a canonical table")
async def ingest_upload(request: Request, table: str = table_name("the canonical table to load"),
                        state: ServiceState = Depends(get_state),
                        ws: Workspace = Depends(get_workspace)) -> IngestResult:
    canonical_table(table)  # 404 before a byte of the body is read
    settings = state.settings
    with upload_folder(ws.dir("tmp")) as folder:
        upload = await receive_upload(request, folder, max_file_bytes=settings.max_upload_bytes,
                                      max_field_bytes=settings.max_form_field_bytes,
                                      max_fields=settings.max_form_fields)
        warehouse = Warehouse(ws, state.gate, settings.write_wait_s)
        try:
            options = ingest_options(upload)
            report = await run_in_threadpool(warehouse.ingest, table, upload.path, **options)
        except ShoplensError as exc:
            raise _named_after_upload(exc, folder) from None
    return IngestResult.model_validate(report.to_dict())


def ingest_options(upload: Upload) -> dict[str, Any]:
    """``Workspace.ingest``'s options (``mapping``, ``format``, ``tz``, ``encoding`` …) from the form's text fields."""
    fields = upload.fields
    unknown = sorted(set(fields) - set(FORM_FIELDS))
    if unknown:
        raise InputError(f"unknown form field {unknown[0]!r}; the fields are {', '.join(FORM_FIELDS)}")
    mappings = [line.strip() for value in fields.get("map", []) for line in value.splitlines() if line.strip()]
    options: dict[str, Any] = {"mapping": parse_map_options(mappings) or None}
    for name in TEXT_OPTIONS:
        value = _single(fields, name, strip=name != "delimiter")  # a tab or a space is a delimiter
        if value:
            options[name] = value
    if options.get("format") and options["format"].lower() not in FORMATS:
        raise InputError(f"unknown format {options['format']!r}; use one of {', '.join(FORMATS)}")
    header = _single(fields, "header")
    if header:
        if header.lower() not in BOOLEANS:
            raise InputError(f"header {header!r}: send true or false")
        options["header"] = BOOLEANS[header.lower()]
    return options


def _single(fields: dict[str, list[str]], name: str, *, strip: bool = True) -> str | None:
    values = [v.strip() if strip else v for v in fields.get(name, [])]
    if len(values) > 1:
        raise InputError(f"form field {name!r} is given {len(values)} times; give it once")
    return values[0] if values else None


def _named_after_upload(exc: ShoplensError, folder: Path) -> ShoplensError:
    """The same error as an HTTP client should read it: the temporary folder taken out (the message names the
    uploaded file) and the CLI's options named as form fields ("pass --encoding" → "send the form field
    encoding")."""
    message = str(exc)
    for prefix in (str(folder) + "/", str(folder.resolve()) + "/"):
        message = message.replace(prefix, "")
    exc.args = (_CLI_OPTION.sub(_as_form_field, message),)
    return exc


def _as_form_field(match: re.Match[str]) -> str:
    return f"{'send ' if match.group(1) else ''}the form field {CLI_OPTIONS[match.group(2)]}"


capability = Capability(name="ingest", router=router)
