"""Live events: ``POST /api/v1/events`` appends a batch (write key), ``GET /api/v1/events/live`` reads the
last minutes' KPIs (read key; the dashboard's live tile polls it).

A batch is JSON lines (any content type but ``application/json``) or, as ``application/json``, one JSON array
of events. It is checked whole (a refusal names every bad line and field, and nothing is appended), then
appended in one transaction, events already stored left out: see :mod:`shoplens.data.live`.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from shoplens.data.live import MAX_ID_CHARS, MAX_PRICE, check_events, parse_body
from shoplens.engine.live_kpis import MAX_MINUTES, live_kpis
from shoplens.errors import InputError
from shoplens.schema import EVENTS
from shoplens.serve.auth import KeyInfo
from shoplens.serve.deps import ServiceState, get_state, get_warehouse, get_workspace, require_read, require_write
from shoplens.serve.models import ErrorBody, error_responses
from shoplens.serve.registry import Capability
from shoplens.serve.settings import ServiceSettings
from shoplens.serve.upload import UploadTooLarge
from shoplens.serve.warehouse import Warehouse
from shoplens.workspace import Workspace

JSON_ARRAY = "application/json"
_ID: dict[str, Any] = {"type": ["string", "integer"], "minLength": 1, "maxLength": MAX_ID_CHARS}
_OPTIONAL_ID: dict[str, Any] = {**_ID, "type": ["string", "integer", "null"]}
EVENT_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["event_id", "event_type", "event_ts"],
    "properties": {
        "event_id": {**_ID, "description": "the event's key: an event id already stored is a duplicate"},
        "session_id": _OPTIONAL_ID,
        "customer_id": {**_OPTIONAL_ID, "description": "pseudonymized when it is an e-mail address or phone number"},
        "product_id": _OPTIONAL_ID,
        "event_type": {"type": "string", "minLength": 1,
                       "description": f"one of {', '.join(EVENTS.column('event_type').choices or ())} "
                                      "(any case; aliases such as pv, cart, buy)"},
        "event_ts": {"type": "string", "format": "date-time",
                     "description": "ISO 8601; without an offset it is the shop's local time"},
        "query": {"type": ["string", "null"], "description": "search text"},
        "price": {"type": ["number", "null"], "minimum": 0, "exclusiveMaximum": MAX_PRICE,
                  "description": "unit price of a purchase (revenue = price × quantity)"},
        "quantity": {"type": ["integer", "null"], "minimum": 1, "maximum": 999_999_999},
        "properties": {"type": ["object", "null"], "description": "anything else about the event"},
    },
    "additionalProperties": True,
}
EVENTS_BODY: dict[str, Any] = {"requestBody": {"required": True, "content": {
    "application/x-ndjson": {"schema": {"type": "string", "description": "one event object per line (JSON lines)"}},
    JSON_ARRAY: {"schema": {"type": "array", "items": EVENT_SCHEMA, "minItems": 1,
                            "maxItems": ServiceSettings.max_event_batch_events}},
}}}


class Appended(BaseModel):
    """What a batch did: ``received = accepted + duplicates``."""

    batch_id: str = Field(description="the batch's id (its events' _ingest_run; a row of event_batches)")
    received: int = Field(description="events in the batch")
    accepted: int = Field(description="events appended")
    duplicates: int = Field(description="events not appended: their id is stored already or earlier in the batch")
    duplicates_in_batch: int = Field(description="of the duplicates, those repeated within the batch")
    seconds: float


class Problem(BaseModel):
    line: int = Field(description="the line of the batch (the item, from 1, of a JSON array)")
    field: str = Field(description="the event's field ('' when the line is not an event object)")
    message: str


class Refused(ErrorBody):
    """A refused batch: nothing was appended."""

    errors: list[Problem] = Field(default_factory=list, description="the first problems, in line order")


class Kpis(BaseModel):
    sessions: int
    views: int
    carts: int = Field(description="add_to_cart events")
    purchases: int
    revenue: float = Field(description="price × quantity of purchase events")


class MinuteKpis(Kpis):
    minute: str = Field(description="start of the minute (UTC)")


class LiveKpis(BaseModel):
    minutes: int
    start: str = Field(description="start of the first minute (UTC)")
    end: str = Field(description="end of the current minute (UTC): the window is [start, end)")
    now: str = Field(description="the server's clock (UTC)")
    totals: Kpis = Field(description="over the whole window (a session in several minutes counts once)")
    per_minute: list[MinuteKpis] = Field(description="one row per minute, oldest first, minutes without events as 0")


router = APIRouter(prefix="/api/v1/events", tags=["events"])


@router.post("", response_model=Appended, openapi_extra=EVENTS_BODY,
             responses={400: {"model": Refused}, **error_responses(401, 403, 413, 503)},
             summary="Append a batch of events (JSON lines or a JSON array); duplicates by event id are left out")
async def post_events(request: Request, key: KeyInfo = Depends(require_write),
                      state: ServiceState = Depends(get_state), ws: Workspace = Depends(get_workspace),
                      warehouse: Warehouse = Depends(get_warehouse)) -> Appended:
    settings = state.settings
    body = await _body(request, settings.max_event_batch_bytes)
    media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media_type == JSON_ARRAY and not body.lstrip().startswith(b"["):
        raise InputError("an application/json batch is one JSON array of events; send JSON lines as "
                         "application/x-ndjson")
    events = parse_body(body, max_events=settings.max_event_batch_events)
    batch = await run_in_threadpool(check_events, events, timezone=ws.config.timezone, keys=ws.pii_keys())
    result = await run_in_threadpool(state.appender.append, warehouse, batch, key.id)
    return Appended.model_validate(result.to_dict())


async def _body(request: Request, max_bytes: int) -> bytes:
    """The request body, refused with 413 as soon as it grows past ``max_bytes`` (Content-Length not trusted)."""
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > max_bytes:
            raise UploadTooLarge(f"the batch is larger than the limit of {max_bytes:,} bytes; split it")
        chunks.append(chunk)
    return b"".join(chunks)


@router.get("/live", response_model=LiveKpis, dependencies=[Depends(require_read)],
            responses=error_responses(401, 403, 503),
            summary="Sessions, views, carts, purchases and revenue in the last minutes, per minute")
def live(minutes: int = Query(15, ge=1, le=MAX_MINUTES, description="how many minutes, the current one included"),
         state: ServiceState = Depends(get_state), warehouse: Warehouse = Depends(get_warehouse)) -> LiveKpis:
    with warehouse.read(state.settings.live_read_wait_s) as con:
        return LiveKpis.model_validate(live_kpis(con, minutes))


capability = Capability(name="events", router=router)
